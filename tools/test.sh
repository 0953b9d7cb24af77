#!/usr/bin/env bash
# The project's test command (README "Run the tests"; .ci/run calls it).
# Builds the solution once, then runs every test project and ends with the line "N passed, N failed, N skipped".
# Arguments go to dotnet build and dotnet test alike (e.g. -c Release).
#
# A project counts as failed (and the exit code is non-zero) when its test run fails, when it writes no result file,
# when it runs no test at all (a filter, a discovery problem or a broken adapter would otherwise look green), or when
# its test host crashes or hangs: a test still running after the hang timeout ends the run with a failure.
set -uo pipefail
cd "$(dirname "$0")/.."

hang_timeout=${OGW_TEST_HANG_TIMEOUT:-5m}
results=.tmp/test-results
rm -rf "$results"
mkdir -p "$results"

passed=0
failed=0
skipped=0
status=0

# Reads one trx: prints "passed failed skipped" from its test results (a skipped test is outcome NotExecuted).
count_outcomes() {
  local trx=$1
  local p f s
  p=$(grep -o '<UnitTestResult [^>]*outcome="Passed"' "$trx" | wc -l)
  f=$(grep -o '<UnitTestResult [^>]*outcome="\(Failed\|Error\|Timeout\|Aborted\)"' "$trx" | wc -l)
  s=$(grep -o '<UnitTestResult [^>]*outcome="NotExecuted"' "$trx" | wc -l)
  echo "$p $f $s"
}

dotnet build OrleansGateway.sln "$@" || status=$?
if [ "$status" -ne 0 ]; then
  failed=1
else
  for project in tests/*/*.csproj; do
    name=$(basename "$project" .csproj)
    trx="$results/$name.trx"
    # The result file is named after the project (the default trx names are timestamps, which collide when two
    # projects finish in the same second). No hang dump: a dump needs tools this machine may not have, and the
    # blame sequence file already names the test that hung.
    exit_code=0
    dotnet test "$project" --no-build --logger "trx;LogFileName=$name.trx" --results-directory "$results" \
      --blame-hang-timeout "$hang_timeout" --blame-hang-dump-type none "$@" || exit_code=$?

    if [ ! -s "$trx" ]; then
      echo "tools/test.sh: $name wrote no result file ($trx): counted as a failure" >&2
      failed=$((failed + 1))
      status=1
      continue
    fi

    read -r p f s < <(count_outcomes "$trx")
    passed=$((passed + p))
    failed=$((failed + f))
    skipped=$((skipped + s))
    if [ $((p + f + s)) -eq 0 ]; then
      echo "tools/test.sh: $name ran no test: counted as a failure" >&2
      failed=$((failed + 1))
      status=1
    elif [ "$exit_code" -ne 0 ]; then
      status=$exit_code
      if [ "$f" -eq 0 ]; then
        # The run failed without a failed test in its results: the test host crashed or hung.
        echo "tools/test.sh: $name exited with $exit_code without a failed test (test host crashed or hung): counted as a failure" >&2
        failed=$((failed + 1))
      fi
    fi
  done
fi

echo "${passed} passed, ${failed} failed, ${skipped} skipped"
exit "$status"
