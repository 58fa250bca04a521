#!/bin/sh
# deps.sh - install the Debian packages bouncer needs to build, run and test.
#
# As root the missing packages are installed with apt-get; otherwise the exact
# command is printed and we stop, so nothing half-works later.
set -eu

PACKAGES="build-essential pkg-config
libglib2.0-dev libgmime-3.0-dev libpq-dev libzmq3-dev libpcre2-dev
libjson-c-dev libjson-glib-dev libcurl4-openssl-dev libmicrohttpd-dev
libgpgme-dev
postgresql postgresql-client
python3 python3-zmq python3-aiosmtpd
clang valgrind"

# Extra packages for benchmarks only (make bench, make bench-parse).
if [ "${1:-}" = "--bench" ]; then
    PACKAGES="$PACKAGES libsisimai-perl dovecot-lmtpd postfix time"
fi

missing=""
for p in $PACKAGES; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
        *"install ok installed"*) ;;
        *) missing="$missing $p" ;;
    esac
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    echo "deps: installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    # The postgresql package would start and enable the system cluster; bouncer
    # runs its own clusters, so keep package scripts from starting services.
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d.bouncer
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        mv /usr/sbin/policy-rc.d.bouncer /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    else
        rm -f /usr/sbin/policy-rc.d.bouncer
    fi
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing
else
    echo "deps: missing packages:$missing" >&2
    echo "deps: run this as root, then try again:" >&2
    echo "    apt-get update && apt-get install -y$missing" >&2
    exit 1
fi
