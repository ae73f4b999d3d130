#!/usr/bin/env bash
# Every option that a command's --help prints is documented: in README.md (written as
# `--name`) and in the man page the build generated (as \-\-name). The commands are the ones
# `partshift --help` lists, so a new command or option cannot go undocumented.
#   tests/docs/check_options_documented.sh PARTSHIFT README.md BUILD/partshift.1
set -euo pipefail
partshift=$1
readme=$2
man=$3
[[ -s $man ]] || { echo "check_options_documented: no man page at $man" >&2; exit 1; }
commands=$("$partshift" --help | awk '/^commands:/ {on=1; next} on && /^  [a-z]/ {print $1} on && /^$/ {exit}')
[[ -n $commands ]] || { echo "check_options_documented: partshift --help lists no command" >&2; exit 1; }
missing=0
for command in $commands; do
  options=$("$partshift" "$command" --help | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
  [[ -n $options ]] || { echo "partshift $command --help lists no option" >&2; missing=1; }
  for option in $options; do
    [[ $option == --help ]] && continue
    # The whole option, not a longer one it starts (--dry-run is not --dry-run-for).
    if ! grep -qE -- "(^|[\`( [])$option([\` =|,.:;)]|]|\$)" "$readme"; then
      echo "README.md does not mention $option (partshift $command --help)" >&2
      missing=1
    fi
    # As the man page sets an option: \fB\-\-name\fR (bold, the whole name).
    if ! grep -qF -- "\\fB${option//-/\\-}\\fR" "$man"; then
      echo "the man page does not mention $option (partshift $command --help)" >&2
      missing=1
    fi
  done
  grep -qE "^\.B $command\$" "$man" || { echo "the man page has no entry for $command" >&2; missing=1; }
done
[[ $missing == 0 ]] && echo "check_options_documented: every option of $(wc -w <<<"$commands") commands is in README.md and the man page"
exit $missing
