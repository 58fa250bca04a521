"""Bounces end to end: signed tokens at RCPT, bounce and complaint rows,
suppression, and events on a real ZeroMQ SUB socket."""
import json
import os
import re
import smtplib
import subprocess
import sys
import time

import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BINDIR, CONNINFO, SRCDIR, Bouncerd, Lmtp, Tap, check, eq, free_port, psql, reset_database,
                     wait_for, TEST_KEY)

tap = Tap()
OTHER_KEY = "1:ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"
# Every field of a bounce.* or autoreply.in event, seq included (docs/events.md).
BOUNCE_EVENT_FIELDS = sorted([
    "seq", "type", "time", "org_id", "message_id", "recipient", "action", "status", "reply_code",
    "reason", "hard", "bounce_type", "bounce_subtype", "diagnostic", "remote_mta",
    "reporting_mta", "rule", "inbound_id", "bounce_id"])


def token(org, msg, key=TEST_KEY, day=None):
    cmd = [os.path.join(BINDIR, "bouncerctl"), "token", "encode", "--key", key,
           "--org", str(org), "--message", str(msg)]
    if day is not None:
        cmd += ["--day", str(day)]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()


def dsn(token_local, recipients, original_message_id=None):
    """An RFC 3464 report; recipients: (address, status, diagnostic, action)."""
    per_rcpt = ""
    for addr, status, diag, action in recipients:
        per_rcpt += ("\r\nFinal-Recipient: rfc822; %s\r\nAction: %s\r\nStatus: %s\r\n"
                     "Remote-MTA: dns; mx.example.net\r\nDiagnostic-Code: smtp; %s\r\n"
                     % (addr, action, status, diag))
    mid = original_message_id or "<%s@post.example.com>" % token_local
    return (
        "From: MAILER-DAEMON@mta.example.net (Mail Delivery System)\r\n"
        "To: %s@notifications.example.com\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <%s@mta.example.net>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=\"BB\"\r\n"
        "\r\n--BB\r\nContent-Type: text/plain\r\n\r\nI could not deliver your message.\r\n"
        "\r\n--BB\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mta.example.net\r\nArrival-Date: Mon, 2 Nov 2026 10:00:00 +0000\r\n"
        "%s"
        "\r\n--BB\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        "Return-Path: <%s@notifications.example.com>\r\n"
        "From: \"Org\" <messageservice@post.example.com>\r\n"
        "Message-ID: %s\r\nSubject: Invoice 1234\r\n"
        "\r\n--BB--\r\n" % (token_local, os.urandom(6).hex(), per_rcpt, token_local, mid))


def arf(complainant, original_message_id, feedback_type="abuse", rcpt_to=None):
    rcpt_to = complainant if rcpt_to is None else rcpt_to
    return (
        "From: feedback@isp.example.net\r\nTo: fbl@notifications.example.com\r\n"
        "Subject: Abuse report\r\nMessage-ID: <%s@isp.example.net>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=feedback-report; boundary=\"AA\"\r\n"
        "\r\n--AA\r\nContent-Type: text/plain\r\n\r\nThis is an email abuse report.\r\n"
        "\r\n--AA\r\nContent-Type: message/feedback-report\r\n\r\n"
        "Feedback-Type: %s\r\nUser-Agent: ExampleFBL/1.0\r\nVersion: 1\r\n"
        "Original-Mail-From: <bounces@notifications.example.com>\r\n"
        "%sSource-IP: 192.0.2.1\r\n"
        "Arrival-Date: Mon, 2 Nov 2026 10:00:00 +0000\r\n"
        "\r\n--AA\r\nContent-Type: message/rfc822\r\n\r\n"
        "From: \"Org\" <messageservice@post.example.com>\r\nTo: %s\r\n"
        "Message-ID: %s\r\nSubject: Invoice\r\n\r\nYour invoice.\r\n"
        "\r\n--AA--\r\n" % (os.urandom(6).hex(), feedback_type,
                              "Original-Rcpt-To: <%s>\r\n" % rcpt_to if rcpt_to else "",
                              complainant, original_message_id))


class Subscriber:
    def __init__(self, port, rcvhwm=None):
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.SUB)
        if rcvhwm is not None:
            self.sock.setsockopt(zmq.RCVHWM, rcvhwm)
        self.sock.setsockopt(zmq.SUBSCRIBE, b"")
        self.sock.connect("tcp://127.0.0.1:%d" % port)

    def receive(self, n, timeout=15):
        events = []
        deadline = time.time() + timeout
        while len(events) < n and time.time() < deadline:
            if self.sock.poll(200):
                topic, body = self.sock.recv_multipart()
                event = json.loads(body)
                eq(event["type"], topic.decode(), "topic frame matches type")
                events.append(event)
        return events

    def close(self):
        self.sock.close(0)
        self.ctx.term()


