"""Faults bouncerd must live through without losing a message: kill -9 in the
middle of a load, PostgreSQL restarted under load, an absent and then a slow
event subscriber, a relay directory that cannot be written. Real bouncerd,
real PostgreSQL, real sockets; the client behaves as an MTA does (a 4xx or a
lost reply means the same bytes are sent again later)."""
import contextlib
import glob
import json
import os
import signal
import subprocess
import sys
import threading
import time

import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BINDIR, CONNINFO, Bouncerd, Lmtp, Tap, check, eq, free_port, scratch_dir, pg_start,
                     pg_stop, psql, reset_database, wait_for)
from test_bounces import token

tap = Tap()
SESSIONS = 8
POSTMASTER = "postmaster@notifications.example.com"
REPLY_MAILBOX = "messageservice@post.example.com"


# --- helpers --------------------------------------------------------------------

def proc_status(pid, field):
    """A /proc/PID/status field in kB (VmRSS, VmHWM) or as a number (Threads)."""
    with open("/proc/%d/status" % pid) as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError("%s not in /proc/%d/status" % (field, pid))


@contextlib.contextmanager
def small_asan_quarantine():
    """Under AddressSanitizer freed memory is held in a quarantine (256 MB by
    default), which would hide what VmRSS and VmHWM measure. A small one, for
    the daemon started inside the block, keeps them meaning what they mean in
    a normal build; the caller's other ASan options are kept."""
    old = os.environ.get("ASAN_OPTIONS")
    if old is None or "quarantine_size_mb" not in old:
        os.environ["ASAN_OPTIONS"] = (old + ":" if old else "") + "quarantine_size_mb=8"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("ASAN_OPTIONS", None)
        else:
            os.environ["ASAN_OPTIONS"] = old


def marked_dsn(tok, marker, recipients=None, diagnostic=None):
    """A delivery-status report to the VERP address of `tok`, made unique by
    `marker` (a header of its own and the failed recipient's address).
    recipients: how many recipients it reports (each one event)."""
    addrs = recipients or ["r-%s@example.org" % marker]
    per_rcpt = "".join(
        "\r\nFinal-Recipient: rfc822; %s\r\nAction: delayed\r\nStatus: 4.4.1\r\n"
        "Remote-MTA: dns; mx.example.net\r\nDiagnostic-Code: smtp; %s\r\n"
        % (a, diagnostic or "451 4.4.1 connection timed out (%s)" % marker) for a in addrs)
    return (
        "From: MAILER-DAEMON@mta.example.net (Mail Delivery System)\r\n"
        "To: %s@notifications.example.com\r\n"
        "Subject: Delayed Mail (still being retried)\r\n"
        "Message-ID: <%s@mta.example.net>\r\n"
        "X-Test-Marker: %s\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=\"BB\"\r\n"
        "\r\n--BB\r\nContent-Type: text/plain\r\n\r\nStill trying to deliver your message.\r\n"
        "\r\n--BB\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mta.example.net\r\n"
        "%s"
        "\r\n--BB\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        "Return-Path: <%s@notifications.example.com>\r\n"
        "From: \"Org\" <messageservice@post.example.com>\r\n"
        "Message-ID: <%s@post.example.com>\r\nSubject: Invoice %s\r\n"
        "\r\n--BB--\r\n" % (tok, marker, marker, per_rcpt, tok, tok, marker)).encode()


def load_jobs(n, prefix):
    """n distinct DSNs over a few valid tokens: (marker, rcpt, bytes)."""
    toks = [token(100 + k, 1000 + k) for k in range(SESSIONS)]
    jobs = []
    for i in range(n):
        tok = toks[i % len(toks)]
        marker = "%s%05d" % (prefix, i)
        jobs.append((marker, tok + "@notifications.example.com", marked_dsn(tok, marker)))
    return jobs


def rows_per_marker():
    """{marker: (inbound rows, bounces rows)} from the database."""
    inbound = dict((r[0], int(r[1])) for r in psql(
        "SELECT substring(encode(raw, 'escape') from 'X-Test-Marker: ([a-z0-9]+)') AS m, count(*)"
        "  FROM inbound_messages GROUP BY m"))
    bounces = dict((r[0], int(r[1])) for r in psql(
        "SELECT substring(recipient from '^r-([a-z0-9]+)@') AS m, count(*) FROM bounces GROUP BY m"))
    return {m: (inbound.get(m, 0), bounces.get(m, 0)) for m in set(inbound) | set(bounces)}


