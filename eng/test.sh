#!/usr/bin/env bash
# Runs every test and ends with one plain summary line ("N passed, N failed, N skipped").
set -uo pipefail
cd "$(dirname "$0")/.."
configuration="${1:-Debug}"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
dotnet test Avatar.Tests -c "$configuration" --no-build -nologo --blame-hang-timeout 5m \
  --logger "console;verbosity=normal" 2>&1 | tee "$log" | grep -vE "^\[xUnit.net|^\s*$|Data collector" || true
status=${PIPESTATUS[0]}
count() { sed -nE "s/^ +$1: +([0-9]+)\$/\1/p" "$log" | tail -1; }
if ! grep -q "^Total tests:" "$log"; then
  echo "the test run did not complete"
  exit 1
fi
echo "$(count Passed || true) passed, $(count Failed || true) failed, $(count Skipped || true) skipped" | sed -E 's/^ passed/0 passed/; s/, +failed/, 0 failed/; s/, +skipped/, 0 skipped/'
exit "$status"
