#!/usr/bin/env bash
# check_format: every C++ file of the project is as clang-format (the repo's .clang-format)
# writes it, so a change's diff carries its meaning and no reformatting noise. Lists the files
# that are not and how to fix them; exit 1 then. Run by ctest as the unit test source_format.
#   tests/style/check_format.sh [REPO_ROOT]
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root"
formatter=$(command -v clang-format || command -v clang-format-14 || true)
[[ -n $formatter ]] || { echo "check_format: clang-format is not installed (scripts/install-deps.sh installs it)" >&2; exit 1; }
mapfile -t files < <(find include src tests -type f \( -name '*.cpp' -o -name '*.hpp' -o -name '*.h' \) | sort)
unformatted=()
for f in "${files[@]}"; do
  "$formatter" --dry-run -Werror "$f" >/dev/null 2>&1 || unformatted+=("$f")
done
if ((${#unformatted[@]})); then
  printf 'check_format: not formatted: %s\n' "${unformatted[@]}" >&2
  echo "check_format: run: clang-format -i ${unformatted[*]}" >&2
  exit 1
fi
echo "check_format: ${#files[@]} files formatted"
