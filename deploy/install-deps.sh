#!/usr/bin/env bash
# Installs every Debian 12 package the suite needs to build, run and test.
# Idempotent: packages already present are skipped; sudo is used when not root.
set -euo pipefail

packages=(
  # build
  cmake g++ ninja-build pkg-config clang-format
  # libraries
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libhiredis-dev libpqxx-dev libphonenumber-dev rapidjson-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # private servers for running and testing
  postgresql postgresql-contrib redis-server
  # cross-language contract test, buf lint, health CLI helpers
  python3-grpcio python3-protobuf
  # process and port checks used by the run and test scripts
  procps iproute2 psmisc
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done

# npm runs buf lint and the manifest checks; a machine may already carry Node.js from another
# source (its npm ships inside nodejs), so Debian's npm is installed only when none is found.
if ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi
# kubectl renders the Kubernetes manifests (`kubectl kustomize`) in the manifest test; a machine
# may carry a newer kubectl of its own, so Debian's kubernetes-client comes only when none is.
if ! command -v kubectl >/dev/null 2>&1; then
  missing+=(kubernetes-client)
fi

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  sudo_cmd=(sudo)
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"

# Debian's postgresql and redis-server packages start system-wide servers; the suite runs
# its own private servers, so it leaves the system ones alone rather than relying on them.
echo "install-deps: done"
