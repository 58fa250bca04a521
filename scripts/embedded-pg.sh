#!/bin/sh
# embedded-pg.sh - where the embedded PostgreSQL of `make run` lives, and
# `make psql` on it.
#
#   embedded-pg.sh dir     print the cluster directory (./var/pg, or a
#                          directory the postgres user can reach, linked
#                          from ./var/pg, when ./var is under /root)
#   embedded-pg.sh psql    psql on the `bouncer` database; reads SQL from
#                          standard input when that is not a terminal
set -eu
top=$(pwd)

cluster_dir() {
    mkdir -p "$top/var"
    if [ -L "$top/var/pg" ]; then
        readlink "$top/var/pg"
        return
    fi
    if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$top/var" 2>/dev/null; then
        # PostgreSQL runs as postgres and cannot enter this checkout.
        alt="/var/tmp/bouncer-$(printf '%s' "$top" | sha256sum | cut -c1-12)/pg"
        mkdir -p "$alt"
        chmod 755 "$(dirname "$alt")"
        ln -sfn "$alt" "$top/var/pg"
        echo "$alt"
        return
    fi
    echo "$top/var/pg"
}

case "${1:-}" in
dir)
    cluster_dir
    ;;
psql)
    dir=$(cluster_dir)
    if ! sh scripts/pgcluster.sh status "$dir"; then
        sh scripts/pgcluster.sh start "$dir"
    fi
    exec psql "$(sh scripts/pgcluster.sh conninfo "$dir")"
    ;;
*)
    echo "usage: embedded-pg.sh dir|psql" >&2
    exit 2
    ;;
esac
