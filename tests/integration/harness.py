"""harness - what the integration tests share: TAP output, a real bouncerd
started from a test configuration, a raw LMTP client, and the test
PostgreSQL started by tests/run.sh (psql and pgcluster.sh, no drivers).

Every test talks to real things: real sockets, a real PostgreSQL, the real
binaries in $BOUNCER_BINDIR.
"""
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback

SRCDIR = os.environ.get("BOUNCER_SRCDIR", os.getcwd())
BINDIR = os.environ.get("BOUNCER_BINDIR", os.path.join(SRCDIR, "bin"))
CONNINFO = os.environ.get("BOUNCER_TEST_CONNINFO")
PGDIR = os.environ.get("BOUNCER_TEST_PGDIR")

# A fixed test key: tokens minted with it are valid for the daemon under test.
TEST_KEY = "1:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"


# --- TAP -------------------------------------------------------------------

# Directories the tests of this process made: removed when every test
# passed, kept (and named) for a look when one failed.
_scratch_dirs = []


def scratch_dir(prefix):
    """A new directory under the temporary directory, for one test's files."""
    path = tempfile.mkdtemp(prefix=prefix)
    _scratch_dirs.append(path)
    return path


class Skip(Exception):
    """Raised by a test that cannot run here; TAP says it was skipped, and
    why, rather than that it passed."""


class Tap:
    """Collects test functions and runs them, printing TAP."""

    def __init__(self):
        self.tests = []

    def test(self, fn):
        self.tests.append(fn)
        return fn

    def run(self):
        print("1..%d" % len(self.tests), flush=True)
        failed = 0
        for n, fn in enumerate(self.tests, 1):
            name = fn.__name__
            if CONNINFO is None and getattr(fn, "needs_db", True):
                print("ok %d - %s # SKIP no test PostgreSQL" % (n, name), flush=True)
                continue
            try:
                fn()
                print("ok %d - %s" % (n, name), flush=True)
            except Skip as why:
                print("ok %d - %s # SKIP %s" % (n, name, why), flush=True)
            except Exception:
                failed += 1
                print("not ok %d - %s" % (n, name), flush=True)
                for line in traceback.format_exc().splitlines():
                    print("# " + line, flush=True)
        for path in _scratch_dirs:
            if failed:
                if os.path.isdir(path):
                    print("# kept for a look: %s" % path, flush=True)
            else:
                shutil.rmtree(path, ignore_errors=True)
        sys.exit(1 if failed else 0)


def check(cond, message):
    if not cond:
        raise AssertionError(message)


def eq(got, want, what="value"):
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (what, got, want))


def wait_for(predicate, timeout=10.0, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))


# --- PostgreSQL --------------------------------------------------------------

def psql(sql, *args):
    """Run one query, return rows as lists of strings. Args bind as
    psql variables :'v1', :'v2' ... (quoted by psql, never by us)."""
    cmd = ["psql", CONNINFO, "-X", "-q", "-t", "-A", "-F", "\t", "-v", "ON_ERROR_STOP=1"]
    for i, a in enumerate(args, 1):
        cmd += ["-v", "v%d=%s" % (i, a)]
    out = subprocess.run(cmd, input=sql, capture_output=True, text=True)
    if out.returncode != 0:
        raise AssertionError("psql failed: %s" % out.stderr.strip())
    return [line.split("\t") for line in out.stdout.splitlines() if line != ""]


def pg_stop():
    subprocess.run(["sh", os.path.join(SRCDIR, "scripts/pgcluster.sh"), "stop", PGDIR], check=True)


def pg_start():
    subprocess.run(["sh", os.path.join(SRCDIR, "scripts/pgcluster.sh"), "start", PGDIR], check=True)


def reset_database():
    """Schema up to date and every bouncer table empty."""
    subprocess.run([os.path.join(BINDIR, "bouncerctl"), "migrate", "--conninfo", CONNINFO],
                   check=True, capture_output=True)
    tables = [r[0] for r in psql(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
        "AND tablename <> 'bouncer_schema_migrations'")]
    if tables:
        psql("TRUNCATE %s RESTART IDENTITY CASCADE" % ", ".join(tables))


# --- bouncerd ----------------------------------------------------------------

_ports_given = set()


def free_port():
    """A loopback port nobody listens on, for a listener of a test. Not
    one the kernel picks for port 0: those are the ephemeral range, which
    outgoing connections take their source ports from, and which handed
    the same port to two listeners of one bouncerd (LMTP and events) now
    and then. A port below that range, not given before in this process,
    that can be bound now."""
    low, high = 20000, 32768
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            first = int(f.read().split()[0])
        if low + 1000 < first < high:
            high = first
    except (OSError, ValueError, IndexError):
        pass
    rng = random.Random()
    for _ in range(1000):
        port = rng.randrange(low, high)
        if port in _ports_given:
            continue
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            s.close()
        _ports_given.add(port)
        return port
    raise AssertionError("no free loopback port below the ephemeral range")


