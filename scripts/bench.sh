#!/bin/sh
# bench.sh - LMTP throughput, latency, CPU and memory of bouncerd, measured
# in one run beside Dovecot's LMTP and pgbench on the same machine.
#
#   sh scripts/bench.sh BUILD BINDIR        (make bench builds, then runs this)
#
# In a fresh directory under /tmp: a private PostgreSQL (default settings),
# bouncerd on it, Dovecot 2.3's LMTP delivering to maildirs, and pgbench
# against the same PostgreSQL. For each number of concurrent sessions
# ($BENCH_SESSIONS, default "1 4 16") each of the three gets $BENCH_SECONDS
# (10) of the same load, one after the other, in $BENCH_ROUNDS (3) rounds;
# the table shows the round with the median rate and the range:
#
#   bouncerd  the DSN fixtures of tests/fixtures/bounces (or of
#             $BENCH_FIXTURES, any directory of .eml files: what the parser
#             reads in a file without a .json beside it stands in for one),
#             each message to a fresh signed VERP address, its failed
#             addresses made unique
#             ($BUILD/bench/lmtp_load --key ... --vary-recipients)
#   Dovecot   the same messages to user0..user999@bench.test
#   pgbench   one INSERT per transaction of the same bytes (bigserial id,
#             timestamptz, bytea), synchronous_commit on
#
# Every message acknowledged must be stored: inbound_messages and bounces
# rows (bouncerd) and maildir files (Dovecot) are counted after each run
# and compared with the 250s the client read. CPU per message is the
# utime+stime delta (/proc/PID/stat) of bouncerd, and of the postgres
# processes (live ones plus the postmaster's reaped children), over the run
# and until the events it caused are published; the CPU that processes
# outside the benchmark used meanwhile is shown too (/proc/stat), since a
# shared machine disturbs the figures. Peak RSS is VmHWM (reset with
# clear_refs before each run). Then $BENCH_MEM_SESSIONS (100) sessions
# connect, say LHLO, stay idle $BENCH_MEM_IDLE (5) seconds and all send for
# $BENCH_MEM_SECONDS (10): bouncerd's VmHWM.
#
# With perf available (BENCH_PERF=0 to skip), one more 16-session run under
# `perf record` gives bouncerd's top functions; it is not in the table.
#
# Prints the table and writes it as markdown to DIR/report.md; everything
# else (clusters, maildirs, processes) is removed at exit, unless
# BENCH_KEEP=1.
set -u

build=${1:?usage: sh scripts/bench.sh BUILD BINDIR}
bindir=${2:?usage: sh scripts/bench.sh BUILD BINDIR}
top=$(pwd)
seconds=${BENCH_SECONDS:-10}
rounds=${BENCH_ROUNDS:-3}
warmup=${BENCH_WARMUP:-3}
levels=${BENCH_SESSIONS:-1 4 16}
mem_sessions=${BENCH_MEM_SESSIONS:-100}
mem_idle=${BENCH_MEM_IDLE:-5}
mem_seconds=${BENCH_MEM_SECONDS:-10}
pool_size=${BENCH_POOL_SIZE:-8}
transactions=${BENCH_TRANSACTIONS:-2}
group_commit=${BENCH_GROUP_COMMIT:-16}
mailboxes=${BENCH_MAILBOXES:-1000}
perf_seconds=${BENCH_PERF_SECONDS:-10}
fixtures_src=${BENCH_FIXTURES:-$top/tests/fixtures/bounces}

case $build in /*) ;; *) build=$top/$build ;; esac
case $bindir in /*) ;; *) bindir=$top/$bindir ;; esac
load=$build/bench/lmtp_load
bouncerd=$bindir/bouncerd
ctl=$bindir/bouncerctl

for f in "$load" "$bouncerd" "$ctl"; do
    if [ ! -x "$f" ]; then
        echo "bench: $f is missing (make BUILD=... BINDIR=... all tests-build)" >&2
        exit 1
    fi
done
pgbin=$(pg_config --bindir 2>/dev/null || true)
[ -x "$pgbin/pgbench" ] || pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
for tool in "$pgbin/pgbench" "$pgbin/psql"; do
    if [ ! -x "$tool" ]; then
        echo "bench: $tool not found (apt-get install postgresql-client)" >&2
        exit 1
    fi
done
have_dovecot=1
command -v dovecot >/dev/null 2>&1 && [ -x /usr/lib/dovecot/lmtp ] || have_dovecot=0
[ $have_dovecot -eq 1 ] || echo "bench: Dovecot's LMTP not installed (sh scripts/deps.sh --bench): no Dovecot column" >&2

work=$(mktemp -d /tmp/bench-lmtp.XXXXXX)
chmod 755 "$work"
pgdir=$work/pg
dvdir=$work/dovecot
fixtures=$work/fixtures
out=$work/results
scratch=$work/scratch
mkdir -p "$fixtures" "$out" "$scratch" "$work/sent" "$work/pgbench"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

bouncerd_pid=""
dovecot_pid=""
cleanup() {
    [ -n "$bouncerd_pid" ] && kill "$bouncerd_pid" 2>/dev/null && wait "$bouncerd_pid" 2>/dev/null
    [ -n "$dovecot_pid" ] && kill "$dovecot_pid" 2>/dev/null && wait "$dovecot_pid" 2>/dev/null
    sh "$top/scripts/pgcluster.sh" stop "$pgdir" >/dev/null 2>&1
    if [ "${BENCH_KEEP:-0}" != 1 ]; then
        rm -rf "$pgdir" "$dvdir" "$fixtures" "$scratch" "$work/pgbench" "$work/sent" \
            "$work/perf.data"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf 'bench: %s\n' "$*" >&2; }

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_port PORT - until something accepts on 127.0.0.1:PORT (20 s).
wait_port() {
    python3 - "$1" <<'EOF'
import socket, sys, time
deadline = time.time() + 20
while time.time() < deadline:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.5).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
EOF
}

# kv NAME FILE - a value from lmtp_load's key=value result line.
kv() { sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p; s/^$1=\([^[:space:]]*\).*/\1/p" "$2" | head -n 1; }

