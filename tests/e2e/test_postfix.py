"""Postfix in front of bouncerd, end to end (driven by tests/e2e/run.sh).

A private Postfix instance (private_postfix.py) takes mail with SMTP on a
loopback port and delivers notifications.example.com to bouncerd over
lmtp:unix: and post.example.com over lmtp:inet:; everything else it relays
to the tests' SMTP sink, which is also bouncerd's [relay]. Mail is submitted
with swaks; what counts is swaks' transcript (the reply to each command),
Postfix's log line for each recipient, PostgreSQL, the ZeroMQ events and the
sink.
"""
import json
import os
import re
import signal
import smtplib
import subprocess
import sys
import tempfile
import threading
import time

import zmq

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)
from harness import (BINDIR, CONNINFO, Bouncerd, Tap, check, eq, free_port, pg_start, pg_stop,
                     psql, reset_database, wait_for)
from smtp_sink import SmtpSink
from test_bounces import dsn, token
from private_postfix import BOUNCE_DOMAIN, PrivatePostfix

WORK = os.environ.get("BOUNCER_E2E_DIR") or tempfile.mkdtemp(prefix="bouncer-e2e.")
REPLY_MAILBOX = "messageservice@post.example.com"
ORG_ID = 4242
ORG_NAME = "Harbour Lights Ltd"
ORG_REPLY_TO = "office@harbour-lights.example"

tap = Tap()


# --- the pieces ----------------------------------------------------------------

class Events:
    """A ZeroMQ SUB socket on bouncerd's events endpoint, read by a thread."""

    def __init__(self, port):
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.SUB)
        self.sock.setsockopt(zmq.SUBSCRIBE, b"")
        self.sock.connect("tcp://127.0.0.1:%d" % port)
        self.received = []
        self.lock = threading.Lock()
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping:
            if self.sock.poll(100):
                topic, body = self.sock.recv_multipart()
                with self.lock:
                    self.received.append((topic.decode(), json.loads(body)))

    def matching(self, **fields):
        with self.lock:
            return [e for t, e in self.received
                    if t == e.get("type") and all(e.get(k) == v for k, v in fields.items())]

    def close(self):
        self.stopping = True
        self.thread.join(5)
        self.sock.close(0)
        self.ctx.term()


class Submission:
    """What swaks saw: the reply to each RCPT, to the end of data, the queue id."""

    def __init__(self, transcript):
        self.transcript = transcript
        self.rcpt_replies = {}
        self.data_reply = None
        self.qid = None
        lines = transcript.splitlines()
        for i, line in enumerate(lines):
            sent = line.strip()
            m = re.match(r"-> RCPT TO:<([^>]*)>", sent)
            if m:
                self.rcpt_replies[m.group(1)] = self._reply_after(lines, i)
            elif sent == "-> .":
                self.data_reply = self._reply_after(lines, i)
        if self.data_reply:
            m = re.search(r"queued as ([0-9A-Za-z]+)", self.data_reply)
            self.qid = m.group(1) if m else None

    @staticmethod
    def _reply_after(lines, i):
        for line in lines[i + 1:]:
            s = line.strip()
            if s.startswith("<-") or s.startswith("<**"):
                text = s[3:].strip() if s.startswith("<**") else s[2:].strip()
                if len(text) > 3 and text[3] == "-":
                    continue        # a multi-line reply: keep its last line
                return text
        return None


