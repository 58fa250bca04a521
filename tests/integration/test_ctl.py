"""bouncerctl org and suppression against the real PostgreSQL, and the
consumer examples of docs/events.md against a real bouncerd publishing on
ZeroMQ. The tests read what the commands print, not only how they exit."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BINDIR, CONNINFO, SRCDIR, TEST_KEY, Bouncerd, Lmtp, Tap, check, eq,
                     free_port, psql, reset_database)

tap = Tap()


def ctl(*args, db=True):
    """Run bouncerctl; returns (exit status, stdout, stderr)."""
    cmd = [os.path.join(BINDIR, "bouncerctl")] + list(args)
    if db:
        cmd += ["--conninfo", CONNINFO]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    return out.returncode, out.stdout, out.stderr


def ctl_ok(*args):
    rc, out, err = ctl(*args)
    eq(rc, 0, "exit status of bouncerctl %s (stderr %r)" % (" ".join(args), err))
    return out


def parse_table(text):
    """The aligned table of suppression list: a list of dicts by header.
    Checks the alignment on the way: every value starts in its header's
    column, after a space."""
    lines = text.rstrip("\n").split("\n")
    header = lines[0]
    names = header.split()
    starts = [m.start() for m in re.finditer(r"\S+", header)]
    rows = []
    for line in lines[1:]:
        row = {}
        for i, name in enumerate(names):
            start = starts[i]
            end = starts[i + 1] if i + 1 < len(names) else len(line)
            if start > 0 and start <= len(line):
                check(line[start - 1] == " ", "column %s not aligned in %r" % (name, line))
            value = line[start:end]
            if i + 1 < len(names) and len(line) > end:
                check(line[end - 2:end] == "  ", "column %s runs into the next in %r" % (name, line))
            row[name] = value.strip()
        rows.append(row)
    return rows


def show_lines(text):
    """org show: "key: value" lines, values aligned in one column."""
    lines = text.rstrip("\n").split("\n")
    columns = set()
    fields = {}
    for line in lines:
        m = re.match(r"^([a-z_]+):( +)(.*)$", line)
        check(m is not None, "not a 'key: value' line: %r" % line)
        columns.add(len(m.group(1)) + 1 + len(m.group(2)))
        fields[m.group(1)] = m.group(3)
    eq(len(columns), 1, "values start in one column")
    return fields


# --- org --------------------------------------------------------------------

@tap.test
def org_set_then_show_text_and_json():
    reset_database()
    out = ctl_ok("org", "set", "42", "--name", "Joe Bloggs Ltd", "--reply-to", "joe.bloggs@example.org")
    eq(out, "organisation 42 created\n", "set output")
    eq(psql("SELECT id, name, reply_to, forward_bounces, updated_at > now() - interval '1 minute'"
            " FROM organisations"),
       [["42", "Joe Bloggs Ltd", "joe.bloggs@example.org", "t", "t"]], "row written")

    fields = show_lines(ctl_ok("org", "show", "42"))
    eq(list(fields), ["id", "name", "reply_to", "forward_bounces", "updated_at"], "keys in order")
    eq(fields["id"], "42", "id")
    eq(fields["name"], "Joe Bloggs Ltd", "name")
    eq(fields["reply_to"], "joe.bloggs@example.org", "reply_to")
    eq(fields["forward_bounces"], "yes", "forward_bounces")
    check(re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d", fields["updated_at"]),
          "updated_at looks like a time: %r" % fields["updated_at"])

    out = ctl_ok("org", "show", "42", "--json")
    eq(out.count("\n"), 1, "one JSON line")
    obj = json.loads(out)
    eq({k: obj[k] for k in ("id", "name", "reply_to", "forward_bounces")},
       {"id": 42, "name": "Joe Bloggs Ltd", "reply_to": "joe.bloggs@example.org",
        "forward_bounces": True}, "JSON fields")
    check(obj["updated_at"].startswith(fields["updated_at"][:16].replace(" ", "T")),
          "JSON updated_at %r matches text %r" % (obj["updated_at"], fields["updated_at"]))


@tap.test
def org_set_updates_and_keeps_what_is_not_given():
    reset_database()
    ctl_ok("org", "set", "7", "--name", "Acme", "--reply-to", "billing@acme.example")
    psql("UPDATE organisations SET updated_at = now() - interval '1 day'")
    out = ctl_ok("org", "set", "7", "--name", "Acme Ltd", "--forward-bounces", "no")
    eq(out, "organisation 7 updated\n", "set output on update")
    eq(psql("SELECT name, reply_to, forward_bounces, updated_at > now() - interval '1 minute'"
            " FROM organisations WHERE id = 7"),
       [["Acme Ltd", "billing@acme.example", "f", "t"]],
       "name and forward_bounces changed, reply_to kept, updated_at now")
    fields = show_lines(ctl_ok("org", "show", "7"))
    eq((fields["name"], fields["forward_bounces"]), ("Acme Ltd", "no"), "show after update")

    ctl_ok("org", "set", "7", "--name", "Acme Ltd", "--reply-to", "", "--forward-bounces", "yes")
    eq(psql("SELECT reply_to IS NULL, forward_bounces FROM organisations WHERE id = 7"),
       [["t", "t"]], "--reply-to '' clears it")
    eq(show_lines(ctl_ok("org", "show", "7"))["reply_to"], "(none)", "show without reply_to")
    eq(json.loads(ctl_ok("org", "show", "7", "--json"))["reply_to"], None, "JSON null reply_to")

    # Without --name: an existing organisation changes, its name stays.
    out = ctl_ok("org", "set", "7", "--reply-to", "accounts@acme.example")
    eq(out, "organisation 7 updated\n", "set output on update without --name")
    out = ctl_ok("org", "set", "7", "--forward-bounces", "no")
    eq(psql("SELECT name, reply_to, forward_bounces FROM organisations WHERE id = 7"),
       [["Acme Ltd", "accounts@acme.example", "f"]], "changed without --name, name kept")
    eq(psql("SELECT count(*) FROM organisations"), [["1"]], "still one row")


@tap.test
def org_set_rejects_bad_reply_to_with_a_clear_message():
    reset_database()
    ctl_ok("org", "set", "5", "--name", "Five", "--reply-to", "five@example.org")
    cases = [
        ("joe bloggs@example.org", "contains a space"),
        ("joe@example.org\r\nBcc: victim@example.net", "line break"),
        ("joe@example.org\n", "line break"),
        ("joe.example.org", "no '@'"),
        ("joe@bloggs@example.org", "more than one '@'"),
        ("@example.org", "nothing before the '@'"),
        ("joe@", "no domain"),
        ("joe@example..org", "empty label"),
        ("<joe@example.org>", "'<'"),
        ("joe@example.org,eve@example.net", "','"),
    ]
    for addr, why in cases:
        rc, out, err = ctl("org", "set", "5", "--name", "Changed", "--reply-to", addr)
        eq(rc, 2, "exit status for reply-to %r" % addr)
        eq(out, "", "nothing on stdout for %r" % addr)
        check(err.startswith("bouncerctl org set: --reply-to ") and "not an email address" in err
              and why in err, "message for %r names the problem (%r): %r" % (addr, why, err))
        check("\r" not in err and err.count("\n") == 1, "message on one line: %r" % err)
    eq(psql("SELECT name, reply_to FROM organisations"), [["Five", "five@example.org"]],
       "nothing written")


@tap.test
def org_usage_errors_and_unknown_organisation():
    reset_database()
    for args, status, want in [
        (("org", "set", "5"), 1, "no organisation 5; give --name NAME to create it"),
        (("org", "set", "5", "--reply-to", "a@example.org"), 1, "no organisation 5"),
        (("org", "set", "abc", "--name", "x"), 2, "organisation id 'abc' is not a whole number"),
        (("org", "set", "0", "--name", "x"), 2, "organisation id '0'"),
        (("org", "set", "--name", "x"), 2, "give the organisation ID"),
        (("org", "set", "5", "--name", "x", "--forward-bounces", "maybe"), 2,
         "--forward-bounces takes yes or no, not 'maybe'"),
        (("org", "set", "5", "--name", "a\nb"), 2, "--name contains a line break"),
        (("org", "set", "5", "--name", "  "), 2, "--name is empty"),
        (("org", "show", "99"), 1, "no organisation 99"),
        (("org", "frob"), 2, "unknown action 'frob'"),
    ]:
        rc, out, err = ctl(*args)
        eq(rc, status, "exit status of %r" % (args,))
        check(want in err, "stderr of %r names the problem (%r): %r" % (args, want, err))
        eq(out, "", "stdout of %r" % (args,))
    eq(psql("SELECT count(*) FROM organisations"), [["0"]], "nothing written")


@tap.test
def help_on_every_subcommand():
    for args, want in [
        (("org", "--help"), "bouncerctl org set ID [--name NAME]"),
        (("org", "set", "--help"), "--reply-to"),
        (("org", "show", "--help"), "--json"),
        (("suppression", "--help"), "bouncerctl suppression remove ADDRESS"),
        (("suppression", "list", "--help"), "--all"),
        (("suppression", "add", "--help"), "--days"),
        (("suppression", "remove", "--help"), "--by"),
    ]:
        rc, out, err = ctl(*args, db=False)
        eq(rc, 0, "exit status of %r" % (args,))
        check(want in out, "help of %r mentions %r: %r" % (args, want, out))
        if len(args) == 3:
            check("--conninfo" in out and "--config" in out, "help of %r has -c and -d" % (args,))
    rc, out, err = ctl("suppression", db=False)
    eq(rc, 2, "suppression without an action")
    check("usage: bouncerctl suppression list" in err, "usage on stderr: %r" % err)
    rc, out, _ = ctl("--help", db=False)
    check("org set|show" in out and "suppression list|add|remove" in out,
          "bouncerctl --help lists both: %r" % out)


# --- suppression -------------------------------------------------------------

@tap.test
def suppression_add_list_remove_keeps_the_audit_row():
    reset_database()
    out = ctl_ok("suppression", "add", "Someone@Example.org", "--reason", "asked by phone")
    check(re.match(r"^suppressed someone@example\.org for every organisation permanently"
                   r" \(suppression \d+\)\n$", out), "add output: %r" % out)

    rows = parse_table(ctl_ok("suppression", "list"))
    eq(len(rows), 1, "one live row")
    row = rows[0]
    eq((row["address"], row["scope"], row["reason"], row["until"], row["detail"]),
       ("someone@example.org", "all", "manual", "-", "asked by phone"), "listed row")
    check(re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d[+-]\d\d", row["since"]), "since: %r" % row["since"])
    check("state" not in row, "no state column without --all")

    out = ctl_ok("suppression", "add", "someone@example.org")
    eq(out, "someone@example.org is already suppressed for every organisation"
            " (manual, permanently): nothing changed\n", "second add")

    out = ctl_ok("suppression", "remove", "someone@example.org", "--by", "alice",
                 "--reason", "customer fixed the mailbox")
    check(re.match(r"^removed suppression \d+ of someone@example\.org for every organisation",
                   out), "remove output: %r" % out)

    eq(ctl_ok("suppression", "list"), "no suppressions match\n", "list after remove")
    rows = parse_table(ctl_ok("suppression", "list", "--all"))
    eq(len(rows), 1, "--all shows the removed row")
    check(re.match(r"^removed \d{4}-\d\d-\d\d \d\d:\d\d[+-]\d\d by alice$", rows[0]["state"]),
          "state of the removed row: %r" % rows[0]["state"])
    eq(rows[0]["address"], "someone@example.org", "address of the removed row")
    eq(psql("SELECT address, org_id IS NULL, reason, detail, removed_at IS NOT NULL, removed_by,"
            " removed_reason FROM suppressions"),
       [["someone@example.org", "t", "manual", "asked by phone", "t", "alice",
         "customer fixed the mailbox"]], "audit row kept")
    rc, out, err = ctl("suppression", "remove", "someone@example.org", "--by", "alice")
    eq(rc, 1, "removing again fails")
    eq(err, "bouncerctl suppression remove: someone@example.org is not suppressed for every"
            " organisation\n", "message when nothing is suppressed")

    # Suppressing again after a removal makes a new row; the audit row stays.
    ctl_ok("suppression", "add", "someone@example.org")
    eq(psql("SELECT count(*), count(*) FILTER (WHERE removed_at IS NULL) FROM suppressions"),
       [["2", "1"]], "new live row beside the audit row")


@tap.test
def suppression_add_and_remove_write_events():
    reset_database()
    ctl_ok("suppression", "add", "ev@example.org", "--org", "42", "--reason", "test", "--days", "3")
    # The same command again a moment later asks for the same end: no new row, no event.
    out = ctl_ok("suppression", "add", "ev@example.org", "--org", "42", "--reason", "test", "--days", "3")
    check(out.startswith("ev@example.org is already suppressed for organisation 42")
          and out.endswith(": nothing changed\n"), "a repeated --days add changes nothing: %r" % out)
    ctl_ok("suppression", "remove", "ev@example.org", "--org", "42", "--by", "bob",
           "--reason", "mistake")
    sup_id = psql("SELECT id FROM suppressions")[0][0]
    rows = psql("SELECT type, org_id, payload::text FROM event_log ORDER BY id")
    eq(len(rows), 2, "two events")
    eq([r[:2] for r in rows], [["suppression", "42"], ["suppression", "42"]], "event types and orgs")
    added, removed = json.loads(rows[0][2]), json.loads(rows[1][2])
    for event in (added, removed):
        for field, want in [("type", "suppression"), ("org_id", 42), ("recipient", "ev@example.org"),
                            ("reason", "manual"), ("detail", "test"), ("scope", "organisation"),
                            ("suppression_id", int(sup_id)), ("source_event", None)]:
            eq(event.get(field), want, "event field %s" % field)
        check(event["until"] is not None and event["time"], "until and time set")
    check("removed" not in added, "the add event carries no 'removed': %r" % added)
    eq((removed["removed"], removed["removed_by"], removed["removed_reason"]),
       (True, "bob", "mistake"), "removal fields")
    eq(psql("SELECT (payload->>'until')::timestamptz"
            "       = (date_trunc('day', now() AT TIME ZONE 'UTC') + interval '4 days') AT TIME ZONE 'UTC'"
            "  FROM event_log ORDER BY id LIMIT 1"), [["t"]], "--days 3: the end of the third day after today")

    # bouncerctl events sees them once they have settled: no transaction
    # can still commit an event below them (bouncerd's publisher says so).
    eq(ctl_ok("events", "--since", "0"), "", "events --since before they settled")
    psql("INSERT INTO event_publication (published_seq, settled_seq)"
         " SELECT 0, max(id) FROM event_log")
    out = ctl_ok("events", "--since", "0")
    printed = [json.loads(line) for line in out.splitlines()]
    eq([e.get("removed", False) for e in printed], [False, True], "events --since")


@tap.test
def suppression_org_scoped_and_global_listing():
    reset_database()
    ctl_ok("suppression", "add", "all@example.org")
    ctl_ok("suppression", "add", "mine@example.org", "--org", "42")
    ctl_ok("suppression", "add", "theirs@example.org", "--org", "43")
    ctl_ok("suppression", "add", "all@example.org", "--org", "42")

    rows = parse_table(ctl_ok("suppression", "list"))
    eq([(r["address"], r["scope"]) for r in rows],
       [("all@example.org", "all"), ("all@example.org", "org 42"), ("mine@example.org", "org 42"),
        ("theirs@example.org", "org 43")], "every row, global first within an address")

    rows = parse_table(ctl_ok("suppression", "list", "--org", "42"))
    eq([(r["address"], r["scope"]) for r in rows],
       [("all@example.org", "all"), ("all@example.org", "org 42"), ("mine@example.org", "org 42")],
       "what applies to org 42: its own and the global ones, not org 43's")

    rows = [json.loads(l) for l in ctl_ok("suppression", "list", "--org", "43", "--json").splitlines()]
    eq([(r["address"], r["org_id"], r["scope"]) for r in rows],
       [("all@example.org", None, "all"), ("theirs@example.org", 43, "organisation")],
       "org 43 as JSON")

    rows = parse_table(ctl_ok("suppression", "list", "--address", "ALL@example.org"))
    eq([r["scope"] for r in rows], ["all", "org 42"], "--address matches case-insensitively")

    # Removing org 42's own leaves the global one in force for org 42.
    rc, _, err = ctl("suppression", "remove", "mine@example.org", "--by", "x")
    eq(rc, 1, "no global row for mine@")
    check("it is suppressed for organisation 42 (--org 42)" in err, "hint names the scope: %r" % err)
    ctl_ok("suppression", "remove", "all@example.org", "--org", "42", "--by", "x")
    rows = parse_table(ctl_ok("suppression", "list", "--org", "42", "--address", "all@example.org"))
    eq([r["scope"] for r in rows], ["all"], "global row still applies to org 42")


@tap.test
def suppression_address_with_sql_metacharacters():
    reset_database()
    addr = "o'hara@example.org"
    nasty = "x'); DELETE FROM suppressions; --"
    ctl_ok("suppression", "add", "O'Hara@Example.org", "--org", "9", "--reason", nasty)
    rows = parse_table(ctl_ok("suppression", "list", "--address", addr))
    eq([(r["address"], r["scope"], r["detail"]) for r in rows], [(addr, "org 9", nasty)],
       "listed with the quote intact")
    obj = json.loads(ctl_ok("suppression", "list", "--json", "--address", "O'HARA@example.org"))
    eq((obj["address"], obj["detail"]), (addr, nasty), "JSON")
    out = ctl_ok("suppression", "remove", addr, "--org", "9", "--by", "d'Artagnan", "--reason", "it's fine")
    check(addr in out, "remove output names the address: %r" % out)
    eq(psql("SELECT address, detail, removed_by, removed_reason FROM suppressions"),
       [[addr, nasty, "d'Artagnan", "it's fine"]], "stored as given")
    eq(psql("SELECT payload->>'recipient', payload->>'removed_by' FROM event_log ORDER BY id"),
       [[addr, ""], [addr, "d'Artagnan"]], "events")


@tap.test
def suppression_expired_rows_only_with_all():
    reset_database()
    psql("INSERT INTO suppressions (address, org_id, reason, detail, since, until)"
         " VALUES ('old@example.org', NULL, 'soft-bounces', '3 soft bounces',"
         "         now() - interval '10 days', now() - interval '3 days')")
    ctl_ok("suppression", "add", "new@example.org", "--days", "2")
    rows = parse_table(ctl_ok("suppression", "list"))
    eq([r["address"] for r in rows], ["new@example.org"], "expired row hidden")
    check(re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d[+-]\d\d$", rows[0]["until"]), "until shown")
    rows = parse_table(ctl_ok("suppression", "list", "--all"))
    eq([(r["address"], r["state"]) for r in rows],
       [("new@example.org", "live"), ("old@example.org", "expired")], "--all shows the expired one")
    obj = [json.loads(l) for l in ctl_ok("suppression", "list", "--all", "--json").splitlines()]
    eq([(o["address"], o["live"]) for o in obj],
       [("new@example.org", True), ("old@example.org", False)], "JSON live flag")
    # An expired suppression is not in force: there is nothing to remove.
    rc, out, err = ctl("suppression", "remove", "old@example.org", "--by", "alice")
    eq(rc, 1, "removing an expired suppression fails")
    eq(err, "bouncerctl suppression remove: old@example.org is not suppressed for every"
            " organisation\n", "message for an expired one")
    eq(psql("SELECT count(*) FROM event_log"), [["1"]], "no removal event (only new@'s add)")
    # A new suppression is a new row; the expired one stays, closed as
    # expired at its until (bouncer_suppress).
    ctl_ok("suppression", "add", "old@example.org")
    eq(parse_table(ctl_ok("suppression", "list", "--address", "old@example.org"))[0]["until"], "-",
       "suppressed again, permanently")
    rows = parse_table(ctl_ok("suppression", "list", "--all", "--address", "old@example.org"))
    eq([r["reason"] for r in rows], ["soft-bounces", "manual"], "both rows listed")
    check(re.match(r"^expired \d{4}-\d\d-\d\d \d\d:\d\d[+-]\d\d$", rows[0]["state"]),
          "the old row reads expired: %r" % rows[0]["state"])
    eq(psql("SELECT removed_at = until, removed_by IS NULL, removed_reason FROM suppressions"
            " WHERE reason = 'soft-bounces'"), [["t", "t", "expired"]], "closed at its until")
    eq(psql("SELECT detail FROM support.address_history WHERE address = 'old@example.org'"
            " AND what = 'suppression' ORDER BY at"),
       [["for every organisation; 3 soft bounces; expired " +
         psql("SELECT to_char(until, 'YYYY-MM-DD HH24:MI') FROM suppressions"
              " WHERE reason = 'soft-bounces'")[0][0]],
        ["for every organisation; live"]], "address_history tells them apart")


@tap.test
def suppression_usage_errors():
    reset_database()
    for args, status, want in [
        (("suppression", "remove", "a@example.org"), 2, "--by WHO is required"),
        (("suppression", "add", "not-an-address"), 2, "\"not-an-address\" is not an email address: it has no '@'"),
        (("suppression", "add", "a b@example.org"), 2, "it contains a space"),
        (("suppression", "add", "a@example.org\nb@example.org"), 2, "it contains a line break"),
        (("suppression", "add", "a@example.org", "--days", "0"), 2, "--days '0' is not a whole number"),
        (("suppression", "add", "a@example.org", "--org", "x"), 2, "--org 'x' is not a whole number"),
        (("suppression", "add"), 2, "give the ADDRESS"),
        (("suppression", "add", "a@example.org", "b@example.org"), 2, "one ADDRESS at a time"),
        (("suppression", "list", "extra"), 2, "unexpected argument 'extra'"),
        (("suppression", "list", "--days", "3"), 2, "Unknown option --days"),
        (("suppression", "frob"), 2, "unknown action 'frob'"),
        (("suppression", "remove", "a@example.org", "--by", "x"), 1,
         "a@example.org is not suppressed for every organisation"),
    ]:
        rc, out, err = ctl(*args)
        eq(rc, status, "exit status of %r" % (args,))
        check(want in err, "stderr of %r names the problem (%r): %r" % (args, want, err))
    eq(psql("SELECT count(*) FROM suppressions"), [["0"]], "nothing written")
    rc, _, err = ctl("suppression", "list", "--conninfo", "host=/nonexistent dbname=x", db=False)
    eq(rc, 1, "database unreachable")
    check(err.startswith("bouncerctl suppression list: "), "message names the command: %r" % err)


# --- the consumer examples of docs/events.md -----------------------------------

def token(org, msg):
    return subprocess.run([os.path.join(BINDIR, "bouncerctl"), "token", "encode", "--key", TEST_KEY,
                           "--org", str(org), "--message", str(msg)],
                          capture_output=True, text=True, check=True).stdout.strip()


def hard_bounce(token_local, recipient):
    """An RFC 3464 report of one failed recipient, to the VERP address."""
    return (
        "From: MAILER-DAEMON@mta.example.net\r\n"
        "To: %s@notifications.example.com\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <%s@mta.example.net>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=\"BB\"\r\n"
        "\r\n--BB\r\nContent-Type: text/plain\r\n\r\nI could not deliver your message.\r\n"
        "\r\n--BB\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mta.example.net\r\n"
        "\r\nFinal-Recipient: rfc822; %s\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <%s>: user unknown\r\n"
        "\r\n--BB--\r\n" % (token_local, os.urandom(6).hex(), recipient, recipient))


def run_example(argv_prefix, extra_events=None):
    """Deliver one hard bounce to a bouncerd publishing on a free port, run
    the consumer (argv_prefix + [endpoint, count]) and return its events."""
    reset_database()
    port = free_port()
    endpoint = "tcp://127.0.0.1:%d" % port
    tok = token(42, 7)
    count = 2 + (1 if extra_events else 0)
    with Bouncerd({"events": {"endpoints": endpoint}}) as d:
        c = Lmtp(d.port)
        c.lhlo()
        _, replies = c.transaction("", [tok + "@notifications.example.com"],
                                   hard_bounce(tok, "gone@example.org"))
        c.close()
        eq(replies[0][:3], "250", "bounce accepted")
        if extra_events:
            extra_events()
        # The events wait in the table until the consumer subscribes.
        proc = subprocess.Popen(argv_prefix + [endpoint, str(count)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            out, err = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            raise AssertionError("consumer did not get %d events in 15 s; printed %r, stderr %r"
                                 % (count, out, err))
    eq(proc.returncode, 0, "consumer exit status (stderr %r)" % err)
    events = []
    for line in out.splitlines():
        topic, _, body = line.partition(" ")
        event = json.loads(body)
        eq(event["type"], topic, "topic printed matches the event type")
        events.append(event)
    eq(len(events), count, "events printed")
    seqs = [e["seq"] for e in events]
    eq(seqs, list(range(seqs[0], seqs[0] + count)), "seqs increasing without gaps")
    eq(psql("SELECT count(*) FROM events_unpublished"), [["0"]], "marked published")
    return events


@tap.test
def example_c_consumer_prints_events():
    tmp = tempfile.mkdtemp(prefix="events-consumer.")
    try:
        exe = os.path.join(tmp, "events_consumer")
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "libzmq"], capture_output=True,
                               text=True, check=True).stdout.split()
        build = subprocess.run(["cc", "-Wall", "-Wextra", "-Werror", "-o", exe,
                                os.path.join(SRCDIR, "docs/examples/events_consumer.c")] + flags,
                               capture_output=True, text=True)
        eq(build.returncode, 0, "compile docs/examples/events_consumer.c: " + build.stderr)
        events = run_example([exe])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    eq([e["type"] for e in events], ["bounce.hard", "suppression"], "topics")
    eq((events[0]["org_id"], events[0]["message_id"], events[0]["recipient"], events[0]["status"]),
       (42, 7, "gone@example.org", "5.1.1"), "bounce.hard fields")
    eq((events[1]["recipient"], events[1]["reason"], events[1]["scope"]),
       ("gone@example.org", "hard-bounce", "all"), "suppression fields")


@tap.test
def example_python_consumer_prints_events():
    def remove():
        ctl_ok("suppression", "remove", "gone@example.org", "--by", "support",
               "--reason", "mailbox exists again")

    events = run_example(["/usr/bin/python3", os.path.join(SRCDIR, "docs/examples/events_consumer.py")],
                         extra_events=remove)
    eq([e["type"] for e in events], ["bounce.hard", "suppression", "suppression"], "topics")
    eq(events[0]["recipient"], "gone@example.org", "bounce recipient")
    check("removed" not in events[1], "first suppression event is the suppression")
    eq((events[2]["removed"], events[2]["removed_by"], events[2]["recipient"]),
       (True, "support", "gone@example.org"), "the removal arrives as an event")


if __name__ == "__main__":
    tap.run()