# ticks PID - CPU ticks (user + system) of one process, all its threads.
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

# tree_ticks PID - CPU ticks of a master process, its live children and
# the children it has already reaped (postgres backends, Dovecot services).
tree_ticks() {
    cat /proc/[0-9]*/stat 2>/dev/null | awk -v pm="$1" '
        $1 == pm { t += $14 + $15 + $16 + $17 }
        $4 == pm { t += $14 + $15 }
        END { print t + 0 }'
}

hwm_kb() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$1/status" 2>/dev/null; }
rss_kb() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$1/status" 2>/dev/null; }

# reset_hwm PID - start a new peak (Linux clear_refs 5); 1 when it worked.
reset_hwm() { (echo 5 >"/proc/$1/clear_refs") 2>/dev/null && echo 1 || echo 0; }

calc() { awk "BEGIN { $1 }"; }

hz=$(getconf CLK_TCK)
ncpu=$(nproc)

# per_unit TICKS0 TICKS1 COUNT - milliseconds of CPU per message.
per_unit() { calc "printf \"%.3f\", ((${3:-0} > 0) ? ($2 - $1) * 1000 / $hz / $3 : 0)"; }

# --- fixtures: the returned-mail fixtures that are bounces ----------------
for eml in "$fixtures_src"/*.eml; do
    name=$(basename "$eml" .eml)
    json=${eml%.eml}.json
    if [ -f "$json" ]; then
        cp "$eml" "$scratch/$name.eml"
    else
        # Mail of one's own: without the line an mbox file starts with
        # (an MTA sends none over LMTP), and what the parser finds in it is
        # what a run must store.
        sed '1{/^From /d;}' "$eml" >"$scratch/$name.eml"
        json=$scratch/$name.json
        "$ctl" parse "$scratch/$name.eml" >"$json" 2>/dev/null || continue
        # A report whose failed address is also its To: address (a test
        # sent to itself) would have that address replaced by the VERP
        # recipient, which is then no failed recipient at all.
        to=$(tr -d '\r' <"$scratch/$name.eml" |
            sed -n '/^$/q; s/^[Tt][Oo]:.*[< ]\([^<> ]*@[^<> ]*\).*/\1/p' | head -n 1 | tr 'A-Z' 'a-z')
        if [ -n "$to" ] && grep -qF "\"addr\":\"$to\"" "$json"; then
            continue
        fi
    fi
    # One message per file, a delivery report or an MTA's own bounce.
    [ "$(grep -c '"file"' "$json")" -eq 1 ] || continue
    grep -qE '"kind":"(dsn|nonstandard)"' "$json" || continue
    mv "$scratch/$name.eml" "$fixtures/$name.eml"
    cp "$json" "$fixtures/$name.json"