class World:
    def __init__(self):
        self.ready = False
        self.sink = self.bouncerd = self.postfix = self.events = None

    def start(self):
        tempfile.tempdir = WORK           # bouncerd's directory inside the run's
        self.sink_port = free_port()
        self.events_port = free_port()
        self.smtpd_port = free_port()
        self.verify_port = free_port()
        self.sink = SmtpSink(self.sink_port).start()
        self.bouncerd = Bouncerd({
            "lmtp": {"socket_mode": "0660", "socket_owner": "root:postfix"},
            "events": {"endpoints": "tcp://127.0.0.1:%d" % self.events_port},
            "relay": {"url": "smtp://127.0.0.1:%d" % self.sink_port, "retry_base": "1"},
        })
        os.chmod(self.bouncerd.dir, 0o711)      # Postfix's lmtp runs as postfix
        self.bouncerd.start()
        with open(os.path.join(WORK, "bouncerd.pid"), "w") as fh:
            fh.write("%d\n" % self.bouncerd.proc.pid)
        self.events = Events(self.events_port)
        self.postfix = PrivatePostfix(os.path.join(WORK, "postfix"), self.smtpd_port, self.verify_port,
                                      self.sink_port, self.bouncerd.socket, self.bouncerd.port)
        self.postfix.start()
        self.ready = True

    def stop(self):
        for step in (lambda: self.postfix and self.postfix.stop(),
                     lambda: self.bouncerd and self.bouncerd.stop(),
                     lambda: self.events and self.events.close(),
                     lambda: self.sink and self.sink.stop()):
            try:
                step()
            except Exception as e:  # keep stopping the rest
                print("# stopping: %r" % e, flush=True)
        if self.bouncerd and self.bouncerd.proc:
            if self.bouncerd.proc.poll() is None:
                self.bouncerd.proc.kill()
                self.bouncerd.proc.wait(10)
            try:
                os.unlink(os.path.join(WORK, "bouncerd.pid"))
            except FileNotFoundError:
                pass

    def need(self):
        check(self.ready, "the private Postfix, bouncerd and the sink did not start")

    def swaks(self, mail_from, rcpts, msg, port=None):
        path = os.path.join(WORK, "message-%s.eml" % os.urandom(4).hex())
        with open(path, "w") as fh:
            fh.write(msg)
        cmd = ["swaks", "--server", "127.0.0.1", "--port", str(port or self.smtpd_port),
               "--helo", "client.e2e.example", "--from", mail_from or "<>",
               "--to", ",".join(rcpts), "--data", path, "--timeout", "60"]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
        return Submission(out.stdout + out.stderr)

    def delivered(self, rcpt, qid, status="sent", timeout=30):
        """Wait for Postfix's log line with this status for rcpt in qid."""
        def find():
            return [d for d in self.postfix.deliveries(rcpt=rcpt, qid=qid) if d["status"] == status]
        try:
            return wait_for(find, timeout, "status=%s for %s in %s" % (status, rcpt, qid))[0]
        except AssertionError:
            seen = self.postfix.deliveries(rcpt=rcpt)
            raise AssertionError("no status=%s for %s (%s); the log has %r"
                                 % (status, rcpt, qid, seen))

    def sink_messages_to(self, rcpt):
        return [(f, r, m) for f, r, m in self.sink.parsed() if rcpt in r]


world = World()


def bouncerctl(*args):
    out = subprocess.run([os.path.join(BINDIR, "bouncerctl")] + list(args),
                         capture_output=True, text=True)
    eq(out.returncode, 0, "bouncerctl %s: %s" % (" ".join(args), out.stderr.strip()))
    return out.stdout


def accepted(sub, rcpt):
    reply = sub.rcpt_replies.get(rcpt)
    check(reply is not None and reply.startswith("250"),
          "Postfix's reply to RCPT TO:<%s>: %r\n%s" % (rcpt, reply, sub.transcript))
    check(sub.qid is not None, "no queue id in the reply to the data: %r" % sub.data_reply)


def customer_reply(sender, in_reply_to, subject="Re: Invoice 1234"):
    return ("From: Customer <%s>\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s@example.net>\r\n"
            "In-Reply-To: <%s>\r\nDate: Mon, 2 Nov 2026 10:00:00 +0000\r\n\r\n"
            "Where do I pay?\r\n" % (sender, REPLY_MAILBOX, subject, os.urandom(6).hex(), in_reply_to))


# --- the scenarios -------------------------------------------------------------

@tap.test
def private_postfix_bouncerd_and_sink_start():
    reset_database()
    world.start()
    etc = world.postfix.etc
    eq(world.postfix.postconf("inet_interfaces"), ["127.0.0.1"], "inet_interfaces")
    eq(world.postfix.postconf("config_directory"), [etc], "config_directory")
    check(world.smtpd_port != 25, "the private smtpd is not on port 25")
    wait_for(lambda: "configuration %s" % etc in world.postfix.log_text(), 10,
             "master's start in our maillog_file")
    bouncerctl("org", "set", str(ORG_ID), "--name", ORG_NAME, "--reply-to", ORG_REPLY_TO,
               "--forward-bounces", "yes", "--conninfo", CONNINFO)


