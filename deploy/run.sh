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
  "$checkout/deploy/build.sh" "${services[@]/#/cc-}" ccctl
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

for service in "${services[@]}"; do
  for ((k = 0; k < replicas[$service]; k++)); do
    env "${peer_environment[@]}" \
      CC_LISTEN="$bind_host:$(replica_port "$service" "$k")" \
      CC_POSTGRES="host=$CC_PG_HOST port=$CC_PG_PORT user=$CC_PG_USER dbname=cc_$service" \
      CC_REDIS="$CC_REDIS_HOST:$CC_REDIS_PORT" \
      "$build_dir/services/$service/cc-$service" &
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
