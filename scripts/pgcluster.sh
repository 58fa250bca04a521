#!/bin/sh
# pgcluster.sh - a private PostgreSQL cluster in one directory, reachable only
# through a unix socket inside it (no TCP). Used by `make run` (./var) and by
# the tests (a throw-away directory under /tmp).
#
#   pgcluster.sh start DIR      create on first use, then start; prints nothing
#   pgcluster.sh stop DIR       fast shutdown (in-flight transactions roll back)
#   pgcluster.sh kill DIR       immediate shutdown, as after a crash
#   pgcluster.sh conninfo DIR   libpq conninfo of the cluster's `bouncer` database
#   pgcluster.sh status DIR     exit 0 when running
#
# As root the cluster runs as the `postgres` user (PostgreSQL refuses root), so
# DIR and every directory above it must be reachable by that user.
set -eu

cmd=${1:?usage: pgcluster.sh start|stop|kill|conninfo|status DIR}
dir=${2:?usage: pgcluster.sh start|stop|kill|conninfo|status DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
data="$dir/data"
sock="$dir"
log="$dir/postgres.log"

bindir=$(pg_config --bindir 2>/dev/null || true)
if [ ! -x "$bindir/initdb" ]; then
    bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
fi
if [ ! -x "$bindir/initdb" ]; then
    echo "pgcluster: PostgreSQL server binaries not found (apt-get install postgresql)" >&2
    exit 1
fi

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

case "$cmd" in
conninfo)
    echo "host=$sock port=5432 user=bouncer dbname=bouncer"
    exit 0
    ;;
status)
    as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1
    exit $?
    ;;
stop|kill)
    mode=fast
    [ "$cmd" = kill ] && mode=immediate
    if [ -f "$data/postmaster.pid" ]; then
        as_owner "$bindir/pg_ctl" -D "$data" -m "$mode" -w stop >/dev/null 2>&1 || true
    fi
    exit 0
    ;;
start) ;;
*)
    echo "pgcluster: unknown command $cmd" >&2
    exit 2
    ;;
esac

if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$dir"
    if ! runuser -u postgres -- test -w "$dir"; then
        echo "pgcluster: $dir is not reachable by the postgres user;" >&2
        echo "pgcluster: use a directory outside /root, or give o+x on its parents" >&2
        exit 1
    fi
fi

if [ ! -f "$data/PG_VERSION" ]; then
    as_owner "$bindir/initdb" -D "$data" -U bouncer -A trust -E UTF8 --locale=C.UTF-8 \
        >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    cat >>"$data/postgresql.conf" <<EOF
# bouncer: private cluster, unix socket only
listen_addresses = ''
unix_socket_directories = '$sock'
max_connections = 200
shared_buffers = 128MB
logging_collector = off
EOF
fi

if ! as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    as_owner "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 60 start >/dev/null ||
        { tail -n 20 "$log" >&2; exit 1; }
fi

# The database itself, once.
if ! as_owner "$bindir/psql" -h "$sock" -U bouncer -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = 'bouncer'" | grep -q 1; then
    as_owner "$bindir/createdb" -h "$sock" -U bouncer bouncer
fi
