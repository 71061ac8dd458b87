#!/usr/bin/env bash
# run-suite.sh COMMAND... -- runs the test command, and when it fails, prints every failed test and recorded
# issue again at the end: a long parallel run interleaves them with hundreds of passing lines, and a CI log
# that keeps only its tail would otherwise hide which test failed and why.
set -uo pipefail
log=$(mktemp "${TMPDIR:-/tmp}/sockettool-suite.XXXXXX")
trap 'rm -f "$log"' EXIT
"$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
if [ "$status" -ne 0 ]; then
  echo "== the suite failed (exit $status); what failed, as it was reported above:"
  grep -E '✘|recorded an issue|error:|Fatal error|Crash|signal [0-9]+' "$log" | grep -v 'passed after' | tail -n 60
fi
exit "$status"