@tap.test
def dsn_over_lmtp_unix_is_stored_published_and_forwarded():
    world.need()
    tok = token(ORG_ID, 7001)
    rcpt = "%s@%s" % (tok, BOUNCE_DOMAIN)
    msg = dsn(tok, [("gone@example.org", "5.1.1", "550 5.1.1 <gone@example.org>: user unknown",
                     "failed")])
    sub = world.swaks("<>", [rcpt], msg)
    accepted(sub, rcpt)
    line = world.delivered(rcpt, sub.qid)
    check(line["text"].startswith("250 2.0.0"), "Postfix's status=sent text: %r" % line["text"])
    eq(line["service"], "lmtp", "delivered by Postfix's lmtp client")
    check(world.bouncerd.socket in line["relay"], "relay is the unix socket: %r" % line["relay"])
    eq(psql("SELECT mailbox, mail_from, kind FROM inbound_messages WHERE rcpt_to = :'v1'", rcpt),
       [["bounce", "", "dsn"]], "the stored message")
    eq(psql("SELECT recipient, action, status, reason, hard FROM bounces"
            " WHERE org_id = :'v1' AND message_id = 7001", str(ORG_ID)),
       [["gone@example.org", "failed", "5.1.1", "userunknown", "t"]], "bounce row")
    ev = wait_for(lambda: world.events.matching(type="bounce.hard", message_id=7001), 15,
                  "the bounce.hard event on the SUB socket")
    eq(ev[0].get("org_id"), ORG_ID, "event org_id")
    eq(ev[0].get("recipient"), "gone@example.org", "event recipient")
    fwd = wait_for(lambda: world.sink_messages_to(ORG_REPLY_TO), 20, "the forward at the sink")
    eq(len(fwd), 1, "one forward")
    mail_from, rcpts, fmsg = fwd[0]
    eq(rcpts, [ORG_REPLY_TO], "forwarded to the organisation's Reply-To")
    check("gone@example.org" in str(fmsg["Subject"]), "forward subject: %r" % str(fmsg["Subject"]))


@tap.test
def customer_reply_over_lmtp_inet_gets_the_oops_reply():
    world.need()
    customer = "customer.%s@example.net" % os.urandom(3).hex()
    tok = token(ORG_ID, 7002)
    sub = world.swaks(customer, [REPLY_MAILBOX], customer_reply(customer, "%s@post.example.com" % tok))
    accepted(sub, REPLY_MAILBOX)
    line = world.delivered(REPLY_MAILBOX, sub.qid)
    check(line["text"].startswith("250 2.0.0"), "status=sent text: %r" % line["text"])
    eq(line["relay"], "127.0.0.1[127.0.0.1]:%d" % world.bouncerd.port, "relay is bouncerd's TCP port")
    replies = wait_for(lambda: world.sink_messages_to(customer), 20, "the Oops reply at the sink")
    mail_from, rcpts, msg = replies[0]
    eq(mail_from, "<>", "envelope sender of the reply")
    eq(msg["Auto-Submitted"], "auto-replied", "Auto-Submitted")
    eq(msg["Subject"], "Auto: Re: Invoice 1234", "Subject")
    body = msg.get_content()
    check(ORG_REPLY_TO in body and ORG_NAME in body, "the reply names the organisation: %r" % body)
    eq(psql("SELECT org_id, decision FROM autoreplies WHERE sender = :'v1'", customer),
       [[str(ORG_ID), "replied"]], "the decision")