def daemon(events_port):
    return Bouncerd({"events": {"endpoints": "tcp://127.0.0.1:%d" % events_port}})


def deliver(port, rcpt, msg):
    c = Lmtp(port)
    c.lhlo()
    rcpt_replies, replies = c.transaction("", [rcpt], msg)
    c.close()
    return rcpt_replies[0], (replies[0] if replies else None)


@tap.test
def dsn_for_two_recipients_records_suppresses_and_publishes():
    reset_database()
    tok = token(42, 7)
    events_port = free_port()
    sub = Subscriber(events_port)
    try:
        with daemon(events_port) as d:
            msg = dsn(tok, [
                ("gone@example.org", "5.1.1", "550 5.1.1 <gone@example.org>: user unknown", "failed"),
                ("full@example.org", "4.2.2", "452 4.2.2 mailbox full", "delayed"),
            ])
            rcpt, reply = deliver(d.port, tok + "@notifications.example.com", msg)
            eq(rcpt[:3], "250", "RCPT with a valid token")
            eq(reply[:9], "250 2.0.0", "data reply")
            events = sub.receive(3)
    finally:
        sub.close()
    rows = psql("SELECT org_id, message_id, recipient, action, status, reply_code, reason, hard,"
                " remote_mta, reporting_mta, kind FROM bounces ORDER BY id")
    eq(len(rows), 2, "bounces rows")
    eq(rows[0][:8], ["42", "7", "gone@example.org", "failed", "5.1.1", "550", "userunknown", "t"],
       "hard bounce row")
    eq(rows[0][8:], ["mx.example.net", "mta.example.net", "dsn"], "MTAs and kind")
    eq(rows[1][:5], ["42", "7", "full@example.org", "delayed", "4.2.2"], "delayed row")
    eq(rows[1][7], "f", "delayed is not hard")
    sup = psql("SELECT address, org_id IS NULL, reason, until IS NULL FROM suppressions")
    eq(sup, [["gone@example.org", "t", "hard-bounce", "t"]], "suppressions")
    eq([e["type"] for e in events], ["bounce.hard", "suppression", "bounce.delayed"], "event topics (in the order written)")
    seqs = [e["seq"] for e in events]
    eq(seqs, sorted(seqs), "events in seq order")
    eq(len(set(seqs)), 3, "distinct seqs")
    hard = events[0]
    for field, want in [("org_id", 42), ("message_id", 7), ("recipient", "gone@example.org"),
                        ("status", "5.1.1"), ("reply_code", "550"), ("reason", "userunknown"),
                        ("bounce_type", "Permanent"), ("reporting_mta", "mta.example.net")]:
        eq(hard.get(field), want, "event field %s" % field)
    for field in ("time", "inbound_id", "diagnostic", "bounce_subtype"):
        check(field in hard, "event lacks %s" % field)
    eq(sorted(hard), BOUNCE_EVENT_FIELDS, "bounce.hard fields, as docs/events.md lists them")
    eq(sorted(events[2]), BOUNCE_EVENT_FIELDS, "bounce.delayed fields")
    eq((hard["hard"], events[2]["hard"]), (True, False), "hard is a boolean")
    eq(hard["bounce_id"], int(psql("SELECT min(id) FROM bounces")[0][0]), "bounce_id")
    eq(events[1]["recipient"], "gone@example.org", "suppression event recipient")


@tap.test
def our_own_verp_address_quoted_by_a_refusal_is_never_a_recipient():
    # A server refusing the envelope sender quotes it in a line shaped like
    # a recipient's; that address is ours and must not be recorded,
    # suppressed or published. Here the notice was rewrapped without its
    # indentation (as gateways do), so nothing in the text itself says the
    # line carries on the reply before it.
    reset_database()
    tok = token(42, 9)
    verp = tok + "@notifications.example.com"
    msg = ("From: MAILER-DAEMON@mta.example.net (Mail Delivery System)\r\n"
           "To: %s\r\n"
           "Subject: Undelivered Mail Returned to Sender\r\n"
           "Message-ID: <%s@mta.example.net>\r\n"
           "\r\n"
           "This is the mail system at host mta.example.net.\r\n\r\n"
           "I'm sorry to have to inform you that your message could not\r\n"
           "be delivered to one or more recipients.\r\n\r\n"
           "<gone@example.org>: host mx.example.org[192.0.2.1] said: 553 5.1.8\r\n"
           "<%s>... Domain of sender address\r\n"
           "notifications.example.com does not exist (in reply to MAIL FROM command)\r\n"
           % (verp, os.urandom(6).hex(), verp))
    parsed = subprocess.run([os.path.join(BINDIR, "bouncerctl"), "parse", "-"], input=msg.encode(),
                            capture_output=True, check=True).stdout
    check(verp in [r["addr"] for r in json.loads(parsed)["recipients"]],
          "the parser alone, which does not know our addresses, reads it as a recipient")
    with Bouncerd() as d:
        rcpt, reply = deliver(d.port, verp, msg)
        eq(reply[:9], "250 2.0.0", "data reply")
    eq(psql("SELECT org_id, message_id, recipient, status FROM bounces ORDER BY id"),
       [["42", "9", "gone@example.org", "5.1.8"]], "only the real recipient is recorded")
    eq(psql("SELECT count(*) FROM suppressions WHERE address = :'v1'", verp), [["0"]],
       "our address is not suppressed")
    eq(psql("SELECT count(*) FROM event_log WHERE payload->>'recipient' = :'v1'", verp), [["0"]],
       "nor published")