done
rm -f "$scratch"/*.eml "$scratch"/*.json
nfixtures=$(ls "$fixtures" | grep -c '\.eml$')
if [ "$nfixtures" -eq 0 ]; then
    echo "bench: no delivery reports or bounces among the .eml files of $fixtures_src" >&2
    exit 1
fi
fixture_bytes=$(cat "$fixtures"/*.eml | wc -c)
say "$nfixtures bounce fixtures, $((fixture_bytes / nfixtures)) bytes on average, in $work"

# --- PostgreSQL and bouncerd ----------------------------------------------
sh "$top/scripts/pgcluster.sh" start "$pgdir" || exit 1
conninfo=$(sh "$top/scripts/pgcluster.sh" conninfo "$pgdir")
pgdata=$pgdir/data
postmaster=$(head -n 1 "$pgdata/postmaster.pid")
psql_q() { "$pgbin/psql" "$conninfo" -X -q -t -A -v ON_ERROR_STOP=1 -c "$1"; }
"$ctl" migrate --conninfo "$conninfo" >"$out/migrate.txt" 2>&1 || { cat "$out/migrate.txt" >&2; exit 1; }
pg_version=$(psql_q "SHOW server_version")

key_hex=$(od -An -v -tx1 -N32 /dev/urandom | tr -d ' \n')
key="1:$key_hex"
lmtp_port=$(free_port)
cat >"$work/bouncer.conf" <<EOF
[lmtp]
listen = 127.0.0.1:$lmtp_port
socket =
hostname = bench.test
[mail]
bounce_domain = notifications.example.com
reply_mailbox = messageservice@post.example.com
[database]
conninfo = $conninfo
pool_size = $pool_size
transactions = $transactions
group_commit = $group_commit
[log]
file = $out/bouncerd.log
level = warning
[daemon]
shutdown_timeout = 5
[token]
keys = $key
current_key = 1
[events]
# No endpoint: events are still sequenced and marked published, the work a
# subscribed publisher does, without a subscriber process on the machine.
endpoints =
[relay]
url = file:$work/sent
EOF
"$bouncerd" -c "$work/bouncer.conf" >"$out/bouncerd.stderr" 2>&1 &
bouncerd_pid=$!
if ! wait_port "$lmtp_port"; then
    say "bouncerd did not start:"
    cat "$out/bouncerd.stderr" "$out/bouncerd.log" >&2 2>/dev/null
    exit 1
fi

# --- Dovecot ----------------------------------------------------------------
dovecot_port=""
if [ $have_dovecot -eq 1 ]; then
    mkdir -p "$dvdir/mail" "$dvdir/run" "$dvdir/state"
    if [ "$(id -u)" -eq 0 ]; then
        # Mail is stored as the Debian `mail` user; Dovecot's own processes
        # run as the users its package created.
        mail_user=mail
        internal="default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull"
    else
        mail_user=$(id -un)
        internal="default_internal_user = $mail_user
default_internal_group = $(id -gn)
default_login_user = $mail_user"
    fi
    mail_uid=$(id -u "$mail_user")
    mail_gid=$(id -g "$mail_user")
    chown "$mail_uid:$mail_gid" "$dvdir/mail"
    dovecot_port=$(free_port)
    cat >"$dvdir/dovecot.conf" <<EOF
# Dovecot 2.3 LMTP for make bench: defaults except where noted (mail_fsync
# stays "optimized": a message is on disk before its 250).
instance_name = bench-$lmtp_port
base_dir = $dvdir/run
state_dir = $dvdir/state
log_path = $dvdir/dovecot.log
protocols = lmtp
listen = 127.0.0.1
ssl = no
$internal
first_valid_uid = $mail_uid
first_valid_gid = $mail_gid
mail_uid = $mail_uid
mail_gid = $mail_gid
mail_location = maildir:$dvdir/mail/%u/Maildir
lmtp_save_to_detail_mailbox = no
postmaster_address = postmaster@bench.test
userdb {
  driver = static
  args = uid=$mail_uid gid=$mail_gid home=$dvdir/mail/%u
}
passdb {
  driver = static
  args = nopassword=y
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $dovecot_port
  }
}
EOF
    dovecot -c "$dvdir/dovecot.conf" -F >"$out/dovecot.stderr" 2>&1 &
    dovecot_pid=$!
    if ! wait_port "$dovecot_port"; then
        say "Dovecot did not start:"
        cat "$out/dovecot.stderr" "$dvdir/dovecot.log" >&2 2>/dev/null
        have_dovecot=0
        kill "$dovecot_pid" 2>/dev/null
        dovecot_pid=""
    else
        dovecot_version=$(dovecot --version | cut -d' ' -f1)
        dovecot_fsync=$(doveconf -c "$dvdir/dovecot.conf" -h mail_fsync 2>/dev/null)
    fi
fi

# --- pgbench: one INSERT of a fixture's bytes per transaction ---------------
psql_q "CREATE DATABASE insertbench" >/dev/null
pgb_conninfo=$(echo "$conninfo" | sed 's/dbname=bouncer/dbname=insertbench/')
"$pgbin/psql" "$pgb_conninfo" -X -q -v ON_ERROR_STOP=1 -c \
    "CREATE TABLE inserts (id bigserial PRIMARY KEY, received_at timestamptz NOT NULL, raw bytea NOT NULL)" ||
    exit 1
pgb_scripts=""
# pgbench takes at most 128 scripts: every step-th fixture beyond that.
step=$(((nfixtures + 127) / 128))
i=0
for eml in "$fixtures"/*.eml; do
    i=$((i + 1))
    [ $(((i - 1) % step)) -eq 0 ] || continue
    script=$work/pgbench/$(basename "$eml" .eml).sql
    printf "INSERT INTO inserts (received_at, raw) VALUES (now(), '\\\\x%s');\n" \
        "$(od -An -v -tx1 "$eml" | tr -d ' \n')" >"$script"
    pgb_scripts="$pgb_scripts -f $script@1"
done
pgsock=$(echo "$conninfo" | sed 's/.*host=\([^ ]*\).*/\1/')

