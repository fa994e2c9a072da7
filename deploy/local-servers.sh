#!/usr/bin/env bash
# Starts and stops a private PostgreSQL 15 and Redis 7 on loopback ports for running and testing
# the suite, with their data under a git-ignored working folder of the checkout.
#
#   deploy/local-servers.sh start  [options]   initdb if needed, start both, create the databases
#   deploy/local-servers.sh stop   [options]   stop both, leaving nothing running
#   deploy/local-servers.sh status [options]   show whether each server answers
#   deploy/local-servers.sh env    [options]   print the connection settings (KEY=value lines)
#
# Options:
#   --dir DIR          working folder (default: <checkout>/.cc-run)
#   --pg-port N        PostgreSQL port (default: the port recorded in DIR, else the first free
#                      port from 25432)
#   --redis-port N     Redis port (default: recorded in DIR, else the first free port from 26379)
#                      (Both defaults sit below Linux's ephemeral range, 32768-60999, so that
#                      clients' outgoing connections never take them.)
#   --only postgres|redis   act on one server only
#   --fast             trade durability for speed (fsync off, no Redis persistence): for tests
#   --purge            with stop: also delete the servers' data (a fresh initdb next start)
#
# Two working folders never share ports, so two runs side by side do not collide. The chosen
# settings are written to DIR/env for the run and test scripts.
set -euo pipefail

readonly checkout=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly databases=(cc_calls cc_customers cc_surveys cc_knowledge cc_analytics)

usage() { sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
log() { echo "local-servers: $*" >&2; }
die() { log "error: $*"; exit 1; }

command=${1:-}
[[ -n $command ]] || { usage; exit 2; }
shift
dir="$checkout/.cc-run"
pg_port=""
redis_port=""
only=""
fast=0
purge=0
while (($#)); do
  case $1 in
    --dir) dir=$2; shift 2 ;;
    --pg-port) pg_port=$2; shift 2 ;;
    --redis-port) redis_port=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --fast) fast=1; shift ;;
    --purge) purge=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage; die "unknown option $1" ;;
  esac
done
[[ -z $only || $only == postgres || $only == redis ]] || die "--only takes postgres or redis"
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
readonly env_file="$dir/env"
# Per user: a root run and a user's run on one machine must not block each other's files
# (ports still never collide: a port in use is skipped whoever holds it).
readonly lock_file="/tmp/cc-local-servers.$(id -u).lock"
readonly registry_prefix="/tmp/cc-local-servers-ports.$(id -u)."

wants() { [[ -z $only || $only == "$1" ]]; }

recorded() { # recorded KEY -> value from DIR/env, if any
  if [[ -f $env_file ]]; then sed -n "s/^$1=//p" "$env_file" | tail -n 1; fi
}

# Any socket on the port counts, not only listeners: a client's connection from that local port
# makes a later bind fail as surely as a listener does.
# (Leftovers of closed connections, in TIME-WAIT or FIN-WAIT after a server stopped, do not
# count: the servers bind with SO_REUSEADDR, and a restart must get its port back.)
port_in_use() {
  ss -Htan state listening state established state syn-sent state syn-recv state close-wait \
    "sport = :$1" 2>/dev/null | grep -q .
}

# Ports claimed by other working folders of this checkout family are skipped too, so that two
# folders started one after the other while the first is stopped still keep distinct ports.
first_free_port() {
  local port=$1
  while port_in_use "$port" || grep -qs "=$port\$" "$registry_prefix"* 2>/dev/null; do
    port=$((port + 1))
  done
  echo "$port"
}

# choose_port GIVEN RECORDED DEFAULT OPTION: the port given on the command line (which must be
# free), else the one recorded for this folder if still free, else the first free from DEFAULT.
choose_port() {
  local given=$1 recorded_port=$2 default=$3 option=$4
  if [[ -n $given ]]; then
    port_in_use "$given" && die "port $given is taken; pass another $option"
    echo "$given"
  elif [[ -n $recorded_port ]] && ! port_in_use "$recorded_port"; then
    echo "$recorded_port"
  else
    first_free_port "$default"
  fi
}

