"""The support views (sql/006_support.sql), the bouncer_support role, and the
bouncerctl commands for support staff: bounces, stats, show, outbox,
reclassify. Rows are written with psql where a test needs exact times, and
real reports are delivered through bouncerd where the stored bytes matter.
The tests read what the commands print, not only how they exit."""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BINDIR, CONNINFO, Bouncerd, Tap, check, eq, free_port, psql,
                     reset_database)
from test_bounces import deliver, dsn, token
from test_ctl import parse_table

tap = Tap()


def ctl(*args, db=True, conninfo=None):
    """Run bouncerctl; returns (exit status, stdout, stderr)."""
    cmd = [os.path.join(BINDIR, "bouncerctl")] + list(args)
    if db:
        cmd += ["--conninfo", conninfo or CONNINFO]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    return out.returncode, out.stdout, out.stderr


def ctl_ok(*args, conninfo=None):
    rc, out, err = ctl(*args, conninfo=conninfo)
    eq(rc, 0, "exit status of bouncerctl %s (stderr %r)" % (" ".join(args), err))
    return out


def ctl_fails(status, want, *args, conninfo=None):
    """A failure: exit status, nothing on stdout, want in the one-line message."""
    rc, out, err = ctl(*args, conninfo=conninfo)
    eq(rc, status, "exit status of bouncerctl %s (stderr %r)" % (" ".join(args), err))
    eq(out, "", "stdout of bouncerctl %s" % " ".join(args))
    check(want in err, "stderr of bouncerctl %s names the problem (%r): %r"
          % (" ".join(args), want, err))
    return err


def daemon():
    """bouncerd publishing on a free port (others may be testing beside us)."""
    return Bouncerd({"events": {"endpoints": "tcp://127.0.0.1:%d" % free_port()}})


def json_lines(text):
    return [json.loads(line) for line in text.splitlines()]


def show_head(text):
    """show's "key: value" lines before the first blank line, values in one column."""
    fields, columns = {}, set()
    for line in text.split("\n\n")[0].splitlines():
        m = re.match(r"^([a-z0-9_]+):( +)(.*)$", line)
        check(m is not None, "not a 'key: value' line: %r" % line)
        columns.add(len(m.group(1)) + 1 + len(m.group(2)))
        fields[m.group(1)] = m.group(3)
    eq(len(columns), 1, "values start in one column")
    return fields


def section(text, title):
    """The table under "title: N" in show's output, as parse_table rows."""
    m = re.search(r"^%s: (\d+)\n((?:  .*\n)+)" % re.escape(title), text, re.M)
    check(m is not None, "section %r in %r" % (title, text))
    table = "".join(line[2:] + "\n" for line in m.group(2).splitlines())
    rows = parse_table(table)
    eq(len(rows), int(m.group(1)), "rows under %r" % title)
    return rows


# A small world: two organisations, bounces of several ages, a complaint,
# an out-of-office reply, suppressions, auto-reply decisions, outbox rows.
WORLD = """
INSERT INTO organisations (id, name, reply_to) VALUES
    (42, 'Joe Bloggs Ltd', 'joe@bloggs.example'), (43, 'Acme', 'billing@acme.example'),
    (44, 'Quiet Org', NULL);
INSERT INTO inbound_messages (id, received_at, session_id, mail_from, rcpt_to, mailbox, kind,
                              size, sha256, raw)
SELECT i, now() - interval '1 hour', 's' || i, '', 'b' || i || '@notifications.example.com',
       CASE WHEN i = 5 THEN 'fbl' WHEN i = 6 THEN 'reply' ELSE 'bounce' END, 'dsn', 100,
       sha256(int8send(i)), 'x'::bytea
  FROM generate_series(1, 6) i;
SELECT setval('inbound_messages_id_seq', 6);
INSERT INTO bounces (inbound_id, received_at, org_id, message_id, recipient, kind, action,
                     status, reply_code, reason, hard, bounce_type, bounce_subtype, diagnostic,
                     rule) VALUES
    (1, now() - interval '2 hours', 42, 7, 'Gone@Example.org', 'dsn', 'failed', '5.1.1', '550',
     'userunknown', true, 'Permanent', 'NoEmail', '550 5.1.1 user unknown', 'userunknown'),
    (2, now() - interval '3 days', 42, 8, 'full@example.org', 'dsn', 'failed', '4.2.2', '452',
     'mailboxfull', false, 'Transient', 'MailboxFull', '452 4.2.2 mailbox full', 'mailboxfull'),
    (3, now() - interval '20 days', 42, 9, 'late@example.org', 'dsn', 'delayed', '4.4.7', '',
     'expired', false, 'Transient', 'General', 'still trying', 'action-delayed'),
    (3, now() - interval '40 days', 42, 9, 'old@example.org', 'dsn', 'failed', '5.1.1', '550',
     'userunknown', true, 'Permanent', 'NoEmail', 'gone long ago', 'userunknown'),
    (4, now() - interval '30 minutes', 43, 10, 'gone@example.org', 'dsn', 'failed', '5.1.1',
     '550', 'userunknown', true, 'Permanent', 'NoEmail', '550 no such user', 'userunknown'),
    (4, now() - interval '5 hours', 43, 11, 'away@example.org', 'autoreply', '', '', '',
     'vacation', false, '', '', '', 'autoreply');
INSERT INTO complaints (inbound_id, received_at, org_id, message_id, recipient, feedback_type,
                        reporting_mta)
VALUES (5, now() - interval '2 days', 43, 12, 'gone@example.org', 'abuse', 'fbl.isp.example');
INSERT INTO suppressions (address, org_id, reason, detail, since, until, removed_at,
                          removed_by, removed_reason) VALUES
    ('gone@example.org', NULL, 'hard-bounce', '5.1.1 userunknown', now() - interval '2 hours',
     NULL, NULL, NULL, NULL),
    ('gone@example.org', 43, 'complaint', 'complaint abuse', now() - interval '2 days',
     NULL, NULL, NULL, NULL),
    ('gone@example.org', 42, 'manual', 'typo', now() - interval '60 days', NULL,
     now() - interval '50 days', 'alice', 'fixed'),
    ('full@example.org', NULL, 'soft-bounces', '3 soft bounces', now() - interval '10 days',
     now() - interval '3 days', NULL, NULL, NULL),
    ('temp@example.org', NULL, 'soft-bounces', '3 soft bounces', now() - interval '1 day',
     now() + interval '6 days', NULL, NULL, NULL);
INSERT INTO outbox (id, created_at, kind, org_id, inbound_id, rcpt_to, message, state, attempts,
                    next_attempt_at, expires_at, last_error, sent_at) VALUES
    (1, now() - interval '3 hours', 'forward', 42, 1, 'joe@bloggs.example', 'm1', 'sent', 1,
     now() - interval '3 hours', now() + interval '2 days', '', now() - interval '3 hours'),
    (2, now() - interval '2 hours', 'forward', 42, 2, 'joe@bloggs.example', 'm2', 'failed', 3,
     now() - interval '1 hour', now() - interval '1 hour', '550 5.1.1 mailbox unavailable', NULL),
    (3, now() - interval '90 minutes', 'forward', 43, 4, 'billing@acme.example', 'm3', 'held', 0,
     now() - interval '90 minutes', now() + interval '2 days', 'hourly forward limit reached',
     NULL),
    (4, now() - interval '20 minutes', 'autoreply', NULL, 6, 'someone@example.net', 'm4',
     'queued', 2, now() - interval '5 minutes', now() + interval '2 days',
     '421 try later', NULL),
    (5, now() - interval '1 minute', 'forward', 43, 4, 'billing@acme.example', 'm5', 'queued', 0,
     now() + interval '5 minutes', now() + interval '2 days', '', NULL);
SELECT setval('outbox_id_seq', 5);
INSERT INTO events (type, org_id, payload, created_at)
VALUES ('outbox.failed', 42, '{"outbox_id": 2}', now() - interval '1 hour'),
       ('outbox.failed', 42, '{"outbox_id": 9}', now() - interval '3 days');
INSERT INTO autoreplies (inbound_id, received_at, sender, org_id, message_id, decision, rule,
                         outbox_id) VALUES
    (6, now() - interval '20 minutes', 'Someone@Example.net', NULL, NULL, 'replied', '', 4),
    (6, now() - interval '10 minutes', 'gone@example.org', 43, 12, 'skipped', 'answered-recently',
     NULL);
"""