class Bouncerd:
    """bouncerd on a free loopback port and a unix socket in a temp dir.
    `extra` adds "[group] key = value" settings: {"lmtp": {"max_errors": "3"}}."""

    def __init__(self, extra=None):
        self.dir = scratch_dir("bouncerd-test.")
        self.port = free_port()
        self.socket = os.path.join(self.dir, "lmtp.sock")
        self.log = os.path.join(self.dir, "bouncerd.log")
        settings = {
            "lmtp": {"listen": "127.0.0.1:%d" % self.port, "socket": self.socket,
                     "hostname": "bouncer.test"},
            "mail": {"bounce_domain": "notifications.example.com",
                     "reply_mailbox": "messageservice@post.example.com"},
            "database": {"conninfo": CONNINFO or "", "pool_size": "8"},
            "log": {"file": self.log, "level": "debug"},
            "daemon": {"shutdown_timeout": "5"},
            "token": {"keys": TEST_KEY, "current_key": "1"},
            # Never the default port: another bouncerd (make run) may hold it.
            "events": {"endpoints": "tcp://127.0.0.1:%d" % free_port()},
        }
        for group, values in (extra or {}).items():
            settings.setdefault(group, {}).update(values)
        self.config = os.path.join(self.dir, "bouncer.conf")
        with open(self.config, "w") as fh:
            for group, values in settings.items():
                fh.write("[%s]\n" % group)
                for k, v in values.items():
                    fh.write("%s = %s\n" % (k, v))
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([os.path.join(BINDIR, "bouncerd"), "-c", self.config],
                                     stdout=subprocess.DEVNULL, stderr=open(self.log + ".err", "w"))
        wait_for(self._accepting, 10, "bouncerd to accept connections")
        return self

    def _accepting(self):
        if self.proc.poll() is not None:
            raise AssertionError("bouncerd exited with %s: %s" % (self.proc.returncode, self.stderr()))
        # A connection is taken by the kernel as soon as the socket
        # listens, before bouncerd has dropped its privileges and started
        # serving: ready is the greeting.
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                return s.recv(512).startswith(b"220")
        except OSError:
            return False

    def stderr(self):
        with open(self.log + ".err") as fh:
            return fh.read()

    def log_text(self):
        try:
            with open(self.log) as fh:
                return fh.read()
        except FileNotFoundError:
            return ""

    def stop(self, sig=15, timeout=20):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout)
        return self.proc.returncode

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        try:
            code = self.stop()
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError("bouncerd did not stop within 20 s of SIGTERM")
        if exc_type is None:
            self.check_clean_exit(code)

    def check_clean_exit(self, code):
        """A clean stop: exit 0 and no sanitizer report (ASan, UBSan, LSan
        builds print them to stderr and change the exit status)."""
        err = self.stderr()
        for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:", "UndefinedBehavior"):
            if marker in err:
                raise AssertionError("bouncerd stderr has a %s report:\n%s" % (marker, err[-3000:]))
        if code != 0:
            raise AssertionError("bouncerd exited with %s after SIGTERM: %s" % (code, err[-2000:]))
        shutil.rmtree(self.dir, ignore_errors=True)


# --- a raw LMTP client --------------------------------------------------------

class Lmtp:
    """Speaks LMTP byte for byte, so tests see every reply as sent."""

    def __init__(self, port=None, path=None, timeout=30):
        if path:
            self.sock = socket.socket(socket.AF_UNIX)
            self.sock.settimeout(timeout)
            self.sock.connect(path)
        else:
            self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.greeting = self.reply()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed; pending %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def reply(self):
        """One whole (possibly multi-line) reply as 'code text' of its last line."""
        lines = [self.line()]
        while len(lines[-1]) > 3 and lines[-1][3] == "-":
            lines.append(self.line())
        return lines[-1] if len(lines) == 1 else "\n".join(lines)

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.reply()

    def lhlo(self):
        return self.cmd("LHLO client.test")

    def transaction(self, mail_from, rcpts, message):
        """MAIL, RCPTs, DATA pipelined; returns (rcpt replies, data replies)."""
        if isinstance(message, str):
            message = message.encode()
        stuffed = message.replace(b"\r\n.", b"\r\n..")
        if stuffed.startswith(b"."):
            stuffed = b"." + stuffed
        if not stuffed.endswith(b"\r\n"):
            stuffed += b"\r\n"
        out = "MAIL FROM:<%s>\r\n" % mail_from
        out += "".join("RCPT TO:<%s>\r\n" % r for r in rcpts)
        out += "DATA\r\n"
        self.send(out)
        mail = self.reply()
        if not mail.startswith("250"):
            raise AssertionError("MAIL refused: " + mail)
        rcpt_replies = [self.reply() for _ in rcpts]
        accepted = sum(1 for r in rcpt_replies if r.startswith("250"))
        data = self.reply()
        if not data.startswith("354"):
            return rcpt_replies, [data]
        self.send(stuffed + b".\r\n")
        return rcpt_replies, [self.reply() for _ in range(accepted)]

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def message(subject="test", body="hello", extra_headers=""):
    return ("From: sender@example.org\r\nTo: someone@example.com\r\n"
            "Subject: %s\r\nMessage-ID: <%s@example.org>\r\n%s\r\n%s\r\n"
            % (subject, os.urandom(8).hex(), extra_headers, body))
