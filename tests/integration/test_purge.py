"""Retention: raw messages past their period are deleted (bouncerctl purge
and the daemon's timer), never while an unsent outbox row needs them."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BINDIR, CONNINFO, Bouncerd, Tap, check, eq, psql, reset_database, wait_for

tap = Tap()


def inbound(mailbox, age_days, queued_outbox=False):
    row = psql("INSERT INTO inbound_messages (session_id, mail_from, rcpt_to, mailbox, size, sha256,"
               " raw, received_at) VALUES ('t', '', 'x@example.org', :'v1', 3, sha256('abc'), 'abc',"
               " now() - (:'v2' || ' days')::interval) RETURNING id", mailbox, str(age_days))[0][0]
    if queued_outbox:
        psql("INSERT INTO outbox (kind, inbound_id, rcpt_to, message, expires_at)"
             " VALUES ('forward', :'v1', 'org@example.org', 'm', now() + interval '1 day')", row)
    return row


def kept():
    return [r[0] for r in psql("SELECT id FROM inbound_messages WHERE raw IS NOT NULL ORDER BY id")]


def setup():
    reset_database()
    ids = {
        "reply-new": inbound("reply", 1),
        "reply-old": inbound("reply", 8),
        "reply-old-needed": inbound("reply", 8, queued_outbox=True),
        "bounce-8d": inbound("bounce", 8),
        "bounce-old": inbound("bounce", 100),
        "fbl-old": inbound("fbl", 91),
    }
    return ids


def ctl(*args):
    return subprocess.run([os.path.join(BINDIR, "bouncerctl"), "purge", "--conninfo", CONNINFO] + list(args),
                          capture_output=True, text=True)


@tap.test
def purge_dry_run_counts_and_changes_nothing():
    setup()
    out = ctl("--dry-run")
    eq(out.returncode, 0, "exit status: " + out.stderr)
    check(out.stdout.startswith("would purge 3 message(s)"), out.stdout)
    eq(len(kept()), 6, "nothing purged by a dry run")


@tap.test
def purge_removes_raw_past_retention_only():
    ids = setup()
    out = ctl()
    eq(out.returncode, 0, "exit status: " + out.stderr)
    check(out.stdout.startswith("purged 3 message(s)"), out.stdout)
    eq(kept(), sorted([ids["reply-new"], ids["reply-old-needed"], ids["bounce-8d"]], key=int),
       "rows whose raw bytes are kept")
    eq(psql("SELECT count(*) FROM inbound_messages WHERE raw IS NULL AND purged_at IS NOT NULL"),
       [["3"]], "purged rows keep their row and say when")
    eq(ctl().stdout.split(" ")[1], "0", "a second run purges nothing")


@tap.test
def daemon_timer_purges():
    ids = setup()
    with Bouncerd({"retention": {"purge_interval": "1"}}) as d:
        wait_for(lambda: len(kept()) == 3, 10, "the timer to purge")
    eq(kept(), sorted([ids["reply-new"], ids["reply-old-needed"], ids["bounce-8d"]], key=int), "kept")


if __name__ == "__main__":
    tap.run()
