#!/usr/bin/env bash
# buf lint over proto/ with the rules of proto/buf.yaml, using the buf pinned in
# package-lock.json (installed from npm into tools/lint/node_modules on first use).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
if [[ ! -x node_modules/.bin/buf ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
node_modules/.bin/buf lint ../../proto
echo "buf lint: proto/ passes"