# --- the runs ---------------------------------------------------------------
status=0

checkpoint() { psql_q "CHECKPOINT" >/dev/null; }

# wait_published - until bouncerd has published every event (15 s).
wait_published() {
    i=0
    while [ $i -lt 150 ]; do
        [ "$(psql_q "SELECT count(*) FROM events_unpublished")" = 0 ] && return 0
        sleep 0.1
        i=$((i + 1))
    done
    say "events still unpublished after 15 s"
}

cpu_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }

# child_ticks - CPU ticks of this script's reaped children (the load
# generator, pgbench, psql); `times` must run in this shell, not a subshell.
child_ticks() {
    times >"$scratch/times.txt"
    sed -n 2p "$scratch/times.txt" | awk -v hz="$hz" '{
        split($1, u, /[ms]/); split($2, s, /[ms]/)
        printf "%d\n", (u[1] * 60 + u[2] + s[1] * 60 + s[2]) * hz }'
}

dovecot_ticks() { if [ -n "$dovecot_pid" ]; then tree_ticks "$dovecot_pid"; else echo 0; fi; }

# window_begin, window_end - around one measured run: the CPU ticks of
# bouncerd (w_bouncerd), of the postgres processes (w_postgres), of Dovecot's
# (w_dovecot), and other_pct: the share of all CPUs that processes outside
# the benchmark used meanwhile (other work on a shared machine), so that a
# disturbed run shows as one.
window_begin() {
    w_t0=$(date +%s.%N)
    w_cpu0=$(cpu_busy)
    child_ticks >"$scratch/kids0.txt"
    w_b0=$(ticks "$bouncerd_pid")
    w_p0=$(tree_ticks "$postmaster")
    w_d0=$(dovecot_ticks)
    w_lsn0=$(psql_q "SELECT pg_current_wal_lsn()")
}
window_end() {
    w_bouncerd=$(($(ticks "$bouncerd_pid") - w_b0))
    w_postgres=$(($(tree_ticks "$postmaster") - w_p0))
    w_dovecot=$(($(dovecot_ticks) - w_d0))
    w_wal=$(psql_q "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$w_lsn0')::bigint")
    child_ticks >"$scratch/kids1.txt"
    w_kids=$(($(cat "$scratch/kids1.txt") - $(cat "$scratch/kids0.txt")))
    w_cpu=$(($(cpu_busy) - w_cpu0))
    w_t1=$(date +%s.%N)
    w_ours=$((w_bouncerd + w_postgres + w_dovecot + w_kids))
    other_pct=$(calc "o = ($w_cpu - $w_ours) * 100 / (($w_t1 - $w_t0) * $hz * $ncpu);
        printf \"%.0f\", ((o < 0) ? 0 : o)")
}

# run_bouncer NAME SESSIONS SECONDS [IDLE] - one measured load on bouncerd;
# writes $out/NAME.txt (lmtp_load's line plus ours) and checks the rows.
run_bouncer() {
    name=$1 sessions=$2 secs=$3 idle=${4:-0}
    checkpoint
    in0=$(psql_q "SELECT count(*) FROM inbound_messages")
    b0=$(psql_q "SELECT count(*) FROM bounces")
    reset_ok=$(reset_hwm "$bouncerd_pid")
    window_begin
    "$load" --connect "127.0.0.1:$lmtp_port" --sessions "$sessions" --seconds "$secs" \
        --idle "$idle" --fixtures "$fixtures" --key "$key" --vary-recipients \
        --counts "$out/$name.counts" >"$out/$name.load" 2>"$out/$name.err" &
    load_pid=$!
    idle_rss=""
    if [ "$idle" != 0 ]; then
        sleep "$(calc "print $idle - 1")"
        idle_rss=$(rss_kb "$bouncerd_pid")
    fi
    wait "$load_pid"
    wait_published
    window_end
    hwm=$(hwm_kb "$bouncerd_pid")
    in1=$(psql_q "SELECT count(*) FROM inbound_messages")
    b1=$(psql_q "SELECT count(*) FROM bounces")
    acked=$(kv acked "$out/$name.load")
    rows=$(kv rows_expected "$out/$name.load")
    errors=$(kv errors "$out/$name.load")
    stored=$((in1 - in0))
    bounce_rows=$((b1 - b0))
    verified=yes
    if [ -z "$acked" ] || [ "$stored" -ne "$acked" ] || [ "$bounce_rows" -ne "$rows" ]; then
        verified=NO
        status=1
        say "$name: MISMATCH: $acked acknowledged, $stored inbound_messages rows;" \
            "$rows bounce rows expected, $bounce_rows found"
    fi
    if [ "${errors:-1}" != 0 ]; then
        status=1
        say "$name: $errors errors:"
        head -n 5 "$out/$name.err" >&2
    fi
    {
        cat "$out/$name.load"
        echo "stored=$stored bounce_rows=$bounce_rows verified=$verified" \
             "bouncerd_ms_per_msg=$(per_unit 0 "$w_bouncerd" "$acked")" \
             "postgres_ms_per_msg=$(per_unit 0 "$w_postgres" "$acked")" \
             "hwm_kb=$hwm hwm_reset=$reset_ok idle_rss_kb=${idle_rss:-} other_pct=$other_pct" \
             "wal_bytes_per_msg=$(calc "printf \"%.0f\", ((${acked:-0} > 0) ? $w_wal / $acked : 0)")"
    } >"$out/$name.txt"
}

