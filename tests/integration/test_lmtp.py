"""LMTP listener end to end: real sockets, real bouncerd, real PostgreSQL."""
import os
import re
import signal
import socket
import subprocess
import tempfile
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BINDIR, SRCDIR, Bouncerd, Lmtp, Skip, Tap, check, eq, message, pg_start,
                     pg_stop, psql, reset_database, wait_for, TEST_KEY)

tap = Tap()
POSTMASTER = "postmaster@notifications.example.com"


def bounce_address(org=1, msg=1):
    out = subprocess.run([os.path.join(BINDIR, "bouncerctl"), "token", "encode", "--key", TEST_KEY,
                          "--org", str(org), "--message", str(msg)],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip() + "@notifications.example.com"


def stored_count(rcpt=None):
    if rcpt is None:
        return int(psql("SELECT count(*) FROM inbound_messages")[0][0])
    return int(psql("SELECT count(*) FROM inbound_messages WHERE rcpt_to = :'v1'", rcpt)[0][0])


@tap.test
def accepted_and_rejected_recipients_get_one_reply_each():
    reset_database()
    with Bouncerd() as d:
        c = Lmtp(d.port)
        check(c.greeting.startswith("220 bouncer.test"), c.greeting)
        lhlo = c.lhlo()
        for ext in ("PIPELINING", "ENHANCEDSTATUSCODES", "8BITMIME", "SIZE"):
            check(ext in lhlo, "LHLO lacks %s: %r" % (ext, lhlo))
        rcpts = [POSTMASTER, "nobody@example.org", "messageservice@post.example.com",
                 "someone@notifications.example.com", POSTMASTER]
        rcpt_replies, data_replies = c.transaction("", rcpts, message())
        eq([r[:9] for r in rcpt_replies],
           ["250 2.1.5", "550 5.1.1", "250 2.1.5", "550 5.1.1", "250 2.1.5"], "RCPT replies")
        # RFC 2033 §4.2: one reply per accepted recipient, duplicates included.
        eq(len(data_replies), 3, "replies after the final dot")
        for r in data_replies:
            check(r.startswith("250 2.0.0"), "data reply %r" % r)
        eq(c.cmd("QUIT")[:3], "221", "QUIT")
        c.close()
    eq(stored_count(POSTMASTER), 1, "postmaster rows (the duplicate RCPT is one message)")
    eq(stored_count("messageservice@post.example.com"), 1, "reply mailbox rows")
    rows = psql("SELECT mailbox, mail_from, size FROM inbound_messages ORDER BY id")
    eq([r[0] for r in rows], ["postmaster", "reply"], "mailbox kinds")


@tap.test
def message_bytes_are_stored_exactly():
    reset_database()
    body = "line one\r\n.leading dot\r\n..two dots\r\nbare\nLF and bare\rCR\r\n\x00nul"
    with Bouncerd() as d:
        c = Lmtp(d.port)
        c.lhlo()
        msg = message(body=body)
        _, replies = c.transaction("sender@example.org", [POSTMASTER], msg)
        eq(replies[0][:3], "250", "data reply")
    raw = psql("SELECT encode(raw, 'hex') FROM inbound_messages")[0][0]
    want = msg.encode()
    if not want.endswith(b"\r\n"):
        want += b"\r\n"
    eq(bytes.fromhex(raw), want, "stored bytes")


@tap.test
def a_large_message_is_stored_exactly_with_lz4():
    # Over about 2 kB the bytes are compressed as they are stored: with lz4
    # (sql/019), which the PostgreSQL of Debian 12 has.
    reset_database()
    body = "".join("Line %05d of the returned original, quoted in full.\r\n" % i for i in range(400))
    msg = message("large", body=body)
    with Bouncerd() as d:
        c = Lmtp(d.port)
        c.lhlo()
        _, replies = c.transaction("", [POSTMASTER], msg)
        eq(replies[0][:3], "250", "data reply")
    raw, method = psql("SELECT encode(raw, 'hex'), pg_column_compression(raw) FROM inbound_messages")[0]
    eq(bytes.fromhex(raw), msg.encode(), "stored bytes")
    try:
        psql("CREATE TEMP TABLE lz4_here (b bytea COMPRESSION lz4)")
    except AssertionError:
        raise Skip("this PostgreSQL has no lz4; the bytes were checked")
    eq(method, "lz4", "compression of the stored message")


@tap.test
def redelivery_of_same_bytes_is_stored_once():
    reset_database()
    with Bouncerd() as d:
        msg = message()
        for _ in range(3):
            c = Lmtp(d.port)
            c.lhlo()
            _, replies = c.transaction("", [POSTMASTER], msg)
            eq(replies[0][:9], "250 2.0.0", "redelivery reply")
            c.close()
        check("result=duplicate" in d.log_text(), "log names the duplicate")
    eq(stored_count(), 1, "rows after three deliveries of the same bytes")


@tap.test
def redelivery_is_the_same_bytes_to_the_same_recipient_within_a_day():
    reset_database()
    msg = message("redelivered")
    other = "fbl@notifications.example.com"
    with Bouncerd() as d:
        def deliver(rcpt, body=msg):
            c = Lmtp(d.port)
            c.lhlo()
            _, replies = c.transaction("", [rcpt], body)
            c.close()
            eq(replies[0][:9], "250 2.0.0", "reply for %s" % rcpt)

        deliver(POSTMASTER)
        deliver(POSTMASTER.upper())
        eq(stored_count(), 1, "the recipient in other case is the same recipient")
        deliver(other)
        eq(stored_count(other), 1, "the same bytes to another recipient are stored")
        deliver(POSTMASTER, message("redelivered", body="other bytes"))
        eq(stored_count(POSTMASTER), 2, "other bytes to the same recipient are stored")
        # A day later the first copy no longer counts.
        psql("UPDATE inbound_messages SET received_at = received_at - interval '25 hours'")
        deliver(POSTMASTER)
        eq(stored_count(POSTMASTER), 3, "the same bytes again after a day")
        deliver(POSTMASTER)
        eq(stored_count(POSTMASTER), 3, "and then once only")


@tap.test
def redelivery_check_reads_only_its_own_message():
    # The check finds the earlier copy by the key of its bytes and
    # recipient (sql/018). The same bytes stored for 3 000 other recipients
    # today (one message delivered to many) are not read, nor is the table,
    # also before any ANALYZE has given the planner statistics of the key.
    reset_database()
    psql("INSERT INTO inbound_messages (session_id, mail_from, rcpt_to, mailbox, kind, size, sha256,"
         " raw) SELECT 't', '', 'u' || i || '@example.org', 'bounce', 'stored', 3, sha256('abc'),"
         " 'abc' FROM generate_series(1, 3000) i")

    def stats():
        return [int(v) for v in psql(
            "SELECT t.seq_scan, t.n_tup_ins, (SELECT sum(i.idx_tup_read) FROM pg_stat_user_indexes i"
            " WHERE i.relid = t.relid) FROM pg_stat_user_tables t WHERE t.relname = 'inbound_messages'")[0]]

    seq0, ins0, read0 = stats()
    rows = psql("SELECT duplicate FROM bouncer_store_inbound('t', '', 'U77@example.org', 'bounce',"
                " 'stored', 'abc', NULL) UNION ALL"
                " SELECT duplicate FROM bouncer_store_inbound('t', '', 'new@example.org', 'bounce',"
                " 'stored', 'abc', NULL)")
    eq([r[0] for r in rows], ["t", "f"], "a copy for u77 found, none for the new recipient")
    # psql's connection reports its statistics as it ends.
    wait_for(lambda: stats()[1] > ins0, 10, "the statistics of the check")
    seq, _, read = stats()
    eq(seq - seq0, 0, "sequential scans of inbound_messages")
    check(read - read0 <= 2, "index entries read by the two checks: %d" % (read - read0))


@tap.test
def unix_socket_listener_works():
    reset_database()
    with Bouncerd() as d:
        c = Lmtp(path=d.socket)
        c.lhlo()
        _, replies = c.transaction("", [POSTMASTER], message())
        eq(replies[0][:3], "250", "data reply over unix socket")
    eq(stored_count(), 1, "rows")


@tap.test
def database_down_gives_451_then_recovers_without_restart():
    reset_database()
    with Bouncerd() as d:
        c = Lmtp(d.port)
        c.lhlo()
        _, replies = c.transaction("", [POSTMASTER], message("before"))
        eq(replies[0][:3], "250", "before the outage")
        pg_stop()
        try:
            for i in range(3):
                _, replies = c.transaction("", [POSTMASTER, "messageservice@post.example.com"],
                                           message("during %d" % i))
                eq([r[:9] for r in replies], ["451 4.3.0"] * 2, "replies while the database is down")
        finally:
            pg_start()
        # Same session, same daemon: the pool reconnects on its own.
        _, replies = c.transaction("", [POSTMASTER], message("after"))
        eq(replies[0][:9], "250 2.0.0", "after the database returned")
        c.close()
        check(d.proc.poll() is None, "bouncerd still running")
    eq(stored_count(), 2, "rows: before and after, none during the outage")


@tap.test
def hundred_concurrent_sessions_all_stored():
    reset_database()
    sessions, per_session = 100, 3
    errors = []
    with Bouncerd() as d:
        def worker(n):
            try:
                c = Lmtp(d.port, timeout=120)
                c.lhlo()
                for i in range(per_session):
                    _, replies = c.transaction("", [POSTMASTER], message("s%d m%d" % (n, i)))
                    if not replies[0].startswith("250"):
                        errors.append(replies[0])
                c.cmd("QUIT")
                c.close()
            except Exception as e:  # collected, reported below
                errors.append(repr(e))
        threads = [threading.Thread(target=worker, args=(n,)) for n in range(sessions)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(180)
    eq(errors, [], "errors from sessions")
    eq(stored_count(), sessions * per_session, "rows stored")


@tap.test
def size_limit_rejects_while_streaming():
    reset_database()
    with Bouncerd({"lmtp": {"max_message_size": "64k"}}) as d:
        c = Lmtp(d.port)
        c.lhlo()
        eq(c.cmd("MAIL FROM:<> SIZE=100000")[:9], "552 5.3.4", "declared SIZE over limit")
        _, replies = c.transaction("", [POSTMASTER, POSTMASTER], message(body="x" * 200000))
        eq([r[:9] for r in replies], ["552 5.3.4"] * 2, "replies for an oversized message")
        _, replies = c.transaction("", [POSTMASTER], message(body="small"))
        eq(replies[0][:3], "250", "the session goes on")
        # The log gives the size received, not the nothing that was kept.
        sizes = [int(m) for m in re.findall(r" size=(\d+) result=552", d.log_text())]
        eq(len(sizes), 2, "a log line per recipient of the oversized message")
        check(all(n > 200000 for n in sizes), "the size received is logged: %r" % sizes)
    eq(stored_count(), 1, "only the small message stored")


@tap.test
def idle_client_is_disconnected_with_421():
    reset_database()
    with Bouncerd({"lmtp": {"command_timeout": "1"}}) as d:
        c = Lmtp(d.port)
        c.send("LHLO slow.client")  # never finished
        started = time.time()
        reply = c.reply()
        eq(reply[:9], "421 4.4.2", "timeout reply")
        check(time.time() - started < 10, "timeout took too long")
        check(c.sock.recv(10) == b"", "connection closed after 421")


@tap.test
def too_many_errors_disconnects():
    with Bouncerd({"lmtp": {"max_errors": "3"}}) as d:
        c = Lmtp(d.port)
        replies = [c.cmd("BOGUS") for _ in range(3)]
        eq([r[:3] for r in replies], ["500", "500", "500"], "errors")
        eq(c.reply()[:9], "421 4.7.0", "after the third error")
        eq(c.sock.recv(10), b"", "connection closed")


@tap.test
def sigterm_lets_a_transaction_in_data_finish():
    reset_database()
    d = Bouncerd().start()
    try:
        c = Lmtp(d.port)
        c.lhlo()
        eq(c.cmd("MAIL FROM:<>")[:3], "250", "MAIL")
        eq(c.cmd("RCPT TO:<%s>" % POSTMASTER)[:3], "250", "RCPT")
        eq(c.cmd("DATA")[:3], "354", "DATA")
        c.send(message("in flight"))
        idle = Lmtp(d.port)
        idle.lhlo()
        d.proc.send_signal(signal.SIGTERM)
        # The idle session is told to come back later ...
        eq(idle.reply()[:9], "421 4.3.2", "idle session on shutdown")
        # ... the one in DATA may finish and gets its 250.
        c.send(".\r\n")
        eq(c.reply()[:9], "250 2.0.0", "in-flight transaction")
        eq(d.proc.wait(15), 0, "exit status")
        d.check_clean_exit(d.proc.returncode)
    finally:
        if d.proc.poll() is None:
            d.proc.kill()
    eq(stored_count(), 1, "the in-flight message is stored")


@tap.test
def check_config_reports_file_and_line():
    d = Bouncerd({"lmtp": {"max_recipients": "lots"}})
    out = subprocess.run([os.path.join(BINDIR, "bouncerd"), "-c", d.config, "--check-config"],
                         capture_output=True, text=True)
    eq(out.returncode, 1, "exit status for a bad value")
    check("bouncer.conf:" in out.stderr and "max_recipients" in out.stderr, out.stderr)
    lines = open(d.config).read().splitlines()
    want = "bouncer.conf:%d:" % (lines.index("max_recipients = lots") + 1)
    check(want in out.stderr, "error %r lacks %r" % (out.stderr, want))
    with open(d.config, "a") as fh:
        fh.write("[lmtp]\nlisten_typo = 1\n")
    d2 = Bouncerd()
    with open(d2.config, "a") as fh:
        fh.write("[mail]\nbounce_domian = x\n")
    out = subprocess.run([os.path.join(BINDIR, "bouncerd"), "-c", d2.config, "--check-config"],
                         capture_output=True, text=True)
    check(out.returncode == 1 and "unknown key 'bounce_domian'" in out.stderr, out.stderr)
    d3 = Bouncerd({"database": {"conninfo": "dbname=x password=hunter2"}})
    out = subprocess.run([os.path.join(BINDIR, "bouncerd"), "-c", d3.config, "--check-config"],
                         capture_output=True, text=True)
    eq(out.returncode, 0, "exit status for a good file")
    check("hunter2" not in out.stdout and TEST_KEY.split(":")[1] not in out.stdout,
          "secrets in --check-config output")
    check("configuration ok" in out.stdout, out.stdout)


@tap.test
def documented_configuration_is_valid():
    """Every ```ini block of README.md and docs/*.md, and the example file,
    is a configuration bouncerd accepts: GKeyFile has no inline comments, so
    a "key = value  ; note" copied from the docs would not start. Port
    placeholders (LMTP_PORT) become a number."""
    files = [os.path.join(SRCDIR, "README.md")] + sorted(
        os.path.join(SRCDIR, "docs", f) for f in os.listdir(os.path.join(SRCDIR, "docs"))
        if f.endswith(".md"))
    blocks = [("docs/bouncer.conf.example", open(os.path.join(SRCDIR, "docs/bouncer.conf.example")).read())]
    for path in files:
        text = open(path).read()
        for m in re.finditer(r"```ini\n(.*?)```", text, re.S):
            where = "%s:%d" % (os.path.relpath(path, SRCDIR), text[:m.start()].count("\n") + 1)
            blocks.append((where, re.sub(r"\b[A-Z]+_PORT\b", "2424", m.group(1))))
    check(len(blocks) >= 5, "ini blocks found: %d" % len(blocks))
    with tempfile.TemporaryDirectory() as tmp:
        conf = os.path.join(tmp, "block.conf")
        for where, block in blocks:
            with open(conf, "w") as fh:
                fh.write(block)
            out = subprocess.run([os.path.join(BINDIR, "bouncerd"), "-c", conf, "--check-config"],
                                 capture_output=True, text=True)
            eq(out.returncode, 0, "%s: --check-config (%s)" % (where, out.stderr.strip()))


check_config_reports_file_and_line.needs_db = False
too_many_errors_disconnects.needs_db = True

if __name__ == "__main__":
    tap.run()