@tap.test
def an_smtputf8_report_reaches_bouncerd_through_postfix():
    # Postfix returns mail that arrived with SMTPUTF8 and UTF-8 header fields
    # to its sender when the LMTP server does not offer SMTPUTF8 ("SMTPUTF8
    # is required, but was not offered"): for a report, that is the null
    # sender, and the report is lost.
    world.need()
    tok = token(ORG_ID, 7006)
    rcpt = "%s@%s" % (tok, BOUNCE_DOMAIN)
    msg = ("From: MAILER-DAEMON@mx.b\u00fccher.example\r\nTo: %s\r\n"
           "Subject: Unzustellbar: Rechnung f\u00fcr J\u00f6rg\r\n"
           "Message-ID: <%s@mx.example.net>\r\nMIME-Version: 1.0\r\n"
           "Content-Type: multipart/report; report-type=global-delivery-status;"
           " boundary=\"BB\"\r\n"
           "\r\n--BB\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nNicht zugestellt.\r\n"
           "\r\n--BB\r\nContent-Type: message/global-delivery-status\r\n\r\n"
           "Reporting-MTA: dns; mx.b\u00fccher.example\r\n\r\n"
           "Final-Recipient: rfc822; j\u00f6rg@b\u00fccher.example\r\n"
           "Action: failed\r\nStatus: 5.1.1\r\n"
           "Diagnostic-Code: smtp; 550 5.1.1 mailbox unknown\r\n"
           "\r\n--BB--\r\n" % (rcpt, os.urandom(6).hex())).encode("utf-8")
    client = smtplib.SMTP("127.0.0.1", world.smtpd_port, timeout=60)
    try:
        client.ehlo("client.e2e.example")
        check(client.has_extn("smtputf8"), "the private smtpd offers SMTPUTF8")
        eq(client.mail("", ["SMTPUTF8", "BODY=8BITMIME"])[0], 250, "MAIL FROM:<> SMTPUTF8")
        eq(client.rcpt(rcpt)[0], 250, "RCPT")
        code, text = client.data(msg)
        eq(code, 250, "end of data: %r" % text)
    finally:
        client.quit()
    qid = re.search(r"queued as ([0-9A-Za-z]+)", text.decode()).group(1)
    line = world.delivered(rcpt, qid)
    check(line["text"].startswith("250 2.0.0"), "Postfix's status=sent text: %r" % line["text"])
    eq(psql("SELECT recipient, status, reason FROM bounces"
            " WHERE org_id = :'v1' AND message_id = 7006", str(ORG_ID)),
       [["j\u00f6rg@b\u00fccher.example", "5.1.1", "userunknown"]], "bounce row")


@tap.test
def forged_token_is_refused_by_bouncerd_and_bounced_by_postfix():
    world.need()
    good = token(ORG_ID, 7003)
    forged = good[:-1] + ("a" if good[-1] != "a" else "b")
    rcpt = "%s@%s" % (forged, BOUNCE_DOMAIN)
    sender = "forger.%s@example.net" % os.urandom(3).hex()
    before = psql("SELECT count(*) FROM inbound_messages")
    sub = world.swaks(sender, [rcpt], dsn(forged, [("x@example.org", "5.1.1", "550 unknown", "failed")]))
    accepted(sub, rcpt)         # Postfix itself knows no tokens: it queues, then asks bouncerd
    line = world.delivered(rcpt, sub.qid, status="bounced")
    check(line["text"].startswith("host ") and "550 5.1.1" in line["text"]
          and "in reply to RCPT TO command" in line["text"],
          "bouncerd's 550 at RCPT in Postfix's log: %r" % line["text"])
    eq(line["dsn"], "5.1.1", "dsn=")
    ndr = wait_for(lambda: world.sink_messages_to(sender), 20, "Postfix's bounce to the sender")
    eq(ndr[0][0], "<>", "the bounce has the null sender")
    check("550 5.1.1" in ndr[0][2].as_string(), "the bounce quotes bouncerd's reply")
    eq(psql("SELECT count(*) FROM inbound_messages"), before, "nothing stored")
    eq(psql("SELECT count(*) FROM inbound_messages WHERE rcpt_to = :'v1'", rcpt), [["0"]],
       "no row for the forged address")


