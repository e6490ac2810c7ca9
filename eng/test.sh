#!/usr/bin/env bash
# Runs every test and ends with one plain summary line ("N passed, N failed, N skipped"); exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
configuration="${1:-Debug}"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
dotnet test Avatar.Tests -c "$configuration" --no-build -nologo --blame-hang-timeout 5m \
  --logger "console;verbosity=normal" > "$log" 2>&1
status=$?
grep -vE "^\[xUnit.net|^\s*$|Data collector" "$log"
count() { sed -nE "s/^ +$1: +([0-9]+)\$/\1/p" "$log" | tail -1; }
if ! grep -q "^Total tests:" "$log"; then
  echo "the test run did not complete"
  exit 1
fi
# CI shows only the end of the output: repeat each failure's name and message there.
awk '/^ +Failed [A-Za-z]/ { show = 1; lines = 0; print "" } /^ +Stack Trace:/ { show = 0 } show && lines++ < 12' "$log"
passed=$(count Passed); failed=$(count Failed); skipped=$(count Skipped)
echo "${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
if [ "$status" -ne 0 ] || [ "${failed:-0}" != 0 ]; then
  exit 1
fi