@tap.test
def an_internationalized_report_is_taken_with_smtputf8():
    # RFC 6533: a report about a UTF-8 address, sent with SMTPUTF8 and UTF-8
    # header fields. Postfix hands such a message on only to a server that
    # offers SMTPUTF8 and returns it otherwise. Python's own LMTP client
    # refuses to send SMTPUTF8 unless the LHLO reply offers it.
    reset_database()
    tok = token(42, 8)
    msg = ("From: MAILER-DAEMON@mta.example.net\r\n"
           "To: %s@notifications.example.com\r\n"
           "Subject: Unzustellbar: Rechnung f\u00fcr J\u00f6rg\r\n"
           "MIME-Version: 1.0\r\n"
           "Content-Type: multipart/report; report-type=global-delivery-status;"
           " boundary=\"BB\"\r\n"
           "\r\n--BB\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
           "Die Nachricht an j\u00f6rg@b\u00fccher.example wurde nicht zugestellt.\r\n"
           "\r\n--BB\r\nContent-Type: message/global-delivery-status\r\n\r\n"
           "Reporting-MTA: dns; mta.example.net\r\n\r\n"
           "Final-Recipient: rfc822; j\u00f6rg@b\u00fccher.example\r\n"
           "Action: failed\r\nStatus: 5.1.1\r\n"
           "Diagnostic-Code: smtp; 550 5.1.1 mailbox unknown\r\n"
           "\r\n--BB\r\nContent-Type: message/global-headers\r\n\r\n"
           "From: \"Org\" <messageservice@post.example.com>\r\n"
           "To: j\u00f6rg@b\u00fccher.example\r\nSubject: Rechnung\r\n"
           "\r\n--BB--\r\n" % tok).encode("utf-8")
    with daemon(free_port()) as d:
        client = smtplib.LMTP("127.0.0.1", d.port)
        try:
            code, _ = client.ehlo("client.test")
            eq(code, 250, "LHLO")
            check(client.has_extn("smtputf8"), "SMTPUTF8 offered")
            refused = client.sendmail("postmaster@b\u00fccher.example",
                                      [tok + "@notifications.example.com"], msg,
                                      mail_options=["SMTPUTF8", "BODY=8BITMIME"])
            eq(refused, {}, "no recipient refused")
        finally:
            client.quit()
    rows = psql("SELECT i.mail_from, b.recipient, b.status, b.reason, b.hard, b.org_id"
                " FROM bounces b JOIN inbound_messages i ON i.id = b.inbound_id")
    eq(rows, [["postmaster@b\u00fccher.example", "j\u00f6rg@b\u00fccher.example", "5.1.1",
               "userunknown", "t", "42"]], "the report, stored and read")
    eq(psql("SELECT address FROM suppressions"), [["j\u00f6rg@b\u00fccher.example"]],
       "the address suppressed as written")


@tap.test
def a_recipient_list_in_the_old_form_is_refused():
    # A bouncerd older than migration 010 sends "addr" where the event has
    # "recipient": its deliveries must fail (451, retried), not store
    # recipients without an address.
    reset_database()
    old = '[{"addr": "gone@example.org", "action": "failed", "status": "5.1.1", "hard": true}]'
    try:
        psql("SELECT bouncer_deliver_report('s', 'b@x', 'b@notifications.example.com', 'bounce',"
             " 'dsn', 'raw'::bytea, 42, 7, 'mta', :'v1'::jsonb, 3, '7 days', '30 days', false, 10,"
             " '5 days')", old)
        raise AssertionError("the old form was accepted")
    except AssertionError as e:
        check('recipient without "recipient"' in str(e), str(e))
    eq(psql("SELECT (SELECT count(*) FROM inbound_messages), (SELECT count(*) FROM bounces)"),
       [["0", "0"]], "nothing stored")


