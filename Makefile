# bouncer - one non-recursive Makefile.
#
#   make                 build bin/bouncerd, bin/bouncerctl and bin/bouncerctl-db
#   make run             embedded default: local PostgreSQL under ./var + bouncerd
#   make test            unit, integration and replay tests; ends "N passed, N failed"
#   make psql            psql on the embedded database
#   make fuzz            libFuzzer targets (clang), FUZZ_SECONDS each; new inputs
#                        and crashes land in build/fuzz/found/ (keep the useful
#                        ones in tests/fuzz/corpus/ as regression seeds)
#   make corpus          score the parser on ../shared/corpus when it exists
#   make SANITIZE=address,undefined test
#   make install PREFIX=/usr/local

PREFIX   ?= /usr/local
# bouncerctl runs its database commands through bouncerctl-db, from here
# when it is not beside bouncerctl.
LIBEXECDIR ?= $(PREFIX)/lib/bouncer
PKGS     := glib-2.0 gio-2.0 gmime-3.0 libpq libzmq libpcre2-8 json-c libcurl libmicrohttpd
# What bin/bouncerctl alone links: the commands that need no database.
CTL_FRONT_PKGS := glib-2.0 gio-2.0 gmime-3.0 libpcre2-8 json-c
# The tests read what we write with a second JSON implementation.
TEST_PKGS := json-glib-1.0
CC       ?= cc
OPT      ?= -O2

WARN     := -Wall -Wextra -Wformat=2 -Wmissing-prototypes -Wno-unused-parameter \
            -Wno-missing-field-initializers
ifdef CI
WARN     += -Werror
endif

