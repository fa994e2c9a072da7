#!/usr/bin/env bash
# Checks that every C++ file of the project is formatted with the root .clang-format.
#   tools/lint/format-check.sh         report files that differ (exit 1 if any)
#   tools/lint/format-check.sh --fix   format them in place
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# (Listed first, so that a failing git stops the check instead of passing it with no files.)
listing=$(git ls-files -co --exclude-standard -- '*.cc' '*.h')
mapfile -t files < <(grep -v '^build' <<<"$listing")
if ((${#files[@]} == 0)); then
  echo "format: no C++ files found; is this a git checkout?"
  exit 1
fi
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
