"""The parse of a message grows in proportion to the message: twice the
bytes of one kind of input, at most about twice the work. Each test builds
one hostile shape at two sizes and counts, with callgrind, the instructions
bouncerctl spends inside bounce_report_parse (start-up excluded), so the
answer does not depend on how busy the machine is. Every shape here once
cost the square (or the cube) of its size: minutes for a few hundred
kilobytes, a session thread of bouncerd held as long.

The last test bounds memory instead: a parse held under an address-space
limit must finish. Neither kind is run in a sanitizer build: valgrind
cannot run those binaries, and they reserve more address space than any
such limit."""
import os
import resource
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BINDIR, Skip, Tap, check

tap = Tap()
KIB = 1024
# Linear work gives about 2.0-2.2 from one size to twice that; the shapes
# below gave 3.1-4.0 before they were made linear.
MAX_GROWTH = 2.8
# And a bound on the work itself: the most any shape here costs now is
# about 2 900 instructions a byte (blank lines, read by the interpreter
# before the rules are JIT-compiled). A line dense with '@' cost 470 000 a
# byte, growing no faster only because PCRE2's step limit capped each run.
MAX_PER_BYTE = 20000

HEADER = ("From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\n"
          "To: sender@example.org\n"
          "Subject: Undelivered Mail Returned to Sender\n"
          "Message-ID: <growth@mx.example.net>\n"
          "Date: Mon, 2 Mar 2026 10:00:00 +0000\n"
          "MIME-Version: 1.0\n")


def sanitized():
    out = subprocess.run(["nm", os.path.join(BINDIR, "bouncerctl")], capture_output=True)
    return b"__asan_init" in out.stdout or b"__ubsan_handle" in out.stdout


def no_db(fn):
    fn.needs_db = False
    return tap.test(fn)


def repeat(unit, size):
    return unit * max(1, size // len(unit))


def text_message(body, extra=""):
    return HEADER + extra + "Content-Type: text/plain; charset=us-ascii\n\n" + body


def dsn_message(text, groups):
    return (HEADER + "Content-Type: multipart/report; report-type=delivery-status;\n"
            " boundary=\"B\"\n\n--B\nContent-Type: text/plain\n\n" + text
            + "\n--B\nContent-Type: message/delivery-status\n\n"
            "Reporting-MTA: dns; mx.example.net\n\n" + groups + "--B--\n")


def instructions(message):
    """Instructions inside bounce_report_parse for one message."""
    with tempfile.TemporaryDirectory() as tmp:
        eml = os.path.join(tmp, "m.eml")
        out = os.path.join(tmp, "callgrind.out")
        with open(eml, "w") as f:
            f.write(message)
        run = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
                              "--toggle-collect=bounce_report_parse",
                              os.path.join(BINDIR, "bouncerctl"), "parse", "--jobs=1", eml],
                             capture_output=True, timeout=600)
        check(run.returncode == 0, "valgrind ran: %s" % run.stderr.decode()[-300:])
        with open(out) as f:
            for line in f:
                if line.startswith("totals:") or line.startswith("summary:"):
                    return int(line.split()[1])
    raise AssertionError("no totals in the callgrind output")


def grows_linearly(what, make, size):
    if sanitized():
        raise Skip("sanitizer build: valgrind cannot run it")
    small_message, large_message = make(size), make(2 * size)
    small, large = instructions(small_message), instructions(large_message)
    growth = large / small
    per_byte = large / len(large_message)
    print("# %s: %d -> %d instructions (x%.2f), %.0f a byte"
          % (what, small, large, growth, per_byte))
    check(growth < MAX_GROWTH, "%s: twice the input cost x%.2f the work" % (what, growth))
    check(per_byte < MAX_PER_BYTE, "%s: %.0f instructions a byte" % (what, per_byte))


@no_db
def blank_lines_before_the_original():
    # A run of blank lines: a mark pattern starting "^\s*" read the rest of
    # the run from every line of it (until it ran JIT-compiled).
    grows_linearly("blank lines",
                   lambda n: text_message("Delivery to <a@example.com> failed: 550 5.1.1 unknown\n"
                                          + "\n" * n + "original message headers follow x\n"),
                   16 * KIB)