def world():
    reset_database()
    psql(WORLD)


# --- the views ------------------------------------------------------------

@tap.test
def recent_bounces_view_has_names_and_addresses():
    world()
    rows = psql("SELECT org_id, org_name, recipient, address, action, status, reason, hard,"
                " inbound_id FROM support.recent_bounces WHERE org_id = 42"
                " ORDER BY received_at DESC")
    eq(rows, [
        ["42", "Joe Bloggs Ltd", "Gone@Example.org", "gone@example.org", "failed", "5.1.1",
         "userunknown", "t", "1"],
        ["42", "Joe Bloggs Ltd", "full@example.org", "full@example.org", "failed", "4.2.2",
         "mailboxfull", "f", "2"],
        ["42", "Joe Bloggs Ltd", "late@example.org", "late@example.org", "delayed", "4.4.7",
         "expired", "f", "3"],
        ["42", "Joe Bloggs Ltd", "old@example.org", "old@example.org", "failed", "5.1.1",
         "userunknown", "t", "3"],
    ], "org 42 newest first, with its name")
    eq(psql("SELECT org_id, recipient FROM support.recent_bounces"
            " WHERE address = lower('GONE@example.ORG') ORDER BY received_at DESC"),
       [["43", "gone@example.org"], ["42", "Gone@Example.org"]], "by address, any case")
    psql("INSERT INTO bounces (inbound_id, org_id, recipient, kind, action)"
         " VALUES (1, 999, 'x@example.org', 'dsn', 'failed')")
    eq(psql("SELECT org_id, org_name IS NULL FROM support.recent_bounces WHERE org_id = 999"),
       [["999", "t"]], "an organisation the app has not written: no name, row kept")


@tap.test
def org_summary_counts_over_1_7_30_days():
    world()
    cols = ("org_id, org_name, hard_1d, hard_7d, hard_30d, soft_1d, soft_7d, soft_30d,"
            " complaints_1d, complaints_7d, complaints_30d, autoreplies_1d, autoreplies_7d,"
            " autoreplies_30d")
    eq(psql("SELECT %s FROM support.org_summary WHERE org_id = 42" % cols),
       [["42", "Joe Bloggs Ltd", "1", "1", "1", "0", "1", "1", "0", "0", "0", "0", "0", "0"]],
       "org 42: the 40-day-old hard bounce and the delay are not counted")
    eq(psql("SELECT %s FROM support.org_summary WHERE org_id = 43" % cols),
       [["43", "Acme", "1", "1", "1", "0", "0", "0", "0", "1", "1", "1", "1", "1"]],
       "org 43: hard bounce, complaint, out-of-office reply")
    eq(psql("SELECT %s, last_at IS NULL FROM support.org_summary WHERE org_id = 44" % cols),
       [["44", "Quiet Org"] + ["0"] * 12 + ["t"]], "an organisation with nothing: zeros")
    eq(psql("SELECT org_id FROM support.org_summary ORDER BY hard_30d + soft_30d DESC, org_id"),
       [["42"], ["43"], ["44"]], "every organisation, ranked")