@tap.test
def database_down_is_deferred_then_delivered_once_after_flush():
    world.need()
    tok = token(ORG_ID, 7004)
    rcpt = "%s@%s" % (tok, BOUNCE_DOMAIN)
    msg = dsn(tok, [("outage@example.org", "5.1.1", "550 5.1.1 user unknown", "failed")])
    pg_stop()
    try:
        sub = world.swaks("<>", [rcpt], msg)
        accepted(sub, rcpt)
        line = world.delivered(rcpt, sub.qid, status="deferred", timeout=90)
        check("451 4.3.0" in line["text"] and "end of data" in line["text"].lower(),
              "bouncerd's 451 after the data in Postfix's log: %r" % line["text"])
        eq(line["dsn"], "4.3.0", "dsn=")
        check(sub.qid in world.postfix.queue_listing(), "the message waits in Postfix's queue")
    finally:
        pg_start()
    world.postfix.flush()
    line = world.delivered(rcpt, sub.qid, status="sent", timeout=90)
    check(line["text"].startswith("250 2.0.0"), "status=sent text: %r" % line["text"])
    wait_for(lambda: "Mail queue is empty" in world.postfix.queue_listing(), 30, "an empty queue")
    eq(psql("SELECT count(*) FROM inbound_messages WHERE rcpt_to = :'v1'", rcpt), [["1"]],
       "stored once")
    eq(psql("SELECT recipient, status FROM bounces WHERE org_id = :'v1' AND message_id = 7004",
            str(ORG_ID)), [["outage@example.org", "5.1.1"]], "one bounce row")
    wait_for(lambda: world.sink_messages_to(ORG_REPLY_TO)[1:], 30, "the second forward")
    time.sleep(2)
    fwds = [m for m in world.sink_messages_to(ORG_REPLY_TO) if "outage@example.org" in str(m[2]["Subject"])]
    eq(len(fwds), 1, "one forward for the deferred bounce")


@tap.test
def address_verification_refuses_forged_tokens_at_smtp_time():
    world.need()
    good = token(ORG_ID, 7005)
    forged = good[:-1] + ("a" if good[-1] != "a" else "b")
    forged_rcpt = "%s@%s" % (forged, BOUNCE_DOMAIN)
    sub = world.swaks("<>", [forged_rcpt], dsn(forged, [("x@example.org", "5.1.1", "550", "failed")]),
                      port=world.verify_port)
    reply = sub.rcpt_replies.get(forged_rcpt) or ""
    # Postfix passes bouncerd's words on: those of any unknown address, not
    # which check of the token failed (that would tell a forger what to change).
    check(reply.startswith("550 5.1.1") and "undeliverable address" in reply
          and "Recipient address rejected: unknown user" in reply and "MAC" not in reply,
          "Postfix's own reply to RCPT for a forged token: %r\n%s" % (reply, sub.transcript))
    eq(sub.qid, None, "nothing queued")
    probe = world.postfix.deliveries(rcpt=forged_rcpt)
    eq([(d["service"], d["status"]) for d in probe], [("lmtp", "undeliverable")],
       "one probe over LMTP, no delivery")
    eq(psql("SELECT count(*) FROM inbound_messages WHERE rcpt_to = :'v1'", forged_rcpt), [["0"]],
       "nothing stored")

    rcpt = "%s@%s" % (good, BOUNCE_DOMAIN)
    sub = world.swaks("<>", [rcpt], dsn(good, [("verified@example.org", "4.4.1", "451 4.4.1 timeout",
                                                "delayed")]), port=world.verify_port)
    accepted(sub, rcpt)
    world.delivered(rcpt, sub.qid)
    statuses = [d["status"] for d in world.postfix.deliveries(rcpt=rcpt)]
    eq(statuses, ["deliverable", "sent"], "the probe, then the delivery")
    eq(psql("SELECT count(*) FROM inbound_messages WHERE rcpt_to = :'v1'", rcpt), [["1"]],
       "stored once: the probe stores nothing")


@tap.test
def everything_stops_cleanly():
    world.need()
    world.postfix.stop()
    wait_for(lambda: not world.postfix.running(), 15, "Postfix's master to exit")
    wait_for(lambda: "stopping the Postfix mail system" in world.postfix.log_text(), 10,
             "the stop in Postfix's log")
    world.bouncerd.check_clean_exit(world.bouncerd.stop())
    world.ready = False


def _on_term(signum, frame):
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _on_term)
    try:
        tap.run()
    finally:
        world.stop()