@no_db
def a_line_dense_with_at_signs():
    # A recipient line's local part took '@' too, so the pattern tried
    # every '@' of the line as the one, and read the rest of it each time.
    grows_linearly("one line of a@a.", lambda n: text_message(repeat("a@a.", n) + ": x\n"),
                   8 * KIB)
    grows_linearly("one line of <\"\"@", lambda n: text_message("<" + repeat('""@', n) + ":\n"),
                   8 * KIB)


@no_db
def dsn_recipients_without_diagnostics():
    # Each recipient without a Diagnostic-Code read the whole text again for
    # its own: recipients times text.
    def make(n):
        text = repeat("The message could not be delivered to a recipient, see below.\n", n // 2)
        groups = repeat("Final-Recipient: rfc822; user@example.com\nAction: failed\n"
                        "Status: 5.0.0\n\n", n // 2)
        return dsn_message(text, groups)
    grows_linearly("DSN recipients without diagnostics", make, 16 * KIB)


@no_db
def original_marks_before_pasted_dsn_fields():
    # DSN fields pasted into a notice's text are read only before qmail's
    # or Exim's mark of the copy it returns; that mark was looked for again
    # after every other mark ("Original message:", a long quoted thread):
    # marks times text.
    grows_linearly("original-message marks before pasted DSN fields", lambda n: text_message(
        repeat("Original message:\n", n)
        + "Final-Recipient: rfc822; jane.doe@example.com\nAction: failed\nStatus: 5.1.1\n"),
        16 * KIB)


@no_db
def a_paragraph_repeating_its_recipient():
    # In a notice naming two recipients, each mention of one began a look
    # for its SMTP command that read to the end of its paragraph: a
    # paragraph naming its address on every line was read once a line.
    grows_linearly("a paragraph repeating its recipient", lambda n: text_message(
        repeat("<a@x.example>: 550 5.1.1 unknown (in reply to RCPT TO command)\n", n)
        + "<b@y.example>: 550 5.7.1 Sender rejected (in reply to MAIL FROM command)\n"),
        7 * KIB)


@no_db
def the_same_line_many_times():
    # Each line looked its words up in the map of the whole body, whose
    # start it was.
    grows_linearly("the same line", lambda n: text_message(
        repeat("Your mail to someone@example.com could not be delivered there\n", n)), 16 * KIB)


@no_db
def many_header_fields_and_addresses():
    # Each line with an address read the header fields again to see whether
    # it was the sender's own.
    def make(n):
        fields = repeat("Received: from relay.example.net by mx.example.net; Mon, 2 Mar 2026\n",
                        n // 2)
        return text_message(repeat("  a@b.example\n", n // 2), fields)
    grows_linearly("header fields and addresses", make, 16 * KIB)


@no_db
def one_line_of_recipient_fields():
    # Each "recipient:" walked back to the start of its line.
    grows_linearly("recipient: on one line",
                   lambda n: text_message(repeat("x recipient: ", n) + "\n"), 16 * KIB)


@no_db
def many_empty_mime_parts_in_bounded_memory():
    # GMime built every part of a message before the first 256 were read,
    # some 1.4 KB each: 4 MB of empty parts took over a gigabyte, and GLib
    # aborts the process when an allocation fails.
    if sanitized():
        raise Skip("sanitizer build: its address space is reserved up front")
    limit = 256 * 1024 * 1024
    message = (HEADER + "Content-Type: multipart/mixed; boundary=\"P\"\n\n"
               + repeat("--P\n\n", 4 * 1024 * KIB) + "--P--\n")
    with tempfile.TemporaryDirectory() as tmp:
        eml = os.path.join(tmp, "parts.eml")
        with open(eml, "w") as f:
            f.write(message)
        run = subprocess.run([os.path.join(BINDIR, "bouncerctl"), "parse", "--jobs=1", eml],
                             capture_output=True, timeout=120,
                             preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS,
                                                                   (limit, limit)))
    check(run.returncode == 0, "parsed within 256 MB of address space (exit %d: %s)"
          % (run.returncode, run.stderr.decode()[-200:]))
    check(b'"kind":"notbounce"' in run.stdout, "one answer for the message")


if __name__ == "__main__":
    tap.run()
