"""Started as root, bouncerd binds, sets the socket's owner and mode, then
drops to the configured user; secrets stay out of its log."""
import grp
import os
import pwd
import stat
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Bouncerd, Lmtp, Tap, check, eq, message, psql, reset_database, TEST_KEY

tap = Tap()


def status_ids(pid, field):
    with open("/proc/%d/status" % pid) as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return [int(x) for x in line.split()[1:]]
    return []


@tap.test
def root_start_drops_to_the_configured_user():
    if os.geteuid() != 0:
        print("# skipped: needs root")
        return
    reset_database()
    nobody = pwd.getpwnam("nobody")
    group = grp.getgrgid(nobody.pw_gid).gr_name
    d = Bouncerd({"daemon": {"user": "nobody"},
                  "lmtp": {"socket_mode": "0600", "socket_owner": "nobody:%s" % group}})
    with d:
        eq(status_ids(d.proc.pid, "Uid"), [nobody.pw_uid] * 4, "real, effective, saved, fs uid")
        eq(status_ids(d.proc.pid, "Gid"), [nobody.pw_gid] * 4, "gids")
        eq(status_ids(d.proc.pid, "Groups"), [], "supplementary groups dropped")
        st = os.stat(d.socket)
        eq((st.st_uid, st.st_gid), (nobody.pw_uid, nobody.pw_gid), "socket owner")
        eq(stat.S_IMODE(st.st_mode), 0o600, "socket mode")
        c = Lmtp(d.port)
        c.lhlo()
        _, replies = c.transaction("", ["postmaster@notifications.example.com"], message())
        eq(replies[0][:3], "250", "delivery after the drop")
        log = d.log_text()
    check("running as user=nobody" in log, "the log says so")
    check(TEST_KEY.split(":")[1] not in log, "token key not in the log")


@tap.test
def unknown_user_stops_start_up():
    if os.geteuid() != 0:
        print("# skipped: needs root")
        return
    d = Bouncerd({"daemon": {"user": "no-such-user-here"}})
    try:
        d.start()
        raise AssertionError("bouncerd started with an unknown user")
    except AssertionError as e:
        check("no user 'no-such-user-here'" in str(e) or "no user" in d.stderr(), str(e))


if __name__ == "__main__":
    tap.run()
