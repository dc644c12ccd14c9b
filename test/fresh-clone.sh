#!/usr/bin/env bash
# The first `make run_tests` on a fresh clone, as a new user runs it: `make run_tests > run.tap`
# installs the dependencies (npm ci) and must still leave a file that is the report only, which
# tap-parser --strict accepts.
#
#   test/fresh-clone.sh          clone this repository (its committed HEAD) into a temporary
#                                directory and check there
#   test/fresh-clone.sh --here   check this checkout, which must not have node_modules yet
#                                (.ci/run on a fresh CI machine: no second npm ci)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ "${1:-}" = "--here" ]; then
  dir=$src
  if [ -e "$dir/node_modules" ]; then
    echo "fresh-clone: $dir already has node_modules; run without --here" >&2
    exit 2
  fi
else
  git clone -q "$src" "$tmp/clone"
  dir=$tmp/clone
fi
cd "$dir"
status=0
make run_tests > "$tmp/run.tap" 2> "$tmp/stderr.log" || status=$?
fail() {
  echo "fresh-clone: FAIL: $*" >&2
  echo "--- stderr of make run_tests (last 20 lines):" >&2
  tail -20 "$tmp/stderr.log" >&2
  exit 1
}
[ "$status" -eq 0 ] || fail "make run_tests exited $status"
grep -q '^added [0-9]* packages' "$tmp/stderr.log" || fail "npm's install messages are not on stderr (was anything installed?)"
head -1 "$tmp/run.tap" | grep -qx 'TAP version 14' || fail "stdout does not start with 'TAP version 14': $(head -1 "$tmp/run.tap")"
if grep -q -e '^> ' -e '^added ' -e 'npm \(warn\|notice\)' "$tmp/run.tap"; then fail "install chatter on stdout"; fi
node_modules/.bin/tap-parser --strict < "$tmp/run.tap" > "$tmp/parsed.txt" || fail "tap-parser --strict refused run.tap (or a selftest failed): $(tail -5 "$tmp/parsed.txt")"
echo "fresh-clone: ok: make run_tests on a fresh clone printed only the report ($(grep -c '^ok ' "$tmp/run.tap") selftests ok), npm's output went to stderr, and tap-parser --strict accepts it"