def check_exactly_once(markers, what):
    rows = rows_per_marker()
    wrong = [(m, rows.get(m, (0, 0))) for m in sorted(markers) if rows.get(m, (0, 0)) != (1, 1)]
    check(wrong == [], "%s: %d markers without exactly one inbound and one bounces row, e.g. %r"
          % (what, len(wrong), wrong[:5]))
    extra = sorted(set(rows) - set(markers) - {""})
    return rows, extra


class Load:
    """SESSIONS client threads, each sending its share of the jobs one
    transaction at a time as an MTA's LMTP client does: a 250 is done; a 4xx
    is kept to be sent again later; a lost connection means the reply was
    lost, and the same bytes are sent again once the server answers."""

    def __init__(self, port, jobs, tempfail_pause=0.0):
        self.port = port
        self.lock = threading.Lock()
        self.acked = {}          # marker -> time the 250 was read
        self.deferred = []       # jobs answered 4xx, to send again
        self.replies = []        # (time, marker, reply) for every reply after the data
        self.lost = []           # markers whose reply never came
        self.failures = []       # anything else (5xx, RCPT refused)
        self.up = threading.Event()
        self.up.set()
        self.waiting = 0
        self.finished = 0
        self.abandoned = False   # the test gave up: threads end at once
        self.tempfail_pause = tempfail_pause
        self.threads = [threading.Thread(target=self._worker, args=(jobs[n::SESSIONS],), daemon=True)
                        for n in range(SESSIONS)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def join(self, timeout):
        deadline = time.time() + timeout
        for t in self.threads:
            t.join(max(0.1, deadline - time.time()))
        check(not any(t.is_alive() for t in self.threads), "load finished within %ds" % timeout)

    def _worker(self, share):
        c = None
        i = 0
        while i < len(share):
            marker, rcpt, data = share[i]
            try:
                if c is None:
                    c = Lmtp(self.port, timeout=60)
                    c.lhlo()
                rcpt_replies, data_replies = c.transaction("", [rcpt], data)
            except (OSError, EOFError):
                if c is not None:
                    c.close()
                    c = None
                with self.lock:
                    self.lost.append(marker)
                    self.waiting += 1
                self.up.wait(120)
                with self.lock:
                    self.waiting -= 1
                if self.abandoned:
                    return
                time.sleep(0.05)
                continue            # the same bytes again
            reply = data_replies[0] if data_replies else rcpt_replies[0]
            now = time.time()
            with self.lock:
                self.replies.append((now, marker, reply))
                if reply.startswith("250"):
                    self.acked[marker] = now
                elif reply.startswith("4"):
                    self.deferred.append(share[i])
                else:
                    self.failures.append((marker, reply))
            if reply.startswith("4") and self.tempfail_pause:
                time.sleep(self.tempfail_pause)
            i += 1
        if c is not None:
            try:
                c.cmd("QUIT")
            except (OSError, EOFError):
                pass
            c.close()
        with self.lock:
            self.finished += 1

    def abandon(self):
        self.abandoned = True
        self.up.set()

    def resend_deferred(self):
        """What the MTA's queue does later: every deferred job once more."""
        with self.lock:
            jobs, self.deferred = self.deferred, []
        c = Lmtp(self.port, timeout=60)
        c.lhlo()
        for marker, rcpt, data in jobs:
            _, replies = c.transaction("", [rcpt], data)
            eq(replies[0][:9], "250 2.0.0", "re-sent %s" % marker)
            self.acked[marker] = time.time()
        c.close()
        return len(jobs)


class Wire:
    """A SUB socket read by a thread: every event as it came off the wire."""

    def __init__(self, port, rcvhwm=0, pause=0.0):
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.SUB)
        self.sock.setsockopt(zmq.RCVHWM, rcvhwm)
        self.sock.setsockopt(zmq.SUBSCRIBE, b"")
        self.sock.connect("tcp://127.0.0.1:%d" % port)
        self.pause = pause
        self.events = []         # (seq, type, recipient)
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping:
            if self.sock.poll(100):
                topic, body = self.sock.recv_multipart()
                event = json.loads(body)
                self.events.append((event["seq"], topic.decode(), event.get("recipient")))
                if self.pause:
                    time.sleep(self.pause)

    def seqs(self):
        return [e[0] for e in self.events]

    def close(self):
        self.stopping = True
        self.thread.join(5)
        self.sock.close(0)
        self.ctx.term()


