"""smtp_sink - a real SMTP listener for the tests (aiosmtpd, Debian's
python3-aiosmtpd), standing in for the relay. Its mode decides the answer:
'accept', 'tempfail' (451 at RCPT), 'permfail' (550 at RCPT), 'needtls'
(530 at MAIL: the relay wants STARTTLS, a configuration matter),
'reject-data' (554 after the data: the message refused) or 'lost-reply' (the first message is kept but answered 451, as when the
reply after DATA never reached the client; later ones are accepted)."""
import email
import email.policy
import threading

from aiosmtpd.controller import Controller


class _Handler:
    def __init__(self, sink):
        self.sink = sink

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.sink.mode == "needtls":
            self.sink.attempts += 1
            return "530 5.7.0 Must issue a STARTTLS command first"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.sink.attempts += 1
        if self.sink.mode == "tempfail":
            return "451 4.3.0 try again later"
        if self.sink.mode == "permfail":
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.sink.lock:
            self.sink.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                                       bytes(envelope.original_content)))
            if self.sink.mode == "lost-reply" and len(self.sink.messages) == 1:
                return "451 4.3.0 try again later"
            if self.sink.mode == "reject-data":
                return "554 5.7.1 message refused"
        return "250 2.0.0 queued"


class SmtpSink:
    def __init__(self, port, mode="accept"):
        self.port = port
        self.mode = mode
        self.messages = []
        self.attempts = 0
        self.lock = threading.Lock()
        self.controller = None

    def start(self):
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port,
                                     decode_data=False)
        self.controller.start()
        return self

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def parsed(self):
        """Messages as (mail_from, rcpts, email.message.EmailMessage)."""
        with self.lock:
            return [(f, r, email.message_from_bytes(raw, policy=email.policy.default))
                    for f, r, raw in self.messages]

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
