"""What organisations and customers see: forwards of final failures and the
"Oops" auto-reply, through real LMTP, PostgreSQL and a real SMTP listener."""
import base64
import email
import email.policy
import glob
import json
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Bouncerd, Lmtp, Tap, check, eq, free_port, scratch_dir, psql, reset_database, wait_for
from smtp_sink import SmtpSink
from test_bounces import arf, dsn, token

tap = Tap()
REPLY_MAILBOX = "messageservice@post.example.com"


def organisation(org_id, name, reply_to, forward=True):
    psql("INSERT INTO organisations (id, name, reply_to, forward_bounces)"
         " VALUES (:'v1', :'v2', :'v3', :'v4')", org_id, name, reply_to, "t" if forward else "f")


def daemon(relay_port, **groups):
    settings = {"relay": {"url": "smtp://127.0.0.1:%d" % relay_port, "retry_base": "1"}}
    for group, values in groups.items():
        settings.setdefault(group, {}).update(values)
    return Bouncerd(settings)


def deliver(port, rcpt, msg, mail_from=""):
    c = Lmtp(port)
    c.lhlo()
    _, replies = c.transaction(mail_from, [rcpt], msg)
    c.close()
    eq(replies[0][:3], "250", "delivery to %s" % rcpt)


def customer_reply(subject="Re: Invoice 1234", in_reply_to=None, extra="", sender="customer@example.net"):
    irt = "In-Reply-To: <%s>\r\n" % in_reply_to if in_reply_to else ""
    return ("From: Customer <%s>\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s@example.net>\r\n"
            "%s%s\r\nWhere do I pay?\r\n" % (sender, REPLY_MAILBOX, subject, os.urandom(6).hex(), irt, extra))


def settle():
    """Give the sender thread time to send anything it would send."""
    wait_for(lambda: psql("SELECT count(*) FROM outbox WHERE state = 'queued'") == [["0"]], 15,
             "outbox drained")
    time.sleep(0.5)


@tap.test
def final_failure_is_forwarded_once_with_the_report_attached():
    reset_database()
    organisation(42, "Joe Bloggs Ltd", "joe.bloggs@example.org")
    tok = token(42, 7)
    port = free_port()
    report = dsn(tok, [("gone@example.com", "5.1.1", "550 5.1.1 user unknown", "failed"),
                       ("later@example.com", "4.4.1", "451 4.4.1 timeout", "delayed")])
    with SmtpSink(port) as sink, daemon(port) as d:
        deliver(d.port, tok + "@notifications.example.com", report)
        wait_for(lambda: len(sink.messages) == 1, 15, "the forward at the sink")
        settle()
        eq(len(sink.messages), 1, "exactly one forward")
    mail_from, rcpts, msg = sink.parsed()[0]
    eq(mail_from, "<>", "envelope sender")
    eq(rcpts, ["joe.bloggs@example.org"], "sent to the organisation's Reply-To")
    eq(msg["Auto-Submitted"], "auto-generated", "Auto-Submitted")
    eq(msg["From"].addresses[0].addr_spec, REPLY_MAILBOX, "From")
    check("gone@example.com" in msg["Subject"], "subject names the recipient: %r" % msg["Subject"])
    text = msg.get_body(("plain",)).get_content()
    check("gone@example.com" in text and "does not exist" in text and "5.1.1" in text,
          "explanation: %r" % text)
    check("later@example.com" not in text, "delayed recipients are not listed")
    attached = [p for p in msg.iter_attachments() if p.get_content_type() == "message/rfc822"]
    eq(len(attached), 1, "one message/rfc822 attachment")
    inner = attached[0].get_content()
    check(tok in str(inner["To"]), "the attachment is the report as received")


@tap.test
def delays_complaints_and_unknown_organisations_are_not_forwarded():
    reset_database()
    organisation(42, "Joe Bloggs Ltd", "joe.bloggs@example.org")
    organisation(43, "No Forwards Ltd", "nf@example.org", forward=False)
    port = free_port()
    with SmtpSink(port) as sink, daemon(port) as d:
        tok = token(42, 8)
        deliver(d.port, tok + "@notifications.example.com",
                dsn(tok, [("slow@example.com", "4.4.1", "451 4.4.1 timeout", "delayed")]))
        deliver(d.port, "fbl@notifications.example.com",
                arf("angry@example.com", "<%s@post.example.com>" % token(42, 9)))
        tok = token(999, 1)   # the app never wrote organisation 999
        deliver(d.port, tok + "@notifications.example.com",
                dsn(tok, [("gone@example.com", "5.1.1", "550 5.1.1 unknown", "failed")]))
        tok = token(43, 1)
        deliver(d.port, tok + "@notifications.example.com",
                dsn(tok, [("gone@example.com", "5.1.1", "550 5.1.1 unknown", "failed")]))
        time.sleep(2)
        settle()
        eq(sink.messages, [], "nothing forwarded")
    eq(psql("SELECT count(*) FROM outbox"), [["0"]], "no outbox rows")
    eq(psql("SELECT count(*) FROM bounces"), [["3"]], "all bounces recorded")