def reliable_consumer(wire, table):
    """docs/events.md's consumer: skip seq <= last, catch up from the table
    on a gap, and once more at the end. Returns the seqs it handled."""
    handled, last = [], 0
    for seq, _, _ in wire:
        if seq > last + 1:
            for s in sorted(s for s in table if last < s < seq):
                handled.append(s)
                last = s
        if seq <= last:
            continue
        handled.append(seq)
        last = seq
    handled += sorted(s for s in table if s > last)
    return handled


# --- tests ----------------------------------------------------------------------------

@tap.test
def kill_9_under_load_loses_nothing_and_stores_nothing_twice():
    reset_database()
    jobs = load_jobs(3000, "k")
    markers = [j[0] for j in jobs]
    events_port = free_port()
    wire = Wire(events_port)
    d = Bouncerd({"events": {"endpoints": "tcp://127.0.0.1:%d" % events_port}}).start()
    load = Load(d.port, jobs)
    try:
        load.start()
        wait_for(lambda: len(load.acked) >= 1000, 60, "1000 messages answered 250")
        check(d.proc.poll() is None, "bouncerd running under load")
        load.up.clear()
        os.kill(d.proc.pid, signal.SIGKILL)
        d.proc.wait(10)
        killed_at = len(load.acked)
        check(killed_at < len(jobs) - 500, "the kill came in the middle of the load (%d acked)" % killed_at)
        wait_for(lambda: load.waiting + load.finished == SESSIONS, 30, "every session noticed")

        # Every 250 the client read before the crash is a committed row, and
        # only one: nothing has been sent again yet.
        acked_before = set(load.acked)
        check_exactly_once(acked_before, "acked before the kill")
        published_before = set(int(r[0]) for r in psql(
            "SELECT seq FROM events EXCEPT SELECT seq FROM events_unpublished"))
        eq(len(load.lost), SESSIONS, "one reply lost per session")

        d.start()                       # same configuration, same ports
        load.up.set()
        load.join(120)
        resent = load.resend_deferred()
        eq(load.failures, [], "replies other than 250 or 4xx")
        eq(set(load.acked), set(markers), "every message answered 250 in the end")
        rows, extra = check_exactly_once(markers, "after the restart")
        eq(extra, [], "rows for markers never sent")

        # Events: one row per message, every one settled and published.
        total = len(jobs)
        wait_for(lambda: psql("SELECT count(*), count(seq), count(*) - (SELECT count(*)"
                              " FROM events_unpublished) FROM events")
                 == [[str(total)] * 3], 60, "every event settled and published")
        eq(psql("SELECT seq, count(*) FROM events GROUP BY seq HAVING count(*) > 1"), [],
           "seqs used twice in the table")
        eq(psql("SELECT payload->>'recipient' FROM events GROUP BY 1 HAVING count(*) > 1"), [],
           "events recorded twice for one message")
        table = dict((int(r[0]), r[1]) for r in psql(
            "SELECT seq, payload->>'recipient' FROM events ORDER BY seq"))
        after = set(table) - published_before
        wait_for(lambda: after <= set(wire.seqs()), 30,
                 "every event published after the restart on the wire")
    finally:
        load.abandon()
        wire.close()
        if d.proc.poll() is None:
            d.stop()
    d.check_clean_exit(d.proc.returncode)

    seen = {}
    for seq, _, rcpt in wire.events:
        check(seq in table, "seq %d on the wire is not in the table" % seq)
        eq(rcpt, table[seq], "recipient of seq %d on the wire and in the table" % seq)
        seen.setdefault(rcpt, set()).add(seq)
    check(all(len(s) == 1 for s in seen.values()),
          "an event sent again carries its first seq: %r"
          % [(r, s) for r, s in seen.items() if len(s) > 1][:3])
    # One stream per process, each strictly increasing: at most one step back
    # (what the second process sent again), never a repeat within a stream.
    seqs = wire.seqs()
    steps_back = [i for i in range(1, len(seqs)) if seqs[i] <= seqs[i - 1]]
    check(len(steps_back) <= 1, "wire order broken at %r" % [(seqs[i - 1], seqs[i]) for i in steps_back[:5]])
    eq(reliable_consumer(wire.events, table), sorted(table),
       "a consumer deduping by seq sees each event once, in order")
    print("# kill after %d acked; %d replies lost; %d deferred; %d events on the wire "
          "(%d sent again)" % (killed_at, len(load.lost), resent, len(seqs),
                                len(seqs) - len(set(seqs))))


