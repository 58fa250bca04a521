#!/bin/sh
# run.sh - the end-to-end tests behind `make test-e2e`: a real Postfix in
# front of bouncerd.
#
#   sh tests/e2e/run.sh BINDIR
#
# Installs Debian's postfix and swaks when they are missing, without starting
# or enabling the system's mail service; starts a throw-away PostgreSQL; runs
# tests/e2e/test_postfix.py, which starts a private Postfix instance
# (`postfix -c DIR start`, loopback only, a high port, never 25), bouncerd
# and an SMTP sink, and submits mail with swaks. Whatever was started is
# stopped at the end, also when a test fails or the run is interrupted. The
# last line is "N passed, N failed".
set -u

bindir=${1:-bin}
top=$(pwd)
case $bindir in
    /*) ;;
    *) bindir="$top/$bindir" ;;
esac

passed=0
failed=0

# --- packages -----------------------------------------------------------
# postfix comes up as "No configuration": the package writes no main.cf,
# and the policy-rc.d below keeps its maintainer scripts from starting the
# system instance. A fresh install is then disabled again (the postinst
# enables the unit and the init script links), so nothing listens on port 25
# now or after a reboot. An existing postfix installation is left as it is.
install_packages() {
    missing=""
    for p in postfix swaks python3 python3-zmq python3-aiosmtpd; do
        status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
        case "$status" in
            *"install ok installed"*) ;;
            *) missing="$missing $p" ;;
        esac
    done
    [ -z "$missing" ] && return 0
    echo "e2e: installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    own_policy=no
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        own_policy=yes
    fi
    fresh_postfix=no
    case "$missing" in
        *" postfix"*)
            fresh_postfix=yes
            echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
            ;;
    esac
    rc=0
    apt-get update -qq || rc=$?
    if [ $rc -eq 0 ]; then
        # shellcheck disable=SC2086
        apt-get install -y -qq --no-install-recommends $missing >"$work/apt.log" 2>&1 || rc=$?
        [ $rc -ne 0 ] && tail -n 20 "$work/apt.log" >&2
    fi
    if [ "$own_policy" = yes ]; then
        rm -f /usr/sbin/policy-rc.d
        own_policy=no
    fi
    if [ $rc -eq 0 ] && [ "$fresh_postfix" = yes ]; then
        update-rc.d postfix disable >/dev/null 2>&1 || true
        deb-systemd-helper disable postfix.service >/dev/null 2>&1 || true
    fi
    return $rc
}

# --- a work directory the postgres and postfix users can reach -------------
work=$(mktemp -d /tmp/bouncer-e2e.XXXXXX)
chmod 755 "$work"
pypid=""
own_policy=no

cleanup() {
    trap - EXIT INT TERM
    [ "$own_policy" = yes ] && rm -f /usr/sbin/policy-rc.d
    if [ -n "$pypid" ]; then
        kill "$pypid" 2>/dev/null
        wait "$pypid" 2>/dev/null
    fi
    # What the test program would have stopped itself, had it got the chance.
    if [ -f "$work/postfix/etc/main.cf" ]; then
        postfix -c "$work/postfix/etc" stop >/dev/null 2>&1
    fi
    if [ -f "$work/bouncerd.pid" ]; then
        pid=$(cat "$work/bouncerd.pid")
        if grep -q bouncerd "/proc/$pid/cmdline" 2>/dev/null; then
            kill "$pid" 2>/dev/null
            sleep 2
            grep -q bouncerd "/proc/$pid/cmdline" 2>/dev/null && kill -9 "$pid" 2>/dev/null
        fi
    fi
    sh "$top/scripts/pgcluster.sh" stop "$work/pg" >/dev/null 2>&1
    if [ "${E2E_KEEP:-}" = "" ]; then
        rm -rf "$work"
    else
        echo "e2e: kept $work"
    fi
}
trap cleanup EXIT
trap 'echo "e2e: interrupted"; exit 130' INT
trap 'echo "e2e: terminated"; exit 143' TERM

if [ "$(id -u)" -ne 0 ]; then
    echo "e2e: run as root: the private Postfix's master runs as root (postfix -c DIR start)"
    echo "0 passed, 1 failed"
    exit 1
fi

if ! install_packages; then
    echo "e2e: could not install postfix and swaks"
    echo "0 passed, 1 failed"
    exit 1
fi

if ! sh "$top/scripts/pgcluster.sh" start "$work/pg"; then
    echo "e2e: could not start PostgreSQL"
    echo "0 passed, 1 failed"
    exit 1
fi

export BOUNCER_SRCDIR="$top"
export BOUNCER_BINDIR="$bindir"
export BOUNCER_TEST_PGDIR="$work/pg"
BOUNCER_TEST_CONNINFO=$(sh "$top/scripts/pgcluster.sh" conninfo "$work/pg")
export BOUNCER_TEST_CONNINFO
export BOUNCER_E2E_DIR="$work"

# The test program runs in the background so that a signal reaches the trap
# at once rather than after the program ends.
log="$work/test_postfix.log"
/usr/bin/python3 "$top/tests/e2e/test_postfix.py" >"$log" 2>"$log.err" &
pypid=$!
wait "$pypid"
rc=$?
pypid=""

cat "$log"
passed=$(grep -cE '^ok [0-9]+' "$log" || true)
failed=$(grep -cE '^not ok [0-9]+' "$log" || true)
if [ $rc -ne 0 ] && [ "$failed" -eq 0 ]; then
    failed=1
    echo "e2e: test_postfix.py exited with status $rc"
fi
if [ $rc -ne 0 ]; then
    # What the logs said last, for a failure on a machine nobody can log in to.
    for f in "$log.err" "$work/postfix/postfix.log" "$work"/bouncerd-test.*/bouncerd.log; do
        [ -s "$f" ] || continue
        echo "e2e: --- last lines of ${f#"$work"/}"
        tail -n 25 "$f" | sed 's/^/e2e: /'
    done
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
