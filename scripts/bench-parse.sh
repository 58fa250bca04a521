#!/bin/sh
# bench-parse.sh - parse speed and memory, bouncerctl against Sisimai.
#
#   sh scripts/bench-parse.sh BOUNCERCTL [RUNS]
#   BENCH_CLOCK=build/default/bench/spawn_clock sh scripts/bench-parse.sh ...
#
# The whole corpus (../shared/corpus/emails, or $BENCH_CORPUS) is parsed by
# one `BOUNCERCTL parse` process and by one Perl process running Sisimai, in
# the same run, RUNS times each (default 9), alternating so both see the
# same machine state. Prints the median emails/s of each, the ratio, and the
# peak RSS (from /usr/bin/time -v) of each. Where perf is installed it also
# gives the CPU time of each (perf stat task-clock, in runs of their own):
# on a busy machine the wall-clock ratio follows the load, the CPU one much
# less. "start-up" is bouncerctl parse of an empty directory: what every
# run pays before the first message.
#
# The clock: BENCH_CLOCK (make bench-parse gives tests/bench/spawn_clock.c,
# which starts the command with posix_spawn) or, without it, a Perl process
# that forks and execs the command. A fork copies the forking process's
# page tables, which on a virtual machine cost 2-3 ms of a 28 ms run of
# ours (nothing against Sisimai's half second): with BENCH_CLOCK, the
# Perl clock's rate of ours is printed too, beside the table.
set -u

ctl=${1:?usage: sh scripts/bench-parse.sh BOUNCERCTL [RUNS]}
runs=${2:-9}
clock=${BENCH_CLOCK:-}
if [ -n "$clock" ] && [ ! -x "$clock" ]; then
    echo "bench-parse: BENCH_CLOCK $clock is not an executable" >&2
    exit 1
fi
corpus=${BENCH_CORPUS:-../shared/corpus/emails}

if [ ! -d "$corpus" ]; then
    echo "bench-parse: $corpus not found (set BENCH_CORPUS)" >&2
    exit 1
fi
if [ ! -x /usr/bin/time ]; then
    echo "bench-parse: /usr/bin/time is missing (apt-get install time)" >&2
    exit 1
fi
have_sisimai=1
perl -MSisimai -e 1 2>/dev/null || have_sisimai=0
have_perf=1
perf stat -x, -e task-clock -o /dev/null true 2>/dev/null || have_perf=0