HOLD_LOCK = 727271
HOLD_MARK_SQL = (
    "CREATE OR REPLACE FUNCTION test_hold_mark() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN PERFORM pg_advisory_xact_lock_shared(%d); RETURN NEW; END $$;"
    "CREATE TRIGGER test_hold_mark BEFORE INSERT OR UPDATE ON event_publication FOR EACH ROW"
    " EXECUTE FUNCTION test_hold_mark()" % HOLD_LOCK)
MARKED_SQL = "SELECT count(*) FROM event_log WHERE id NOT IN (SELECT id FROM events_unpublished)"
MARK_QUERY = "INSERT INTO event_publication%"


@tap.test
def events_sent_but_not_marked_at_kill_9_are_sent_again_with_their_seq():
    # The window the random kill above rarely hits, made certain: the
    # publisher has sent a batch and waits to mark it published (a trigger
    # holds it on a lock the test owns) when bouncerd is killed.
    reset_database()
    events_port = free_port()
    wire = Wire(events_port)
    holder = None
    tok = token(9, 900)
    psql(HOLD_MARK_SQL)
    d = Bouncerd({"events": {"endpoints": "tcp://127.0.0.1:%d" % events_port}}).start()
    try:
        def deliver(marker, n):
            c = Lmtp(d.port)
            c.lhlo()
            _, replies = c.transaction("", [tok + "@notifications.example.com"], marked_dsn(
                tok, marker, recipients=["%s-%d@example.org" % (marker, k) for k in range(n)]))
            c.close()
            eq(replies[0][:9], "250 2.0.0", "report %s" % marker)

        deliver("before", 3)
        wait_for(lambda: len(wire.events) == 3, 15, "the first three events on the wire")
        wait_for(lambda: psql(MARKED_SQL) == [["3"]], 10, "marked")
        holder = subprocess.Popen(["psql", CONNINFO, "-X", "-q", "-t", "-A"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        holder.stdin.write("SELECT pg_advisory_lock(%d);\n\\echo held\n" % HOLD_LOCK)
        holder.stdin.flush()
        while holder.stdout.readline().strip() != "held":
            pass
        deliver("held", 5)          # one transaction: one batch of five
        wait_for(lambda: len(wire.events) == 8, 15, "the held batch on the wire")
        time.sleep(0.5)
        eq(psql("SELECT count(*), (%s) FROM event_log" % MARKED_SQL), [["8", "3"]],
           "sent, not marked")
        os.kill(d.proc.pid, signal.SIGKILL)
        d.proc.wait(10)
        # The dead daemon's statement still waits for the lock; end it, or it
        # would mark the batch once the lock goes.
        psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
             " WHERE query LIKE '%s' AND pid <> pg_backend_pid()" % MARK_QUERY)
        wait_for(lambda: psql("SELECT count(*) FROM pg_stat_activity"
                              " WHERE query LIKE '%s'"
                              " AND pid <> pg_backend_pid()" % MARK_QUERY) == [["0"]], 10,
                 "the orphan gone")
        holder.stdin.close()
        holder.wait(10)
        holder = None
        eq(psql(MARKED_SQL), [["3"]], "still unmarked after the kill")
        d.start()
        wait_for(lambda: len(wire.events) >= 16, 15, "the tail and the batch sent again")
        wait_for(lambda: psql(MARKED_SQL) == [["8"]], 10,
                 "every event marked")
        time.sleep(0.5)
    finally:
        if holder is not None:
            holder.kill()
        psql("DROP TRIGGER IF EXISTS test_hold_mark ON event_publication;"
             " DROP FUNCTION IF EXISTS test_hold_mark()")
        wire.close()
        if d.proc.poll() is None:
            d.stop()
    d.check_clean_exit(d.proc.returncode)
    table = dict((int(r[0]), r[1]) for r in psql("SELECT seq, payload->>'recipient' FROM events"))
    seqs = wire.seqs()
    in_order = sorted(table)
    eq(len(in_order), 8, "events in the table")
    # Sent again by the new publisher: the three marked before the kill (the
    # tail it always sends again at start) and the unmarked batch.
    eq(seqs, in_order + in_order, "on the wire: everything twice, with the same seqs")
    for seq, _, rcpt in wire.events:
        eq(rcpt, table[seq], "event %d sent again is the same event" % seq)
    eq(reliable_consumer(wire.events, table), sorted(table),
       "a consumer deduping by seq sees each event once, in order")


@tap.test
def postgresql_restart_under_load_answers_451_and_recovers():
    reset_database()
    jobs = load_jobs(2400, "p")
    markers = [j[0] for j in jobs]
    with Bouncerd() as d:
        pid = d.proc.pid
        load = Load(d.port, jobs, tempfail_pause=0.05).start()
        try:
            wait_for(lambda: len(load.acked) >= 400, 60, "400 messages answered 250")
            try:
                pg_stop()
                stopped_at = time.time()
                wait_for(lambda: any(r[2].startswith("451") for r in load.replies
                                     if r[0] > stopped_at), 20, "a 451 while PostgreSQL is away")
                time.sleep(1.5)
                starting_at = time.time()
            finally:
                pg_start()
            started_at = time.time()
            load.join(120)
        finally:
            load.abandon()
        check(d.proc.poll() is None and d.proc.pid == pid, "the same bouncerd still running")
        during = [r for t, m, r in load.replies if stopped_at + 0.5 < t < starting_at]
        check(during != [], "replies while PostgreSQL was away")
        eq(sorted(set(r[:9] for r in during)), ["451 4.3.0"], "replies while PostgreSQL was away")
        odd = [r for _, _, r in load.replies if r[:9] not in ("250 2.0.0", "451 4.3.0")]
        eq(odd, [], "replies other than 250 2.0.0 and 451 4.3.0")
        eq(load.lost, [], "connections lost")
        eq(load.failures, [], "failures")
        after = [m for t, m, r in load.replies if t > started_at and r.startswith("250")]
        check(len(after) > 100, "service resumed without a restart (%d stored after)" % len(after))
        tempfailed = len(load.deferred)
        check(tempfailed > 0, "some messages were deferred")
        # A 250 is a committed row: check before anything is sent again.
        check_exactly_once(set(load.acked), "answered 250 during the load")
        load.resend_deferred()
        eq(set(load.acked), set(markers), "every message stored in the end")
        _, extra = check_exactly_once(markers, "after the deferred ones were sent again")
        eq(extra, [], "rows for markers never sent")
    print("# %d deferred while PostgreSQL was away, %d stored after it returned"
          % (tempfailed, len(after)))


@tap.test
def absent_then_slow_subscriber_costs_no_memory_and_no_latency():
    reset_database()
    events_port = free_port()
    sessions, per_report = 4, 100
    diagnostic = "452 4.2.2 mailbox full " + "x" * 1900
    toks = [token(7, 700 + k) for k in range(sessions)]

    def report(tok, n):
        return marked_dsn(tok, "s%05d" % n, diagnostic=diagnostic,
                          recipients=["r%d-%d@example.org" % (n, k) for k in range(per_report)])

    def burst(d, first, count):
        """count reports of per_report recipients over `sessions` sessions."""
        errors = []

        def worker(k):
            try:
                c = Lmtp(d.port, timeout=120)
                c.lhlo()
                for n in range(first + k, first + count, sessions):
                    _, replies = c.transaction("", [toks[k] + "@notifications.example.com"],
                                               report(toks[k], n))
                    if not replies[0].startswith("250"):
                        errors.append(replies[0])
                c.close()
            except Exception as e:  # reported below
                errors.append(repr(e))
        threads = [threading.Thread(target=worker, args=(k,)) for k in range(sessions)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(240)
        eq(errors, [], "replies to the reports")

    class Probe:
        """A small message every 100 ms, timed."""

        def __init__(self, port):
            self.port, self.times, self.bad, self.stopping = port, [], [], False
            self.thread = threading.Thread(target=self._run, daemon=True)
            self.thread.start()

        def _run(self):
            c = Lmtp(self.port, timeout=60)
            c.lhlo()
            n = 0
            while not self.stopping:
                n += 1
                started = time.time()
                _, replies = c.transaction("", [POSTMASTER], "Subject: probe %d %s\r\n\r\nx\r\n"
                                           % (n, os.urandom(4).hex()))
                self.times.append(time.time() - started)
                if not replies[0].startswith("250"):
                    self.bad.append(replies[0])
                time.sleep(0.1)
            c.close()

        def stop(self):
            self.stopping = True
            self.thread.join(30)
            return self

    rss = []
    settings = {"events": {"endpoints": "tcp://127.0.0.1:%d" % events_port, "high_water_mark": "100"}}
    with small_asan_quarantine(), Bouncerd(settings) as d:
        def sample():
            while not sampling.is_set():
                rss.append(proc_status(d.proc.pid, "VmRSS"))
                time.sleep(0.05)

        # Nobody subscribed: events wait in the table, nothing is queued.
        probe = Probe(d.port)
        burst(d, 0, 40)
        quiet = probe.stop()
        eq(quiet.bad, [], "probe replies with nobody subscribed")
        wait_for(lambda: psql("SELECT count(*) FROM events") == [[str(40 * per_report)]], 10,
                 "events settle while nobody listens")
        eq(psql("SELECT count(*) FROM events_unpublished"), [[str(40 * per_report)]],
           "events wait unpublished while nobody listens")
        baseline = proc_status(d.proc.pid, "VmRSS")

        # A subscriber that reads one event per 50 ms while the backlog and
        # many more are published: ZeroMQ drops past the high-water mark.
        slow = Wire(events_port, rcvhwm=100, pause=0.05)
        sampling = threading.Event()
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        probe = Probe(d.port)
        try:
            burst(d, 40, 200)
            busy = probe.stop()
            total = 240 * per_report
            wait_for(lambda: psql("SELECT count(seq) FROM events") == [[str(total)]], 90,
                     "every event settled while the slow subscriber is connected")
            wait_for(lambda: psql("SELECT count(*) FROM events_unpublished")
                     == [["0"]], 30, "every event marked published")
            time.sleep(1)
        finally:
            sampling.set()
            sampler.join(5)
            slow.close()
        peak = max(rss)
        check(d.proc.poll() is None, "bouncerd still running")

    eq(busy.bad, [], "probe replies while the slow subscriber lagged")
    eq(psql("SELECT count(*) FROM event_log"), [[str(total)]], "every event in the table")
    out = subprocess.run([os.path.join(BINDIR, "bouncerctl"), "events", "--conninfo", CONNINFO,
                          "--since", "0"], capture_output=True, text=True)
    eq(out.returncode, 0, "bouncerctl events: " + out.stderr)
    printed = [json.loads(line)["seq"] for line in out.stdout.splitlines()]
    eq(printed, [int(r[0]) for r in psql("SELECT seq FROM events ORDER BY seq")],
       "bouncerctl events --since 0 prints every event")
    eq(len(printed), total, "events printed")
    check(len(slow.events) < total / 2,
          "the slow subscriber really lagged (read %d of %d)" % (len(slow.events), total))
    grew = (peak - baseline) / 1024.0
    slowest_quiet, slowest_busy = max(quiet.times), max(busy.times)
    print("# RSS %d MB before the subscriber, peak %d MB (+%.1f MB); slow subscriber read %d of %d; "
          "probe max %.0f ms quiet, %.0f ms while publishing"
          % (baseline // 1024, peak // 1024, grew, len(slow.events), total,
             slowest_quiet * 1000, slowest_busy * 1000))
    # 24,000 events of ~2.3 kB each went out: without the high-water mark the
    # slow subscriber's queue holds most of their 55 MB (measured with
    # high_water_mark = 10000000: +57 MB); with it, +4 MB (+12 MB under ASan).
    check(grew < 25, "VmRSS grew by %.1f MB while a slow subscriber lagged" % grew)
    check(slowest_busy < max(3.0, 5 * slowest_quiet),
          "LMTP latency while publishing: %.2fs (%.2fs with nobody subscribed)"
          % (slowest_busy, slowest_quiet))


@tap.test
def a_report_on_300_recipients_records_every_one():
    # An MTA reports every recipient of one message at one domain in one DSN,
    # a block of fields each; bouncer keeps up to 1000 recipients of a report
    # (BOUNCE_MAX_RECIPIENTS). A recipient left out is a bounce never
    # recorded and an address never suppressed.
    reset_database()
    tok = token(5, 55)
    n = 300
    data = marked_dsn(tok, "many", recipients=["r%03d@example.org" % k for k in range(n)])
    with Bouncerd() as d:
        c = Lmtp(d.port)
        c.lhlo()
        _, replies = c.transaction("", [tok + "@notifications.example.com"], data)
        eq(replies[0][:9], "250 2.0.0", "reply after the data")
        c.close()
    eq(psql("SELECT count(*), count(DISTINCT recipient) FROM bounces"), [[str(n), str(n)]],
       "bounces rows for a report on %d recipients" % n)
    eq(psql("SELECT count(*) FROM event_log"), [[str(n)]], "events")


@tap.test
def unwritable_file_relay_keeps_mail_queued_and_lmtp_answering():
    reset_database()
    top = scratch_dir("bouncer-relay.")
    # A path under a regular file cannot be created, not even by root.
    blocker = os.path.join(top, "spool")
    with open(blocker, "w") as fh:
        fh.write("not a directory\n")
    outdir = os.path.join(blocker, "sent")
    with Bouncerd({"relay": {"url": "file:" + outdir, "retry_base": "1", "retry_max": "1"}}) as d:
        c = Lmtp(d.port)
        c.lhlo()
        _, replies = c.transaction("customer@example.net", [REPLY_MAILBOX],
                                   "From: customer@example.net\r\nTo: %s\r\nSubject: where is my"
                                   " invoice\r\nMessage-ID: <%s@example.net>\r\n\r\nHello?\r\n"
                                   % (REPLY_MAILBOX, os.urandom(6).hex()))
        eq(replies[0][:9], "250 2.0.0", "mail to the reply mailbox")
        wait_for(lambda: int(psql("SELECT coalesce(max(attempts), 0) FROM outbox")[0][0]) >= 3, 20,
                 "three delivery attempts")
        row = psql("SELECT kind, state, last_error FROM outbox")
        eq([r[:2] for r in row], [["autoreply", "queued"]], "the reply stays queued")
        check("cannot write" in row[0][2] and outdir in row[0][2], "last_error says why: %r" % row[0][2])
        # The outbox is not on the LMTP path: mail goes on being stored.
        started = time.time()
        for i in range(20):
            _, replies = c.transaction("", [POSTMASTER], "Subject: meanwhile %d\r\n\r\nx\r\n" % i)
            eq(replies[0][:9], "250 2.0.0", "delivery %d while the relay is broken" % i)
        check(time.time() - started < 10, "deliveries took %.1fs" % (time.time() - started))
        c.close()
        check(d.proc.poll() is None, "bouncerd still running")
        os.remove(blocker)
        os.mkdir(blocker)
        wait_for(lambda: glob.glob(os.path.join(outdir, "*.eml")), 20, "the reply written once fixed")
        wait_for(lambda: psql("SELECT state, last_error FROM outbox") == [["sent", ""]], 10,
                 "row marked sent")
    files = os.listdir(outdir)
    eq(len(files), 1, "one file and no temporary ones: %r" % files)
    check(files[0].endswith(".eml"), files[0])
    eq(psql("SELECT count(*) FROM inbound_messages"), [["21"]], "every message stored")


if __name__ == "__main__":
    tap.run()
