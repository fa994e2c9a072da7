#!/usr/bin/env bash
# The suite in the foreground: installs what is needed, builds, starts a private PostgreSQL and
# Redis (data under .cc-run/), then all five services on their default ports, and waits until
# every one reports SERVING. Ctrl-C or SIGTERM stops the services (they drain in-flight calls),
# then the servers, leaving no process and no listening port behind. Works without a terminal:
# all output is plain lines (the services log one JSON object a line).
#
#   deploy/run.sh                 build and run
#   CC_RUN_DIR=/tmp/x deploy/run.sh   keep the servers' data elsewhere
#   CC_BIND_HOST=0.0.0.0 deploy/run.sh  listen on every interface instead of loopback
#   CC_PORT_BASE=41051 deploy/run.sh    services on 41051..41055 instead of 50051..50055
#   CC_RUN_SKIP_BUILD=1 deploy/run.sh   run what build/ holds, without installing or building
set -euo pipefail

checkout=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
run_dir=${CC_RUN_DIR:-$checkout/.cc-run}
build_dir=${CC_BUILD_DIR:-$checkout/build}
bind_host=${CC_BIND_HOST:-127.0.0.1}
services=(calls customers surveys knowledge analytics)
port_base=${CC_PORT_BASE:-50051}
declare -A ports
for i in "${!services[@]}"; do ports[${services[$i]}]=$((port_base + i)); done

say() { echo "run: $*"; }

if [[ -z ${CC_RUN_SKIP_BUILD:-} ]]; then
  "$checkout/deploy/install-deps.sh"
  "$checkout/deploy/build.sh" "${services[@]/#/cc-}" ccctl
fi

for service in "${services[@]}"; do
  if ss -Hltn "sport = :${ports[$service]}" | grep -q .; then
    say "port ${ports[$service]} ($service) is already in use: is another run of the suite active?"
    exit 1
  fi
done

pids=()
stopping=0
stop_everything() {
  ((stopping)) && return
  stopping=1
  trap '' INT TERM
  if ((${#pids[@]})); then
    say "stopping the services (they drain in-flight calls)"
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
  "$checkout/deploy/local-servers.sh" stop --dir "$run_dir" || true
  say "stopped; nothing of the suite is left running"
}
trap 'stop_everything; exit 130' INT
trap 'stop_everything; exit 143' TERM
trap 'stop_everything' EXIT

"$checkout/deploy/local-servers.sh" start --dir "$run_dir"
# shellcheck disable=SC1091
source "$run_dir/env"

for service in "${services[@]}"; do
  CC_LISTEN="$bind_host:${ports[$service]}" \
    CC_POSTGRES="host=$CC_PG_HOST port=$CC_PG_PORT user=$CC_PG_USER dbname=cc_$service" \
    CC_REDIS="$CC_REDIS_HOST:$CC_REDIS_PORT" \
    "$build_dir/services/$service/cc-$service" &
  pids+=($!)
  say "started $service (pid $!)"
done

say "waiting for every service to report SERVING"
probe_host=$bind_host
[[ $probe_host == 0.0.0.0 ]] && probe_host=127.0.0.1
health=("$build_dir/tools/ccctl" health)
for service in "${services[@]}"; do health+=("--${service}_address=$probe_host:${ports[$service]}"); done
if ! "${health[@]}" --wait 60s; then
  say "not every service became ready; see the logs above"
  exit 1
fi
say "the suite is up: PostgreSQL 127.0.0.1:$CC_PG_PORT, Redis 127.0.0.1:$CC_REDIS_PORT, services:"
for service in "${services[@]}"; do say "  $service  $bind_host:${ports[$service]}"; done
say "check it with: ${health[*]}"
say "stop it with Ctrl-C"

# Wait until a signal arrives or a service exits on its own (which stops everything).
set +e
wait -n "${pids[@]}"
status=$?
set -e
if ((!stopping)); then
  say "a service exited unexpectedly (status $status); stopping the rest"
  exit 1
fi