@tap.test
def a_success_notice_without_its_report_is_not_a_bounce():
    # Postfix's notice for NOTIFY=SUCCESS, its delivery-status part lost on
    # the way (a filter that strips attachments): the words alone must not
    # make it a failure to forward, publish or count towards suppression.
    reset_database()
    organisation(42, "Joe Bloggs Ltd", "joe.bloggs@example.org")
    tok = token(42, 12)
    notice = ("From: MAILER-DAEMON@mx.example.com (Mail Delivery System)\r\n"
              "To: %s@notifications.example.com\r\n"
              "Subject: Successful Mail Delivery Report\r\n"
              "Message-ID: <%s@mx.example.com>\r\n"
              "\r\n"
              "This is the mail system at host mx.example.com.\r\n\r\n"
              "Your message was successfully delivered to the destination(s)\r\n"
              "listed below. If the message was delivered to mailbox you will\r\n"
              "receive no further notifications.\r\n\r\n"
              "<paid@example.com>: delivery via local: delivered to mailbox\r\n"
              % (tok, os.urandom(6).hex()))
    port = free_port()
    with SmtpSink(port) as sink, daemon(port) as d:
        deliver(d.port, tok + "@notifications.example.com", notice)
        time.sleep(1)
        settle()
        eq(sink.messages, [], "nothing forwarded")
    eq(psql("SELECT recipient, kind, action, reason FROM bounces"),
       [["paid@example.com", "delivered", "delivered", "delivered"]], "recorded as a delivery")
    eq(psql("SELECT count(*) FROM outbox"), [["0"]], "no outbox rows")
    eq(psql("SELECT count(*) FROM suppressions"), [["0"]], "nothing suppressed")
    eq(psql("SELECT count(*) FROM event_log WHERE type LIKE 'bounce.%'"), [["0"]], "no bounce event")


@tap.test
def forwards_over_the_hourly_limit_are_held():
    reset_database()
    organisation(42, "Joe Bloggs Ltd", "joe.bloggs@example.org")
    port = free_port()
    with SmtpSink(port) as sink, daemon(port, forward={"hourly_limit": "2"}) as d:
        for i in range(4):
            tok = token(42, 100 + i)
            deliver(d.port, tok + "@notifications.example.com",
                    dsn(tok, [("gone%d@example.com" % i, "5.1.1", "550 5.1.1 unknown", "failed")]))
        settle()
        eq(len(sink.messages), 2, "forwards sent")
    eq(psql("SELECT state, count(*) FROM outbox GROUP BY state ORDER BY state"),
       [["held", "2"], ["sent", "2"]], "outbox states")


def deliver_failure(d, tok, address="gone@example.com"):
    """A final failure of address, to token tok: one forward to queue."""
    deliver(d.port, tok + "@notifications.example.com",
            dsn(tok, [(address, "5.1.1", "550 5.1.1 unknown", "failed")]))


def queue_a_forward(d, sink, tok, address="gone@example.com"):
    """Deliver a final failure while the relay says 451: its forward waits."""
    deliver_failure(d, tok, address)
    wait_for(lambda: sink.attempts >= 1, 15, "a first attempt at the relay")


