"""GET /metrics and /healthz from a real bouncerd: the exposition format,
the gauges read from PostgreSQL at scrape time, the counters moving by the
right amounts as mail goes through, and /healthz through a database outage.
"""
import http.client
import os
import re
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Bouncerd, Lmtp, Tap, check, eq, free_port, scratch_dir, message, pg_start,
                     pg_stop, psql, reset_database, wait_for)
from smtp_sink import SmtpSink
from test_bounces import arf, dsn, token


FAMILIES = {
    "bouncer_lmtp_sessions_total": "counter",
    "bouncer_lmtp_sessions_active": "gauge",
    "bouncer_lmtp_messages_total": "counter",
    "bouncer_lmtp_rcpt_rejected_total": "counter",
    "bouncer_bounces_total": "counter",
    "bouncer_complaints_total": "counter",
    "bouncer_autoreplies_total": "counter",
    "bouncer_outbox_sent_total": "counter",
    "bouncer_outbox_deferred_total": "counter",
    "bouncer_outbox_failed_total": "counter",
    "bouncer_events_published_total": "counter",
    "bouncer_db_errors_total": "counter",
    "bouncer_db_reconnects_total": "counter",
    "bouncer_db_group_commits_total": "counter",
    "bouncer_db_group_commit_messages_total": "counter",
    "bouncer_db_group_commit_failures_total": "counter",
    "bouncer_database_up": "gauge",
    "bouncer_outbox_queued": "gauge",
    "bouncer_outbox_oldest_queued_seconds": "gauge",
    "bouncer_outbox_failed": "gauge",
    "bouncer_events_unpublished": "gauge",
}
DB_GAUGES = ["bouncer_outbox_queued", "bouncer_outbox_oldest_queued_seconds",
             "bouncer_outbox_failed", "bouncer_events_unpublished"]

POSTMASTER = "postmaster@notifications.example.com"
REPLY_MAILBOX = "messageservice@post.example.com"


tap = Tap()


# --- HTTP and the exposition format -------------------------------------------

def get(port, path, method="GET"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request(method, path)
        r = c.getresponse()
        return r.status, dict(r.getheaders()), r.read().decode("utf-8")
    finally:
        c.close()


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')
UNESCAPE = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}


def parse(text):
    """Check the text format line by line (HELP, then TYPE, then that
    family's samples; label values escaped); return {family: type} and
    {(name, ((label, value), ...)): value}."""
    check(text.endswith("\n"), "text ends with a newline")
    types, samples = {}, {}
    family = None
    for line in text[:-1].split("\n"):
        if line.startswith("# HELP "):
            name, _, help_text = line[7:].partition(" ")
            check(name not in types, "HELP for %s after its TYPE or twice" % name)
            check(help_text != "", "HELP for %s has text" % name)
            family = name
        elif line.startswith("# TYPE "):
            name, _, kind = line[7:].partition(" ")
            eq(name, family, "TYPE follows the HELP of the same family")
            check(kind in ("counter", "gauge"), "type of %s: %r" % (name, kind))
            types[name] = kind
        else:
            m = SAMPLE.match(line)
            check(m is not None, "not a sample line: %r" % line)
            name, labels, value = m.groups()
            eq(name, family, "sample %r under its own HELP/TYPE" % line)
            pairs = []
            if labels is not None:
                pos = 0
                for lm in LABEL.finditer(labels):
                    eq(lm.start(), pos, "label list %r well formed" % labels)
                    pairs.append((lm.group(1), re.sub(r'\\[\\"n]', lambda e: UNESCAPE[e.group(0)],
                                                      lm.group(2))))
                    pos = lm.end() + 1
                    if pos <= len(labels):
                        eq(labels[lm.end()], ",", "label separator in %r" % labels)
                eq(pos, len(labels) + 1, "label list %r read to its end" % labels)
            key = (name, tuple(sorted(pairs)))
            check(key not in samples, "sample twice: %r" % line)
            samples[key] = float(value)
    return types, samples


def scrape(port):
    status, headers, body = get(port, "/metrics")
    eq(status, 200, "GET /metrics")
    eq(headers.get("Content-Type"), "text/plain; version=0.0.4; charset=utf-8", "Content-Type")
    return parse(body)[1]


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def has(samples, name):
    return any(k[0] == name for k in samples)


class Deltas:
    """Counter movements between two scrapes."""

    def __init__(self, before):
        self.before = before

    def _moved(self, after, name, labels):
        return value(after, name, **labels) - value(self.before, name, **labels)

    def expect(self, after, name, want, **labels):
        got = self._moved(after, name, labels)
        if got != want:
            raise AssertionError("%s%s moved by %r, want %r" % (name, labels or "", got, want))

    def expect_at_least(self, after, name, least, **labels):
        got = self._moved(after, name, labels)
        if got < least:
            raise AssertionError("%s%s moved by %r, want at least %r"
                                 % (name, labels or "", got, least))



