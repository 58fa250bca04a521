#!/bin/sh
# run.sh - the test command behind `make test`.
#
# Starts a throw-away PostgreSQL (never the ./var one), runs every unit and
# integration test program (GLib TAP output), replays the saved fuzz corpora,
# scores the parser on ../shared/corpus when it exists, stops what it started
# and ends with one plain line: "N passed, N failed".
set -u

build=${1:-build/default}
bindir=${2:-bin}
top=$(pwd)

passed=0
failed=0
skipped=0
failures=""

export BOUNCER_SRCDIR="$top"
export BOUNCER_BINDIR="$top/$bindir"
export G_DEBUG=fatal-criticals

# A directory the postgres user can reach even when the checkout is under /root.
pgdir=$(mktemp -d /tmp/bouncer-test.XXXXXX)
chmod 755 "$pgdir"
cleanup() {
    sh "$top/scripts/pgcluster.sh" stop "$pgdir/pg" >/dev/null 2>&1
    rm -rf "$pgdir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if sh scripts/pgcluster.sh start "$pgdir/pg"; then
    export BOUNCER_TEST_PGDIR="$pgdir/pg"
    BOUNCER_TEST_CONNINFO=$(sh scripts/pgcluster.sh conninfo "$pgdir/pg")
    export BOUNCER_TEST_CONNINFO
else
    echo "run: could not start PostgreSQL; database tests will fail" >&2
    failed=$((failed + 1))
    failures="$failures postgresql-start"
fi

# count_tap NAME - read TAP on stdin, add to the totals, echo failures.
count_tap() {
    name=$1
    out=$(cat)
    ok=$(printf '%s\n' "$out" | grep -cE '^ok [0-9]+' || true)
    skip=$(printf '%s\n' "$out" | grep -cE '^ok [0-9]+.*# [Ss][Kk][Ii][Pp]' || true)
    notok=$(printf '%s\n' "$out" | grep -cE '^not ok [0-9]+' || true)
    passed=$((passed + ok - skip))
    skipped=$((skipped + skip))
    failed=$((failed + notok))
    if [ "$notok" -gt 0 ]; then
        failures="$failures $name"
        printf '%s\n' "$out" | grep -E '^not ok|^#|^Bail' | sed "s/^/  $name: /"
    fi
}

# run_program NAME CMD... - a TAP program; a crash or non-zero exit with no
# "not ok" line still counts as one failure.
run_program() {
    name=$1
    shift
    log="$pgdir/$name.log"
    "$@" >"$log" 2>"$log.err"
    rc=$?
    before=$failed
    count_tap "$name" <"$log"
    if [ $rc -ne 0 ] && [ "$failed" -eq "$before" ]; then
        failed=$((failed + 1))
        failures="$failures $name"
        echo "  $name: exited with status $rc"
        tail -n 15 "$log.err" | sed "s/^/  $name: /"
    fi
    total=$(grep -cE '^(not )?ok [0-9]+' "$log" || true)
    echo "test: $name: $total tests, exit $rc"
}

for t in "$build"/tests/test_*; do
    [ -x "$t" ] || continue
    run_program "$(basename "$t")" "$t" --tap --keep-going
done

# Replay every saved fuzz input through its target (no libFuzzer needed).
for r in "$build"/tests/replay_*; do
    [ -x "$r" ] || continue
    name=${r##*/replay_}
    run_program "replay_$name" "$r" "tests/fuzz/corpus/$name"
done

# Integration tests written in Python (Debian's python3 and its modules).
for t in tests/integration/test_*.py; do
    [ -f "$t" ] || continue
    run_program "$(basename "$t" .py)" /usr/bin/python3 "$t"
done

# The shared corpus of real bounces, only where it exists.
if [ -d "$top/../shared/corpus/emails" ]; then
    run_program corpus sh tests/corpus.sh "$bindir/bouncerctl" --tap
else
    echo "test: corpus: skipped (../shared/corpus not present)"
    skipped=$((skipped + 1))
fi

[ -n "$failures" ] && echo "failed:$failures"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
