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
# Bad usage exits 2.
for args in "help no-such-command" "no-such-command" "bench --bogus" "bench no-such-part" \
  "bench --out"; do
  code=0
  # shellcheck disable=SC2086
  "$stash" $args >/dev/null 2>/tmp/stash-help-err.$$ || code=$?
  [[ $code == 2 ]] || fail "stash $args: exit $code"
done
rm -f /tmp/stash-help-err.$$
if command -v groff >/dev/null; then
  warnings=$(groff -man -Tutf8 -ww -z <<<"$man" 2>&1)
  [[ -z $warnings ]] || fail "groff: $warnings"
fi
echo "help: $(wc -w <<<"$commands") commands checked"