# --- the daemon ------------------------------------------------------------------

def daemon(**groups):
    """bouncerd with metrics on a free port, events on a free port (nobody
    subscribed: events wait in the table) unless a test says otherwise."""
    settings = {"metrics": {"listen": "127.0.0.1:%d" % free_port()},
                "events": {"endpoints": "tcp://127.0.0.1:%d" % free_port()}}
    for group, values in groups.items():
        settings.setdefault(group, {}).update(values)
    d = Bouncerd(settings)
    d.metrics_port = int(settings["metrics"]["listen"].rsplit(":", 1)[1])
    return d


def deliver(port, rcpts, msg, mail_from=""):
    c = Lmtp(port)
    c.lhlo()
    rcpt_replies, replies = c.transaction(mail_from, rcpts, msg)
    c.cmd("QUIT")
    c.close()
    return rcpt_replies, replies


def customer_reply(subject="Re: Invoice 1234"):
    return ("From: Customer <customer@example.net>\r\nTo: %s\r\nSubject: %s\r\n"
            "Message-ID: <%s@example.net>\r\n\r\nWhere do I pay?\r\n"
            % (REPLY_MAILBOX, subject, os.urandom(6).hex()))


# --- tests -------------------------------------------------------------------------

@tap.test
def endpoints_answer_in_the_exposition_format():
    reset_database()
    with daemon() as d:
        status, headers, body = get(d.metrics_port, "/metrics")
        eq(status, 200, "GET /metrics")
        eq(headers.get("Content-Type"), "text/plain; version=0.0.4; charset=utf-8", "Content-Type")
        types, samples = parse(body)
        for name, kind in FAMILIES.items():
            eq(types.get(name), kind, "TYPE of %s" % name)
        for name in ("bouncer_lmtp_sessions_total", "bouncer_complaints_total",
                     "bouncer_events_published_total", "bouncer_db_errors_total",
                     "bouncer_db_reconnects_total"):
            check(has(samples, name), "%s shown from the start (0)" % name)
        eq(value(samples, "bouncer_database_up"), 1.0, "bouncer_database_up")
        for name in DB_GAUGES + ["bouncer_lmtp_sessions_active"]:
            check(has(samples, name), "%s in the scrape" % name)

        status, headers, body = get(d.metrics_port, "/healthz")
        eq((status, body), (200, "ok\n"), "GET /healthz")
        status, headers, body = get(d.metrics_port, "/metrics", "HEAD")
        eq((status, body), (200, ""), "HEAD /metrics")
        status, headers, body = get(d.metrics_port, "/")
        eq(status, 404, "GET /")
        status, headers, body = get(d.metrics_port, "/metrics", "POST")
        eq(status, 405, "POST /metrics")
        eq(headers.get("Allow"), "GET, HEAD", "Allow")
        check("metrics on http://127.0.0.1:%d/metrics" % d.metrics_port in d.log_text(),
              "start-up names the listener")


@tap.test
def database_gauges_follow_the_tables():
    reset_database()
    # Rows no sender will touch (due tomorrow) and events nobody subscribed to.
    psql("INSERT INTO outbox (kind, rcpt_to, message, state, created_at, next_attempt_at, expires_at)"
         " VALUES ('forward', 'a@example.org', 'x', 'queued', now() - interval '1 hour',"
         "         now() + interval '1 day', now() + interval '2 days'),"
         "        ('autoreply', 'b@example.org', 'x', 'queued', now(),"
         "         now() + interval '1 day', now() + interval '2 days'),"
         "        ('forward', 'c@example.org', 'x', 'failed', now() - interval '1 day',"
         "         now() - interval '1 hour', now() + interval '1 day'),"
         "        ('forward', 'e@example.org', 'x', 'sent', now(), now(), now() + interval '1 day'),"
         "        ('forward', 'f@example.org', 'x', 'held', now(), now(), now() + interval '1 day')")
    # Published: the first three events; waiting: the other two, and the
    # two failures below.
    psql("INSERT INTO event_log (type, payload) SELECT 'test', '{}' FROM generate_series(1, 5)")
    psql("INSERT INTO event_publication (published_seq) SELECT max(id) - 2 FROM event_log")
    # Failures are dated by their events: one today, one three days ago.
    psql("INSERT INTO event_log (type, payload, created_at) VALUES"
         " ('outbox.failed', '{}', now() - interval '1 hour'),"
         " ('outbox.failed', '{}', now() - interval '3 days')")
    with daemon() as d:
        s = scrape(d.metrics_port)
        eq(value(s, "bouncer_outbox_queued"), 2.0, "bouncer_outbox_queued")
        oldest = value(s, "bouncer_outbox_oldest_queued_seconds")
        check(3595 <= oldest <= 3700, "bouncer_outbox_oldest_queued_seconds: got %r, want ~3600" % oldest)
        eq(value(s, "bouncer_outbox_failed"), 1.0, "bouncer_outbox_failed (last 24 hours)")
        eq(value(s, "bouncer_events_unpublished"), 4.0, "bouncer_events_unpublished")
        eq(value(s, "bouncer_database_up"), 1.0, "bouncer_database_up")

        # Read at every scrape, not cached.
        psql("UPDATE outbox SET state = 'sent' WHERE state = 'queued'")
        psql("UPDATE event_publication SET published_seq = (SELECT max(id) FROM event_log)")
        s = scrape(d.metrics_port)
        for name in DB_GAUGES:
            want = 1.0 if name == "bouncer_outbox_failed" else 0.0
            eq(value(s, name), want, name + " after the rows changed")
            check(has(s, name), "%s shown when 0" % name)


