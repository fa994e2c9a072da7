#!/usr/bin/env bash
# Installs what is needed, builds, and runs every test of the suite: unit tests, integration
# tests against a private PostgreSQL and Redis (started once for the run by the CTest fixture
# `servers` and stopped at the end), end-to-end tests of the real service binaries, the Python
# contract test, the benchmarks' smoke runs, buf lint of the contracts and the format check.
#
#   tests/run-all.sh [extra ctest arguments, e.g. -L unit or -R common_]
set -euo pipefail
checkout=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${CC_BUILD_DIR:-$checkout/build}

"$checkout/deploy/install-deps.sh"
"$checkout/deploy/build.sh"

started=$(date +%s)
cd "$build_dir"
# Tests never share state (each has its own database and Redis site), so they run in parallel.
ctest --output-on-failure --timeout 900 -j "${CC_TEST_JOBS:-$(($(nproc) + 1))}" "$@"
echo "tests: all passed in $(($(date +%s) - started)) s"
