#!/usr/bin/env bash
# A living contact centre in the foreground: installs what is needed, builds, starts a private
# PostgreSQL and Redis (data under .cc-run/), then all five services on their default ports, and
# waits until every one reports SERVING. Then the simulator (cc-sim) loads the demo centre
# (queues, operators, customers, knowledge base, surveys; idempotent) and plays working days
# against the services at 10x (an 8-hour day in 48 minutes), and the terminal dashboard (cc-top)
# shows the queues and operators live, until q or Ctrl-C. Ctrl-C, q or SIGTERM stops the
# simulator and the dashboard, then the services (they drain in-flight calls), then the servers,
# leaving no process and no listening port behind.
#
# On a terminal the dashboard owns the screen and the services' and simulator's logs go to
# files under .cc-run/logs/. Without a terminal (output to a file or a pipe) everything is plain
# lines: the services' JSON logs, the simulator's progress and a dashboard summary line every
# 5 seconds.
#
#   deploy/run.sh                 build and run
#   CC_DEMO=0 deploy/run.sh       the services only: no demo data, simulator or dashboard
#   CC_SIM_FLAGS="--time_scale=120 --language=en" deploy/run.sh   the simulator's flags
#                                 (cc-sim --help), e.g. a faster day or the English centre
#   CC_RUN_DIR=/tmp/x deploy/run.sh   keep the servers' data elsewhere
#   CC_BIND_HOST=0.0.0.0 deploy/run.sh  listen on every interface instead of loopback
#   CC_PORT_BASE=41051 deploy/run.sh    services on 41051..41055 instead of 50051..50055
#   CC_RUN_SKIP_BUILD=1 deploy/run.sh   run what build/ holds, without installing or building
#   CC_REPLICAS=2 deploy/run.sh         two replicas of every service
#   CC_REPLICAS=calls=3,customers=2 deploy/run.sh   three of calls, two of customers, one of the rest
#
# Replica k (from 0) of a service listens on the service's port + 10*k (calls 50051, 50061,
# 50071; customers 50052, 50062, ...), so replicas of one service sit on successive port slots.
# Every service is told the list of its peers' replicas (CC_CUSTOMERS_ADDRESS and
# CC_CUSTOMERS_TARGET=127.0.0.1:50052,127.0.0.1:50062, and so on) and balances over them with
# round_robin, as it balances over a headless Service's addresses in Kubernetes.
set -euo pipefail

checkout=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
run_dir=${CC_RUN_DIR:-$checkout/.cc-run}
build_dir=${CC_BUILD_DIR:-$checkout/build}
bind_host=${CC_BIND_HOST:-127.0.0.1}
services=(calls customers surveys knowledge analytics)
port_base=${CC_PORT_BASE:-50051}
declare -A ports
for i in "${!services[@]}"; do ports[${services[$i]}]=$((port_base + i)); done
readonly replica_port_step=10

declare -A replicas
for service in "${services[@]}"; do replicas[$service]=1; done
replicas_spec=${CC_REPLICAS:-}
if [[ $replicas_spec =~ ^[0-9]+$ ]]; then
  for service in "${services[@]}"; do replicas[$service]=$replicas_spec; done