@tap.test
def sessions_gauge_and_counter_follow_open_sessions():
    reset_database()
    with daemon() as d:
        wait_for(lambda: value(scrape(d.metrics_port), "bouncer_lmtp_sessions_active") == 0, 10,
                 "start-up probes closed")
        deltas = Deltas(scrape(d.metrics_port))
        clients = [Lmtp(d.port) for _ in range(3)]
        eq(value(scrape(d.metrics_port), "bouncer_lmtp_sessions_active"), 3.0, "three open sessions")
        for c in clients:
            c.cmd("QUIT")
            c.close()
        wait_for(lambda: value(scrape(d.metrics_port), "bouncer_lmtp_sessions_active") == 0, 10,
                 "sessions_active back to 0")
        deltas.expect(scrape(d.metrics_port), "bouncer_lmtp_sessions_total", 3)


@tap.test
def lmtp_counters_move_per_recipient():
    reset_database()
    with daemon(lmtp={"max_message_size": "4k"}) as d:
        before = scrape(d.metrics_port)
        deltas = Deltas(before)
        good = token(42, 7) + "@notifications.example.com"
        forged = good[:-len("@notifications.example.com")]
        forged = forged[:-1] + ("a" if forged[-1] != "a" else "b") + "@notifications.example.com"
        same = message("twice")
        rcpts, replies = deliver(d.port, [POSTMASTER, "nobody@example.org",
                                          "someone@notifications.example.com", forged], same)
        eq([r[:3] for r in rcpts], ["250", "550", "550", "550"], "RCPT replies")
        eq([r[:3] for r in replies], ["250"], "stored")
        _, replies = deliver(d.port, [POSTMASTER], same)
        eq([r[:3] for r in replies], ["250"], "the redelivery is answered 250 too")
        _, replies = deliver(d.port, [POSTMASTER, good], message(body="x" * 6000))
        eq([r[:9] for r in replies], ["552 5.3.4"] * 2, "too big")
        _, replies = deliver(d.port, [good, REPLY_MAILBOX], message("plain mail"))
        eq([r[:3] for r in replies], ["250", "250"], "stored in two mailboxes")

        after = scrape(d.metrics_port)
        deltas.expect(after, "bouncer_lmtp_sessions_total", 4)
        deltas.expect(after, "bouncer_lmtp_rcpt_rejected_total", 2, reason="unknown_user")
        deltas.expect(after, "bouncer_lmtp_rcpt_rejected_total", 1, reason="bad_token")
        deltas.expect(after, "bouncer_lmtp_messages_total", 1, mailbox="postmaster", result="stored")
        deltas.expect(after, "bouncer_lmtp_messages_total", 1, mailbox="postmaster", result="duplicate")
        deltas.expect(after, "bouncer_lmtp_too_big_total", 2)
        deltas.expect(after, "bouncer_lmtp_messages_total", 1, mailbox="bounce", result="stored")
        deltas.expect(after, "bouncer_lmtp_messages_total", 1, mailbox="reply", result="stored")
        deltas.expect(after, "bouncer_lmtp_messages_total", 0, mailbox="postmaster", result="tempfail")


