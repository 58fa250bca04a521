"""bouncerctl parse as a command: files parsed by several threads still come
out one line each, in the order given, whatever the thread count; a file
that cannot be read is said on stderr in its place and makes the exit
status 1; standard input is read where it stands among the arguments. No
database is needed: bin/bouncerctl does not even load libpq, and runs
bouncerctl-db beside it for the commands that need the database."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BINDIR, SRCDIR, Skip, Tap, check, eq

tap = Tap()
FIXTURES = os.path.join(SRCDIR, "tests/fixtures/bounces")


def no_db(fn):
    fn.needs_db = False
    return tap.test(fn)


def parse(*args, stdin=None, cwd=None):
    cmd = [os.path.join(BINDIR, "bouncerctl"), "parse"] + list(args)
    out = subprocess.run(cmd, capture_output=True, input=stdin, timeout=60, cwd=cwd)
    return out.returncode, out.stdout.decode(), out.stderr.decode()


def emails():
    return sorted(os.path.join(FIXTURES, n) for n in os.listdir(FIXTURES) if n.endswith(".eml"))


def files_of(stdout):
    return [json.loads(line)["file"] for line in stdout.splitlines()]


@no_db
def same_output_with_one_thread_and_many():
    rc1, one, _ = parse("--jobs=1", FIXTURES)
    rc8, many, _ = parse("--jobs=8", FIXTURES)
    eq((rc1, rc8), (0, 0), "exit statuses")
    check(len(one.splitlines()) == len(os.listdir(FIXTURES)), "one line per file")
    eq(many, one, "output with 8 threads")
    names = files_of(one)
    eq(names, sorted(names), "a directory's files in name order")


@no_db
def many_threads_on_one_processor():
    # Threads are kept to processors of their own when there are several;
    # confined to one, they share it and the output is the same.
    taskset = shutil.which("taskset")   # util-linux: on every Debian system
    check(taskset is not None, "taskset is installed")
    one_cpu = str(min(os.sched_getaffinity(0)))
    cmd = [taskset, "-c", one_cpu, os.path.join(BINDIR, "bouncerctl"), "parse", "--jobs=4", FIXTURES]
    out = subprocess.run(cmd, capture_output=True, timeout=60)
    _, one, _ = parse("--jobs=1", FIXTURES)
    eq(out.returncode, 0, "exit status: %s" % out.stderr.decode())
    eq(out.stdout.decode(), one, "output of 4 threads on one processor")


@no_db
def files_in_argument_order_not_name_order():
    # Reversed, and each file twice: the slots are per argument.
    order = list(reversed(emails())) * 2
    rc, out, _ = parse("--jobs=4", *order)
    eq(rc, 0, "exit status")
    eq(files_of(out), order, "files printed in the order given")


@no_db
def unreadable_file_reported_in_place():
    with tempfile.TemporaryDirectory() as tmp:
        missing = os.path.join(tmp, "dangling.eml")
        os.symlink(os.path.join(tmp, "nowhere"), missing)
        first, last = emails()[0], emails()[-1]
        rc, out, err = parse("--jobs=3", first, missing, last)
        eq(rc, 1, "exit status when one file cannot be read")
        eq(files_of(out), [first, last], "the readable files are still printed")
        check("dangling.eml" in err, "stderr names the file: %r" % err)
        # Both streams into one file, as a log does: the error between them.
        both = subprocess.run([os.path.join(BINDIR, "bouncerctl"), "parse", "--jobs=3",
                               first, missing, last],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        lines = both.stdout.decode().splitlines()
        eq(len(lines), 3, "three lines: %r" % lines)
        check(lines[0].startswith("{") and lines[2].startswith("{")
              and "dangling.eml" in lines[1] and not lines[1].startswith("{"),
              "the error line stands between the two files: %r" % lines)


@no_db
def unlistable_directory_reported_in_place():
    # A directory nobody may list, between two files: its error line comes
    # between theirs. root lists anything, so the command then runs as
    # nobody, from copies that user can reach.
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        ctl = os.path.join(tmp, "bouncerctl")
        shutil.copy2(os.path.join(BINDIR, "bouncerctl"), ctl)
        first, last = os.path.join(tmp, "a.eml"), os.path.join(tmp, "z.eml")
        shutil.copyfile(emails()[0], first)
        shutil.copyfile(emails()[-1], last)
        closed = os.path.join(tmp, "closed")
        os.mkdir(closed, 0o000)
        os.chmod(closed, 0o000)
        cmd = [ctl, "parse", "--jobs=2", first, closed, last]
        if os.geteuid() == 0:
            setpriv = shutil.which("setpriv")   # util-linux
            check(setpriv is not None, "setpriv is installed")
            cmd = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"] + cmd
        out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        lines = out.stdout.decode().splitlines()
        eq(out.returncode, 1, "exit status: %r" % lines)
        eq(len(lines), 3, "three lines: %r" % lines)
        check(json.loads(lines[0])["file"] == first and json.loads(lines[2])["file"] == last
              and "closed" in lines[1] and "ermission denied" in lines[1],
              "the directory's error between the two files: %r" % lines)


@no_db
def output_that_cannot_be_written_fails():
    with open("/dev/full", "wb") as full:
        out = subprocess.run([os.path.join(BINDIR, "bouncerctl"), "parse", FIXTURES],
                             stdout=full, stderr=subprocess.PIPE, timeout=60)
    eq(out.returncode, 1, "exit status when standard output is full")
    check("cannot write" in out.stderr.decode(), "stderr says why: %r" % out.stderr)


@no_db
def after_a_double_dash_every_argument_is_a_file():
    with tempfile.TemporaryDirectory() as tmp:
        named = os.path.join(tmp, "--pretty")
        shutil.copyfile(emails()[0], named)
        rc, out, err = parse("--", "--pretty", cwd=tmp)
        eq(rc, 0, "exit status: %r" % err)
        eq(files_of(out), ["--pretty"], "the file named --pretty is parsed, on one line")


@no_db
def a_file_too_large_is_refused_in_place():
    # 4.5 GiB, sparse: once overran a 32-bit length and crashed. Refused
    # unread, beyond the 512 MiB bouncerd may be set to accept.
    with tempfile.TemporaryDirectory() as tmp:
        big = os.path.join(tmp, "big.eml")
        with open(big, "wb") as f:
            f.truncate(4500 * 1024 * 1024)
        first, last = emails()[0], emails()[-1]
        rc, out, err = parse("--jobs=2", first, big, last)
        eq(rc, 1, "exit status: %r" % err)
        eq(files_of(out), [first, last], "the other files are still printed")
        check("big.eml" in err and "larger than 512 MiB" in err, "stderr says why: %r" % err)


@no_db
def stdin_between_files():
    first, last = emails()[0], emails()[-1]
    with open(emails()[1], "rb") as f:
        rc, out, _ = parse("--jobs=2", first, "-", last, stdin=f.read())
    eq(rc, 0, "exit status")
    eq(files_of(out), [first, "-", last], "standard input where it stands")


@no_db
def jobs_must_be_a_small_number():
    for bad in ("--jobs=0", "--jobs=x", "--jobs=65", "--jobs="):
        rc, out, err = parse(bad, FIXTURES)
        eq(rc, 2, "exit status of %s" % bad)
        eq(out, "", "nothing printed for %s" % bad)
        check("--jobs" in err, "the error names the option: %r" % err)


@no_db
def bouncerctl_does_not_load_libpq():
    readelf = shutil.which("readelf")
    if readelf is None:
        raise Skip("readelf (binutils) is not installed")
    out = subprocess.run([readelf, "-d", os.path.join(BINDIR, "bouncerctl")],
                         capture_output=True, text=True, timeout=60)
    eq(out.returncode, 0, "readelf -d exit status")
    needed = re.findall(r"\(NEEDED\).*\[(.+)\]", out.stdout)
    check("libc.so.6" in needed, "readelf shows the libraries needed: %r" % needed)
    for lib in needed:
        check(not re.match(r"lib(pq|zmq|curl|microhttpd|ssl|crypto|gssapi_krb5|ldap)\b", lib),
              "bin/bouncerctl needs %s (only bouncerctl-db may): %r" % (lib, needed))


def static_link_or_skip(archive):
    # Asked of scripts/static-libs.sh as the Makefile asks it, so a machine
    # where it links shared skips rather than fails.
    with open(os.path.join(SRCDIR, "Makefile")) as f:
        pkgs = re.search(r"^CTL_FRONT_PKGS\s*:=\s*(.+)$", f.read(), re.M).group(1).split()
    link = subprocess.run(["sh", os.path.join(SRCDIR, "scripts", "static-libs.sh"),
                           os.environ.get("CC", "cc")] + pkgs,
                          capture_output=True, text=True, timeout=60)
    eq(link.returncode, 0, "static-libs.sh: %r" % link.stderr)
    if "-Wl,-Bstatic -l%s " % archive not in link.stdout + " ":
        raise Skip("%s is linked shared here: %s" % (archive, link.stdout.strip()))


def objects_loaded(ctl, *args):
    # The shared objects the dynamic loader initialises in a run, at start
    # or later (dlopen), and the run's output.
    out = subprocess.run([os.path.join(BINDIR, ctl), "parse"] + list(args),
                         capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, LD_DEBUG="libs"))
    eq(out.returncode, 0, "%s parse exit status: %r" % (ctl, out.stderr[-2000:]))
    loaded = re.findall(r"calling init: (\S+)", out.stderr)
    check(any("libc.so.6" in lib for lib in loaded), "LD_DEBUG lists the objects: %r" % loaded)
    return loaded, out.stdout


@no_db
def bouncerctl_loads_no_shared_glib():
    # GLib, GObject, GIO, GMime, PCRE2 and json-c are linked into
    # bin/bouncerctl where the archives are there (scripts/static-libs.sh):
    # loading and binding them was a fifth of a corpus parse. A shared copy
    # loaded beside the static ones, at start or later (a GIO module), would
    # also be a second type system.
    static_link_or_skip("glib-2.0")
    loaded, _ = objects_loaded("bouncerctl", FIXTURES)
    for lib in loaded:
        check(not re.search(r"/lib(glib|gobject|gio|gmodule|gmime|json-c|json-glib|ffi)-?[^/]*$"
                            r"|/gio/modules/", lib),
              "bin/bouncerctl loads %s: %r" % (lib, loaded))


# What GMime and GIO need of gpgme, libidn2, libmount and libselinux, and
# what those load in turn (cmd/deferred_libs.c).
DEFERRED_LIBS = r"/lib(gpgme|assuan|gpg-error|idn2|unistring|mount|blkid|selinux|sepol)\.so[^/]*$"

# Read by GMime (the splitter leaves RFC 2231 parameters to it), about an
# address whose domain is an IDNA A-label, which GMime decodes with libidn2.
IDN_BOUNCE = """From: Mail Delivery System <MAILER-DAEMON@mx.xn--mnchen-3ya.example>
To: b1@notifications.example.com
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary*0="idn"; boundary*1="-1"

