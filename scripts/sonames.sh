#!/bin/sh
# sonames.sh - the sonames of the shared libraries the compiler links, as
# the -D flags cmd/deferred_libs.c reads, quoted for a shell command line (it opens them itself, on first
# call, so it must name the ones it was built against).
#
#   sh scripts/sonames.sh CC NAME...      e.g. NAME = gpgme for libgpgme.so
#
# A library not found, or without a soname, prints nothing: the file's
# defaults (Debian 12's) stand.
set -u

cc=$1
shift
for name in "$@"; do
    file=$($cc -print-file-name="lib$name.so")
    [ -f "$file" ] || continue
    soname=$(objdump -p "$file" 2>/dev/null | awk '$1 == "SONAME" { print $2; exit }')
    [ -n "$soname" ] || continue
    macro=$(echo "$name" | tr 'a-z' 'A-Z')
    # quoted for the shell that runs the compiler
    printf " '-DDEFERRED_SONAME_%s=\"%s\"'" "$macro" "$soname"
done
echo