# run_dovecot NAME SESSIONS SECONDS [MESSAGES] - the same load on Dovecot's
# LMTP (MESSAGES: that many in all instead of for SECONDS).
run_dovecot() {
    name=$1 sessions=$2 secs=$3 count=${4:-0}
    checkpoint
    f0=$(find "$dvdir/mail" -path '*/Maildir/new/*' -type f | wc -l)
    window_begin
    "$load" --connect "127.0.0.1:$dovecot_port" --sessions "$sessions" --seconds "$secs" \
        --messages "$count" --fixtures "$fixtures" --plain "user%d@bench.test" \
        --mailboxes "$mailboxes" >"$out/$name.load" 2>"$out/$name.err"
    window_end
    f1=$(find "$dvdir/mail" -path '*/Maildir/new/*' -type f | wc -l)
    acked=$(kv acked "$out/$name.load")
    errors=$(kv errors "$out/$name.load")
    verified=yes
    if [ -z "$acked" ] || [ $((f1 - f0)) -ne "$acked" ]; then
        verified=NO
        status=1
        say "$name: MISMATCH: $acked acknowledged, $((f1 - f0)) messages in the maildirs"
    fi
    if [ "${errors:-1}" != 0 ]; then
        status=1
        say "$name: $errors errors:"
        head -n 5 "$out/$name.err" >&2
    fi
    {
        cat "$out/$name.load"
        echo "stored=$((f1 - f0)) verified=$verified" \
             "dovecot_ms_per_msg=$(per_unit 0 "$w_dovecot" "$acked") other_pct=$other_pct"
    } >"$out/$name.txt"
}

# run_pgbench NAME CLIENTS SECONDS - one INSERT per transaction.
run_pgbench() {
    name=$1 clients=$2 secs=$3
    checkpoint
    r0=$("$pgbin/psql" "$pgb_conninfo" -X -q -t -A -c "SELECT count(*) FROM inserts")
    window_begin
    # shellcheck disable=SC2086
    "$pgbin/pgbench" -n -h "$pgsock" -U bouncer $pgb_scripts -c "$clients" -j "$clients" \
        -T "$secs" insertbench >"$out/$name.pgbench" 2>"$out/$name.err"
    window_end
    r1=$("$pgbin/psql" "$pgb_conninfo" -X -q -t -A -c "SELECT count(*) FROM inserts")
    tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$out/$name.pgbench" | head -n 1)
    tps=$(calc "printf \"%.1f\", ${tps:-0}")
    lat=$(sed -n 's/^latency average = \([0-9.]*\) ms.*/\1/p' "$out/$name.pgbench")
    tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$out/$name.pgbench")
    verified=yes
    if [ -z "$tx" ] || [ $((r1 - r0)) -ne "$tx" ]; then
        verified=NO
        status=1
        say "$name: MISMATCH: $tx transactions, $((r1 - r0)) rows"
        cat "$out/$name.err" >&2
    fi
    echo "tps=${tps:-0} latency_avg_ms=${lat:-0} transactions=${tx:-0} verified=$verified" \
         "postgres_ms_per_tx=$(per_unit 0 "$w_postgres" "$tx") other_pct=$other_pct" \
         "wal_bytes_per_tx=$(calc "printf \"%.0f\", ((${tx:-0} > 0) ? $w_wal / $tx : 0)")" \
         >"$out/$name.txt"
}

say "PostgreSQL $pg_version; bouncerd on 127.0.0.1:$lmtp_port (pool_size $pool_size, transactions $transactions, group_commit $group_commit)"
[ $have_dovecot -eq 1 ] && say "Dovecot $dovecot_version LMTP on 127.0.0.1:$dovecot_port (mail_fsync=$dovecot_fsync)"
# Warm-up: caches, JIT-compiled patterns, and every Dovecot mailbox
# created once (creating a maildir is not what is measured).
say "warm-up: bouncerd ${warmup}s, Dovecot one message per mailbox"
run_bouncer warmup-bouncer 4 "$warmup"
[ $have_dovecot -eq 1 ] && run_dovecot warmup-dovecot 4 "$warmup" "$mailboxes"
status=0     # the warm-up does not decide the outcome

