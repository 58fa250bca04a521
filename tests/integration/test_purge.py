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


def inbound_stats():
    return [int(v) for v in psql("SELECT seq_scan, n_tup_upd, idx_tup_fetch FROM pg_stat_user_tables"
                                 " WHERE relname = 'inbound_messages'")[0]]


@tap.test
def purge_reads_only_what_is_due():
    # Hourly, on a table of every message ever received: the messages due
    # are found from the indexes of stored ones (sql/017), not by reading
    # the table. Around the few that are due here: 5 000 stored reports
    # younger than their 90 days, though older than a reply's 7, and 1 000
    # purged long ago.
    ids = setup()
    psql("INSERT INTO inbound_messages (session_id, mail_from, rcpt_to, mailbox, size, sha256, raw,"
         " received_at) SELECT 't', '', 'y' || i || '@example.org', 'bounce', 3, sha256('abc'),"
         " 'abc', now() - (8 + i % 80 || ' days')::interval FROM generate_series(1, 5000) i")
    psql("INSERT INTO inbound_messages (session_id, mail_from, rcpt_to, mailbox, size, sha256, raw,"
         " received_at, purged_at) SELECT 't', '', 'z' || i || '@example.org', 'bounce', 3,"
         " sha256('abc'), NULL, now() - interval '400 days', now() - interval '300 days'"
         " FROM generate_series(1, 1000) i")
    psql("ANALYZE inbound_messages")
    seq0, upd0, fetch0 = inbound_stats()
    out = ctl()
    eq(out.returncode, 0, "exit status: " + out.stderr)
    check(out.stdout.startswith("purged 3 message(s)"), out.stdout)
    # The purge's connection reports its statistics as it ends: once its
    # 3 updates show, so does everything it read.
    wait_for(lambda: inbound_stats()[1] - upd0 >= 3, 10, "the purge's statistics")
    seq, _, fetch = inbound_stats()
    eq(seq - seq0, 0, "sequential scans of inbound_messages by the purge")
    check(fetch - fetch0 < 100, "rows the purge fetched: %d" % (fetch - fetch0))
    eq(sorted(set(map(int, kept())) & {int(v) for v in ids.values()}),
       sorted([int(ids["reply-new"]), int(ids["reply-old-needed"]), int(ids["bounce-8d"])]),
       "the same messages purged as by a full read")


@tap.test
def an_auto_reply_keeps_no_copy_past_retention():
    # What an auto-reply quotes (the sender, the subject) goes with the
    # message it answered; a queued one keeps its text until it is sent,
    # and does not hold back the message it answered.
    reset_database()
    old, new = inbound("reply", 8), inbound("reply", 1)
    rows = {}
    for name, inbound_id, state in (("sent-old", old, "sent"), ("held-old", old, "held"),
                                    ("queued-old", old, "queued"), ("sent-new", new, "sent")):
        rows[name] = psql("INSERT INTO outbox (kind, inbound_id, rcpt_to, message, state, expires_at)"
                          " VALUES ('autoreply', :'v1', 'sender@example.net',"
                          " 'Subject: Auto: a private subject', :'v2', now() + interval '1 day')"
                          " RETURNING id", inbound_id, state)[0][0]
    orphan = psql("INSERT INTO outbox (kind, rcpt_to, message, state, expires_at, created_at)"
                  " VALUES ('autoreply', 'sender@example.net', 'Subject: Auto: x', 'sent',"
                  " now(), now() - interval '8 days') RETURNING id")[0][0]
    out = ctl()
    eq(out.returncode, 0, "exit status: " + out.stderr)
    eq(kept(), [new], "the old message is purged though a reply to it is still queued")
    copies = {r[0]: r[1] for r in psql("SELECT id, message IS NOT NULL FROM outbox")}
    eq(copies, {rows["sent-old"]: "f", rows["held-old"]: "f", rows["queued-old"]: "t",
                rows["sent-new"]: "t", orphan: "f"},
       "copies left: the queued reply's and the one whose message is kept")
    psql("UPDATE outbox SET state = 'sent' WHERE id = :'v1'", rows["queued-old"])
    ctl()
    eq(psql("SELECT message IS NULL FROM outbox WHERE id = :'v1'", rows["queued-old"]), [["t"]],
       "once sent, the next run removes its copy too")


@tap.test
def daemon_timer_purges():
    ids = setup()
    with Bouncerd({"retention": {"purge_interval": "1"}}) as d:
        wait_for(lambda: len(kept()) == 3, 10, "the timer to purge")
    eq(kept(), sorted([ids["reply-new"], ids["reply-old-needed"], ids["bounce-8d"]], key=int), "kept")


if __name__ == "__main__":
    tap.run()