@tap.test
def control_characters_in_a_diagnostic_are_stored():
    # PostgreSQL's json refuses unescaped control characters. json-glib,
    # which wrote the recipients once, left 0x1f unescaped: such a bounce
    # was answered 451 on every attempt until the MTA gave up.
    reset_database()
    tok = token(42, 7)
    diag = "550 5.1.1 user\x1f unknown\x01 here"
    with daemon(free_port()) as d:
        rcpt, reply = deliver(d.port, tok + "@notifications.example.com",
                              dsn(tok, [("gone@example.org", "5.1.1", diag, "failed")]))
        eq(reply[:9], "250 2.0.0", "data reply")
    hexed = diag.encode().hex()
    eq(psql("SELECT encode(convert_to(diagnostic, 'UTF8'), 'hex') FROM bounces"), [[hexed]],
       "the diagnostic as it came")
    eq(psql("SELECT encode(convert_to(payload->>'diagnostic', 'UTF8'), 'hex') FROM event_log"
            " WHERE type = 'bounce.hard'"), [[hexed]], "and in its event")


@tap.test
def forged_tokens_are_refused_at_rcpt():
    reset_database()
    good = token(42, 7)
    flipped = good[:-1] + ("a" if good[-1] != "a" else "b")
    forged = [
        ("altered", flipped),
        ("other key", token(42, 7, key=OTHER_KEY)),
        ("expired", token(42, 7, day=int(time.time() // 86400) - 400)),
        ("truncated", good[:-3]),
        ("random", "b" + os.urandom(24).hex()[:47]),
    ]
    with daemon(free_port()) as d:
        c = Lmtp(d.port)
        c.lhlo()
        eq(c.cmd("MAIL FROM:<>")[:3], "250", "MAIL")
        for what, local in forged:
            reply = c.cmd("RCPT TO:<%s@notifications.example.com>" % local)
            eq(reply[:9], "550 5.1.1", "RCPT for a %s token" % what)
            # The same words as for any unknown address: which check failed
            # (a date, a key id) would tell a forger what to change.
            eq(reply.strip(), "550 5.1.1 Recipient address rejected: unknown user",
               "the reply for a %s token says no more" % what)
        eq(c.cmd("RCPT TO:<%s@NOTIFICATIONS.example.com>" % good.upper())[:3], "250",
           "upper-case copy of a valid token")
        c.close()
        log = d.log_text()
        check("MAC" in log and "expired" in log, "the log says why tokens were refused")
        refused = [l for l in log.splitlines() if "token=refused" in l]
        eq(len(refused), len(forged), "one log line per refused token")
        check(all(re.search(r"\bsid=[0-9a-z]+ rcpt=", l) for l in refused),
              "each refused token's line names its session: %r" % refused)
    eq(psql("SELECT count(*) FROM inbound_messages"), [["0"]], "nothing stored")


@tap.test
def complaint_to_fbl_is_linked_through_original_headers():
    reset_database()
    tok = token(77, 9001)
    with daemon(free_port()) as d:
        rcpt, reply = deliver(d.port, "fbl@notifications.example.com",
                              arf("angry@example.com", "<%s@post.example.com>" % tok))
        eq(reply[:3], "250", "data reply")
    eq(psql("SELECT org_id, message_id, recipient, feedback_type FROM complaints"),
       [["77", "9001", "angry@example.com", "abuse"]], "complaint row")
    eq(psql("SELECT address, org_id, reason FROM suppressions"),
       [["angry@example.com", "77", "complaint"]], "suppressed for that organisation only")
    eq(psql("SELECT kind FROM inbound_messages"), [["arf"]], "inbound kind")
    payload = json.loads(psql("SELECT payload::text FROM event_log WHERE type = 'complaint'")[0][0])
    eq(sorted(payload), ["complaint_id", "feedback_type", "inbound_id", "message_id", "org_id",
                         "recipient", "reporting_mta", "time", "type"], "complaint event fields")
    eq((payload["recipient"], payload["feedback_type"]), ("angry@example.com", "abuse"),
       "complainant and feedback type in the event")


@tap.test
def reports_that_are_no_complaint_and_redacted_complainers_suppress_nobody():
    # not-spam (RFC 6650) and auth-failure (RFC 6591) reports say nothing
    # against mailing the recipient; a placeholder such as redacted@ is
    # nobody's address. All are recorded and published.
    reset_database()
    tok = token(77, 9002)
    cases = [("fine@example.com", "not-spam", None), ("auth@example.com", "auth-failure", None),
             ("redacted@redacted", "abuse", ""), ("Redacted@example.net", "abuse", None),
             ("angry@example.com", "abuse", None)]
    with daemon(free_port()) as d:
        for complainant, ftype, rcpt_to in cases:
            _, reply = deliver(d.port, "fbl@notifications.example.com",
                               arf(complainant, "<%s@post.example.com>" % tok, ftype, rcpt_to))
            eq(reply[:3], "250", "data reply for %s" % ftype)
    eq(psql("SELECT recipient, feedback_type FROM complaints ORDER BY id"),
       [["fine@example.com", "not-spam"], ["auth@example.com", "auth-failure"],
        ["redacted@redacted", "abuse"], ["Redacted@example.net", "abuse"],
        ["angry@example.com", "abuse"]],
       "every report recorded, as the report says")
    eq(psql("SELECT address FROM suppressions"), [["angry@example.com"]],
       "only the real complaint suppresses")
    eq(psql("SELECT count(*) FROM event_log WHERE type = 'complaint'"), [["5"]], "five complaint events")


@tap.test
def soft_bounces_suppress_after_threshold():
    reset_database()
    with daemon(free_port()) as d:
        for i in range(3):
            tok = token(5, 100 + i)
            eq(deliver(d.port, tok + "@notifications.example.com",
                       dsn(tok, [("soft@example.org", "5.2.2", "552 5.2.2 mailbox full", "failed")]))[1][:3],
               "250", "soft bounce %d" % i)
            sup = psql("SELECT reason, until IS NOT NULL FROM suppressions")
            eq(sup, [] if i < 2 else [["soft-bounces", "t"]], "suppressions after %d soft bounces" % (i + 1))
        # An address with a long history of soft bounces (a sender that
        # ignores its suppression): the next one makes the suppression
        # longer having read only as many as the threshold, newest first.
        psql("INSERT INTO bounces (inbound_id, recipient, kind, action, hard)"
             " SELECT (SELECT max(id) FROM inbound_messages), 'soft@example.org', 'dsn',"
             " 'failed', false FROM generate_series(1, 200)")
        soft = lambda i: deliver(d.port, token(5, i) + "@notifications.example.com",
                                 dsn(token(5, i), [("soft@example.org", "5.2.2",
                                                    "552 5.2.2 mailbox full", "failed")]))[1][:3]
        eq(soft(200), "250", "soft bounce after 203")
        eq(psql("SELECT split_part(detail, ',', 1) FROM suppressions WHERE removed_at IS NULL"),
           [["3 soft bounces"]], "the count stops at the threshold")
        # Made longer: the first row is kept, closed, as what it was.
        eq(psql("SELECT reason, removed_by IS NULL, removed_reason FROM suppressions ORDER BY id"),
           [["soft-bounces", "t", "superseded"], ["soft-bounces", "t", ""]], "history kept")
        # Lifting an organisation's own suppression of the address leaves
        # the count alone (soft bounces suppress for everyone).
        psql("SELECT bouncer_suppress('soft@example.org', 5, 'complaint', 'complaint abuse', NULL,"
             " NULL); SELECT bouncer_unsuppress('soft@example.org', 5, 'support', 'other scope')")
        eq(psql("SELECT bouncer_recent_soft_bounces('soft@example.org', '7 days', 3)"), [["3"]],
           "the count is not restarted by another scope")
        psql("DELETE FROM suppressions WHERE org_id = 5")
        # A person lifts it: the count starts again from there.
        eq(psql("SELECT bouncer_unsuppress('soft@example.org', NULL, 'support', 'asked') IS NOT NULL"),
           [["t"]], "lifted")
        eq(soft(201), "250", "one soft bounce after the removal")
        eq(psql("SELECT count(*) FROM suppressions WHERE removed_at IS NULL"), [["0"]],
           "not suppressed again by the bounces before the removal")
        eq(soft(202), "250", "two")
        eq(soft(203), "250", "three")
        eq(psql("SELECT detail FROM suppressions WHERE removed_at IS NULL"),
           [["3 soft bounces, last 5.2.2 mailboxfull"]], "suppressed again at the threshold")
        eq(psql("SELECT coalesce(removed_by, '-'), coalesce(removed_reason, '-') FROM suppressions"
                " ORDER BY id"),
           [["-", "superseded"], ["support", "asked"], ["-", "-"]], "every state of it kept")


@tap.test
def a_long_suppression_history_is_not_read_again_at_each_bounce():
    reset_database()
    # 20 000 other addresses, so the statistics say an address is nearly
    # unique, and one address with 3 000 closed rows (made longer again and
    # again) and its row in force.
    psql("INSERT INTO suppressions (address, reason, since)"
         " SELECT 'other' || i || '@example.org', 'hard-bounce', now() - interval '1 day'"
         "   FROM generate_series(1, 20000) i;"
         " INSERT INTO suppressions (address, reason, since, until, removed_at, removed_reason)"
         " SELECT 'often@example.org', 'soft-bounces', now() - interval '2 days' + i * interval '1s',"
         "        now(), now() - interval '1 day', 'superseded' FROM generate_series(1, 3000) i;"
         " INSERT INTO suppressions (address, reason, until)"
         "   VALUES ('often@example.org', 'soft-bounces', now() + interval '1 hour');"
         " ANALYZE suppressions")
    # The plan a connection keeps after a few calls is a generic one; each
    # call below is made with such a plan. Rows the lookups fetch, counted by
    # the transaction's own statistics (old code: over 3 000 a call).
    rows = psql("BEGIN; SET LOCAL plan_cache_mode = force_generic_plan;"
                " SELECT bouncer_suppress('often@example.org', NULL, 'soft-bounces', '', NULL,"
                "                         now() + interval '2 hours') IS NOT NULL;"
                " SELECT bouncer_suppress('often@example.org', NULL, 'soft-bounces', '', NULL,"
                "                         now() + interval '1 hour') IS NULL;"
                " SELECT bouncer_recent_soft_bounces('often@example.org', '7 days', 3);"
                " SELECT bouncer_unsuppress('often@example.org', NULL, 'support', 'asked')"
                "        IS NOT NULL;"
                " SELECT idx_tup_fetch + seq_tup_read FROM pg_stat_xact_user_tables"
                "  WHERE relname = 'suppressions';"
                " COMMIT")
    eq(rows[:4], [["t"], ["t"], ["0"], ["t"]],
       "made longer, then left alone, no soft bounces counted, then lifted")
    check(int(rows[4][0]) < 100, "four lookups read %s rows of suppressions" % rows[4][0])
    eq(psql("SELECT count(*), count(*) FILTER (WHERE removed_at IS NULL)"
            "  FROM suppressions WHERE address = 'often@example.org'"),
       [["3002", "0"]], "one row closed by the longer one, which was then lifted")


@tap.test
def concurrent_first_suppressions_of_one_address_both_succeed():
    reset_database()
    sql = ("BEGIN; SELECT bouncer_suppress('race@example.org', NULL, 'hard-bounce', '', NULL, NULL);"
           " SELECT pg_sleep(1); COMMIT;")
    procs = [subprocess.Popen(["psql", os.environ["BOUNCER_TEST_CONNINFO"], "-X", "-q", "-v",
                               "ON_ERROR_STOP=1", "-c", sql], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(30), p.stderr.read()) for p in procs]
    eq([r[0] for r in results], [0, 0], "both transactions commit: %r" % [r[1] for r in results])
    eq(psql("SELECT count(*) FROM suppressions WHERE address = 'race@example.org'"), [["1"]],
       "one suppression")
    eq(psql("SELECT count(*) FROM event_log WHERE type = 'suppression'"), [["1"]], "one event")


@tap.test
def events_written_without_subscriber_arrive_after_restart_in_order():
    reset_database()
    events_port = free_port()
    with daemon(events_port) as d:
        for i in range(5):
            tok = token(11, 500 + i)
            deliver(d.port, tok + "@notifications.example.com",
                    dsn(tok, [("r%d@example.org" % i, "4.4.1", "451 4.4.1 timeout", "delayed")]))
        time.sleep(0.5)
    eq(psql("SELECT count(*) FROM events_unpublished"), [["5"]],
       "events wait in the table while nobody listens")
    sub = Subscriber(events_port)
    try:
        with daemon(events_port):
            events = sub.receive(5)
            time.sleep(0.5)
            more = sub.receive(1, timeout=1)
    finally:
        sub.close()
    eq([e["recipient"] for e in events], ["r%d@example.org" % i for i in range(5)], "order")
    eq([e["seq"] for e in events], sorted(e["seq"] for e in events), "seq order")
    eq(more, [], "no duplicates")
    eq(psql("SELECT count(*) FROM events_unpublished"), [["0"]], "all marked")


@tap.test
def two_instances_publish_each_event_at_least_once_in_order():
    reset_database()
    ports = [free_port(), free_port()]
    sub = Subscriber(ports[0])
    sub.sock.connect("tcp://127.0.0.1:%d" % ports[1])
    try:
        first, second = daemon(ports[0]).start(), daemon(ports[1]).start()
        try:
            for i in range(10):
                tok = token(21, 700 + i)
                deliver((first, second)[i % 2].port, tok + "@notifications.example.com",
                        dsn(tok, [("two%d@example.org" % i, "4.4.1", "451 4.4.1 timeout", "delayed")]))
            events = sub.receive(10)
            time.sleep(1)
            events += sub.receive(1, timeout=1)
            # Whoever leads, the other takes over when it stops.
            first.stop()
            for i in range(3):
                tok = token(21, 800 + i)
                deliver(second.port, tok + "@notifications.example.com",
                        dsn(tok, [("after%d@example.org" % i, "4.4.1", "451 4.4.1 timeout", "delayed")]))
            # The one taking over first sends the last ones again (what the
            # other's socket held may have gone with it): read until the
            # three new ones are in.
            deadline = time.time() + 20
            while len({e["seq"] for e in events}) < 13 and time.time() < deadline:
                events += sub.receive(1, timeout=1)
        finally:
            first.stop()
            second.stop()
    finally:
        sub.close()
    # As the documented consumer reads them: skip seq <= last, and no gap.
    last, handled = 0, []
    for e in events:
        if e["seq"] <= last:
            continue
        check(last == 0 or e["seq"] == last + 1, "no gap after %d: %d" % (last, e["seq"]))
        last = e["seq"]
        handled.append(e["recipient"])
    eq(len(handled), 13, "events handled, each once")
    eq(sorted(handled), sorted(["two%d@example.org" % i for i in range(10)]
                               + ["after%d@example.org" % i for i in range(3)]), "which events")


def late_event_is_published_soon(first_seq, recipient, meanwhile, later=()):
    """An event whose transaction stays open while meanwhile(d, sub) runs
    must go out within seconds of its COMMIT, and before the events of
    the recipients in later, which meanwhile has committed after it took
    its seq."""
    reset_database()
    events_port = free_port()
    sub = Subscriber(events_port)
    late = subprocess.Popen(["psql", os.environ["BOUNCER_TEST_CONNINFO"], "-X", "-q", "-v",
                             "ON_ERROR_STOP=1"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)

    def say(sql, echo):
        late.stdin.write("%s\n\\echo %s\n" % (sql, echo))
        late.stdin.flush()
        eq(late.stdout.readline().strip(), echo, "psql: " + echo)

    try:
        with daemon(events_port) as d:
            tok = token(31, first_seq)
            deliver(d.port, tok + "@notifications.example.com",
                    dsn(tok, [("early@example.org", "4.4.1", "451 4.4.1 timeout", "delayed")]))
            eq([e["recipient"] for e in sub.receive(1)], ["early@example.org"], "first event")
            say("BEGIN; INSERT INTO events (type, payload) VALUES ('test.late',"
                " '{\"type\": \"test.late\", \"recipient\": \"%s\"}');" % recipient, "inserted")
            meanwhile(d, sub)
            say("COMMIT;", "committed")
            got = sub.receive(1 + len(later), timeout=10)
            eq([e.get("recipient") for e in got], [recipient] + list(later),
               "the late event, soon, then those committed while it was open")
            eq([e["seq"] for e in got], sorted(e["seq"] for e in got), "in seq order")
    finally:
        late.kill()
        sub.close()


@tap.test
def events_committed_after_an_open_transaction_took_its_seq_wait_for_it():
    # The open transaction holds a smaller seq (its event's id) than the
    # events committed meanwhile. Sent, or shown in the view events, before
    # it, they would make a consumer skip it as already seen: they wait
    # until it ends, and then all go out in seq order.
    later = ["after%d@example.org" % i for i in range(5)]

    def later_events(d, sub):
        for i, rcpt in enumerate(later):
            tok = token(31, 901 + i)
            deliver(d.port, tok + "@notifications.example.com",
                    dsn(tok, [(rcpt, "4.4.1", "451 4.4.1 timeout", "delayed")]))
        eq(sub.receive(5, timeout=3), [], "nothing on the wire while an earlier seq may commit")
        eq(psql("SELECT count(*) FROM event_log WHERE type = 'bounce.delayed'"), [["6"]],
           "the later events committed")
        eq(psql("SELECT payload->>'recipient' FROM events"), [["early@example.org"]],
           "the view shows only what has settled")

    late_event_is_published_soon(900, "late@example.org", later_events, later)


@tap.test
def an_event_that_commits_late_on_a_quiet_system_is_published_soon():
    # Nothing else happens while the transaction is open: the event goes
    # out once it commits, not at some later look.
    late_event_is_published_soon(950, "quiet@example.org", lambda d, sub: time.sleep(4))


def schema_before(conninfo, version):
    """Migrations 1 to version applied to the database at conninfo, as
    bouncerctl migrate of an older release left it."""
    psql_db = ["psql", conninfo, "-X", "-q", "-v", "ON_ERROR_STOP=1"]
    subprocess.run(psql_db + ["-c", "CREATE TABLE bouncer_schema_migrations (version integer"
                              " PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL"
                              " DEFAULT now())"], check=True, capture_output=True)
    sqldir = os.path.join(SRCDIR, "sql")
    for name in sorted(os.listdir(sqldir)):
        if not name.endswith(".sql") or int(name[:3]) > version:
            continue
        subprocess.run(psql_db + ["-1", "-f", os.path.join(sqldir, name), "-c",
                                  "INSERT INTO bouncer_schema_migrations VALUES (%d, '%s')"
                                  % (int(name[:3]), name[4:-4])], check=True, capture_output=True)


@tap.test
def events_written_before_the_upgrade_keep_their_seq_and_go_out_first():
    # Before sql/020 the publisher gave each committed event the next value
    # of events_seq as it sent it. A consumer's last seq comes from there:
    # the rows keep theirs, those not yet sequenced get the next ones, and
    # new events (seq = id) come after all of them, whatever the ids were.
    psql("DROP DATABASE IF EXISTS bouncer_upgrade")
    psql("CREATE DATABASE bouncer_upgrade")
    conninfo = CONNINFO + " dbname=bouncer_upgrade"
    events_port = free_port()
    sub = Subscriber(events_port)
    try:
        schema_before(conninfo, 19)
        old = ["psql", conninfo, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c"]
        subprocess.run(old + [
            "INSERT INTO events (type, payload) SELECT 'test.old',"
            " jsonb_build_object('type', 'test.old', 'recipient', 'old' || i || '@example.org')"
            " FROM generate_series(1, 6) i;"
            # Sent: ids 1 and 2 (seqs 101, 102); sequenced, not marked: id 4
            # (103); committed late or not yet sequenced: 3, 5 and 6.
            "SELECT setval('events_seq', 100);"
            "UPDATE events SET seq = nextval('events_seq') WHERE id = 1;"
            "UPDATE events SET seq = nextval('events_seq') WHERE id = 2;"
            "UPDATE events SET seq = nextval('events_seq') WHERE id = 4;"
            "UPDATE event_publication SET published_seq = 102;"],
            check=True, capture_output=True)
        out = subprocess.run([os.path.join(BINDIR, "bouncerctl"), "migrate", "--conninfo", conninfo],
                             capture_output=True, text=True)
        eq(out.returncode, 0, "migrate: " + out.stderr)
        table = subprocess.run(old + ["SELECT seq, payload->>'recipient' FROM events ORDER BY seq"],
                               capture_output=True, text=True, check=True).stdout.split()
        eq(table, ["101|old1@example.org", "102|old2@example.org", "103|old4@example.org",
                   "104|old3@example.org", "105|old5@example.org", "106|old6@example.org"],
           "the old events' seqs after the migration")
        with Bouncerd({"events": {"endpoints": "tcp://127.0.0.1:%d" % events_port},
                       "database": {"conninfo": conninfo}}) as d:
            got = sub.receive(6)
            tok = token(31, 990)
            deliver(d.port, tok + "@notifications.example.com",
                    dsn(tok, [("new@example.org", "4.4.1", "451 4.4.1 timeout", "delayed")]))
            got += sub.receive(1)
        eq([(e["seq"], e["recipient"]) for e in got],
           [(101, "old1@example.org"), (102, "old2@example.org"),    # the tail, again
            (103, "old4@example.org"), (104, "old3@example.org"), (105, "old5@example.org"),
            (106, "old6@example.org"), (got[-1]["seq"], "new@example.org")], "on the wire")
        check(got[-1]["seq"] > 106, "the new event's seq %d comes after the old ones" % got[-1]["seq"])
    finally:
        sub.close()
        psql("DROP DATABASE IF EXISTS bouncer_upgrade")


@tap.test
def a_restart_sends_the_tail_again():
    # "Published" means handed to ZeroMQ. A subscriber that reads slowly
    # still has events queued for it when bouncerd stops, and they went
    # down with the socket: after the restart nothing was above the mark,
    # so nothing came again, and the subscriber could not know until the
    # next event. Now the new publisher first sends the tail again.
    reset_database()
    events_port = free_port()
    # 2000 events of 4 KB: more than the kernel's socket buffers hold, so
    # some are still in ZeroMQ's queue when bouncerd stops.
    n = 2000
    psql("INSERT INTO events (type, payload) SELECT 'test.tail',"
         " jsonb_build_object('type', 'test.tail', 'i', i, 'pad', repeat('x', 4096))"
         " FROM generate_series(1, :'v1') i", str(n))
    sub = Subscriber(events_port, rcvhwm=10)
    try:
        with daemon(events_port):
            wait_for(lambda: psql("SELECT count(*) FROM events_unpublished") == [["0"]],
                     20, "all %d marked published" % n)
            got = sub.receive(5, timeout=5)          # a slow reader: a few so far
        with daemon(events_port):
            got += sub.receive(n * 2, timeout=10)
    finally:
        sub.close()
    want = [int(r[0]) for r in psql("SELECT seq FROM events ORDER BY seq")]
    eq(len(want), n, "every event has a seq")
    eq(sorted({e["seq"] for e in got}), want, "every seq received, some twice")


@tap.test
def events_since_catches_up():
    out = subprocess.run([os.path.join(BINDIR, "bouncerctl"), "events", "--conninfo",
                          os.environ["BOUNCER_TEST_CONNINFO"], "--since", "0"],
                         capture_output=True, text=True)
    eq(out.returncode, 0, "exit status: " + out.stderr)
    lines = [json.loads(l) for l in out.stdout.splitlines()]
    want = [int(r[0]) for r in psql("SELECT seq FROM events WHERE seq IS NOT NULL ORDER BY seq")]
    eq([e["seq"] for e in lines], want, "seqs printed")
    check(len(want) > 0, "some events to print")


if __name__ == "__main__":
    tap.run()