pg_bindir() {
  local bindir
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [[ -x $bindir/initdb ]] || die "PostgreSQL server binaries not found; run deploy/install-deps.sh"
  echo "$bindir"
}

# PostgreSQL refuses to run as root. As root, the data folder belongs to the 'postgres' system
# user; if that user cannot reach the checkout (e.g. under /root), the data lives in /tmp and
# DIR/pg links to it.
as_pg() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# The data folder, resolved: DIR/pg itself, or the folder in /tmp it links to.
pg_data_dir() {
  local data="$dir/pg"
  if [[ $(id -u) -eq 0 && ! -L $data && ! -d $data ]]; then
    if ! runuser -u postgres -- test -x "$dir"; then
      local outside
      outside=$(mktemp -d /tmp/cc-pg.XXXXXX)
      mkdir "$outside/data"
      chown -R postgres: "$outside"
      ln -s "$outside/data" "$data"
      log "the postgres user cannot reach $dir; PostgreSQL data is in $outside (linked from $data)"
    fi
  fi
  if [[ -L $data ]]; then readlink -f "$data"; else echo "$data"; fi
}

# The server log sits beside the data folder, where the postgres user can write.
pg_log_file() { echo "$(dirname "$(pg_data_dir)")/postgres.log"; }

# True when the PostgreSQL of data folder $2 runs: pg_ctl status, and the pid in
# postmaster.pid is a postgres process of that folder (a stale file may name a reused pid).
pg_running() {
  local bindir=$1 data=$2 pid
  [[ -f $data/postmaster.pid ]] || return 1
  pid=$(head -n 1 "$data/postmaster.pid")
  [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "postgres.*$data" || return 1
  as_pg "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1
}

start_postgres() {
  local bindir data
  bindir=$(pg_bindir)
  data=$(pg_data_dir)
  if pg_running "$bindir" "$data"; then
    pg_port=$(recorded CC_PG_PORT)
    log "PostgreSQL already running on port ${pg_port}"
  else
    pg_port=$(choose_port "$pg_port" "$(recorded CC_PG_PORT)" 25432 --pg-port)
    if [[ ! -f $data/PG_VERSION ]]; then
      log "initdb into $data"
      mkdir -p "$data"
      if [[ $(id -u) -eq 0 ]]; then chown postgres: "$data"; fi
      chmod 700 "$data"
      # Loopback only, trust authentication: a private development server, never exposed.
      as_pg "$bindir/initdb" -D "$data" -U cc --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    fi
    local durability="fsync = on"
    if ((fast)); then durability=$'fsync = off\nsynchronous_commit = off\nfull_page_writes = off'; fi
    as_pg tee "$data/postgresql.auto.conf" >/dev/null <<EOF
# Written by deploy/local-servers.sh on every start.
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = ''
max_connections = 300
shared_buffers = 256MB
$durability
log_min_messages = warning
EOF
    log "starting PostgreSQL on 127.0.0.1:$pg_port"
    local log_file
    log_file=$(pg_log_file)
    : >"$log_file"
    if [[ $(id -u) -eq 0 ]]; then chown postgres: "$log_file"; fi
    # In a session of its own, so that Ctrl-C in the terminal of a run script reaches the
    # services (which drain) and not the database under them.
    # (9>&-: the server must not inherit the port-choosing lock.)
    setsid -w bash -c "$(declare -f as_pg); as_pg \"\$@\"" _ \
      "$bindir/pg_ctl" -D "$data" -l "$log_file" -w -t 60 start >/dev/null 9>&- ||
      { tail -n 20 "$log_file" >&2; die "PostgreSQL did not start"; }
  fi
  local db
  for db in "${databases[@]}"; do
    if [[ -z $(psql -h 127.0.0.1 -p "$pg_port" -U cc -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'") ]]; then
      psql -h 127.0.0.1 -p "$pg_port" -U cc -d postgres -qc "CREATE DATABASE $db" >/dev/null
    fi
  done
  PG_BINDIR=$bindir
  PG_DATA=$data
}

stop_postgres() {
  local bindir data
  bindir=$(pg_bindir)
  [[ -e $dir/pg ]] || return 0
  data=$(pg_data_dir)
  if pg_running "$bindir" "$data"; then
    log "stopping PostgreSQL"
    as_pg "$bindir/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null
  fi
  if ((purge)); then
    [[ -L $dir/pg ]] && rm -rf "$(dirname "$data")"
    rm -rf "$dir/pg"
  fi
}

# Prints the pid of the running Redis of this folder; fails when there is none. A pid file left
# by a killed server may name a reused pid, so the process must be a redis-server of this
# folder's port.
redis_pid() {
  [[ -f $dir/redis.pid ]] || return 1
  local pid port
  pid=$(cat "$dir/redis.pid")
  port=$(recorded CC_REDIS_PORT)
  [[ -n $pid && -n $port && -r /proc/$pid/cmdline ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "redis-server.*:$port" || return 1
  echo "$pid"
}

start_redis() {
  if redis_pid >/dev/null; then
    redis_port=$(recorded CC_REDIS_PORT)
    log "Redis already running on port $redis_port"
    return
  fi
  redis_port=$(choose_port "$redis_port" "$(recorded CC_REDIS_PORT)" 26379 --redis-port)
  mkdir -p "$dir/redis"
  local persistence=(--appendonly yes --appendfsync everysec --save "")
  if ((fast)); then persistence=(--appendonly no --save ""); fi
  log "starting Redis on 127.0.0.1:$redis_port"
  redis-server --bind 127.0.0.1 --port "$redis_port" --protected-mode yes --daemonize yes \
    --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir/redis" \
    --maxclients 10000 "${persistence[@]}" 9>&-
  local attempt
  for attempt in $(seq 1 100); do
    redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null | grep -q PONG && return
    sleep 0.1
  done
  tail -n 20 "$dir/redis.log" >&2
  die "Redis did not answer PING"
}

stop_redis() {
  local pid
  if pid=$(redis_pid); then
    log "stopping Redis"
    redis-cli -h 127.0.0.1 -p "$(recorded CC_REDIS_PORT)" shutdown nosave >/dev/null 2>&1 ||
      kill "$pid" 2>/dev/null || true
    local attempt
    for attempt in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || return 0
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
  if ((purge)); then rm -rf "$dir/redis" "$dir/redis.log"; fi
}

write_env() {
  local old_pg old_redis
  old_pg=$(recorded CC_PG_PORT)
  old_redis=$(recorded CC_REDIS_PORT)
  {
    echo "CC_PG_HOST=127.0.0.1"
    echo "CC_PG_PORT=${pg_port:-$old_pg}"
    echo "CC_PG_USER=cc"
    echo "CC_PG_BINDIR=${PG_BINDIR:-$(pg_bindir)}"
    echo "CC_PG_DATA=${PG_DATA:-$dir/pg}"
    echo "CC_REDIS_HOST=127.0.0.1"
    echo "CC_REDIS_PORT=${redis_port:-$old_redis}"
  } >"$env_file.tmp"
  mv "$env_file.tmp" "$env_file"
  # A registry of ports in use by working folders, keyed by folder, so first_free_port skips them.
  grep '_PORT=' "$env_file" >"${registry_prefix}$(echo "$dir" | md5sum | cut -c1-12)"
}

case $command in
  start)
    # Starts of different folders choose ports one at a time, so two never pick the same.
    exec 9>"$lock_file"
    flock 9
    wants postgres && start_postgres
    wants redis && start_redis
    write_env
    flock -u 9
    log "ready; settings in $env_file"
    ;;
  stop)
    wants redis && stop_redis
    wants postgres && stop_postgres
    rm -f "${registry_prefix}$(echo "$dir" | md5sum | cut -c1-12)"
    ;;
  status)
    bindir=$(pg_bindir)
    if [[ -e $dir/pg ]] && pg_running "$bindir" "$(pg_data_dir)"; then echo "postgres: running on port $(recorded CC_PG_PORT)"; else echo "postgres: stopped"; fi
    if redis_pid >/dev/null; then echo "redis: running on port $(recorded CC_REDIS_PORT)"; else echo "redis: stopped"; fi
    ;;
  env)
    [[ -f $env_file ]] || die "no $env_file; run start first"
    cat "$env_file"
    ;;
  *) usage; exit 2 ;;
esac