@tap.test
def bounces_complaints_autoreplies_and_events_are_counted():
    reset_database()
    outdir = scratch_dir("bouncer-sent.")
    with daemon(relay={"url": "file:" + outdir}, events={"endpoints": ""}) as d:
        deltas = Deltas(scrape(d.metrics_port))
        tok = token(42, 7)
        report = dsn(tok, [("gone@example.org", "5.1.1", "550 5.1.1 <gone@example.org>: user unknown",
                            "failed")])
        _, replies = deliver(d.port, [tok + "@notifications.example.com"], report)
        eq(replies[0][:3], "250", "DSN stored")
        _, replies = deliver(d.port, ["fbl@notifications.example.com"],
                             arf("victim@example.org", "<%s@post.example.com>" % tok))
        eq(replies[0][:3], "250", "ARF stored")
        for subject in ("Re: Invoice 1234", "Re: again"):
            _, replies = deliver(d.port, [REPLY_MAILBOX], customer_reply(subject),
                                 mail_from="customer@example.net")
            eq(replies[0][:3], "250", "customer reply stored")
        wait_for(lambda: psql("SELECT count(*) FROM outbox WHERE state = 'sent'") == [["1"]], 15,
                 "the auto-reply sent")
        wait_for(lambda: psql("SELECT count(*) FROM events_unpublished") == [["0"]],
                 15, "every event published")
        n_events = int(psql("SELECT count(*) FROM event_log")[0][0])
        check(n_events >= 4, "events written: %d" % n_events)

        after = scrape(d.metrics_port)
        eq(value(after, "bouncer_events_unpublished"), 0.0, "bouncer_events_unpublished")
        eq(value(after, "bouncer_outbox_queued"), 0.0, "bouncer_outbox_queued")
        deltas.expect(after, "bouncer_bounces_total", 1, kind="dsn", reason="userunknown")
        deltas.expect(after, "bouncer_complaints_total", 1)
        deltas.expect(after, "bouncer_autoreplies_total", 1, decision="replied", rule="reply")
        deltas.expect(after, "bouncer_autoreplies_total", 1, decision="skipped", rule="period")
        deltas.expect(after, "bouncer_outbox_sent_total", 1, kind="autoreply")
        deltas.expect(after, "bouncer_events_published_total", n_events)
        deltas.expect(after, "bouncer_lmtp_messages_total", 1, mailbox="bounce", result="stored")
        deltas.expect(after, "bouncer_lmtp_messages_total", 1, mailbox="fbl", result="stored")
        deltas.expect(after, "bouncer_lmtp_messages_total", 2, mailbox="reply", result="stored")


OUTBOX_MESSAGE = ("From: messageservice@post.example.com\r\nTo: org@example.org\r\n"
                  "Subject: test\r\nAuto-Submitted: auto-generated\r\n\r\nbody\r\n")


def queue_forward():
    psql("INSERT INTO outbox (kind, org_id, rcpt_to, message, expires_at)"
         " VALUES ('forward', 1, 'org@example.org', convert_to(:'v1', 'UTF8'),"
         "         now() + interval '1 day')", OUTBOX_MESSAGE)


def outbox_states():
    return [r[0] for r in psql("SELECT state FROM outbox ORDER BY id")]


@tap.test
def outbox_counters_and_gauges_through_a_relay_outage():
    reset_database()
    port = free_port()
    queue_forward()
    queue_forward()
    with SmtpSink(port, mode="tempfail") as sink, \
            daemon(relay={"url": "smtp://127.0.0.1:%d" % port, "retry_base": "1",
                          "retry_max": "1"}) as d:
        # The sender starts with the daemon: count from its start (0).
        deltas = Deltas({})
        wait_for(lambda: sink.attempts >= 4, 20, "attempts refused with 451")
        s = scrape(d.metrics_port)
        eq(value(s, "bouncer_outbox_queued"), 2.0, "queued while the relay refuses")
        check(value(s, "bouncer_outbox_oldest_queued_seconds") >= 1.0,
              "oldest queued age grows: %r" % value(s, "bouncer_outbox_oldest_queued_seconds"))
        sink.mode = "accept"
        wait_for(lambda: outbox_states() == ["sent"] * 2, 20, "delivered once the relay accepts")
        sink.mode = "permfail"
        queue_forward()
        wait_for(lambda: outbox_states() == ["sent", "sent", "failed"], 20, "refused with 550")
        after = scrape(d.metrics_port)
        eq(value(after, "bouncer_outbox_queued"), 0.0, "nothing queued at the end")
        eq(value(after, "bouncer_outbox_oldest_queued_seconds"), 0.0, "no age when nothing queued")
        eq(value(after, "bouncer_outbox_failed"), 1.0, "bouncer_outbox_failed")
        deltas.expect(after, "bouncer_outbox_sent_total", 2, kind="forward")
        deltas.expect_at_least(after, "bouncer_outbox_deferred_total", 4, kind="forward")
        deltas.expect(after, "bouncer_outbox_failed_total", 1, kind="forward")
        deltas.expect(after, "bouncer_outbox_sent_total", 0, kind="autoreply")