# note_hwm - keep the highest VmHWM seen before a reset.
lifetime_hwm=0
note_hwm() {
    h=$(hwm_kb "$bouncerd_pid")
    [ "${h:-0}" -gt "$lifetime_hwm" ] && lifetime_hwm=$h
}
# Rounds, each going through every level and each system in turn, so a
# disturbance on a shared machine hits one round rather than one column.
r=1
while [ $r -le "$rounds" ]; do
    for c in $levels; do
        say "round $r/$rounds, $c session(s): bouncerd, Dovecot, pgbench, ${seconds}s each"
        note_hwm
        run_bouncer "bouncer-$c-r$r" "$c" "$seconds"
        [ $have_dovecot -eq 1 ] && run_dovecot "dovecot-$c-r$r" "$c" "$seconds"
        run_pgbench "pgbench-$c-r$r" "$c" "$seconds"
    done
    r=$((r + 1))
done

# summarise PREFIX KEY - PREFIX.txt becomes the round with the median KEY
# (its other figures with it), plus the range of KEY over the rounds and
# whether the rows of every round checked out.
summarise() {
    r=1
    while [ $r -le "$rounds" ]; do
        [ -f "$out/$1-r$r.txt" ] && echo "$(kv "$2" "$out/$1-r$r.txt") $1-r$r $(kv verified "$out/$1-r$r.txt")"
        r=$((r + 1))
    done | sort -n | awk '{ v[NR] = $1; n[NR] = $2; if ($3 != "yes") bad = 1 }
        END { if (NR) print n[int((NR + 1) / 2)], v[1], v[NR], (bad ? "NO" : "yes") }' >"$scratch/pick.txt"
    read -r pick lo hi all_ok <"$scratch/pick.txt" || return 0
    { cat "$out/$pick.txt"; echo "min=$lo max=$hi all_verified=$all_ok round=$pick"; } >"$out/$1.txt"
}
for c in $levels; do
    summarise "bouncer-$c" msg_per_s
    [ $have_dovecot -eq 1 ] && summarise "dovecot-$c" msg_per_s
    summarise "pgbench-$c" tps
done

# BENCH_MEM_SESSIONS=0 leaves the memory run out (shortened A/B runs).
rss_before=""
if [ "$mem_sessions" -gt 0 ]; then
    say "memory: $mem_sessions sessions, idle ${mem_idle}s, then all sending for ${mem_seconds}s"
    note_hwm
    rss_before=$(rss_kb "$bouncerd_pid")
    run_bouncer "memory-$mem_sessions" "$mem_sessions" "$mem_seconds" "$mem_idle"
    note_hwm
fi

# --- a profile under the 16-session load (not in the table) ----------------
# System-wide cpu-clock samples (no hardware counters needed, so it works in
# VMs), then bouncerd's share by library and by function, and who else used
# the CPUs meanwhile.
perf_file=""
if [ "${BENCH_PERF:-1}" != 0 ] && command -v perf >/dev/null 2>&1 &&
        perf record -q -e cpu-clock -o "$scratch/perf.probe" -- true >/dev/null 2>&1; then
    rm -f "$scratch/perf.probe"
    say "profile: 16 sessions for ${perf_seconds}s under perf record"
    table_writes="SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del
                    FROM pg_stat_user_tables ORDER BY relname"
    # Idle backends report their table statistics within PGSTAT_IDLE_INTERVAL
    # (10 s): wait that long before each snapshot so the counts are whole.
    sleep 11
    psql_q "$table_writes" >"$scratch/tables0.txt"
    perf record -q -a -g -e cpu-clock -F 499 -o "$work/perf.data" -- sleep "$perf_seconds" \
        >/dev/null 2>&1 &
    perf_pid=$!
    sleep 0.5
    "$load" --connect "127.0.0.1:$lmtp_port" --sessions 16 --seconds "$((perf_seconds - 1))" \
        --fixtures "$fixtures" --key "$key" --vary-recipients >"$out/profile.load" 2>&1
    wait "$perf_pid"
    wait_published
    sleep 11
    psql_q "$table_writes" >"$scratch/tables1.txt"
    perf_file=$out/perf-bouncerd.txt
    # perf_share COMMS KEYS N - the top N entries by KEYS of the samples of
    # the threads named COMMS, in % of those samples. Sorting by comm too
    # keeps perf from merging entries (libc, the kernel) across processes;
    # the comm column is summed away here (perf leaves it out for one comm).
    perf_share() {
        first=3
        case $1 in *,*) ;; *) first=2 ;; esac
        perf report -i "$work/perf.data" --stdio --no-children -g none --comm "$1" \
                --percentage relative -t '|' --sort "comm,$2" 2>/dev/null |
            grep -v '^#' | grep -v '^[[:space:]]*$' |
            awk -F'|' -v first="$first" '{
                k = ""; for (i = first; i <= NF; i++) k = k $i " "
                gsub(/[ %]/, "", $1); s[k] += $1 }
                END { for (k in s) printf "%7.2f%%  %s\n", s[k], k }' |
            sort -rn | head -n "$3"
    }
    bouncerd_comms=bouncerd,lmtp-session,lmtp-accept,events,outbox,purge
    {
        echo "# $(cat "$out/profile.load")"
        echo "# rows written per message acknowledged, by table (inserted, updated of which HOT, deleted)"
        awk -F'|' -v n="$(kv acked "$out/profile.load")" '
            NR == FNR { i[$1] = $2; u[$1] = $3; h[$1] = $4; d[$1] = $5; next }
            n > 0 && ($2 - i[$1]) + ($3 - u[$1]) + ($5 - d[$1]) > 0 {
                printf "    %-28s ins %.2f  upd %.2f (hot %.2f)  del %.2f\n", $1,
                    ($2 - i[$1]) / n, ($3 - u[$1]) / n, ($4 - h[$1]) / n, ($5 - d[$1]) / n }' \
            "$scratch/tables0.txt" "$scratch/tables1.txt"
        echo
        echo "# all CPUs, by command (thread name)"
        perf report -i "$work/perf.data" --stdio --no-children -g none --sort comm \
                --percent-limit 1 2>/dev/null | grep -v '^#' | grep -v '^[[:space:]]*$'
        echo
        echo "# bouncerd (threads $bouncerd_comms), by shared object ([JIT]: PCRE2's compiled patterns)"
        perf_share "$bouncerd_comms" dso 10
        echo
        echo "# bouncerd, by function (self)"
        perf_share "$bouncerd_comms" dso,sym 40
        echo
        echo "# postgres processes, by shared object"
        perf_share postgres dso 8
        echo
        echo "# postgres processes, by function (self)"
        perf_share postgres dso,sym 30
    } >"$perf_file"
