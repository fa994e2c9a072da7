#!/usr/bin/env bash
# Checks that every C++ file of the project is formatted with the root .clang-format.
#   tools/lint/format-check.sh         report files that differ (exit 1 if any)
#   tools/lint/format-check.sh --fix   format them in place
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
mapfile -t files < <(git ls-files -co --exclude-standard -- '*.cc' '*.h' | grep -v '^build')
if [[ ${1:-} == --fix ]]; then
  clang-format -i "${files[@]}"
  exit 0
fi
bad=()
for file in "${files[@]}"; do
  clang-format --dry-run --Werror "$file" >/dev/null 2>&1 || bad+=("$file")
done
if ((${#bad[@]})); then
  echo "not clang-formatted (run tools/lint/format-check.sh --fix):"
  printf '  %s\n' "${bad[@]}"
  exit 1
fi
echo "format: ${#files[@]} files pass clang-format"
