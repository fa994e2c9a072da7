#!/usr/bin/env bash
# The README's first command, for real: deploy/run.sh brings all five services to SERVING (here
# with two replicas of calls and of customers, CC_REPLICAS, on successive port slots), the
# simulator loads the demo centre and plays calls, and the dashboard (without a terminal: plain
# summary lines) shows them answered; Ctrl-C (SIGINT to its process group, as a terminal sends
# it) makes it stop the simulator, the dashboard, the services and the servers and exit 130,
# leaving no process and no listening port behind. Uses its own working folder and ports, so it
# runs beside other tests; runs the binaries already built.
set -euo pipefail
checkout=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=$(mktemp -d /tmp/cc-run-test.XXXXXX)
log="$work/run.log"
# Below the ephemeral range (32768-60999), where no client connection can hold the ports.
port_base=$((20000 + RANDOM % 2000 * 5))
fail() { echo "FAIL: $*"; echo "--- run.sh output:"; grep -v '^{' "$log" | tail -n 40 || true; exit 1; }

# A background job of a non-interactive shell starts with SIGINT ignored, and a script cannot
# trap a signal ignored at entry; reset it to default, as a terminal's foreground job has it,
# and give run.sh a process group of its own to send the Ctrl-C to.
CC_RUN_DIR="$work/servers" CC_PORT_BASE=$port_base CC_BUILD_DIR=${CC_BINARY_DIR:?} \
  CC_REPLICAS=calls=2,customers=2 CC_RUN_SKIP_BUILD=1 CC_SIM_FLAGS=--time_scale=120 \
  /usr/bin/python3 -c '
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.setsid()
os.execv(sys.argv[1], sys.argv[1:])' "$checkout/deploy/run.sh" >"$log" 2>&1 &
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
# The second replicas of calls and customers, ten ports above the first.
"${health[@]}" "--calls_address=127.0.0.1:$((port_base + 10))" \
  "--customers_address=127.0.0.1:$((port_base + 11))" || fail "a second replica is not SERVING"
# The demo: the simulator loads the centre and its calls reach the dashboard (a plain line every
# 5 s) as answered calls. (A quick day: 120x.)
for _ in $(seq 1 600); do
  grep -Eq '^dashboard: .* answered=[1-9]' "$log" && break
  kill -0 "$leader" 2>/dev/null || fail "run.sh exited while the simulator ran"
  sleep 0.2
done
grep -Eq '^dashboard: .* answered=[1-9]' "$log" || fail "no answered call reached the dashboard in 120 s"
grep -q '^sim: demo centre ready' "$log" || fail "the simulator did not load the demo centre"
sim_pid=$(sed -n 's/^run: simulator running (pid \([0-9]*\)).*/\1/p' "$log")
dashboard_pid=$(sed -n 's/^run: dashboard running (pid \([0-9]*\)).*/\1/p' "$log")
[[ -n $sim_pid && -n $dashboard_pid ]] || fail "run.sh did not report the simulator's and dashboard's pids"

source "$work/servers/env"
service_pids=$(sed -n 's/^run: started [a-z]* .*(pid \([0-9]*\))$/\1/p' "$log")
[[ $(wc -w <<<"$service_pids") == 7 ]] || fail "run.sh did not report seven service pids"
redis_pid=$(cat "$work/servers/redis.pid")
postgres_pid=$(head -n 1 "$(readlink -f "$work/servers/pg")/postmaster.pid")

kill -INT -- "-$leader"
status=0
wait "$leader" || status=$?
[[ $status == 130 ]] || fail "run.sh exited with $status after Ctrl-C, not 130"
grep -q "stopping the services" "$log" || fail "run.sh did not stop the services itself"
grep -q "nothing of the suite is left running" "$log" || fail "run.sh did not report a clean stop"

# Alive means running; an exited process its parent has not reaped yet (a zombie: the
# daemonised servers' parent is PID 1, which may reap late in a container) is gone.
alive() { [[ -r /proc/$1/stat ]] && [[ $(awk '{print $3}' "/proc/$1/stat") != Z ]]; }
for pid in $service_pids $sim_pid $dashboard_pid $redis_pid $postgres_pid; do
  if alive "$pid"; then fail "process $pid is still running: $(ps -o cmd= -p "$pid")"; fi
done
for port in $(seq "$port_base" $((port_base + 4))) $((port_base + 10)) $((port_base + 11)) \
  "$CC_PG_PORT" "$CC_REDIS_PORT"; do
  if ss -Hltn "sport = :$port" | grep -q .; then fail "port $port still listening"; fi
done
for service in "${services[@]}"; do
  grep -q "\"service\":\"$service\",\"msg\":\"stopped\"" "$log" ||
    fail "$service did not log a clean stop"
done
echo "PASS: run.sh came up on ports $port_base.. (two replicas of calls and customers), the simulator's calls reached the dashboard, and Ctrl-C left nothing behind"