@tap.test
def healthz_follows_the_database():
    reset_database()
    with daemon() as d:
        eq(get(d.metrics_port, "/healthz")[:3:2], (200, "ok\n"), "healthz before")
        pg_stop()
        try:
            started = time.time()
            status, _, body = get(d.metrics_port, "/healthz")
            took = time.time() - started
            eq(status, 503, "healthz with the database stopped")
            check(body.startswith("database") and body.endswith("\n"), "reason given: %r" % body)
            check(took < 3, "answered within the 2 s deadline (took %.1fs)" % took)
            s = scrape(d.metrics_port)
            eq(value(s, "bouncer_database_up"), 0.0, "bouncer_database_up while down")
            for name in DB_GAUGES:
                check(not has(s, name), "%s left out while the database is down" % name)
            check(has(s, "bouncer_lmtp_sessions_active"), "other metrics still served")
        finally:
            pg_start()
        wait_for(lambda: get(d.metrics_port, "/healthz")[0] == 200, 15, "healthz 200 again")
        s = scrape(d.metrics_port)
        eq(value(s, "bouncer_database_up"), 1.0, "bouncer_database_up after")
        for name in DB_GAUGES:
            check(has(s, name), "%s back after the outage" % name)
        check("health check failed" in d.log_text() and "health check ok again" in d.log_text(),
              "the change is logged once each way")


class SilentServer:
    """Accepts TCP connections and never answers: a database that hangs."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.held = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                self.held.append(self.sock.accept()[0])
            except OSError:
                return

    def close(self):
        self.sock.close()
        for c in self.held:
            c.close()


@tap.test
def healthz_gives_up_on_a_silent_database_after_two_seconds():
    silent = SilentServer()
    try:
        d = daemon(database={"conninfo": "host=127.0.0.1 port=%d dbname=bouncer user=bouncer"
                                         % silent.port})
        with d:
            for path in ("/healthz", "/metrics"):
                started = time.time()
                status, _, body = get(d.metrics_port, path)
                took = time.time() - started
                check(1.8 < took < 3.5, "%s answered at the 2 s deadline (took %.1fs)" % (path, took))
                if path == "/healthz":
                    eq((status, body), (503, "database: no answer within 2000 ms\n"), "healthz")
                else:
                    eq(status, 200, "metrics served without the database")
                    s = parse(body)[1]
                    eq(value(s, "bouncer_database_up"), 0.0, "bouncer_database_up")
                    for name in DB_GAUGES:
                        check(not has(s, name), "%s left out" % name)
            # LMTP is not held up while a scrape waits on the database.
            waiting = threading.Thread(target=get, args=(d.metrics_port, "/healthz"))
            waiting.start()
            time.sleep(0.3)
            started = time.time()
            c = Lmtp(d.port)
            eq(c.lhlo()[:3], "250", "LHLO")
            c.close()
            check(time.time() - started < 1, "LMTP answered at once while a scrape waits")
            check(waiting.is_alive(), "the scrape was still waiting")
            waiting.join()
    finally:
        silent.close()


@tap.test
def database_outage_counts_tempfails_errors_and_reconnects():
    reset_database()
    with daemon() as d:
        _, replies = deliver(d.port, [POSTMASTER], message("before"))
        eq(replies[0][:3], "250", "before the outage")
        deltas = Deltas(scrape(d.metrics_port))
        pg_stop()
        try:
            _, replies = deliver(d.port, [POSTMASTER, REPLY_MAILBOX], message("during"))
            eq([r[:9] for r in replies], ["451 4.3.0"] * 2, "tempfail while the database is down")
            during = scrape(d.metrics_port)
        finally:
            pg_start()
        _, replies = deliver(d.port, [POSTMASTER], message("after"))
        eq(replies[0][:3], "250", "after the database returned")
        after = scrape(d.metrics_port)
        deltas.expect(during, "bouncer_lmtp_messages_total", 1, mailbox="postmaster", result="tempfail")
        deltas.expect(during, "bouncer_lmtp_messages_total", 1, mailbox="reply", result="tempfail")
        deltas.expect_at_least(during, "bouncer_db_errors_total", 2)
        deltas.expect_at_least(after, "bouncer_db_reconnects_total", 1)
        deltas.expect(after, "bouncer_lmtp_messages_total", 1, mailbox="postmaster", result="stored")


if __name__ == "__main__":
    tap.run()