@tap.test
def address_history_unions_everything_about_an_address():
    world()
    rows = psql("SELECT what, coalesce(org_id::text, '-'), coalesce(org_name, '-'), status,"
                " reason, coalesce(hard::text, '-'), detail"
                " FROM support.address_history WHERE address = lower('Gone@EXAMPLE.org')"
                " ORDER BY at")
    eq([r[0] for r in rows],
       ["suppression", "complaint", "suppression", "bounce", "suppression", "bounce",
        "reply-mailbox"], "what, oldest first")
    removed, complaint, complaint_sup, bounce42, hard_sup, bounce43, reply = rows
    eq(removed[:5], ["suppression", "42", "Joe Bloggs Ltd", "", "manual"], "removed suppression")
    check(re.match(r"^for this organisation; typo; removed \d{4}-\d\d-\d\d \d\d:\d\d by alice"
                   r" \(fixed\)$", removed[6]), "removed suppression detail: %r" % removed[6])
    eq(complaint, ["complaint", "43", "Acme", "", "abuse", "-", "complaint from fbl.isp.example"],
       "complaint")
    eq(complaint_sup[4:], ["complaint", "-", "for this organisation; complaint abuse; live"],
       "complaint suppression")
    eq(bounce42, ["bounce", "42", "Joe Bloggs Ltd", "5.1.1", "userunknown", "true",
                  "failed: 550 5.1.1 user unknown"], "bounce for org 42")
    eq(hard_sup[1:], ["-", "-", "", "hard-bounce", "-",
                      "for every organisation; 5.1.1 userunknown; live"], "global suppression")
    eq(bounce43[:3], ["bounce", "43", "Acme"], "bounce for org 43")
    eq(reply, ["reply-mailbox", "43", "Acme", "", "skipped", "-", "answered-recently"],
       "the address wrote to the reply mailbox")

    rows = psql("SELECT what, reason, detail FROM support.address_history"
                " WHERE address = 'full@example.org' ORDER BY at")
    eq([r[0] for r in rows], ["suppression", "bounce"], "full@: expired suppression and bounce")
    check(rows[0][2].startswith("for every organisation; 3 soft bounces; expired "),
          "expired suppression detail: %r" % rows[0][2])
    rows = psql("SELECT what, reason FROM support.address_history WHERE address = 'away@example.org'")
    eq(rows, [["auto-reply", "vacation"]], "an out-of-office reply is an auto-reply, not a bounce")


@tap.test
def suppressions_live_autoreply_decisions_outbox_health():
    world()
    eq(psql("SELECT address, coalesce(org_id::text, '-'), coalesce(org_name, '-'), scope, reason"
            " FROM support.suppressions_live ORDER BY address, org_id NULLS FIRST"),
       [["gone@example.org", "-", "-", "all", "hard-bounce"],
        ["gone@example.org", "43", "Acme", "organisation", "complaint"],
        ["temp@example.org", "-", "-", "all", "soft-bounces"]],
       "live only: not the removed one, not the expired one")

    eq(psql("SELECT sender, address, decision, rule, coalesce(outbox_id::text, '-'),"
            " coalesce(outbox_state, '-'), coalesce(last_error, '-')"
            " FROM support.autoreply_decisions ORDER BY received_at"),
       [["Someone@Example.net", "someone@example.net", "replied", "", "4", "queued",
         "421 try later"],
        ["gone@example.org", "gone@example.org", "skipped", "answered-recently", "-", "-", "-"]],
       "decisions with the state of the reply")

    rows = psql("SELECT queued, due, oldest_queued_at = (SELECT created_at FROM outbox WHERE id = 4),"
                " oldest_queued_age BETWEEN interval '19 minutes' AND interval '21 minutes',"
                " failed_24h, held_24h, held FROM support.outbox_health")
    eq(rows, [["2", "1", "t", "t", "1", "1", "1"]],
       "2 queued (1 due), oldest 20 min, 1 failure in 24 h (not the 3-day-old), 1 held")
    eq(psql("SELECT id, state, size FROM support.outbox ORDER BY id"),
       [["1", "sent", "2"], ["2", "failed", "2"], ["3", "held", "2"], ["4", "queued", "2"],
        ["5", "queued", "2"]], "outbox rows without the message, with its size")


