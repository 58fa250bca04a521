#!/bin/sh
# corpus.sh - score the parser on the shared corpus of real bounces.
#
#   sh tests/corpus.sh BOUNCERCTL [--tap]
#
# Runs `BOUNCERCTL parse` over ../shared/corpus/emails (relative to the
# project top, the current directory), scores the output with the corpus's
# score.py and fails when a metric is under its threshold. Then parses every
# email again with CRLF line ends and requires the same output. With --tap
# prints TAP lines. Without ../shared/corpus it prints a skip and exits 0.
set -u

ctl=${1:?usage: sh tests/corpus.sh BOUNCERCTL [--tap]}
tap=0
[ "${2:-}" = "--tap" ] && tap=1

corpus=../shared/corpus
python=/usr/bin/python3

if [ ! -d "$corpus/emails" ] || [ ! -f "$corpus/score.py" ]; then
    if [ $tap -eq 1 ]; then
        echo "1..0 # SKIP $corpus not present"
    else
        echo "corpus: skipped ($corpus not present)"
    fi
    exit 0
fi

work=$(mktemp -d /tmp/bouncer-corpus.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM

# Thresholds: metric key in score.py --json, minimum percent, label.
thresholds="detected_pct 99 detected
addr_recall_pct 99 addr
status_real_pct 97 status(real)
reason_pct 95 reason
hard_agree_pct 97 hard/soft"

n=0
failed=0
report() {   # report OK DESCRIPTION
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then
        [ $tap -eq 1 ] && echo "ok $n - $2" || echo "corpus: ok   $2"
    else
        failed=$((failed + 1))
        [ $tap -eq 1 ] && echo "not ok $n - $2" || echo "corpus: FAIL $2"
    fi
}

if ! "$ctl" parse "$corpus/emails" >"$work/lf.jsonl" 2>"$work/lf.err"; then
    [ $tap -eq 1 ] && echo "1..1" && echo "not ok 1 - bouncerctl parse failed" || echo "corpus: bouncerctl parse failed"
    sed 's/^/# /' "$work/lf.err" | head -n 20
    exit 1
fi
"$python" "$corpus/score.py" "$corpus/expected.jsonl" "$work/lf.jsonl" --json >"$work/score.json"
"$python" "$corpus/score.py" "$corpus/expected.jsonl" "$work/lf.jsonl" >"$work/score.txt"

# 5 thresholds + false positives + CRLF
[ $tap -eq 1 ] && echo "1..7"
grep '^SUMMARY' "$work/score.txt" | sed 's/^/# /'

echo "$thresholds" | while read -r key min label; do
    "$python" - "$work/score.json" "$key" "$min" "$label" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
v = m.get(sys.argv[2])
v = float('nan') if v is None else float(v)
ok = v >= float(sys.argv[3])
print('%d %s %.1f%% >= %s%%' % (0 if ok else 1, sys.argv[4], v, sys.argv[3]))
EOF
done >"$work/checks"
while read -r rc desc; do
    report "$rc" "$desc"
done <"$work/checks"

fp=$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["false_positives"])' "$work/score.json")
[ "$fp" -eq 0 ]
report $? "false positives $fp == 0"

# The same emails with CRLF line ends (as they arrive over LMTP) must give
# the same output; only the file names differ.
mkdir "$work/crlf"
for f in "$corpus"/emails/*; do
    sed 's/\r$//; s/$/\r/' "$f" >"$work/crlf/${f##*/}"
done
"$ctl" parse "$work/crlf" | sed 's#"file": *"[^"]*/#"file":"#' >"$work/crlf.jsonl"
sed 's#"file": *"[^"]*/#"file":"#' "$work/lf.jsonl" >"$work/lf.norm"
if cmp -s "$work/lf.norm" "$work/crlf.jsonl"; then
    report 0 "CRLF output identical"
else
    report 1 "CRLF output identical"
    diff "$work/lf.norm" "$work/crlf.jsonl" | head -n 6 | cut -c1-200 | sed 's/^/# /'
fi

[ $failed -eq 0 ]