@tap.test
def a_waiting_forward_follows_the_organisation_as_it_is_now():
    # A forward is composed when it is sent: an organisation that cleared its
    # Reply-To, turned forwarding off or was removed while the forward
    # waited gets nothing, and the row says why; one that changed its
    # Reply-To gets it at the new address.
    reset_database()
    cases = [(42, "UPDATE organisations SET reply_to = NULL WHERE id = 42", None),
             (43, "UPDATE organisations SET forward_bounces = false WHERE id = 43", None),
             (44, "DELETE FROM organisations WHERE id = 44", None),
             (45, "UPDATE organisations SET reply_to = 'new@example.org' WHERE id = 45",
              "new@example.org")]
    for org_id, _, _ in cases:
        organisation(org_id, "Org %d" % org_id, "old%d@example.org" % org_id)
    port = free_port()
    with SmtpSink(port, mode="tempfail") as sink, daemon(port) as d:
        for org_id, _, _ in cases:
            queue_a_forward(d, sink, token(org_id, 1), "gone%d@example.com" % org_id)
        wait_for(lambda: sink.attempts >= len(cases), 15, "every forward tried once")
        for _, change, _ in cases:
            psql(change)
        # An attempt claimed before the changes was composed with the old
        # Reply-To and may still be on its way to the relay: the relay keeps
        # answering 451 until every forward has been claimed again since
        # (a claim reads the organisation and counts the attempt).
        claimed = int(psql("SELECT attempts FROM outbox WHERE org_id = 45")[0][0])
        wait_for(lambda: psql("SELECT count(*) FROM outbox WHERE org_id IN (42, 43, 44)"
                              " AND state = 'failed'") == [["3"]]
                 and int(psql("SELECT attempts FROM outbox WHERE org_id = 45")[0][0]) > claimed,
                 30, "every forward claimed again since the changes")
        sink.mode = "accept"
        wait_for(lambda: psql("SELECT count(*) FROM outbox WHERE state IN ('queued')") == [["0"]],
                 30, "every forward settled")
        time.sleep(0.5)
        got = sink.parsed()
    eq([(r, str(m["To"])) for _, r, m in got], [(["new@example.org"], "new@example.org")],
       "only the organisation that still forwards got one, at its new address")
    rows = psql("SELECT org_id, state, rcpt_to, last_error FROM outbox ORDER BY org_id")
    for row, (org_id, _, want) in zip(rows, cases):
        if want is None:
            eq(row[1], "failed", "org %d: state" % org_id)
            check("no longer forwards" in row[3], "org %d: the reason: %r" % (org_id, row[3]))
        else:
            eq(row[1], "sent", "org %d: state" % org_id)


@tap.test
def the_envelope_recipient_is_the_address_the_header_names():
    # organisations.reply_to as the app typed it, with angle brackets and
    # blanks: RCPT TO carries the same plain address as To:, not
    # "<<joe@example.org>>".
    reset_database()
    organisation(42, "Joe Bloggs Ltd", "  <joe@example.org> ")
    port = free_port()
    with SmtpSink(port) as sink, daemon(port) as d:
        deliver_failure(d, token(42, 3))
        wait_for(lambda: len(sink.messages) == 1, 15, "the forward at the sink")
    _, rcpts, msg = sink.parsed()[0]
    eq(rcpts, ["joe@example.org"], "RCPT TO")
    eq(str(msg["To"]), "joe@example.org", "To:")


@tap.test
def a_relay_that_wants_tls_or_a_login_is_retried_not_failed():
    # 530 at MAIL (STARTTLS needed): our configuration, not the message.
    # The row stays queued and is tried again, as Postfix defers it.
    reset_database()
    organisation(42, "Joe Bloggs Ltd", "joe.bloggs@example.org")
    port = free_port()
    with SmtpSink(port, mode="needtls") as sink, daemon(port) as d:
        deliver_failure(d, token(42, 4))
        wait_for(lambda: sink.attempts >= 2, 20, "a second attempt after the 530")
        eq(psql("SELECT state FROM outbox"), [["queued"]], "still queued")
        check("530" in psql("SELECT last_error FROM outbox")[0][0], "the 530 is recorded")
        eq(psql("SELECT count(*) FROM event_log WHERE type = 'outbox.failed'"), [["0"]],
           "no outbox.failed event")
        sink.mode = "accept"
        wait_for(lambda: len(sink.messages) == 1, 20, "sent once the relay takes it")


