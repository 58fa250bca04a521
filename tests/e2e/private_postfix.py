"""private_postfix - a Postfix instance of its own for the end-to-end tests.

Everything lives under one directory: the configuration (etc/main.cf,
etc/master.cf, etc/transport), the queue (spool/), the data directory
(data/) and the log file (postfix.log, written by postlogd). It is started
as root with `postfix -c DIR start`, listens on 127.0.0.1 only, on a high
port, and relays everything that is not bouncer's to the tests' SMTP sink.
The system's own Postfix (/etc/postfix) is neither read nor started.

docs/deploy.md explains the settings line by line.
"""
import os
import re
import socket
import subprocess
import time

BOUNCE_DOMAIN = "notifications.example.com"
REPLY_DOMAIN = "post.example.com"

# One line of the log per recipient and delivery attempt:
#   postfix/lmtp[123]: 4Z1...: to=<a@b>, relay=..., delay=..., dsn=2.0.0, status=sent (250 ...)
DELIVERY = re.compile(r"postfix/(?P<service>[\w/-]+)\[\d+\]: (?P<qid>[0-9A-Za-z]+): "
                      r"to=<(?P<rcpt>[^>]*)>, (?:orig_to=<[^>]*>, )?relay=(?P<relay>[^,]*), "
                      r".*?dsn=(?P<dsn>[0-9.]+), status=(?P<status>\w+) \((?P<text>.*)\)$")

MASTER_CF = """\
# service type  private unpriv  chroot  wakeup  maxproc command + args
{smtpd_port} inet n       -       n       -       -       smtpd
{verify_port} inet n       -       n       -       -       smtpd
  -o smtpd_recipient_restrictions=reject_unverified_recipient,permit_mynetworks,reject
  -o unverified_recipient_reject_code=550
  -o address_verify_poll_delay=1s
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

MAIN_CF = """\
# A private Postfix instance for bouncer's end-to-end tests.
compatibility_level = 3.6
queue_directory = {queue}
data_directory = {data}
maillog_file = {log}
maillog_file_prefixes = {base}
myhostname = mx.e2e.example
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
smtpd_recipient_restrictions = permit_mynetworks, reject
relay_domains = {bounce_domain}, {reply_domain}
transport_maps = hash:{etc}/transport
relayhost = [127.0.0.1]:{sink_port}
queue_run_delay = 5s
minimal_backoff_time = 5s
maximal_backoff_time = 10s
"""

TRANSPORT = """\
{bounce_domain}   lmtp:unix:{lmtp_socket}
{reply_domain}            lmtp:inet:127.0.0.1:{lmtp_port}
"""


def _run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, **kw)


class PrivatePostfix:
    def __init__(self, base, smtpd_port, verify_port, sink_port, lmtp_socket, lmtp_port):
        self.base = base
        self.etc = os.path.join(base, "etc")
        self.queue = os.path.join(base, "spool")
        self.data = os.path.join(base, "data")
        self.log = os.path.join(base, "postfix.log")
        self.smtpd_port = smtpd_port
        self.verify_port = verify_port
        self.values = dict(base=base, etc=self.etc, queue=self.queue, data=self.data, log=self.log,
                           smtpd_port=smtpd_port, verify_port=verify_port, sink_port=sink_port, lmtp_socket=lmtp_socket,
                           lmtp_port=lmtp_port, bounce_domain=BOUNCE_DOMAIN,
                           reply_domain=REPLY_DOMAIN)
        self.started = False

    def write_config(self):
        for d in (self.etc, self.queue):
            os.makedirs(d, exist_ok=True)
            os.chmod(d, 0o755)
        os.chmod(self.base, 0o755)
        for name, text in (("main.cf", MAIN_CF), ("master.cf", MASTER_CF),
                           ("transport", TRANSPORT)):
            with open(os.path.join(self.etc, name), "w") as fh:
                fh.write(text.format(**self.values))
        out = _run(["postmap", "-c", self.etc, "hash:" + os.path.join(self.etc, "transport")])
        if out.returncode != 0:
            raise AssertionError("postmap failed: " + out.stderr.strip())

    def postconf(self, *names):
        out = _run(["postconf", "-c", self.etc, "-h"] + list(names))
        return out.stdout.splitlines()

    def start(self, timeout=30):
        self.write_config()
        out = _run(["postfix", "-c", self.etc, "start"])
        if out.returncode != 0:
            raise AssertionError("postfix -c %s start failed (%d): %s%s"
                                 % (self.etc, out.returncode, out.stdout, out.stderr))
        self.started = True
        for port in (self.smtpd_port, self.verify_port):
            deadline = time.time() + timeout
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.time() > deadline:
                        raise AssertionError("Postfix's smtpd did not accept connections on port %d"
                                             % port)
                    time.sleep(0.1)
        return self

    def stop(self):
        if self.started:
            _run(["postfix", "-c", self.etc, "stop"])
            self.started = False

    def running(self):
        return _run(["postfix", "-c", self.etc, "status"]).returncode == 0

    def flush(self):
        out = _run(["postqueue", "-c", self.etc, "-f"])
        if out.returncode != 0:
            raise AssertionError("postqueue -f failed: " + out.stderr.strip())

    def queue_listing(self):
        return _run(["postqueue", "-c", self.etc, "-p"]).stdout

    def log_text(self):
        try:
            with open(self.log, errors="replace") as fh:
                return fh.read()
        except FileNotFoundError:
            return ""

    def deliveries(self, rcpt=None, qid=None):
        """Delivery attempts in the log as dicts (service, qid, rcpt, relay,
        dsn, status, text), oldest first."""
        found = []
        for line in self.log_text().splitlines():
            m = DELIVERY.search(line)
            if not m:
                continue
            d = m.groupdict()
            if rcpt is not None and d["rcpt"].lower() != rcpt.lower():
                continue
            if qid is not None and d["qid"] != qid:
                continue
            found.append(d)
        return found