--idn-1
Content-Type: text/plain

<user@xn--mnchen-3ya.example>: host mx.xn--mnchen-3ya.example said:
    550 5.1.1 <user@xn--mnchen-3ya.example>: user unknown

--idn-1
Content-Type: message/delivery-status

Reporting-MTA: dns; relay.example.net

Final-Recipient: rfc822; user@xn--mnchen-3ya.example
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <user@xn--mnchen-3ya.example>: user unknown

--idn-1--
"""


@no_db
def bouncerctl_opens_gmime_helpers_on_first_call():
    # Nine shared objects that a parse does not call were a tenth of a
    # corpus parse, mapped and relocated at start: bin/bouncerctl opens each
    # on its first call instead. The fixtures need none of them; a message
    # GMime reads with an international domain opens libidn2, and reads as
    # bouncerctl-db, which loads them all at start, reads it.
    static_link_or_skip("gmime-3.0")
    loaded, _ = objects_loaded("bouncerctl", FIXTURES)
    for lib in loaded:
        check(not re.search(DEFERRED_LIBS, lib), "bin/bouncerctl loads %s: %r" % (lib, loaded))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "idn.eml")
        with open(path, "w") as f:
            f.write(IDN_BOUNCE)
        loaded, front = objects_loaded("bouncerctl", path)
        check(any(re.search(r"/libidn2\.so", lib) for lib in loaded),
              "libidn2 opened for an IDN GMime reads: %r" % loaded)
        _, whole = objects_loaded("bouncerctl-db", path)
    eq(front, whole, "bouncerctl and bouncerctl-db read the message alike")
    rcpt = json.loads(front)["recipients"]
    eq([(r["addr"], r["status"]) for r in rcpt], [("user@xn--mnchen-3ya.example", "5.1.1")],
       "the recipient")


@no_db
def bouncerctl_stops_cleanly_without_a_deferred_library():
    # Where the library opened on first call lacks the function (here a
    # stand-in libidn2 found first on LD_LIBRARY_PATH), the run stops as
    # the loader stops a program whose library is missing: status 127, and
    # it says which. The files parsed before are printed, none after.
    static_link_or_skip("gmime-3.0")
    with tempfile.TemporaryDirectory() as tmp:
        empty_c = os.path.join(tmp, "empty.c")
        with open(empty_c, "w") as f:
            f.write("int bouncer_stand_in;\n")
        built = subprocess.run([os.environ.get("CC", "cc"), "-shared", "-fPIC", "-o",
                                os.path.join(tmp, "libidn2.so.0"), empty_c],
                               capture_output=True, text=True, timeout=60)
        eq(built.returncode, 0, "stand-in library built: %r" % built.stderr)
        first = emails()[0]
        idn = os.path.join(tmp, "idn.eml")
        with open(idn, "w") as f:
            f.write(IDN_BOUNCE)
        out = subprocess.run([os.path.join(BINDIR, "bouncerctl"), "parse", "--jobs=1", first, idn,
                              first], capture_output=True, text=True, timeout=60,
                             env=dict(os.environ, LD_LIBRARY_PATH=tmp))
    eq(out.returncode, 127, "exit status: %r" % out.stderr)
    check("cannot load libidn2.so" in out.stderr, "says which library: %r" % out.stderr)
    eq(files_of(out.stdout), [first], "the file before printed, none after")


@no_db
def bouncerctl_alone_parses_and_says_why_not_stats():
    with tempfile.TemporaryDirectory() as tmp:
        alone = os.path.join(tmp, "bouncerctl")
        shutil.copy2(os.path.join(BINDIR, "bouncerctl"), alone)
        first = emails()[0]
        out = subprocess.run([alone, "parse", first], capture_output=True, text=True, timeout=60)
        eq(out.returncode, 0, "parse exit status: %r" % out.stderr)
        eq(files_of(out.stdout), [first], "parse output")

        out = subprocess.run([alone, "--help"], capture_output=True, text=True, timeout=60)
        eq(out.returncode, 0, "--help exit status")
        for command in ("parse", "token", "migrate", "stats", "reclassify"):
            check("\n  %s " % command in out.stdout, "--help lists %s: %r" % (command, out.stdout))

        out = subprocess.run([alone, "stats", "--conninfo", "host=%s dbname=none" % tmp],
                             capture_output=True, text=True, timeout=60)
        eq(out.returncode, 1, "stats exit status without bouncerctl-db: %r" % out.stderr)
        eq(out.stdout, "", "stats output without bouncerctl-db")
        check("'stats' needs the database helper bouncerctl-db" in out.stderr,
              "stderr says what is missing (or an installed bouncerctl-db ran): %r" % out.stderr)
        check(os.path.join(tmp, "bouncerctl-db") in out.stderr,
              "stderr names the path tried beside bouncerctl: %r" % out.stderr)
        check("Segmentation" not in out.stderr and "Sanitizer" not in out.stderr,
              "no crash: %r" % out.stderr)


if __name__ == "__main__":
    tap.run()
