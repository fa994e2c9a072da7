#!/bin/sh
# Runs the BullMQ peer benchmark: installs its pinned npm dependencies on first use
# (npm ci, from package-lock.json), then runs bench.mjs with the given arguments.
# Works from any cwd and as root. Usage: tools/bench/bullmq/run.sh --redis HOST:PORT ...
set -eu
case "$0" in */*) here=${0%/*} ;; *) here=. ;; esac
here=$(cd "$here" && pwd)

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "run.sh: node and npm are needed; on Debian/Ubuntu: apt-get install -y nodejs npm" >&2
  exit 2
fi

# The installed bullmq must be the locked one; otherwise (missing or stale) run npm ci.
installed_ok() {
  (cd "$here" && node -e '
    const want = require("./package-lock.json").packages["node_modules/bullmq"].version;
    const have = require("./node_modules/bullmq/package.json").version;
    process.exit(want === have ? 0 : 1);' >/dev/null 2>&1)
}

if ! installed_ok; then
  lock="${TMPDIR:-/tmp}/cc-bench-bullmq-$(id -u).lock"
  install() {
    installed_ok && return 0  # another run installed it while we waited for the lock
    # Quiet: nothing on stdout (callers parse it); errors still reach stderr.
    if ! (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >/dev/null); then
      echo "run.sh: 'npm ci' failed in $here (is the npm registry reachable?)" >&2
      exit 1
    fi
  }
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$lock"
    flock 9
    install
    flock -u 9
    exec 9>&-
  else
    install
  fi
fi

exec node "$here/bench.mjs" "$@"