emails=$(find "$corpus" -maxdepth 1 -type f | wc -l)
work=$(mktemp -d /tmp/bench-parse.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
mkdir "$work/empty"

# Sisimai 4.25 calls it make(), 5.x rise(); both return one object per
# bounce, which we count so the work cannot be skipped.
cat >"$work/sisimai.pl" <<'EOF'
use strict;
use warnings;
use Sisimai;
my $dir = shift;
my $list = Sisimai->can('rise') ? Sisimai->rise($dir) : Sisimai->make($dir);
printf "%d\n", scalar @{ $list || [] };
EOF

# perl_clock OUT CMD... - the Perl clock: around fork, exec and wait of
# the command alone; seconds written to OUT.
perl_clock() {
    perl -MTime::HiRes=time -e 'my $out = shift; my $t = time; system(@ARGV);
        my $s = time - $t; open(my $f, ">", $out) or die; printf $f "%.6f\n", $s' "$@"
}

# measure NAME CMD... - one run: wall seconds and peak RSS (kB) appended
# to $work/NAME. The clock is read around the command alone (not around
# `date` and /usr/bin/time, whose own start-up would count against the
# faster program); the peak RSS comes from a second run under
# /usr/bin/time -v.
measure() {
    name=$1
    shift
    if [ -n "$clock" ]; then
        "$clock" "$work/secs.txt" "$@" >/dev/null 2>"$work/err.txt"
    else
        perl_clock "$work/secs.txt" "$@" >/dev/null 2>"$work/err.txt"
    fi
    secs=$(cat "$work/secs.txt")
    /usr/bin/time -v -o "$work/time.txt" "$@" >/dev/null 2>"$work/err.txt"
    rss=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$work/time.txt")
    echo "${secs:-0} ${rss:-0}" >>"$work/$name"
}

# cpu NAME CMD... - one run: CPU seconds (perf's task-clock) appended to
# $work/NAME.cpu.
cpu() {
    name=$1
    shift
    [ $have_perf -eq 1 ] || return 0
    perf stat -x, -e task-clock -o "$work/perf.txt" -- "$@" >/dev/null 2>"$work/err.txt"
    awk -F, '$3 == "task-clock" { printf "%.4f\n", $1 / 1000 }' "$work/perf.txt" >>"$work/$name.cpu"
}

i=0
while [ $i -lt "$runs" ]; do
    measure ours "$ctl" parse "$corpus"
    if [ -n "$clock" ]; then
        perl_clock "$work/secs.txt" "$ctl" parse "$corpus" >/dev/null 2>"$work/err.txt"
        cat "$work/secs.txt" >>"$work/ours.perl"
    fi
    [ $have_sisimai -eq 1 ] && measure sisimai perl "$work/sisimai.pl" "$corpus"
    cpu ours "$ctl" parse "$corpus"
    cpu startup "$ctl" parse "$work/empty"
    [ $have_sisimai -eq 1 ] && cpu sisimai perl "$work/sisimai.pl" "$corpus"
    i=$((i + 1))
done

# median FILE COLUMN - the median of one column.
median() {
    sort -n -k"$2" "$1" | awk -v c="$2" '{ v[NR] = $c } END {
        if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# cpu_median NAME - median CPU seconds, or "-" without perf.
cpu_median() {
    if [ -s "$work/$1.cpu" ]; then median "$work/$1.cpu" 1; else echo "-"; fi
}

ours_s=$(median "$work/ours" 1)
ours_rss=$(median "$work/ours" 2)
ours_rate=$(awk -v n="$emails" -v s="$ours_s" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
ours_cpu=$(cpu_median ours)

printf '\nbench-parse: %d emails from %s, %d runs each, medians\n\n' "$emails" "$corpus" "$runs"
printf '%-22s %12s %12s %14s %12s\n' "parser" "seconds" "emails/s" "peak RSS (MB)" "CPU seconds"
printf '%-22s %12s %12s %14s %12s\n' "----------------------" "------------" "------------" \
    "--------------" "------------"
printf '%-22s %12.3f %12s %14.1f %12s\n' "bouncerctl parse" "$ours_s" "$ours_rate" \
    "$(awk -v k="$ours_rss" 'BEGIN { print k / 1024 }')" "$ours_cpu"
if [ $have_sisimai -eq 1 ]; then
    sis_s=$(median "$work/sisimai" 1)
    sis_rss=$(median "$work/sisimai" 2)
    sis_rate=$(awk -v n="$emails" -v s="$sis_s" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
    sis_cpu=$(cpu_median sisimai)
    version=$(perl -MSisimai -e 'print $Sisimai::VERSION')
    printf '%-22s %12.3f %12s %14.1f %12s\n' "Sisimai $version" "$sis_s" "$sis_rate" \
        "$(awk -v k="$sis_rss" 'BEGIN { print k / 1024 }')" "$sis_cpu"
    printf '\nspeed ratio (ours / Sisimai): %s x    memory ratio: %s x' \
        "$(awk -v a="$ours_rate" -v b="$sis_rate" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }')" \
        "$(awk -v a="$ours_rss" -v b="$sis_rss" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')"
    if [ "$ours_cpu" != "-" ] && [ "$sis_cpu" != "-" ]; then
        printf '    CPU time ratio: %s x' \
            "$(awk -v a="$ours_cpu" -v b="$sis_cpu" 'BEGIN { printf "%.1f", (a > 0 ? b / a : 0) }')"
    fi
    printf '\n'
else
    printf '\n(Sisimai not installed: sh scripts/deps.sh --bench)\n'
fi
if [ -n "$clock" ]; then
    perl_s=$(median "$work/ours.perl" 1)
    printf 'clock: %s; bouncerctl by the Perl fork-and-exec clock: %s emails/s (%.3f s)\n' \
        "$(basename "$clock")" \
        "$(awk -v n="$emails" -v s="$perl_s" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')" \
        "$perl_s"
fi
if [ "$(cpu_median startup)" != "-" ]; then
    printf 'start-up (parse of an empty directory): %s CPU seconds\n' "$(cpu_median startup)"
fi