fi

# --- report -------------------------------------------------------------------
val() { kv "$1" "$out/$2.txt"; }
mb() { calc "printf \"%.1f\", ${1:-0} / 1024"; }
ratio() { calc "printf \"%.2f\", ((${2:-0} > 0) ? ${1:-0} / $2 : 0)"; }

report=$work/report.md
model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
mem_total=$(awk '/^MemTotal/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo)
{
    echo "| sessions | bouncer msg/s | p50 ms | p99 ms | bouncerd CPU/msg | postgres CPU/msg | Dovecot msg/s | pgbench tps | bouncer/Dovecot | bouncer/pgbench |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for c in $levels; do
        b_rate=$(val msg_per_s "bouncer-$c")
        d_rate=$([ $have_dovecot -eq 1 ] && val msg_per_s "dovecot-$c" || echo 0)
        p_tps=$(val tps "pgbench-$c")
        printf '| %s | %s | %s | %s | %s ms | %s ms | %s | %s | %s | %s |\n' "$c" \
            "$b_rate" "$(val p50_ms "bouncer-$c")" "$(val p99_ms "bouncer-$c")" \
            "$(val bouncerd_ms_per_msg "bouncer-$c")" "$(val postgres_ms_per_msg "bouncer-$c")" \
            "$d_rate" "$p_tps" "$(ratio "$b_rate" "$d_rate")" "$(ratio "$b_rate" "$p_tps")"
    done
    echo
    echo "Each figure is from the round with the median rate ($rounds rounds of ${seconds}s); the ranges are over all rounds."
    echo
    echo "| sessions | bouncer msg/s range | Dovecot msg/s range | pgbench tps range | bouncerd peak RSS | Dovecot p50 / p99 ms | Dovecot CPU/msg (all processes) | pgbench latency avg | postgres CPU/insert | WAL bytes per message / per insert | CPU used by others (bouncer / Dovecot / pgbench run) | rows checked, all rounds |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    for c in $levels; do
        if [ $have_dovecot -eq 1 ]; then
            dv="$(val p50_ms "dovecot-$c") / $(val p99_ms "dovecot-$c")"
            dvcpu="$(val dovecot_ms_per_msg "dovecot-$c") ms"
            dvok=$(val all_verified "dovecot-$c")
            dvother="$(val other_pct "dovecot-$c")%"
            dvrange="$(val min "dovecot-$c")–$(val max "dovecot-$c")"
        else
            dv=- dvcpu=- dvok=- dvother=- dvrange=-
        fi
        printf '| %s | %s | %s | %s | %s MB | %s | %s | %s ms | %s ms | %s / %s | %s%% / %s / %s%% | bouncer %s, Dovecot %s, pgbench %s |\n' "$c" \
            "$(val min "bouncer-$c")–$(val max "bouncer-$c")" "$dvrange" \
            "$(val min "pgbench-$c")–$(val max "pgbench-$c")" \
            "$(mb "$(val hwm_kb "bouncer-$c")")" "$dv" "$dvcpu" \
            "$(val latency_avg_ms "pgbench-$c")" "$(val postgres_ms_per_tx "pgbench-$c")" \
            "$(val wal_bytes_per_msg "bouncer-$c")" "$(val wal_bytes_per_tx "pgbench-$c")" \
            "$(val other_pct "bouncer-$c")" "$dvother" "$(val other_pct "pgbench-$c")" \
            "$(val all_verified "bouncer-$c")" "$dvok" "$(val all_verified "pgbench-$c")"
    done
    echo
    m=memory-$mem_sessions
    if [ "$mem_sessions" -gt 0 ]; then
        printf 'Memory: %s sessions, LHLO, idle %ss, then all sending for %ss: bouncerd VmHWM **%s MB** ' \
            "$mem_sessions" "$mem_idle" "$mem_seconds" "$(mb "$(val hwm_kb "$m")")"
        printf '(RSS %s MB before, %s MB with all sessions idle; %s msg/s, p99 %s ms, %s errors; rows %s). ' \
            "$(mb "$rss_before")" "$(mb "$(val idle_rss_kb "$m")")" "$(val msg_per_s "$m")" \
            "$(val p99_ms "$m")" "$(val errors "$m")" "$(val verified "$m")"
    fi
    printf 'Highest VmHWM of the whole run: %s MB.\n' "$(mb "$lifetime_hwm")"
    echo
    echo "Machine: $(nproc) CPUs ($model), $mem_total memory, Linux $(uname -r);" \
         "load average $load_before before the run, $(cut -d' ' -f1-3 /proc/loadavg) after." \
         "PostgreSQL $pg_version (default settings, synchronous_commit on), bouncerd pool_size $pool_size, transactions $transactions, group_commit $group_commit," \
         "$([ $have_dovecot -eq 1 ] && echo "Dovecot $dovecot_version (mail_fsync=$dovecot_fsync, maildir, $mailboxes mailboxes),")" \
         "$rounds rounds of ${seconds}s per run, $nfixtures DSN fixtures of $((fixture_bytes / nfixtures)) bytes on average."
} >"$report"

# targets, from the runs at 16 and 4 sessions
t16=$(echo "$levels" | tr ' ' '\n' | grep -qx 16 && echo 1 || echo 0)
t4=$(echo "$levels" | tr ' ' '\n' | grep -qx 4 && echo 1 || echo 0)
met() { calc "print (($1) ? \"met\" : \"missed\")"; }
{
    echo
    echo "Targets:"
    if [ "$t16" = 1 ]; then
        rd=$([ $have_dovecot -eq 1 ] && ratio "$(val msg_per_s bouncer-16)" "$(val msg_per_s dovecot-16)" || echo 0)
        rp=$(ratio "$(val msg_per_s bouncer-16)" "$(val tps pgbench-16)")
        echo "- 16 sessions, >= 4x Dovecot's msg/s: ${rd}x, $(met "$rd >= 4")"
        echo "- 16 sessions, >= 50% of pgbench's INSERT rate: $(calc "printf \"%.0f\", $rp * 100")%, $(met "$rp >= 0.5")"
        if [ $have_dovecot -eq 1 ]; then
            # Not a target: both leave the CPUs about as idle, so the rate
            # ratio follows this one, which moves less from run to run.
            ours_ms=$(calc "print $(val bouncerd_ms_per_msg bouncer-16) + $(val postgres_ms_per_msg bouncer-16)")
            echo "  (CPU a message at 16 sessions: Dovecot's processes $(val dovecot_ms_per_msg dovecot-16) ms," \
                 "bouncerd and PostgreSQL $ours_ms ms: $(ratio "$(val dovecot_ms_per_msg dovecot-16)" "$ours_ms")x)"
        fi
    fi
    if [ "$t4" = 1 ]; then
        p99=$(val p99_ms bouncer-4)
        echo "- p99 < 20 ms at 4 sessions: $p99 ms, $(met "$p99 < 20")"
    fi
    if [ "$mem_sessions" -gt 0 ]; then
        hwm=$(mb "$(val hwm_kb "memory-$mem_sessions")")
        echo "- peak RSS < 64 MB with $mem_sessions sessions: $hwm MB, $(met "$hwm < 64")"
    fi
} >>"$report"

echo
cat "$report"
if [ -n "$perf_file" ]; then
    echo
    echo "Profile ($perf_file):"
    sed -n '/rows written/,/^$/p' "$perf_file"
    sed -n '/by command/,/^$/p' "$perf_file" | head -n 8
    sed -n '/bouncerd (threads/,/^$/p' "$perf_file" | head -n 9
    echo
    sed -n '/bouncerd, by function/,/^$/p' "$perf_file" | head -n 16
    echo
    sed -n '/postgres processes, by shared object/,/^$/p' "$perf_file" | head -n 6
fi
echo
echo "bench: report in $report (raw results in $out)"
[ $status -eq 0 ] || say "some runs had errors or did not verify (see above)"
exit $status