ifdef SANITIZE
BUILD    ?= build/san
BINDIR   ?= $(BUILD)/bin
SANFLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
else
BUILD    ?= build/default
BINDIR   ?= bin
SANFLAGS :=
endif

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) $(TEST_PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
TEST_LIBS  = $(shell pkg-config --libs $(TEST_PKGS) 2>/dev/null)
# bin/bouncerctl takes GLib, GMime, PCRE2 and json-c from their static
# archives (scripts/static-libs.sh says which and why).
CTL_FRONT_LIBS = $(shell sh scripts/static-libs.sh "$(CC)" $(CTL_FRONT_PKGS))

CPPFLAGS += -I. -D_GNU_SOURCE -DGLIB_VERSION_MIN_REQUIRED=GLIB_VERSION_2_74
CFLAGS   += -std=gnu11 -pthread $(OPT) -g $(WARN) $(SANFLAGS) $(PKG_CFLAGS) -MMD -MP
# --as-needed: a program records only the libraries it uses (bouncerctl
# must not load libpq); some toolchains default to it, not all.
LDFLAGS  += -pthread -Wl,--as-needed $(SANFLAGS)
LDLIBS   += $(PKG_LIBS) -lm

# --- sources -------------------------------------------------------------
COMMON_SRC    := $(wildcard common/*.c)
BOUNCER_SRC   := $(wildcard bouncer/*.c)
AUTOREPLY_SRC := $(wildcard autoreply/*.c)
CTL_SRC       := $(wildcard cmd/ctl_*.c) cmd/parse_memory.c
# The commands bin/bouncerctl runs itself; the rest go to bouncerctl-db.
CTL_FRONT_SRC := cmd/ctl_parse.c cmd/ctl_token.c cmd/parse_memory.c
UNIT_SRC      := $(wildcard tests/unit/test_*.c)
FUZZ_SRC      := $(wildcard tests/fuzz/fuzz_*.c)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))

LIBCOMMON    := $(BUILD)/libcommon.a
LIBBOUNCER   := $(BUILD)/libbouncer.a
LIBAUTOREPLY := $(BUILD)/libautoreply.a
# Link order: the mailbox libraries use libcommon, never each other.
LIBS         := $(LIBAUTOREPLY) $(LIBBOUNCER) $(LIBCOMMON)

PROGRAMS     := $(BINDIR)/bouncerd $(BINDIR)/bouncerctl $(BINDIR)/bouncerctl-db
UNIT_BINS    := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
REPLAY_BINS  := $(patsubst tests/fuzz/fuzz_%.c,$(BUILD)/tests/replay_%,$(FUZZ_SRC))

.PHONY: FORCE all deps run test test-e2e test-unit psql clean install fuzz corpus bench bench-parse bench-sql
.DEFAULT_GOAL := all
# Keep objects of tests and programs: they are not throw-away intermediates.
.SECONDARY:

all: $(PROGRAMS)

# A plain `make` on a machine without the libraries would stop at the first
# #include; say what to run instead. (make run and make test install them
# first, then come back here.)
ifeq ($(filter-out all,$(MAKECMDGOALS)),)
ifneq ($(shell pkg-config --exists $(PKGS) $(TEST_PKGS) 2>/dev/null && echo yes),yes)
$(error the libraries bouncer builds on are not all installed: run `make deps` (as root it installs them with apt-get; otherwise it prints the command), or `make run` / `make test`, which do that first)
endif
endif

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# The migrations are compiled in: bouncerctl migrate needs no sql/ directory.
# sql/ itself too: a migration removed or renamed changes the list.
$(BUILD)/gen/migrations.c: sql $(sort $(wildcard sql/*.sql)) scripts/embed-sql.sh
	@mkdir -p $(dir $@)
	sh scripts/embed-sql.sh $(sort $(wildcard sql/*.sql)) > $@

$(BUILD)/gen/migrations.o: $(BUILD)/gen/migrations.c
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# The rule tables' prefilters and compiled patterns, worked out once here
# rather than by every process (bouncer/gen/bounce_rules_gen.c).
$(BUILD)/gen/bounce_rules_gen: $(call obj,bouncer/gen/bounce_rules_gen.c bouncer/bounce_tables.c bouncer/bounce_prefilter.c)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/gen/bounce_rules_built.c: $(BUILD)/gen/bounce_rules_gen
	$< > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/bounce_rules_built.o: $(BUILD)/gen/bounce_rules_built.c
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(LIBCOMMON): $(call obj,$(COMMON_SRC)) $(BUILD)/gen/migrations.o
$(LIBBOUNCER): $(call obj,$(BOUNCER_SRC)) $(BUILD)/gen/bounce_rules_built.o
$(LIBAUTOREPLY): $(call obj,$(AUTOREPLY_SRC))
$(BUILD)/%.a:
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BINDIR)/bouncerd: $(call obj,cmd/bouncerd.c) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# bouncerctl-db: every command. bouncerctl: cmd/bouncerctl.c again, with
# only the commands of CTL_FRONT_SRC, linked without libpq, libzmq, libcurl
# and libmicrohttpd (a start-up in half the time); it execs bouncerctl-db
# for the others. A front command that comes to need one of them fails to
# link here rather than slowing every `bouncerctl parse` down.
$(BINDIR)/bouncerctl-db: $(call obj,cmd/bouncerctl.c $(CTL_SRC)) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# bin/bouncerctl: with GMime linked in, cmd/deferred_libs.o goes first: it defines what
# GMime and GIO call in gpgme, libidn2, libmount and libselinux, and opens
# each library on its first call, so --as-needed leaves all four (and the
# five they load) out of the start-up. A symbol it lacks is still taken
# from the library, which then loads at start as before. With
# --wrap=mmap, cmd/exec_memory.o maps the executable memory of PCRE2's JIT
# in bulk.
$(BINDIR)/bouncerctl: $(BUILD)/cmd/bouncerctl-front.o $(call obj,$(CTL_FRONT_SRC)) \
                      $(BUILD)/cmd/exec_memory.o $(BUILD)/cmd/deferred_libs.o $(LIBS)
	@mkdir -p $(dir $@)
	libs='$(CTL_FRONT_LIBS)'; \
	case "$$libs" in *"-Bstatic -lgmime-3.0 "*) deferred=$(BUILD)/cmd/deferred_libs.o ;; *) deferred= ;; esac; \
	$(CC) $(LDFLAGS) -Wl,--wrap=mmap -o $@ $$deferred $(filter-out %/deferred_libs.o,$^) $$libs -lm

# The sonames deferred_libs.o opens: those of the libraries the build finds.
$(BUILD)/cmd/deferred_libs.o: CPPFLAGS += $(shell sh scripts/sonames.sh "$(CC)" gpgme idn2 mount selinux)

$(BUILD)/cmd/bouncerctl-front.o: cmd/bouncerctl.c $(BUILD)/gen/libexecdir
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -DBOUNCERCTL_FRONT -DBOUNCER_LIBEXECDIR='"$(LIBEXECDIR)"' $(CFLAGS) -c -o $@ $<

# Rewritten only when LIBEXECDIR changes (make install PREFIX=... after a
# plain make), so that bouncerctl is compiled again with the new one.
$(BUILD)/gen/libexecdir: FORCE
	@mkdir -p $(dir $@)
	@echo '$(LIBEXECDIR)' | cmp -s - $@ || echo '$(LIBEXECDIR)' > $@

$(BUILD)/tests/test_%: $(call obj,tests/unit/test_%.c) $(call obj,tests/unit/testutil.c) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(TEST_LIBS)

# Every fuzz target is also linked with a replay main() so the saved corpus
# runs in every test run without clang's libFuzzer.
$(BUILD)/tests/replay_%: $(call obj,tests/fuzz/fuzz_%.c tests/fuzz/replay_main.c) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(TEST_LIBS)

# --- set-up and running ---------------------------------------------------
deps:
	@sh scripts/deps.sh

# Build only after deps, so a fresh machine needs nothing beforehand.
build-all: deps
	@$(MAKE) --no-print-directory all tests-build

tests-build: $(PROGRAMS) $(UNIT_BINS) $(REPLAY_BINS)

run: build-all
	@sh scripts/run.sh

psql: deps
	@sh scripts/embedded-pg.sh psql

test: build-all
	@sh tests/run.sh "$(BUILD)" "$(BINDIR)"

test-e2e: build-all
	@sh tests/e2e/run.sh "$(BINDIR)"

corpus: build-all
	@sh tests/corpus.sh "$(BINDIR)/bouncerctl"

# --- fuzzing (clang's libFuzzer) -----------------------------------------
FUZZ_SECONDS ?= 60
FUZZ_BUILD   := build/fuzz
FUZZ_CFLAGS  := -std=gnu11 -O1 -g -fsanitize=fuzzer,address,undefined -I. -D_GNU_SOURCE \
                $(PKG_CFLAGS)
fuzz: deps $(BUILD)/gen/migrations.c $(BUILD)/gen/bounce_rules_built.c
	@for src in $(COMMON_SRC) $(BOUNCER_SRC) $(AUTOREPLY_SRC) $(BUILD)/gen/migrations.c \
	        $(BUILD)/gen/bounce_rules_built.c; do \
	    mkdir -p $(FUZZ_BUILD)/$$(dirname $$src); \
	    clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $(FUZZ_BUILD)/$${src%.c}.o $$src || exit 1; \
	done
	@for t in $(FUZZ_SRC); do \
	    name=$$(basename $$t .c); \
	    clang $(FUZZ_CFLAGS) -o $(FUZZ_BUILD)/$$name $$t \
	        $$(ls $(FUZZ_BUILD)/autoreply/*.o $(FUZZ_BUILD)/bouncer/*.o 2>/dev/null) \
	        $(FUZZ_BUILD)/common/*.o $(FUZZ_BUILD)/$(BUILD)/gen/migrations.o \
	        $(FUZZ_BUILD)/$(BUILD)/gen/bounce_rules_built.o $(PKG_LIBS) $(TEST_LIBS) -lm || exit 1; \
	    corpus=tests/fuzz/corpus/$${name#fuzz_}; mkdir -p $$corpus; \
	    dict=tests/fuzz/$${name#fuzz_}.dict; \
	    echo "fuzz: $$name for $(FUZZ_SECONDS)s"; \
	    mkdir -p $(FUZZ_BUILD)/found/$$name; \
	    $(FUZZ_BUILD)/$$name -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	        -artifact_prefix=$(FUZZ_BUILD)/found/$$name/ \
	        $$( [ -f $$dict ] && echo -dict=$$dict ) $(FUZZ_BUILD)/found/$$name $$corpus || exit 1; \
	done

# --- install and clean ---------------------------------------------------
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(PREFIX)/share/bouncer/sql
	install -m 755 $(BINDIR)/bouncerd $(BINDIR)/bouncerctl $(DESTDIR)$(PREFIX)/bin/
	install -m 755 $(BINDIR)/bouncerctl-db $(DESTDIR)$(LIBEXECDIR)/
	install -m 644 sql/*.sql $(DESTDIR)$(PREFIX)/share/bouncer/sql/

clean:
	rm -rf build bin

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# --- benchmarks (never part of make test) ---------------------------------
bench-parse: build-all
	@sh scripts/deps.sh --bench
	@BENCH_CLOCK=$(BUILD)/bench/spawn_clock sh scripts/bench-parse.sh "$(BINDIR)/bouncerctl"

bench-sql: build-all
	@sh scripts/bench-sql.sh "$(BINDIR)/bouncerctl"

# The LMTP load generator of make bench; built with the tests so it cannot rot.
$(BUILD)/bench/lmtp_load: $(call obj,tests/bench/lmtp_load.c) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The clock of make bench-parse (scripts/bench-parse.sh says why).
$(BUILD)/bench/spawn_clock: tests/bench/spawn_clock.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $<

tests-build: $(BUILD)/bench/lmtp_load $(BUILD)/bench/spawn_clock

bench: build-all
	@sh scripts/deps.sh --bench && sh scripts/bench.sh "$(BUILD)" "$(BINDIR)"
