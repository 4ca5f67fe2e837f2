#!/usr/bin/env bash
# Every subcommand answers --help (and `stash help NAME`) with its usage and an
# example; `stash --help` lists them all; the manual page made from the same
# texts names every command and renders without a warning where groff exists.
set -euo pipefail
stash=$1
fail() { echo "FAIL: $*" >&2; exit 1; }
overview=$("$stash" --help)
commands=$(sed -n 's/^  \([a-z]*\)  .*/\1/p' <<<"$overview")
[[ $(wc -w <<<"$commands") -ge 8 ]] || fail "overview lists: $commands"
man=$("$stash" help --man)
for c in $commands; do
  text=$("$stash" "$c" --help) || fail "$c --help exited $?"
  [[ $text == "usage: stash $c"* ]] || fail "$c --help starts: ${text%%$'\n'*}"
  grep -qi "example" <<<"$text" || fail "$c --help has no example"
  [[ $("$stash" help "$c") == "$text" ]] || fail "stash help $c differs from $c --help"
  grep -qxF ".SS $c" <<<"$man" || fail "the manual page lacks $c"
done
code=0
"$stash" help no-such-command >/dev/null || code=$?
[[ $code == 2 ]] || fail "help of an unknown command: exit $code"
if command -v groff >/dev/null; then
  warnings=$(groff -man -Tutf8 -ww -z <<<"$man" 2>&1)
  [[ -z $warnings ]] || fail "groff: $warnings"
fi
echo "help: $(wc -w <<<"$commands") commands checked"