elif [[ -n $replicas_spec ]]; then
  IFS=, read -ra entries <<<"$replicas_spec"
  for entry in "${entries[@]}"; do
    service=${entry%%=*}
    count=${entry#*=}
    if [[ -z ${replicas[$service]:-} || ! $count =~ ^[0-9]+$ ]]; then
      echo "run: CC_REPLICAS: \"$entry\" is not <service>=<count> (services: ${services[*]})" >&2
      exit 2
    fi
    replicas[$service]=$count
  done
fi
for service in "${services[@]}"; do
  if ((replicas[$service] < 1 || replicas[$service] > 9)); then
    echo "run: CC_REPLICAS: $service needs 1 to 9 replicas, not ${replicas[$service]}" >&2
    exit 2
  fi
done
replica_port() { echo $((ports[$1] + replica_port_step * $2)); } # replica_port SERVICE K

say() { echo "run: $*"; }

if [[ -z ${CC_RUN_SKIP_BUILD:-} ]]; then
  "$checkout/deploy/install-deps.sh"
  "$checkout/deploy/build.sh" "${services[@]/#/cc-}" ccctl cc-sim cc-top
fi

for service in "${services[@]}"; do
  for ((k = 0; k < replicas[$service]; k++)); do
    port=$(replica_port "$service" "$k")
    if ss -Hltn "sport = :$port" | grep -q .; then
      say "port $port ($service) is already in use: is another run of the suite active?"
      exit 1
    fi
  done
done

demo=${CC_DEMO:-1}
interactive=0
[[ -t 1 ]] && interactive=1
log_dir=$run_dir/logs
pids=()
sim_pid=""
dashboard_pid=""
stopping=0
stop_everything() {
  ((stopping)) && return
  stopping=1
  trap '' INT TERM
  # The simulator and the dashboard first: the simulator ends its calls while the services
  # still answer, and the dashboard gives the terminal back.
  local front=()
  [[ -n $sim_pid ]] && front+=("$sim_pid")
  [[ -n $dashboard_pid ]] && front+=("$dashboard_pid")
  if ((${#front[@]})); then
    kill -TERM "${front[@]}" 2>/dev/null || true
    # Up to 15 s (the simulator drains for 5 s), then they are killed.
    for _ in $(seq 1 150); do
      local alive=0 pid
      for pid in "${front[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
      ((alive)) || break
      sleep 0.1
    done
    kill -KILL "${front[@]}" 2>/dev/null || true
    wait "${front[@]}" 2>/dev/null || true
  fi
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

# Each service's clients get every replica of the services they ask (CC_<SERVICE>_ADDRESS, a
# comma-separated list that the clients balance over with round_robin).
probe_host=$bind_host
[[ $probe_host == 0.0.0.0 ]] && probe_host=127.0.0.1
peer_environment=()
for service in "${services[@]}"; do
  addresses=()
  for ((k = 0; k < replicas[$service]; k++)); do
    addresses+=("$probe_host:$(replica_port "$service" "$k")")
  done
  list=$(IFS=,; echo "${addresses[*]}")
  # (Services name these flags <service>_address or <service>_target; both are given.)
  peer_environment+=("CC_${service^^}_ADDRESS=$list" "CC_${service^^}_TARGET=$list")
done

# On a terminal the dashboard owns the screen: the services log to files.
if ((demo && interactive)); then
  mkdir -p "$log_dir"
  say "the services' logs: $log_dir/<service>-<replica>.log"
fi
for service in "${services[@]}"; do
  for ((k = 0; k < replicas[$service]; k++)); do
    log=/dev/stdout
    ((demo && interactive)) && log=$log_dir/$service-$k.log
    env "${peer_environment[@]}" \
      CC_LISTEN="$bind_host:$(replica_port "$service" "$k")" \
      CC_POSTGRES="host=$CC_PG_HOST port=$CC_PG_PORT user=$CC_PG_USER dbname=cc_$service" \
      CC_REDIS="$CC_REDIS_HOST:$CC_REDIS_PORT" \
      "$build_dir/services/$service/cc-$service" >>"$log" 2>&1 &
    pids+=($!)
    say "started $service replica $k on port $(replica_port "$service" "$k") (pid $!)"
  done
done

say "waiting for every service to report SERVING"
# ccctl health asks one address per service: one round per replica index (services with fewer
# replicas are asked at their first again).
max_replicas=1
for service in "${services[@]}"; do
  ((replicas[$service] > max_replicas)) && max_replicas=${replicas[$service]}
done
for ((k = 0; k < max_replicas; k++)); do
  health=("$build_dir/tools/ccctl" health)
  for service in "${services[@]}"; do
    replica=$((k < replicas[$service] ? k : 0))
    health+=("--${service}_address=$probe_host:$(replica_port "$service" "$replica")")
  done
  if ! "${health[@]}" --wait 60s; then
    say "not every service became ready; see the logs above"
    exit 1
  fi
done
say "the suite is up: PostgreSQL 127.0.0.1:$CC_PG_PORT, Redis 127.0.0.1:$CC_REDIS_PORT, services:"
for service in "${services[@]}"; do
  addresses=()
  for ((k = 0; k < replicas[$service]; k++)); do
    addresses+=("$bind_host:$(replica_port "$service" "$k")")
  done
  say "  $service  ${addresses[*]}"
done
health=("$build_dir/tools/ccctl" health)
for service in "${services[@]}"; do health+=("--${service}_address=$probe_host:${ports[$service]}"); done
say "check it with: ${health[*]}"

if ((demo)); then
  # The simulator reaches every replica of every service, as the services reach each other.
  sim_log=/dev/stdout
  if ((interactive)); then
    sim_log=$log_dir/sim.log
    say "the simulator's log: $sim_log"
  fi
  # At 10x the waits that the services time in real seconds (the service level's 20 s, short
  # abandons under 5 s) still mean something; --time_scale=60 makes a busier, faster day.
  # shellcheck disable=SC2086 # CC_SIM_FLAGS is a list of flags
  env "${peer_environment[@]}" "$build_dir/tools/sim/cc-sim" --duration=0 --time_scale=10 \
    --drain_timeout=5s ${CC_SIM_FLAGS:-} >>"$sim_log" 2>&1 &
  sim_pid=$!
  say "simulator running (pid $sim_pid): it loads the demo centre, then plays working days" \
    "(10x by default: an 8-hour day in 48 minutes)"
  dashboard=("$build_dir/tools/cc-top" "--analytics_address=$probe_host:${ports[analytics]}"
    "--calls_address=$probe_host:${ports[calls]}")
  if ((interactive)); then
    # A background job of a script reads /dev/null unless told otherwise: give it the keyboard.
    "${dashboard[@]}" </dev/tty &
  else
    "${dashboard[@]}" --plain --interval=5s </dev/null &
  fi
  dashboard_pid=$!
  say "dashboard running (pid $dashboard_pid); stop it all with q or Ctrl-C"
else
  say "stop it with Ctrl-C"
fi

# Wait until a signal arrives, the dashboard is closed, or a service exits on its own (which
# stops everything). A simulator that ends leaves the suite running.
watched=("${pids[@]}")
[[ -n $dashboard_pid ]] && watched+=("$dashboard_pid")
[[ -n $sim_pid ]] && watched+=("$sim_pid")
while true; do
  set +e
  wait -n -p exited "${watched[@]}"
  status=$?
  set -e
  ((stopping)) && break
  if [[ -n $sim_pid && ${exited:-} == "$sim_pid" ]]; then
    say "the simulator exited (status $status; see its log); the suite keeps running"
    sim_pid=""
    watched=("${pids[@]}")
    [[ -n $dashboard_pid ]] && watched+=("$dashboard_pid")
    continue
  fi
  if [[ -n $dashboard_pid && ${exited:-} == "$dashboard_pid" ]]; then
    dashboard_pid=""
    say "dashboard closed (status $status); stopping"
    exit 0
  fi
  say "a service exited unexpectedly (status $status); stopping the rest"
  exit 1
done
