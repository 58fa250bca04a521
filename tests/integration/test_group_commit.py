"""Group commit: returned messages that arrive while every transaction slot
is busy share the next transaction. Real bouncerd, real PostgreSQL, one LMTP
session per message as the MTA opens them.

The database is made busy on purpose: a trigger on inbound_messages makes
the delivery of a chosen recipient wait on an advisory lock the test holds
(or fail outright), so the test decides which message holds the only slot,
which ones queue behind it, and when they go."""
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import CONNINFO, Lmtp, Tap, check, eq, psql, reset_database, wait_for
from test_bounces import dsn, token
from test_metrics import Deltas, daemon, scrape

tap = Tap()
GATE_1 = 917001       # advisory lock keys the trigger waits on
GATE_2 = 917002


def address(tok):
    return tok + "@notifications.example.com"


@contextlib.contextmanager
def gated(hold=(), fail=()):
    """The trigger: a delivery to an address in hold[0] waits on GATE_1, in
    hold[1] on GATE_2; one to an address in fail raises an error."""
    checks = []
    for gate, addrs in zip((GATE_1, GATE_2), hold):
        for a in addrs:
            checks.append("IF NEW.rcpt_to = '%s' THEN PERFORM pg_advisory_xact_lock(%d); END IF;"
                          % (a, gate))
    for a in fail:
        checks.append("IF NEW.rcpt_to = '%s' THEN RAISE EXCEPTION 'refused by the test'; END IF;"
                      % a)
    psql("CREATE OR REPLACE FUNCTION test_group_commit_gate() RETURNS trigger "
         "LANGUAGE plpgsql AS $$ BEGIN %s RETURN NEW; END $$;\n"
         "CREATE TRIGGER test_group_commit_gate BEFORE INSERT ON inbound_messages "
         "FOR EACH ROW EXECUTE FUNCTION test_group_commit_gate();" % " ".join(checks))
    try:
        yield
    finally:
        psql("DROP TRIGGER IF EXISTS test_group_commit_gate ON inbound_messages;"
             "DROP FUNCTION IF EXISTS test_group_commit_gate();")


