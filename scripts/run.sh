#!/bin/sh
# run.sh - `make run`: the embedded default. Starts (creating on first run)
# a PostgreSQL cluster under ./var, applies the migrations and runs bouncerd
# in the foreground. Ctrl-C stops bouncerd and then the cluster.
set -eu
top=$(pwd)
conf="$top/docs/bouncer.conf.example"
[ -f "$top/bouncer.conf" ] && conf="$top/bouncer.conf"

pgdir=$(sh scripts/embedded-pg.sh dir)
mkdir -p "$top/var/run" "$top/var/sent"
echo "run: starting PostgreSQL in $pgdir"
sh scripts/pgcluster.sh start "$pgdir"

# The configuration's conninfo names no host: libpq takes it from here.
export PGHOST="$pgdir"
export PGUSER=bouncer

bouncerd_pid=""
stop() {
    trap - INT TERM EXIT
    if [ -n "$bouncerd_pid" ]; then
        kill -TERM "$bouncerd_pid" 2>/dev/null || true
        wait "$bouncerd_pid" 2>/dev/null || true
    fi
    echo "run: stopping PostgreSQL"
    sh "$top/scripts/pgcluster.sh" stop "$pgdir"
}
trap stop INT TERM EXIT

"$top/bin/bouncerctl" migrate -c "$conf"
echo "run: bouncerd -c $conf"
echo "run: LMTP on 127.0.0.1:2424 and unix:./var/run/lmtp.sock; 'make psql' opens the database; Ctrl-C stops"
echo "run: for bouncerctl in another shell: export PGHOST=$pgdir PGUSER=bouncer"
"$top/bin/bouncerd" -c "$conf" &
bouncerd_pid=$!
wait "$bouncerd_pid" || true
bouncerd_pid=""
