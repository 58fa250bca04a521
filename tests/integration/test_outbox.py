"""The outbox sender against a real SMTP listener: delivery, retries while
the relay refuses or is not there, permanent failures, the file: relay."""
import glob
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Bouncerd, Tap, check, eq, free_port, scratch_dir, psql, reset_database, wait_for
from smtp_sink import SmtpSink

tap = Tap()

MESSAGE = ("From: messageservice@post.example.com\r\nTo: org@example.org\r\n"
           "Subject: test %s\r\nAuto-Submitted: auto-generated\r\n\r\nbody\r\n.leading dot\r\n")


def queue(n, kind="forward", rcpt="org@example.org"):
    """Rows as the daemon writes them, each tied to an inbound message."""
    for i in range(n):
        psql("WITH m AS (INSERT INTO inbound_messages (session_id, mail_from, rcpt_to, mailbox,"
             " size, sha256, raw) VALUES ('t', '', 'postmaster@x', 'postmaster', 1,"
             " sha256('x'), 'x') RETURNING id)"
             " INSERT INTO outbox (kind, org_id, inbound_id, rcpt_to, message, expires_at)"
             " SELECT :'v1', 1, id, :'v2', convert_to(:'v3', 'UTF8'), now() + interval '1 day' FROM m",
             kind, rcpt, MESSAGE % i)


def relay_daemon(port, **extra):
    settings = {"relay": {"url": "smtp://127.0.0.1:%d" % port, "retry_base": "1",
                          "retry_max": "2"}}
    settings["relay"].update(extra)
    return Bouncerd(settings)


def states():
    return [r[0] for r in psql("SELECT state FROM outbox ORDER BY id")]


@tap.test
def queued_mail_is_delivered_with_null_sender():
    reset_database()
    port = free_port()
    queue(3)
    with SmtpSink(port) as sink, relay_daemon(port):
        wait_for(lambda: len(sink.messages) == 3, 15, "three messages at the sink")
        wait_for(lambda: states() == ["sent"] * 3, 10, "rows marked sent")
    for mail_from, rcpts, raw in sink.messages:
        eq(mail_from, "<>", "envelope sender")
        eq(rcpts, ["org@example.org"], "recipients")
        check(raw.endswith(b"\r\n\r\nbody\r\n.leading dot\r\n"), "body intact: %r" % raw[-40:])
    eq(len({m.get("Subject") for _, _, m in sink.parsed()}), 3, "three distinct messages")


@tap.test
def relay_not_listening_then_back_loses_nothing():
    reset_database()
    port = free_port()
    queue(4)
    with relay_daemon(port):
        wait_for(lambda: int(psql("SELECT min(attempts) FROM outbox")[0][0]) >= 2, 20,
                 "retries while the relay is down")
        eq(states(), ["queued"] * 4, "still queued")
        check(psql("SELECT last_error FROM outbox LIMIT 1")[0][0] != "", "last_error recorded")
        with SmtpSink(port) as sink:
            wait_for(lambda: len(sink.messages) == 4, 20, "all four delivered after the relay returned")
            wait_for(lambda: states() == ["sent"] * 4, 10, "rows marked sent")
            time.sleep(2)
            eq(len(sink.messages), 4, "nothing sent twice")


@tap.test
def relay_answering_4xx_for_a_while():
    reset_database()
    port = free_port()
    queue(2)
    with SmtpSink(port, mode="tempfail") as sink, relay_daemon(port):
        wait_for(lambda: sink.attempts >= 4, 20, "attempts refused with 451")
        eq(sink.messages, [], "nothing accepted yet")
        eq(states(), ["queued"] * 2, "still queued")
        sink.mode = "accept"
        wait_for(lambda: len(sink.messages) == 2, 20, "delivered once the relay accepts")
        wait_for(lambda: states() == ["sent"] * 2, 10, "rows marked sent")


@tap.test
def permanent_refusal_fails_with_event():
    reset_database()
    port = free_port()
    queue(1)
    with SmtpSink(port, mode="permfail") as sink, relay_daemon(port):
        wait_for(lambda: states() == ["failed"], 15, "row failed")
        eq(sink.attempts, 1, "no retry after a 5xx")
    err = psql("SELECT last_error FROM outbox")[0][0]
    check("550 5.1.1 no such user" in err, "last_error gives the relay's words: %r" % err)
    eq(psql("SELECT type, payload->>'kind', payload->>'diagnostic' FROM event_log"),
       [["outbox.failed", "forward", err]], "event, with the same diagnostic")


@tap.test
def gives_up_after_expiry():
    reset_database()
    queue(1)
    psql("UPDATE outbox SET expires_at = now() + interval '2 seconds'")
    with relay_daemon(free_port()):
        wait_for(lambda: states() == ["failed"], 20, "row failed after its expiry")


@tap.test
def file_relay_writes_eml_files():
    reset_database()
    queue(2, kind="autoreply")
    outdir = scratch_dir("bouncer-sent.")
    with Bouncerd({"relay": {"url": "file:" + outdir}}):
        wait_for(lambda: len(glob.glob(os.path.join(outdir, "*.eml"))) == 2, 15, "two .eml files")
        wait_for(lambda: states() == ["sent"] * 2, 10, "rows marked sent")
    data = open(sorted(glob.glob(os.path.join(outdir, "*.eml")))[0], "rb").read()
    check(data.startswith(b"From: messageservice@post.example.com\r\n"), data[:80])
    eq(psql("SELECT count(*) FROM event_log WHERE type = 'autoreply.sent'"), [["2"]], "autoreply.sent events")


if __name__ == "__main__":
    tap.run()
