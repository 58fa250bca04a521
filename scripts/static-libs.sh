#!/bin/sh
# static-libs.sh - link flags for PKG... with the libraries of STATIC_OK
# taken from their static archives where the system has one.
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
# dependencies named by hand; libc, libm and libdl always do. A library
# is linked shared where its archive is missing, and everything is when a
# library cannot be found at all (a -dev package missing, e.g.
# libgpgme-dev): what pkg-config says, as before.
set -eu

cc=$1
shift
STATIC_OK="glib-2.0 gobject-2.0 gio-2.0 gmodule-2.0 gmime-3.0 pcre2-8 json-c ffi z"

# found CC NAME - the linker has libNAME.so or libNAME.a (-print-file-name
# answers the bare name when it finds nothing).
found() {
    [ "$($1 -print-file-name="lib$2.so")" != "lib$2.so" ] \
        || [ "$($1 -print-file-name="lib$2.a")" != "lib$2.a" ]
}

out=""
for flag in $(pkg-config --static --libs "$@"); do
    case "$flag" in
        -l*)
            name=${flag#-l}
            if ! found "$cc" "$name"; then
                pkg-config --libs "$@"
                exit 0
            fi
            case " $STATIC_OK " in
                *" $name "*)
                    if [ "$($cc -print-file-name="lib$name.a")" != "lib$name.a" ]; then
                        flag="-Wl,-Bstatic -l$name -Wl,-Bdynamic"
                    fi
                    ;;
            esac
            ;;
    esac
    out="$out $flag"
done
echo "$out"
