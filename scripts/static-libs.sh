#!/bin/sh
# static-libs.sh - link flags for PKG... with GLib, GMime and a few more
# taken from their static archives where the system has them.
#
#   sh scripts/static-libs.sh CC PKG...
#
# bin/bouncerctl starts once per command, and its start-up, mostly loading
# and binding the twenty shared objects GMime pulls in, was a fifth of a
# parse of a few hundred messages (docs/performance.md). GLib, GObject,
# GIO, GMime, PCRE2 and json-c are linked in instead. The rest stay
# shared: libmount has no archive, so it and what it loads (libselinux,
# libblkid) stay shared, and so does GMime's crypto stack (gpgme,
# libassuan, libgpg-error, libidn2), whose archives would need their own
# dependencies named by hand; libc, libm and libdl always do. A parse calls
# none of the shared ones but libc: when GMime is linked in, the Makefile
# links cmd/deferred_libs.o first, which opens them on first call instead
# of at start. Everything
# is linked shared, as pkg-config says, when an archive of the GLib stack
# is missing, when a library cannot be found at all (a -dev package
# missing, e.g. libgpgme-dev) or when pkg-config cannot give the static
# flags.
set -eu

cc=$1           # may be a command with arguments ("ccache gcc", "gcc -m64")
shift
# The GLib stack goes in whole or not at all: a shared GMime or GIO beside
# a static GLib would load the shared GLib too, a second type system.
STATIC_ALL="glib-2.0 gobject-2.0 gio-2.0 gmodule-2.0 gmime-3.0"
# These may each be static or shared on their own.
STATIC_ANY="pcre2-8 json-c ffi z"

# shared - give up on archives: the link pkg-config says, as before.
shared() {
    pkg-config --libs "$@"
    exit 0
}

# has CC FILE - the linker finds FILE (-print-file-name answers the bare
# name when it finds nothing).
has() {
    [ "$($1 -print-file-name="$2")" != "$2" ]
}

flags=$(pkg-config --static --libs "$@" 2>/dev/null) || shared "$@"
for name in $STATIC_ALL; do
    has "$cc" "lib$name.a" || shared "$@"
done

out=""
for flag in $flags; do
    case "$flag" in
        -l*)
            name=${flag#-l}
            has "$cc" "lib$name.so" || has "$cc" "lib$name.a" || shared "$@"
            case " $STATIC_ALL $STATIC_ANY " in
                *" $name "*)
                    if has "$cc" "lib$name.a"; then
                        flag="-Wl,-Bstatic -l$name -Wl,-Bdynamic"
                    fi
                    ;;
            esac
            ;;
    esac
    out="$out $flag"
done
echo "$out"
