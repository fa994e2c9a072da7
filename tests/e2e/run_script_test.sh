#!/usr/bin/env bash
# The README's first command, for real: deploy/run.sh brings all five services to SERVING, and
# Ctrl-C (SIGINT to its process group, as a terminal sends it) leaves no process and no
# listening port behind. Uses its own working folder and ports, so it runs beside other tests.
set -euo pipefail
checkout=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=$(mktemp -d /tmp/cc-run-test.XXXXXX)
log="$work/run.log"
# Below the ephemeral range (32768-60999), where no client connection can hold the ports.
port_base=$((20000 + RANDOM % 2000 * 5))
fail() { echo "FAIL: $*"; echo "--- run.sh output:"; grep -v '^{' "$log" | tail -n 40 || true; exit 1; }

CC_RUN_DIR="$work/servers" CC_PORT_BASE=$port_base CC_BUILD_DIR=${CC_BINARY_DIR:?} \
  setsid "$checkout/deploy/run.sh" >"$log" 2>&1 &
leader=$!
trap 'kill -KILL -- -$leader 2>/dev/null || true; "$checkout/deploy/local-servers.sh" stop --purge --dir "$work/servers" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

for _ in $(seq 1 600); do
  grep -q "the suite is up" "$log" && break
  kill -0 "$leader" 2>/dev/null || fail "run.sh exited before the suite was up"
  sleep 0.2
done
grep -q "the suite is up" "$log" || fail "the suite did not come up within 120 s"

health=("$CC_BINARY_DIR/tools/ccctl" health)
services=(calls customers surveys knowledge analytics)
for i in "${!services[@]}"; do health+=("--${services[$i]}_address=127.0.0.1:$((port_base + i))"); done
"${health[@]}" || fail "not every service is SERVING"
source "$work/servers/env"

kill -INT -- "-$leader"
for _ in $(seq 1 150); do
  kill -0 "$leader" 2>/dev/null || break
  sleep 0.2
done
kill -0 "$leader" 2>/dev/null && fail "run.sh still runs 30 s after Ctrl-C"
grep -q "nothing of the suite is left running" "$log" || fail "run.sh did not report a clean stop"

left=$(pgrep -f -- "$work" || true)
[[ -z $left ]] || fail "processes left behind: $(ps -o pid,cmd -p $left)"
for port in $(seq "$port_base" $((port_base + 4))) "$CC_PG_PORT" "$CC_REDIS_PORT"; do
  if ss -Hltn "sport = :$port" | grep -q .; then fail "port $port still listening"; fi
done
for i in "${!services[@]}"; do
  grep -q "\"service\":\"${services[$i]}\",\"msg\":\"stopped\"" "$log" ||
    fail "${services[$i]} did not log a clean stop"
done
echo "PASS: run.sh came up on ports $port_base.. and Ctrl-C left nothing behind"
