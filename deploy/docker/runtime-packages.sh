#!/bin/sh
# Prints the Debian packages that hold the shared libraries the given binaries load (what the
# runtime image installs, nothing more). Works on merged-/usr systems, where dpkg knows a file
# under either /lib or /usr/lib.
set -eu
for binary in "$@"; do
  ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// {print $3}'
done | sort -u | while read -r library; do
  for candidate in "$library" "$(readlink -f "$library")"; do
    for path in "$candidate" "/usr${candidate#/usr}" "${candidate#/usr}"; do
      if owner=$(dpkg -S "$path" 2>/dev/null); then
        echo "${owner%%:*}"
        continue 3
      fi
    done
  done
  echo "runtime-packages: no package holds $library" >&2
  exit 1
done | sort -u