class RefusingRelay:
    """A relay that greets every connection with 554 (no service) and
    hangs up, counting the connections."""

    def __init__(self, port):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.connections = 0
        self.stopping = False
        self.thread = threading.Thread(target=self.serve, daemon=True)

    def serve(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.sendall(b"554 5.3.2 no service here now\r\n")
            conn.close()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping = True
        self.thread.join()
        self.sock.close()


@tap.test
def a_relay_refusing_service_at_its_greeting_is_retried():
    # 554 in the greeting is the relay refusing service, not a verdict on the
    # message (Postfix: smtp_skip_5xx_greeting): the forward stays queued.
    reset_database()
    organisation(42, "Joe Bloggs Ltd", "joe.bloggs@example.org")
    port = free_port()
    with RefusingRelay(port) as relay, daemon(port) as d:
        deliver_failure(d, token(42, 6))
        wait_for(lambda: relay.connections >= 2, 20, "a second attempt after the 554 greeting")
        eq(psql("SELECT state FROM outbox"), [["queued"]], "still queued")
        eq(psql("SELECT count(*) FROM event_log WHERE type = 'outbox.failed'"), [["0"]],
           "no outbox.failed event")


@tap.test
def a_message_refused_after_its_data_fails_at_once():
    # 554 after the data is about the message: final, no retry, the app told.
    reset_database()
    organisation(42, "Joe Bloggs Ltd", "joe.bloggs@example.org")
    port = free_port()
    with SmtpSink(port, mode="reject-data") as sink, daemon(port) as d:
        deliver_failure(d, token(42, 7))
        wait_for(lambda: psql("SELECT state FROM outbox") == [["failed"]], 20, "the row failed")
        time.sleep(2)
        eq(len(sink.messages), 1, "one attempt, not retried")
    eq(psql("SELECT count(*) FROM event_log WHERE type = 'outbox.failed'"), [["1"]],
       "an outbox.failed event")
    err = psql("SELECT last_error FROM outbox")[0][0]
    check("554 5.7.1 message refused" in err, "the relay's words after the data: %r" % err)


@tap.test
def a_forward_sent_again_is_the_same_message():
    # The relay keeps the message but its reply is lost (here: 451 after
    # DATA). The retry must be the same message — same Message-ID and Date
    # (RFC 5322 3.6.4) — so the copy can be recognised, not a second one.
    reset_database()
    organisation(42, "Joe Bloggs Ltd", "joe.bloggs@example.org")
    port = free_port()
    with SmtpSink(port, mode="lost-reply") as sink, daemon(port) as d:
        deliver_failure(d, token(42, 5))
        wait_for(lambda: len(sink.messages) == 2, 20, "the message and its retry")
        settle()
    first, again = [m for _, _, m in sink.parsed()]
    eq(again["Message-ID"], first["Message-ID"], "Message-ID")
    eq(again["Date"], first["Date"], "Date")
    check(first["Message-ID"].startswith("<fwd."), "made from the row: %r" % first["Message-ID"])


def out_of_office(tok):
    return ("From: Ann <ann@customer.example>\r\nTo: %s@notifications.example.com\r\n"
            "Subject: Out of office: Invoice 1234\r\nAuto-Submitted: auto-replied\r\n"
            "Message-ID: <%s@customer.example>\r\n\r\nI am away until Monday.\r\n"
            % (tok, os.urandom(6).hex()))


@tap.test
def out_of_office_to_a_verp_address_is_recorded_and_forwarded():
    reset_database()
    organisation(42, "Joe Bloggs Ltd", "joe.bloggs@example.org")
    port = free_port()
    with SmtpSink(port) as sink, daemon(port) as d:
        tok = token(42, 7)
        deliver(d.port, tok + "@notifications.example.com", out_of_office(tok))
        wait_for(lambda: len(sink.messages) == 1, 15, "the forward at the sink")
    eq(psql("SELECT kind, org_id, recipient, reason FROM bounces"),
       [["autoreply", "42", "ann@customer.example", "vacation"]], "recorded as an auto-reply")
    eq([r[0] for r in psql("SELECT type FROM event_log")], ["autoreply.in"], "event, not a bounce")
    payload = json.loads(psql("SELECT payload::text FROM event_log")[0][0])
    eq((payload["recipient"], payload["reason"], payload["rule"], payload["action"], payload["hard"]),
       ("ann@customer.example", "vacation", "hdr-auto-submitted", "", False), "autoreply.in event")
    eq(len(payload), 18, "autoreply.in has a bounce event's fields (seq comes when published)")
    eq(psql("SELECT count(*) FROM suppressions"), [["0"]], "never suppressed")
    msg = sink.parsed()[0][2]
    check(msg["Subject"].startswith("Automatic reply to your email"), msg["Subject"])
    with SmtpSink(port) as sink, daemon(port, forward={"autoreplies": "no"}) as d:
        tok = token(42, 8)
        deliver(d.port, tok + "@notifications.example.com", out_of_office(tok))
        time.sleep(1)
        settle()
        eq(sink.messages, [], "not forwarded with [forward] autoreplies = no")


@tap.test
def customer_reply_gets_one_oops_naming_the_organisation():
    reset_database()
    organisation(42, "Joe Bloggs Ltd", "joe.bloggs@example.org")
    tok = token(42, 7)
    port = free_port()
    with SmtpSink(port) as sink, daemon(port) as d:
        deliver(d.port, REPLY_MAILBOX, customer_reply(in_reply_to="%s@post.example.com" % tok),
                mail_from="customer@example.net")
        wait_for(lambda: len(sink.messages) == 1, 15, "the reply at the sink")
        deliver(d.port, REPLY_MAILBOX, customer_reply(subject="Re: again",
                                                      in_reply_to="%s@post.example.com" % tok),
                mail_from="customer@example.net")
        settle()
        eq(len(sink.messages), 1, "no second reply within the period")
    mail_from, rcpts, msg = sink.parsed()[0]
    eq(mail_from, "<>", "envelope sender of the reply")
    eq(rcpts, ["customer@example.net"], "reply goes to the sender")
    eq(msg["Auto-Submitted"], "auto-replied", "Auto-Submitted")
    eq(msg["Subject"], "Auto: Re: Invoice 1234", "Subject")
    check(msg["In-Reply-To"] is not None and msg["References"] is not None, "threading headers")
    body = msg.get_content()
    check("joe.bloggs@example.org" in body and "Joe Bloggs Ltd" in body, "names the organisation: %r" % body)
    rows = psql("SELECT sender, org_id, decision, rule FROM autoreplies ORDER BY id")
    eq(rows, [["customer@example.net", "42", "replied", ""],
              ["customer@example.net", "42", "skipped", "period"]], "decisions recorded")
    types = [r[0] for r in psql("SELECT type FROM event_log ORDER BY id")]
    eq(types.count("autoreply.decided"), 2, "autoreply.decided events")
    eq(types.count("autoreply.in"), 0, "no autoreply.in: that is an out-of-office at a VERP address")
    payloads = [r[0] for r in psql("SELECT payload::text FROM event_log WHERE type = 'autoreply.decided'"
                                   " ORDER BY id")]
    first = json.loads(payloads[0])
    eq(sorted(first), ["autoreply_id", "decision", "inbound_id", "message_id", "org_id", "outbox_id",
                       "recipient", "rule", "time", "type"], "autoreply.decided fields (docs/events.md)")
    eq((first["recipient"], first["decision"], first["rule"], first["org_id"], first["message_id"]),
       ("customer@example.net", "replied", "", 42, 7), "the first decision")
    check(isinstance(first["outbox_id"], int), "the reply's outbox row")
    second = json.loads(payloads[1])
    eq((second["decision"], second["rule"], second["outbox_id"]), ("skipped", "period", None),
       "the second decision")
    eq(types.count("autoreply.sent"), 1, "autoreply.sent event")


@tap.test
def an_organisation_address_we_cannot_write_gives_the_general_text_and_a_warning():
    reset_database()
    organisation(43, "Name Form Ltd", "Name Form <billing@nameform.example>")
    tok = token(43, 7)
    port = free_port()
    with SmtpSink(port) as sink, daemon(port) as d:
        deliver(d.port, REPLY_MAILBOX, customer_reply(in_reply_to="%s@post.example.com" % tok),
                mail_from="customer@example.net")
        wait_for(lambda: len(sink.messages) == 1, 15, "the reply at the sink")
        log = d.log_text()
    body = sink.parsed()[0][2].get_content()
    check("billing@nameform.example" not in body and "Name Form Ltd" not in body,
          "the general text: %r" % body)
    check('org=43 reply_to="Name Form <billing@nameform.example>" is not a bare address' in log,
          "the log says why")


@tap.test
def one_mailbox_however_written_gets_one_reply():
    # The period is per mailbox: case, a +detail, a BATV tag or an SRS
    # rewrite of the same address does not make a new sender.
    reset_database()
    eq(psql("SELECT bouncer_sender_key(a) FROM (VALUES ('Customer+x@Example.NET'),"
            " ('prvs=0123456789=customer@example.net'), ('btv1==0AB1CD2EF3==customer@example.net'),"
            " ('SRS0=HHH=TT=example.net=customer@forwarder.example'),"
            " ('SRS1=HHH=relay.example==HHH=TT=example.net=customer@forwarder.example'),"
            " ('customer@example.net')) v(a)"),
       [["customer@example.net"]] * 6, "every form is one key")
    organisation(42, "Joe Bloggs Ltd", "joe.bloggs@example.org")
    tok = token(42, 7)
    port = free_port()
    senders = ["customer@example.net", "Customer+invoices@example.net",
               "prvs=0123456789=customer@example.net",
               "SRS0=HHH=TT=example.net=customer@forwarder.example", "other@example.net"]
    with SmtpSink(port) as sink, daemon(port) as d:
        for sender in senders:
            deliver(d.port, REPLY_MAILBOX, customer_reply(in_reply_to="%s@post.example.com" % tok),
                    mail_from=sender)
        wait_for(lambda: len(sink.messages) == 2, 15, "the replies at the sink")
        settle()
        eq(len(sink.messages), 2, "one reply per mailbox")
    eq(sorted(r[1][0] for r in sink.parsed()), ["customer@example.net", "other@example.net"],
       "replied to")
    eq([r[0] for r in psql("SELECT coalesce(nullif(rule, ''), decision) FROM autoreplies ORDER BY id")],
       ["replied", "period", "period", "period", "replied"], "decisions")


@tap.test
def automated_mail_gets_no_reply():
    reset_database()
    port = free_port()
    cases = [
        ("auto-submitted", "someone@example.net", "Auto-Submitted: auto-generated\r\n"),
        ("list", "member@example.net", "List-Id: <news.example.net>\r\n"),
        ("bulk", "news@example.net", "Precedence: bulk\r\n"),
        ("suppress", "ooo@example.net", "X-Auto-Response-Suppress: All\r\n"),
        ("null-sender", "", ""),
        ("noreply", "noreply@example.net", ""),
    ]
    with SmtpSink(port) as sink, daemon(port) as d:
        for what, sender, header in cases:
            deliver(d.port, REPLY_MAILBOX,
                    customer_reply(subject=what, extra=header, sender=sender or "x@example.net"),
                    mail_from=sender)
        tok = token(1, 1)
        deliver(d.port, REPLY_MAILBOX, dsn(tok, [("gone@example.com", "5.1.1", "550 unknown", "failed")]),
                mail_from="mailer@example.net")
        time.sleep(2)
        settle()
        eq(sink.messages, [], "no replies")
    rules = [r[0] for r in psql("SELECT rule FROM autoreplies ORDER BY id")]
    eq(len(rules), len(cases) + 1, "every decision recorded")
    check(all(r != "" for r in rules), "each skip names its rule: %r" % rules)
    eq(psql("SELECT count(*) FROM autoreplies WHERE decision = 'replied'"), [["0"]], "none replied")


@tap.test
def hostile_subject_gives_a_well_formed_reply():
    reset_database()
    port = free_port()
    encoded = "=?utf-8?b?%s?=" % base64.b64encode("Rechnung\r\nBcc: victim@example.com".encode()).decode()
    subjects = ["Hi\r\n Bcc: victim@example.com", encoded, "Grüße =?iso-8859-1?q?=E9t=E9?="]
    with SmtpSink(port) as sink, daemon(port) as d:
        for i, subject in enumerate(subjects):
            deliver(d.port, REPLY_MAILBOX, customer_reply(subject=subject, sender="c%d@example.net" % i),
                    mail_from="c%d@example.net" % i)
        wait_for(lambda: len(sink.messages) == len(subjects), 15, "three replies")
    for mail_from, rcpts, raw in sink.messages:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        eq(msg.get_all("Subject") is not None and len(msg.get_all("Subject")), 1, "one Subject")
        eq(msg.get_all("Bcc"), None, "no Bcc injected")
        eq(len(rcpts), 1, "one recipient")
        head = raw.split(b"\r\n\r\n", 1)[0]
        check(b"\nBcc:" not in head, "no Bcc line in the header block")
        check(all(b < 128 for b in head), "header is 7-bit (encoded words)")
        check(str(msg["Subject"]).startswith("Auto: "), "subject: %r" % str(msg["Subject"]))


@tap.test
def file_relay_leaves_an_eml_for_a_reply():
    reset_database()
    outdir = scratch_dir("bouncer-sent.")
    with Bouncerd({"relay": {"url": "file:" + outdir}}) as d:
        deliver(d.port, REPLY_MAILBOX, customer_reply(), mail_from="customer@example.net")
        wait_for(lambda: glob.glob(os.path.join(outdir, "*.eml")), 15, "an .eml in the directory")
    data = open(glob.glob(os.path.join(outdir, "*.eml"))[0], "rb").read()
    msg = email.message_from_bytes(data, policy=email.policy.default)
    eq(msg["To"].addresses[0].addr_spec, "customer@example.net", "To")
    eq(msg["Auto-Submitted"], "auto-replied", "Auto-Submitted")


if __name__ == "__main__":
    tap.run()