@tap.test
def support_role_reads_the_views_and_nothing_else():
    world()
    eq(psql("SELECT rolcanlogin FROM pg_roles WHERE rolname = 'bouncer_support'"), [["f"]],
       "bouncer_support exists and cannot log in")
    views = [r[0] for r in psql("SELECT table_name FROM information_schema.views"
                                " WHERE table_schema = 'support' ORDER BY 1")]
    for want in ("recent_bounces", "org_summary", "address_history", "suppressions_live",
                 "autoreply_decisions", "outbox_health"):
        check(want in views, "view support.%s exists (%r)" % (want, views))
    for view in views:
        rows = psql("SET ROLE bouncer_support; SELECT count(*) > 0 FROM support.%s;" % view)
        eq(rows, [["t"]], "bouncer_support reads support.%s" % view)
    for table in ("bounces", "inbound_messages", "complaints", "suppressions", "outbox",
                  "event_log", "events", "organisations", "autoreplies"):
        try:
            psql("SET ROLE bouncer_support; SELECT count(*) FROM %s;" % table)
        except AssertionError as e:
            check(re.search(r"permission denied for (table|view) %s\b" % table, str(e)),
                  "reading %s is refused: %s" % (table, e))
        else:
            raise AssertionError("bouncer_support could read table %s" % table)
    try:
        psql("SET ROLE bouncer_support; SELECT raw FROM inbound_messages LIMIT 1;")
    except AssertionError as e:
        check("permission denied" in str(e), "raw is refused: %s" % e)
    else:
        raise AssertionError("bouncer_support could read inbound_messages.raw")
    try:
        psql("SET ROLE bouncer_support; UPDATE support.outbox_health SET queued = 0;")
    except AssertionError as e:
        check("permission denied" in str(e) or "cannot update" in str(e),
              "views are read-only for the role: %s" % e)
    else:
        raise AssertionError("bouncer_support could update a view")
    check("raw" not in [r[0] for r in psql(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'support'")],
        "no view carries the raw bytes")


@tap.test
def migration_finds_the_role_made_by_another_database():
    reset_database()
    psql("DROP DATABASE IF EXISTS bouncer_second")
    psql("CREATE DATABASE bouncer_second")
    try:
        second = CONNINFO + " dbname=bouncer_second"
        out = ctl_ok("migrate", conninfo=second)
        check("applied now" in out, "migrate output: %r" % out)
        rows = subprocess.run(["psql", second, "-X", "-q", "-At", "-c",
                               "SET ROLE bouncer_support; SELECT queued FROM support.outbox_health"],
                              capture_output=True, text=True)
        eq((rows.returncode, rows.stdout), (0, "0\n"), "the role reads the second database's views")
    finally:
        psql("DROP DATABASE IF EXISTS bouncer_second")


@tap.test
def commands_work_for_a_login_with_only_the_support_role():
    world()
    psql("DROP ROLE IF EXISTS support_alice; CREATE ROLE support_alice LOGIN IN ROLE bouncer_support")
    try:
        alice = CONNINFO + " user=support_alice"
        rows = parse_table(ctl_ok("bounces", "--org", "42", conninfo=alice))
        eq(len(rows), 4, "bounces as support_alice")
        check("organisation 42 Joe Bloggs Ltd" in ctl_ok("stats", "--org", "42", conninfo=alice),
              "stats as support_alice")
        check("mailbox:" in ctl_ok("show", "1", conninfo=alice), "show as support_alice")
        eq(len(parse_table(ctl_ok("outbox", conninfo=alice))), 4, "outbox as support_alice")
        err = ctl_fails(1, "permission denied for table inbound_messages", "show", "1", "--raw",
                        conninfo=alice)
        check("as role support_alice" in err and "bouncer_support role reads only the views" in err,
              "the message says whose rights were missing: %r" % err)
        ctl_fails(1, "permission denied for table outbox", "outbox", "retry", "2", conninfo=alice)
        ctl_fails(1, "permission denied for table inbound_messages", "reclassify", conninfo=alice)
        # The commands on bouncer's own tables say the same, not a bare error.
        for args in (("suppression", "list"), ("suppression", "list", "--json"), ("events", "--since", "0"),
                     ("org", "show", "42")):
            err = ctl_fails(1, "permission denied for", *args, conninfo=alice)
            check("bouncer_support role reads only the views" in err,
                  "%s explains the role: %r" % (" ".join(args), err))
        eq(psql("SELECT state FROM outbox WHERE id = 2"), [["failed"]], "nothing changed")
    finally:
        psql("DROP ROLE IF EXISTS support_alice")


# --- bouncerctl bounces -----------------------------------------------------

@tap.test
def bounces_by_org_recipient_and_time():
    world()
    out = ctl_ok("bounces", "--org", "42")
    eq(out.splitlines()[0].split(), ["time", "org", "recipient", "action", "status", "reason", "hard"],
       "header")
    rows = parse_table(out)
    eq([(r["recipient"], r["action"], r["status"], r["reason"], r["hard"]) for r in rows],
       [("Gone@Example.org", "failed", "5.1.1", "userunknown", "yes"),
        ("full@example.org", "failed", "4.2.2", "mailboxfull", "no"),
        ("late@example.org", "delayed", "4.4.7", "expired", "no"),
        ("old@example.org", "failed", "5.1.1", "userunknown", "yes")], "org 42, newest first")
    eq({r["org"] for r in rows}, {"42 Joe Bloggs Ltd"}, "org column: id and name")
    check(all(re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d", r["time"]) for r in rows),
          "times: %r" % [r["time"] for r in rows])

    rows = parse_table(ctl_ok("bounces", "--recipient", "GONE@example.org"))
    eq([(r["org"], r["recipient"]) for r in rows],
       [("43 Acme", "gone@example.org"), ("42 Joe Bloggs Ltd", "Gone@Example.org")],
       "--recipient in any case, across organisations")

    rows = parse_table(ctl_ok("bounces", "--since", "4h"))
    eq([r["recipient"] for r in rows], ["gone@example.org", "Gone@Example.org"], "--since 4h")
    rows = parse_table(ctl_ok("bounces", "--since", "7d", "--org", "43"))
    eq([r["recipient"] for r in rows], ["gone@example.org", "away@example.org"],
       "--since and --org together")
    eq(rows[1]["action"], "-", "an auto-reply has no action")
    eq(ctl_ok("bounces", "--org", "44"), "no bounces match\n", "nothing for org 44")

    rc, out, err = ctl("bounces", "--org", "42", "--limit", "2")
    eq(rc, 0, "exit status with --limit")
    eq([r["recipient"] for r in parse_table(out)], ["Gone@Example.org", "full@example.org"],
       "--limit 2: the two newest")
    check("the newest 2 shown; more match" in err, "says there are more: %r" % err)
    rc, out, err = ctl("bounces", "--org", "42", "--limit", "4")
    eq((rc, err), (0, ""), "no note when all are shown")


@tap.test
def bounces_json_and_iso_times():
    world()
    lines = json_lines(ctl_ok("bounces", "--recipient", "gone@example.org", "--json"))
    eq(len(lines), 2, "two JSON lines")
    first = lines[0]
    for field, want in [("org_id", 43), ("org_name", "Acme"), ("recipient", "gone@example.org"),
                        ("status", "5.1.1"), ("reply_code", "550"), ("reason", "userunknown"),
                        ("hard", True), ("bounce_type", "Permanent"), ("bounce_subtype", "NoEmail"),
                        ("diagnostic", "550 no such user"), ("rule", "userunknown"),
                        ("inbound_id", 4), ("kind", "dsn")]:
        eq(first.get(field), want, "JSON field %s" % field)
    check(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", first["received_at"]),
          "received_at: %r" % first["received_at"])
    eq(len(json_lines(ctl_ok("bounces", "--org", "42", "--json", "--limit", "3"))), 3,
       "--json --limit 3")

    # org 42's bounces are 2 hours, 3, 20 and 40 days old.
    day = psql("SELECT to_char(now() AT TIME ZONE 'UTC' - interval '10 days', 'YYYY-MM-DD')")[0][0]
    stamp = psql("SELECT to_char(now() AT TIME ZONE 'UTC' - interval '4 days',"
                 " 'YYYY-MM-DD\"T\"HH24:MI')")[0][0]
    offset = psql("SELECT to_char(now() - interval '4 hours', 'YYYY-MM-DD HH24:MI:SSOF')")[0][0]
    for since, want in [(day, 2), (stamp + "Z", 2), (stamp, 2), (offset, 1), (offset + ":00", 1),
                        ("90m", 0), ("3600s", 0), ("3w", 3), ("8W", 4)]:
        env_tz = dict(os.environ, TZ="UTC")
        out = subprocess.run([os.path.join(BINDIR, "bouncerctl"), "bounces", "--org", "42",
                              "--since", since, "--conninfo", CONNINFO],
                             capture_output=True, text=True, env=env_tz)
        eq(out.returncode, 0, "exit status for --since %r (%r)" % (since, out.stderr))
        got = 0 if out.stdout == "no bounces match\n" else len(parse_table(out.stdout))
        eq(got, want, "rows for --since %r" % since)


@tap.test
def bounces_usage_errors():
    reset_database()
    for args, want in [
        ((), "say which bounces: --org N, --recipient ADDR or --since WHEN"),
        (("--org", "x"), "--org 'x' is not a whole number"),
        (("--org", "0"), "--org '0'"),
        (("--since", "yesterday"), "--since 'yesterday' is neither an age"),
        (("--since", "2026-02-30"), "--since '2026-02-30' is neither an age"),
        (("--since", "2026-03-01T25:00"), "is neither an age"),
        (("--since", "99999999d"), "reaches back more than"),
        (("--since", "-2h"), "is neither an age"),
        (("--org", "1", "--limit", "0"), "--limit '0' is not a whole number from 1"),
        (("--org", "1", "--limit", "-3"), "--limit '-3'"),
        (("--recipient", "nobody"), "--recipient 'nobody' has no '@'"),
        (("--recipient", "a@b\nc"), "--recipient contains a line break"),
        (("--org", "1", "extra"), "unexpected argument 'extra'"),
        (("--frob",), "Unknown option --frob"),
    ]:
        err = ctl_fails(2, want, "bounces", *args)
        check(err.startswith("bouncerctl bounces: ") and err.count("\n") == 1,
              "one line, named: %r" % err)


# --- bouncerctl stats -------------------------------------------------------

def stats_parts(out):
    """stats output: {title: table rows, or the text under it}, and the first line."""
    blocks = out.rstrip("\n").split("\n\n")
    parts = {}
    for block in blocks[1:]:
        title, body = block.split("\n", 1)
        check(all(line.startswith("  ") for line in body.splitlines()),
              "indented under %r: %r" % (title, body))
        body = "".join(line[2:] + "\n" for line in body.splitlines())
        parts[title] = body if title.startswith("outbox") or body in ("none\n",
                             "none in the last 30 days\n") else parse_table(body)
    return blocks[0], parts


COUNTS = "bounces and complaints, last 1, 7 and 30 days:"
OWN = "suppressions in force (the organisation's own; those for every organisation apply too):"


@tap.test
def stats_for_one_organisation_and_for_all():
    world()
    first, parts = stats_parts(ctl_ok("stats", "--org", "43"))
    eq(first, "organisation 43 Acme", "first line names the organisation")
    eq(list(parts), [COUNTS, OWN, "outbox (all organisations):"], "the three parts")
    eq([(r["what"], r["reason"], r["last_1d"], r["last_7d"], r["last_30d"]) for r in parts[COUNTS]],
       [("hard", "userunknown", "1", "1", "1"), ("complaint", "abuse", "0", "1", "1"),
        ("auto-reply", "vacation", "1", "1", "1")], "org 43 by what and reason")
    eq([(r["scope"], r["reason"], r["count"]) for r in parts[OWN]],
       [("organisation", "complaint", "1")], "org 43's own suppressions")
    outbox = parts["outbox (all organisations):"].splitlines()
    check(re.match(r"^2 queued, 1 of them due \(waiting past their time\), the oldest since"
                   r" \d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d \(00:(19|20|21):\d\d\)$", outbox[0]),
          "outbox queue line: %r" % outbox[0])
    eq(outbox[1], "1 failed and 1 held in the last 24 hours (1 held in all)", "outbox failures")

    out = ctl_ok("stats")
    check(re.search(r"^  hard +userunknown +2 +2 +2$", out, re.M),
          "numbers right-aligned: %r" % out)
    first, parts = stats_parts(out)
    eq(first, "all organisations", "first line without --org")
    eq([(r["what"], r["reason"], r["last_1d"], r["last_7d"], r["last_30d"]) for r in parts[COUNTS]],
       [("hard", "userunknown", "2", "2", "2"), ("soft", "mailboxfull", "0", "1", "1"),
        ("delayed", "expired", "0", "0", "1"), ("complaint", "abuse", "0", "1", "1"),
        ("auto-reply", "vacation", "1", "1", "1")], "everyone, by what and reason")
    eq([(r["scope"], r["reason"], r["count"]) for r in parts["suppressions in force:"]],
       [("all", "hard-bounce", "1"), ("all", "soft-bounces", "1"),
        ("organisation", "complaint", "1")], "suppressions of everyone")

    first, parts = stats_parts(ctl_ok("stats", "--org", "44"))
    eq((parts[COUNTS], parts[OWN]), ("none in the last 30 days\n", "none\n"),
       "a quiet organisation")
    first, _ = stats_parts(ctl_ok("stats", "--org", "777"))
    eq(first, "organisation 777 (not in organisations: the app has not written it)",
       "unknown organisation")


@tap.test
def stats_json():
    world()
    obj = json.loads(ctl_ok("stats", "--org", "42", "--json"))
    eq((obj["org_id"], obj["org_name"], obj["days"], obj["suppressions_scope"]),
       (42, "Joe Bloggs Ltd", [1, 7, 30], "organisation"), "header fields")
    eq(obj["counts"], [
        {"what": "hard", "reason": "userunknown", "last_1d": 1, "last_7d": 1, "last_30d": 1},
        {"what": "soft", "reason": "mailboxfull", "last_1d": 0, "last_7d": 1, "last_30d": 1},
        {"what": "delayed", "reason": "expired", "last_1d": 0, "last_7d": 0, "last_30d": 1},
    ], "counts")
    eq(obj["suppressions"], [], "org 42 has no live suppression of its own")
    outbox = obj["outbox"]
    eq({k: outbox[k] for k in ("queued", "due", "failed_24h", "held_24h", "held")},
       {"queued": 2, "due": 1, "failed_24h": 1, "held_24h": 1, "held": 1}, "outbox")
    check(1140 <= outbox["oldest_queued_seconds"] <= 1260, "oldest queued: %r" % outbox)
    obj = json.loads(ctl_ok("stats", "--json"))
    eq((obj["org_id"], obj["suppressions_scope"]), (None, "all"), "without --org")
    eq(sorted((s["scope"], s["reason"], s["count"]) for s in obj["suppressions"]),
       [("all", "hard-bounce", 1), ("all", "soft-bounces", 1), ("organisation", "complaint", 1)],
       "suppressions of everyone")
    ctl_fails(2, "--org 'abc' is not a whole number", "stats", "--org", "abc")
    ctl_fails(2, "unexpected argument '42'", "stats", "42")


# --- bouncerctl show ---------------------------------------------------------

@tap.test
def show_a_delivered_report_and_its_bytes():
    reset_database()
    tok = token(4242, 77)
    msg = dsn(tok, [("gone@example.org", "5.1.1", "550 5.1.1 <gone@example.org>: user unknown",
                     "failed"),
                    ("later@example.org", "4.4.1", "451 4.4.1 no answer", "delayed")])
    with daemon() as d:
        rcpt, reply = deliver(d.port, tok + "@notifications.example.com", msg)
        eq(reply[:3], "250", "delivered")
    mid = psql("SELECT id FROM inbound_messages")[0][0]
    psql("INSERT INTO outbox (kind, org_id, inbound_id, rcpt_to, message, state, expires_at,"
         " last_error) VALUES ('forward', 4242, :'v1', 'ops@org.example', 'x', 'failed', now(),"
         " '554 rejected')", mid)

    out = ctl_ok("show", mid)
    head = show_head(out)
    eq(list(head), ["id", "received_at", "session", "mail_from", "rcpt_to", "mailbox", "kind",
                    "size", "sha256", "raw"], "keys")
    eq((head["id"], head["mail_from"], head["rcpt_to"], head["mailbox"], head["kind"]),
       (mid, "<>", tok + "@notifications.example.com", "bounce", "dsn"), "envelope and kind")
    eq(head["size"], "%d bytes" % len(msg.encode()), "size")
    eq(head["sha256"], psql("SELECT encode(sha256, 'hex') FROM inbound_messages")[0][0], "sha256")
    eq(head["raw"], "stored", "raw (no purge_after of its own: retention decides)")
    rows = section(out, "bounces")
    eq([(r["org"], r["recipient"], r["action"], r["status"], r["reason"], r["hard"]) for r in rows],
       [("4242", "gone@example.org", "failed", "5.1.1", "userunknown", "yes"),
        ("4242", "later@example.org", "delayed", "4.4.1", rows[1]["reason"], "no")],
       "both recipients")
    check("\ncomplaints: none\n" in out and "\nauto-reply decisions: none\n" in out,
          "empty sections: %r" % out)
    rows = section(out, "outbox")
    eq([(r["kind"], r["to"], r["state"], r["last_error"]) for r in rows],
       [("forward", "ops@org.example", "failed", "554 rejected")], "outbox row")

    raw = subprocess.run([os.path.join(BINDIR, "bouncerctl"), "show", mid, "--raw",
                          "--conninfo", CONNINFO], capture_output=True)
    eq(raw.returncode, 0, "exit status of --raw")
    eq(raw.stdout, msg.encode(), "--raw prints the bytes as received")
    psql("UPDATE inbound_messages SET purge_after = now() + interval '3 days'")
    check(re.match(r"^stored, purged after \d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d$",
                   show_head(ctl_ok("show", mid))["raw"]), "raw with its own purge_after")

    obj = json.loads(ctl_ok("show", mid, "--json"))
    eq(obj["message"]["id"], int(mid), "JSON message id")
    eq([b["recipient"] for b in obj["bounces"]], ["gone@example.org", "later@example.org"],
       "JSON bounces")
    eq((obj["complaints"], obj["autoreplies"]), ([], []), "JSON empty lists")
    eq(obj["outbox"][0]["last_error"], "554 rejected", "JSON outbox")
    check("message" not in obj["outbox"][0] and "raw" not in obj["message"],
          "no bytes in the JSON")

    psql("UPDATE inbound_messages SET raw = NULL, purged_at = now()")
    out = ctl_ok("show", mid)
    check(re.search(r"^raw: +purged \d{4}-\d\d-\d\d ", out, re.M), "purged: %r" % out)
    ctl_fails(1, "message %s was purged at " % mid, "show", mid, "--raw")
    ctl_fails(1, "no message 999", "show", "999")
    ctl_fails(1, "no message 999", "show", "999", "--raw")
    ctl_fails(2, "give the message ID", "show")
    ctl_fails(2, "message ID 'x1' is not a whole number", "show", "x1")
    ctl_fails(2, "--json and --raw exclude each other", "show", mid, "--raw", "--json")


@tap.test
def show_complaints_and_autoreply_decisions():
    world()
    out = ctl_ok("show", "5")
    rows = section(out, "complaints")
    eq([(r["org"], r["recipient"], r["feedback_type"]) for r in rows],
       [("43", "gone@example.org", "abuse")], "complaint of message 5")
    out = ctl_ok("show", "6")
    rows = section(out, "auto-reply decisions")
    eq([(r["sender"], r["decision"], r["rule"], r["outbox"]) for r in rows],
       [("Someone@Example.net", "replied", "-", "4"),
        ("gone@example.org", "skipped", "answered-recently", "-")], "decisions of message 6")
    eq([(r["id"], r["state"], r["last_error"]) for r in section(out, "outbox")],
       [("4", "queued", "421 try later")], "the reply in the outbox")


# --- bouncerctl outbox -------------------------------------------------------

@tap.test
def outbox_list_failed_and_json():
    world()
    out = ctl_ok("outbox")
    eq(out.splitlines()[0].split(), ["id", "created", "kind", "org", "to", "state", "attempts",
                                     "next_attempt", "last_error"], "header")
    rows = parse_table(out)
    eq([(r["id"], r["state"]) for r in rows], [("5", "queued"), ("4", "queued"), ("3", "held"),
                                               ("2", "failed")], "not sent, newest first")
    eq(rows[2]["last_error"], "hourly forward limit reached", "why held")
    eq(rows[3]["next_attempt"], "-", "no next attempt for a failed row")
    check(re.match(r"^\d{4}-\d\d-\d\d ", rows[0]["next_attempt"]), "queued: next attempt")
    eq([(r["id"], r["kind"], r["org"], r["to"], r["attempts"], r["last_error"])
        for r in parse_table(ctl_ok("outbox", "--failed"))],
       [("2", "forward", "42", "joe@bloggs.example", "3", "550 5.1.1 mailbox unavailable")],
       "--failed")
    lines = json_lines(ctl_ok("outbox", "--json", "--limit", "2"))
    eq([(l["id"], l["state"], l["org_name"]) for l in lines], [(5, "queued", "Acme"),
                                                               (4, "queued", None)], "--json")
    check("message" not in lines[0] and lines[0]["size"] == 2, "size, not the message")
    rc, out, err = ctl("outbox", "--limit", "1")
    eq((rc, len(parse_table(out))), (0, 1), "--limit 1")
    check("there are more" in err, "note: %r" % err)
    psql("DELETE FROM autoreplies; DELETE FROM outbox WHERE state <> 'sent'")
    eq(ctl_ok("outbox"), "nothing waiting, failed or held in the outbox\n", "empty")
    eq(ctl_ok("outbox", "--failed"), "no failed outbox rows\n", "empty --failed")


@tap.test
def outbox_retry_requeues_failed_and_held_rows():
    world()
    out = ctl_ok("outbox", "retry", "2")
    check(re.match(r"^outbox 2 \(forward to joe@bloggs\.example\): failed -> queued; next attempt"
                   r" now, expires \d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d; last error kept: 550"
                   r" 5\.1\.1 mailbox unavailable\n$", out), "retry output: %r" % out)
    eq(psql("SELECT state, attempts, next_attempt_at <= now(),"
            " expires_at BETWEEN now() + interval '47 hours 59 minutes' AND now() + interval '48 hours',"
            " last_error FROM outbox WHERE id = 2"),
       [["queued", "3", "t", "t", "550 5.1.1 mailbox unavailable"]],
       "queued, due now, expiring 48 h from now (its old expiry had passed), error kept")

    before = psql("SELECT expires_at FROM outbox WHERE id = 3")[0][0]
    ctl_ok("outbox", "retry", "3")
    eq(psql("SELECT state, expires_at = :'v1'::timestamptz + interval '48 hours' FROM outbox"
            " WHERE id = 3", before), [["queued", "t"]],
       "a held row: queued, 48 h past its later expiry")

    ctl_fails(1, "outbox 2 is already queued (next attempt ", "outbox", "retry", "2")
    ctl_fails(1, "outbox 1 was sent at ", "outbox", "retry", "1")
    ctl_fails(1, "no outbox row 99", "outbox", "retry", "99")
    ctl_fails(2, "give the outbox row ID", "outbox", "retry")
    ctl_fails(2, "outbox ID 'two' is not a whole number", "outbox", "retry", "two")
    ctl_fails(2, "unknown action 'retyr'", "outbox", "retyr", "2")
    eq(psql("SELECT id, state FROM outbox ORDER BY id"),
       [["1", "sent"], ["2", "queued"], ["3", "queued"], ["4", "queued"], ["5", "queued"]],
       "only the two retried rows changed")

    # A forward is composed from the stored report when it is sent: one
    # whose report retention has deleted cannot be retried, one whose
    # report is still there can.
    psql("UPDATE inbound_messages SET raw = NULL, purged_at = now() WHERE id = 2;"
         " INSERT INTO outbox (id, kind, org_id, inbound_id, rcpt_to, message, state, expires_at,"
         " last_error) VALUES (6, 'forward', 42, 2, 'joe@bloggs.example', NULL, 'held', now(),"
         " 'hourly forward limit reached'), (7, 'forward', 42, 4, 'joe@bloggs.example', NULL,"
         " 'failed', now(), '451 later')")
    ctl_fails(1, "outbox 6 (held) is a forward of a report whose stored copy was deleted after the"
              " retention period: nothing left to send", "outbox", "retry", "6")
    eq(psql("SELECT state FROM outbox WHERE id = 6"), [["held"]], "left as it was")
    ctl_ok("outbox", "retry", "7")
    eq(psql("SELECT state FROM outbox WHERE id = 7"), [["queued"]], "its report is there: queued")


# --- bouncerctl reclassify ---------------------------------------------------

@tap.test
def reclassify_restores_a_corrupted_row_and_dry_run_does_not():
    reset_database()
    tok = token(31, 4)
    with daemon() as d:
        deliver(d.port, tok + "@notifications.example.com",
                dsn(tok, [("gone@example.org", "5.1.1", "550 5.1.1 <gone@example.org>: user unknown",
                           "failed"),
                          ("fine@example.org", "4.4.1", "451 4.4.1 no answer from host",
                           "delayed")]))
    good = psql("SELECT id, status, reason, hard, bounce_type, bounce_subtype, rule FROM bounces"
                " WHERE recipient = 'gone@example.org'")[0]
    bounce_id = good[0]
    eq(good[2:4], ["userunknown", "t"], "recorded as a hard userunknown")
    psql("UPDATE bounces SET reason = 'mailboxfull', hard = false, bounce_subtype = 'MailboxFull'"
         " WHERE id = :'v1'", bounce_id)
    events_before = psql("SELECT count(*) FROM event_log")[0][0]

    out = ctl_ok("reclassify", "--dry-run")
    lines = out.splitlines()
    eq(lines[0], "would change bounce %s (message 1) gone@example.org: reason mailboxfull ->"
                 " userunknown, hard no -> yes, bounce_subtype MailboxFull -> %s"
       % (bounce_id, good[5]), "dry-run line")
    eq(lines[1], "examined 1 message(s) with 2 bounce row(s): 1 would change (dry run: nothing"
                 " written)", "dry-run summary")
    eq(len(lines), 2, "nothing else printed")
    eq(psql("SELECT reason, hard FROM bounces WHERE id = :'v1'", bounce_id),
       [["mailboxfull", "f"]], "dry run changed nothing")
    eq(psql("SELECT count(*) FROM event_log")[0][0], events_before, "dry run wrote no event")

    out = ctl_ok("reclassify", "--since", "1h")
    eq(out.splitlines(), [
        "changed bounce %s (message 1) gone@example.org: reason mailboxfull -> userunknown,"
        " hard no -> yes, bounce_subtype MailboxFull -> %s" % (bounce_id, good[5]),
        "examined 1 message(s) with 2 bounce row(s): 1 changed"], "reclassify output")
    eq(psql("SELECT id, status, reason, hard, bounce_type, bounce_subtype, rule FROM bounces"
            " WHERE id = :'v1'", bounce_id), [good], "row restored")
    rows = psql("SELECT type, org_id, payload::text FROM event_log WHERE type = 'bounce.reclassified'")
    eq(len(rows), 1, "one bounce.reclassified event")
    eq(rows[0][:2], ["bounce.reclassified", "31"], "event type and organisation")
    event = json.loads(rows[0][2])
    eq((event["bounce_id"], event["recipient"], event["inbound_id"], event["message_id"]),
       (int(bounce_id), "gone@example.org", 1, 4), "event names the row")
    eq(event["old"], {"status": "5.1.1", "reason": "mailboxfull", "hard": False,
                      "bounce_type": good[4], "bounce_subtype": "MailboxFull", "rule": good[6]},
       "old fields")
    eq(event["new"], {"status": "5.1.1", "reason": "userunknown", "hard": True,
                      "bounce_type": good[4], "bounce_subtype": good[5], "rule": good[6]},
       "new fields")

    eq(ctl_ok("reclassify"), "examined 1 message(s) with 2 bounce row(s): 0 changed\n",
       "a second run finds nothing to change")
    eq(ctl_ok("reclassify", "--since", "2099-01-01"),
       "examined 0 message(s) with 0 bounce row(s): 0 changed\n", "--since after everything")
    psql("UPDATE inbound_messages SET raw = NULL, purged_at = now()")
    psql("UPDATE bounces SET reason = 'x' WHERE id = :'v1'", bounce_id)
    eq(ctl_ok("reclassify"), "examined 0 message(s) with 0 bounce row(s): 0 changed\n",
       "purged messages are not examined")
    ctl_fails(2, "--since 'soon' is neither an age", "reclassify", "--since", "soon")
    ctl_fails(2, "unexpected argument 'now'", "reclassify", "now")


@tap.test
def reclassify_counts_rows_the_parser_no_longer_finds():
    reset_database()
    tok = token(32, 5)
    with daemon() as d:
        deliver(d.port, tok + "@notifications.example.com",
                dsn(tok, [("gone@example.org", "5.1.1", "550 5.1.1 user unknown", "failed")]))
    psql("UPDATE bounces SET recipient = 'renamed@example.org'")
    out = ctl_ok("reclassify", "--dry-run")
    eq(out, "examined 1 message(s) with 1 bounce row(s): 0 would change (dry run: nothing"
            " written), 1 row(s) the parser no longer finds (left as they are), 1 recipient(s)"
            " found now that were never recorded (not added)\n", "unmatched and unrecorded")
    eq(psql("SELECT count(*), min(recipient) FROM bounces"), [["1", "renamed@example.org"]],
       "nothing added or removed")


# --- help ----------------------------------------------------------------------

@tap.test
def help_on_every_support_command():
    for args, want in [
        (("bounces", "--help"), "--recipient=ADDR"),
        (("stats", "--help"), "--org=N"),
        (("show", "--help"), "--raw"),
        (("outbox", "--help"), "--failed"),
        (("outbox", "retry", "--help"), "expires 48 hours from now"),
        (("reclassify", "--help"), "--dry-run"),
    ]:
        rc, out, err = ctl(*args, db=False)
        eq(rc, 0, "exit status of %r" % (args,))
        check(want in out, "help of %r mentions %r: %r" % (args, want, out))
        check("--conninfo" in out and "--config" in out, "help of %r has -c and -d" % (args,))
        check("Exit status: 0" in out, "help of %r gives the exit statuses" % (args,))
    rc, out, _ = ctl("--help", db=False)
    for name in ("bounces", "stats", "show ID", "outbox", "reclassify"):
        check("\n  %s" % name in out, "bouncerctl --help lists %s: %r" % (name, out))


if __name__ == "__main__":
    tap.run()