class Locks:
    """A psql session holding advisory locks until told to let go."""

    def __init__(self, *keys):
        self.proc = subprocess.Popen(["psql", CONNINFO, "-X", "-q", "-t", "-A", "-v",
                                      "ON_ERROR_STOP=1"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        for key in keys:
            self.say("SELECT pg_advisory_lock(%d);" % key)

    def say(self, sql):
        self.proc.stdin.write(sql + "\n\\echo done\n")
        self.proc.stdin.flush()
        while self.proc.stdout.readline().strip() != "done":
            pass

    def release(self, key):
        self.say("SELECT pg_advisory_unlock(%d);" % key)

    def close(self):
        self.proc.kill()
        self.proc.wait()


def waiting_on(key):
    """Backends waiting for the advisory lock key: [pid]."""
    return [int(r[0]) for r in psql(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        " AND classid = 0 AND objid = %d" % key)]


class Sender(threading.Thread):
    """One LMTP session delivering one message; the reply after DATA lands
    in self.reply."""

    def __init__(self, port, tok, n, msg=None):
        super().__init__(daemon=True)
        self.port, self.tok = port, tok
        self.msg = msg or dsn(tok, [("user%d@example.org" % n, "5.1.1",
                                     "550 5.1.1 user%d: user unknown" % n, "failed")])
        self.reply = None
        self.start()

    def run(self):
        c = Lmtp(self.port)
        try:
            c.lhlo()
            rcpt, replies = c.transaction("", [address(self.tok)], self.msg)
            self.reply = replies[0] if replies else rcpt[0]
        finally:
            c.close()


def queued(d, n):
    """Until n statements have said they wait for a transaction slot."""
    wait_for(lambda: d.log_text().count("commit queue: a statement waits") >= n, 10,
             "%d deliveries waiting in the commit queue" % n)


def behind_a_held_transaction(d, holder, toks):
    """The holder's delivery takes the only slot and waits on GATE_1; then
    one session per token delivers, each queueing behind it."""
    first = Sender(d.port, holder, 0)
    wait_for(lambda: waiting_on(GATE_1), 10, "the first delivery waiting on the lock")
    senders = [Sender(d.port, tok, i + 1) for i, tok in enumerate(toks)]
    queued(d, len(toks))
    return first, senders


def two_transactions_held(d, openers):
    """One delivery per opener, each started once the one before waits on
    GATE_1: one alone is a small transaction, so the next starts beside it,
    on a second connection. Both slots are then busy."""
    senders = []
    for i, tok in enumerate(openers):
        senders.append(Sender(d.port, tok, i))
        wait_for(lambda: len(waiting_on(GATE_1)) == i + 1, 10, "opener %d on the lock" % (i + 1))
    return senders


def stored(tok):
    return int(psql("SELECT count(*) FROM inbound_messages WHERE rcpt_to = :'v1'",
                    address(tok))[0][0])


def one_slot():
    return daemon(database={"pool_size": "4", "transactions": "1", "group_commit": "16"})


# --- tests -------------------------------------------------------------------------

@tap.test
def messages_that_wait_for_a_slot_commit_together():
    reset_database()
    holder, followers = token(61, 1), [token(61, 10 + i) for i in range(6)]
    locks = Locks(GATE_1)
    try:
        with gated(hold=[[address(holder)]]), one_slot() as d:
            before = scrape(d.metrics_port)
            first, senders = behind_a_held_transaction(d, holder, followers)
            eq([s.reply for s in senders], [None] * len(followers), "nobody answered yet")
            locks.release(GATE_1)
            for s in [first] + senders:
                s.join(20)
            eq([s.reply[:3] for s in [first] + senders], ["250"] * 7, "every message stored")
            after = scrape(d.metrics_port)
            deltas = Deltas(before)
            deltas.expect(after, "bouncer_db_group_commits_total", 1)
            deltas.expect(after, "bouncer_db_group_commit_messages_total", len(followers))
            deltas.expect(after, "bouncer_db_group_commit_failures_total", 0)
        for tok in [holder] + followers:
            eq(stored(tok), 1, "rows for %s" % tok)
        eq(int(psql("SELECT count(*) FROM bounces")[0][0]), 7, "one bounce row per message")
        eq(int(psql("SELECT count(*) FROM event_log WHERE type = 'bounce.hard'")[0][0]), 7,
           "one event per bounce")
    finally:
        locks.close()


@tap.test
def beside_a_large_transaction_only_a_whole_group_starts_a_second():
    # Two slots. Once a group of five holds one, a message arriving waits
    # for it rather than take the free slot as a group of one; the free
    # slot goes to the waiting messages once a whole group (group_commit,
    # here eight) has gathered, and they commit while the five still wait.
    reset_database()
    openers = [token(66, 1), token(66, 2)]
    five = [token(66, 10 + i) for i in range(5)]
    later = [token(66, 20 + i) for i in range(8)]
    locks = Locks(GATE_1, GATE_2)
    try:
        with gated(hold=[[address(t) for t in openers], [address(t) for t in five]]), \
                daemon(database={"pool_size": "4", "transactions": "2", "group_commit": "8"}) as d:
            before = scrape(d.metrics_port)
            first = two_transactions_held(d, openers)
            group = [Sender(d.port, t, 10 + i) for i, t in enumerate(five)]
            queued(d, len(five))
            locks.release(GATE_1)
            wait_for(lambda: len(waiting_on(GATE_2)) == 1, 10, "the five, as one, on the lock")
            for s in first:
                s.join(20)
            eq([s.reply[:3] if s.reply else None for s in first], ["250"] * 2, "the openers")

            waiters = [Sender(d.port, t, 20 + i) for i, t in enumerate(later[:3])]
            queued(d, len(five) + 3)
            time.sleep(0.3)
            check(all(s.reply is None for s in waiters),
                  "three messages wait beside the five, a slot free: %r"
                  % [s.reply for s in waiters])
            rest = [Sender(d.port, t, 23 + i) for i, t in enumerate(later[3:])]
            for s in waiters + rest:
                s.join(20)
            eq([s.reply[:3] if s.reply else None for s in waiters + rest], ["250"] * 8,
               "a whole group committed beside the five")
            check(all(s.reply is None for s in group), "the five still wait on their lock")
            locks.release(GATE_2)
            for s in group:
                s.join(20)
            eq([s.reply[:3] if s.reply else None for s in group], ["250"] * 5, "the five")
            after = scrape(d.metrics_port)
            deltas = Deltas(before)
            deltas.expect(after, "bouncer_db_group_commits_total", 2)
            deltas.expect(after, "bouncer_db_group_commit_messages_total", 13)
        for tok in openers + five + later:
            eq(stored(tok), 1, "rows for %s" % tok)
    finally:
        locks.close()


@tap.test
def the_connection_used_last_is_taken_next():
    # Two deliveries at once open two pooled connections; after that, one
    # message at a time is stored by the connection used last, every time,
    # so one backend does the work with its caches warm instead of each in
    # turn. Which backend stored a message: a trigger writes it down.
    reset_database()
    openers = [token(67, 1), token(67, 2)]
    later = [token(67, 10 + i) for i in range(6)]
    psql("CREATE TABLE test_backends (rcpt_to text, pid integer);"
         "CREATE FUNCTION test_backends_note() RETURNS trigger LANGUAGE plpgsql AS $$"
         " BEGIN INSERT INTO test_backends VALUES (NEW.rcpt_to, pg_backend_pid());"
         " RETURN NEW; END $$;"
         "CREATE TRIGGER test_backends_note AFTER INSERT ON inbound_messages"
         " FOR EACH ROW EXECUTE FUNCTION test_backends_note();")
    locks = Locks(GATE_1)
    try:
        with gated(hold=[[address(t) for t in openers]]), daemon(database={
                "pool_size": "4", "transactions": "2", "group_commit": "8"}) as d:
            first = two_transactions_held(d, openers)
            locks.release(GATE_1)
            for s in first:
                s.join(20)
            for i, t in enumerate(later):
                s = Sender(d.port, t, 10 + i)
                s.join(20)
                eq(s.reply[:3] if s.reply else None, "250", "message %d" % i)
        pids = psql("SELECT DISTINCT pid FROM test_backends WHERE rcpt_to LIKE :'v1'",
                    "%" + "@notifications.example.com")
        eq(len(pids), 2, "two connections opened")
        later_pids = psql("SELECT DISTINCT pid FROM test_backends WHERE rcpt_to = ANY"
                          " (string_to_array(:'v1', ' '))",
                          " ".join(address(t) for t in later))
        eq(len(later_pids), 1, "one backend stored the six that came one at a time")
    finally:
        locks.close()
        psql("DROP TABLE IF EXISTS test_backends;"
             "DROP FUNCTION IF EXISTS test_backends_note() CASCADE;")


@tap.test
def a_message_that_fails_in_a_group_fails_alone():
    reset_database()
    holder, bad = token(62, 1), token(62, 2)
    good = [token(62, 10 + i) for i in range(5)]
    locks = Locks(GATE_1)
    try:
        with gated(hold=[[address(holder)]], fail=[address(bad)]), one_slot() as d:
            before = scrape(d.metrics_port)
            first, senders = behind_a_held_transaction(d, holder, good[:2] + [bad] + good[2:])
            locks.release(GATE_1)
            for s in [first] + senders:
                s.join(20)
            replies = {s.tok: s.reply for s in [first] + senders}
            check(replies[bad].startswith("451"), "the failing message: %r" % replies[bad])
            for tok in [holder] + good:
                check(replies[tok].startswith("250"), "a good message: %r" % replies[tok])
            deltas = Deltas(before)
            after = scrape(d.metrics_port)
            deltas.expect(after, "bouncer_db_group_commit_failures_total", 1)
            deltas.expect(after, "bouncer_db_group_commits_total", 0)
            check("group commit of 6 messages failed, each runs alone" in d.log_text(),
                  "the fallback is in the log")
        eq(stored(bad), 0, "nothing kept of the failing message")
        for tok in [holder] + good:
            eq(stored(tok), 1, "rows for %s" % tok)
    finally:
        locks.close()


@tap.test
def a_group_whose_connection_dies_is_stored_once_by_retries():
    # The group's transaction is stopped half-way (one message inserted,
    # the next waiting on a lock) by killing its backend. Nothing of it was
    # committed: each message runs again alone on a new connection and is
    # stored exactly once.
    reset_database()
    holder, blocker = token(63, 1), token(63, 2)
    others = [token(63, 10 + i) for i in range(3)]
    locks = Locks(GATE_1, GATE_2)
    try:
        with gated(hold=[[address(holder)], [address(blocker)]]), one_slot() as d:
            first, group = behind_a_held_transaction(d, holder, [others[0], blocker] + others[1:])
            locks.release(GATE_1)
            victims = wait_for(lambda: waiting_on(GATE_2), 10, "the group waiting on lock 2")
            first.join(20)
            check(first.reply is not None and first.reply.startswith("250"),
                  "the first message: %r" % first.reply)
            psql("SELECT pg_terminate_backend(%d)" % victims[0])
            # The retry of the blocker waits on lock 2 again, on a new backend.
            wait_for(lambda: waiting_on(GATE_2) not in ([], victims), 10,
                     "the blocker retried alone")
            locks.release(GATE_2)
            for s in group:
                s.join(20)
            eq([s.reply[:3] for s in group], ["250"] * len(group), "every message stored")
        for tok in [holder, blocker] + others:
            eq(stored(tok), 1, "rows for %s" % tok)
    finally:
        locks.close()


@tap.test
def a_message_that_waits_too_long_for_a_transaction_is_answered_451():
    # [database] wait_timeout bounds the wait in the queue as it bounds the
    # wait for a connection: the MTA hears 451 and tries again later.
    reset_database()
    holder, waiter = token(64, 1), token(64, 2)
    locks = Locks(GATE_1)
    try:
        with gated(hold=[[address(holder)]]), daemon(database={
                "pool_size": "4", "transactions": "1", "group_commit": "16",
                "wait_timeout": "2"}) as d:
            first = Sender(d.port, holder, 0)
            wait_for(lambda: waiting_on(GATE_1), 10, "the first delivery waiting on the lock")
            second = Sender(d.port, waiter, 1)
            second.join(15)
            check(second.reply is not None and second.reply.startswith("451"),
                  "the message behind the stuck transaction: %r" % second.reply)
            check(first.reply is None, "the first one is still waiting on the lock")
            check("no database transaction took it within 2000 ms" in d.log_text(),
                  "the reason is in the log")
            locks.release(GATE_1)
            first.join(20)
            check(first.reply is not None and first.reply.startswith("250"),
                  "the first message: %r" % first.reply)
        eq(stored(holder), 1, "the first message stored")
        eq(stored(waiter), 0, "the one answered 451 not stored")
    finally:
        locks.close()


@tap.test
def a_group_that_fails_on_a_lock_everyone_needs_gives_up_in_bounded_time():
    # Every message of the group waits on a lock held elsewhere; the group
    # fails at the lock timeout. Running each alone would wait the timeout
    # once per message; after wait_timeout the rest are answered 451.
    reset_database()
    holder = token(65, 1)
    stuck = [token(65, 10 + i) for i in range(8)]
    locks = Locks(GATE_1, GATE_2)
    try:
        with gated(hold=[[address(holder)], [address(t) for t in stuck]]), daemon(database={
                "conninfo": CONNINFO + " options='-c lock_timeout=1000'", "pool_size": "4",
                "transactions": "1", "group_commit": "16", "wait_timeout": "2"}) as d:
            first, group = behind_a_held_transaction(d, holder, stuck)
            locks.release(GATE_1)
            for s in [first] + group:
                s.join(30)
            check(first.reply is not None and first.reply.startswith("250"),
                  "the first message: %r" % first.reply)
            eq([s.reply[:3] if s.reply else None for s in group], ["451"] * len(stuck),
               "the group, its lock still held elsewhere")
            log = d.log_text()
            gave_up = log.count("not run alone after its group failed")
            check(gave_up >= len(stuck) // 2,
                  "most of the group answered without a run of its own (%d of %d)"
                  % (gave_up, len(stuck)))
        for tok in stuck:
            eq(stored(tok), 0, "nothing stored for %s" % tok)
    finally:
        locks.close()


@tap.test
def a_database_that_stops_answering_costs_a_451():
    # A backend that no longer runs (a frozen process, a paused machine)
    # answers nothing and no server timeout fires in it. The watchdog
    # closes the connection after [database] query_timeout: the message
    # is answered 451, on a second try too, and the daemon goes on.
    reset_database()
    holder, later = token(64, 1), token(64, 2)
    locks = Locks(GATE_1)
    stopped = []

    def resume():
        while stopped:
            os.kill(stopped.pop(), signal.SIGCONT)

    try:
        with gated(hold=[[address(holder)]]), \
                daemon(database={"pool_size": "4", "transactions": "1", "group_commit": "16",
                                 "query_timeout": "2"}) as d:
            try:
                first = Sender(d.port, holder, 0)
                wait_for(lambda: waiting_on(GATE_1), 10, "the delivery waiting on the lock")
                pid = waiting_on(GATE_1)[0]
                os.kill(pid, signal.SIGSTOP)
                stopped.append(pid)
                first.join(30)
                check(first.reply is not None and first.reply.startswith("451"),
                      "the stopped backend's message: %r" % first.reply)
                check("result=db-timeout" in d.log_text(), "the log says why")
            finally:
                resume()        # before the daemon stops: never leave a backend stopped
                locks.release(GATE_1)
            again = Sender(d.port, later, 1)
            again.join(30)
            check(again.reply is not None and again.reply.startswith("250"),
                  "the next message: %r" % again.reply)
            # The statements given up may still have committed once their
            # backends ran again; the MTA's retry of the 451 (the same
            # bytes) is then recognised, and the message is stored once.
            retry = Sender(d.port, holder, 0, msg=first.msg)
            retry.join(30)
            check(retry.reply is not None and retry.reply.startswith("250"),
                  "the MTA's retry: %r" % retry.reply)
        eq(stored(holder), 1, "the message answered 451, then retried, is stored once")
        eq(stored(later), 1, "the next one is stored")
    finally:
        resume()
        locks.close()


if __name__ == "__main__":
    tap.run()
