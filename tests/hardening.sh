#!/bin/sh
# hardening.sh - check that every shipped binary was built with the
# hardening flags of meson.build: PIE (executables), full RELRO (GNU_RELRO
# segment + BIND_NOW), non-executable stack, stack protector, and
# _FORTIFY_SOURCE (*_chk symbols) unless built with sanitizers.
# usage: hardening.sh FORTIFY(yes|no) FILE...
set -u
fortify=$1
shift
command -v readelf >/dev/null || { echo "readelf missing: skip"; exit 77; }
fail=0
for f in "$@"; do
    name=$(basename "$f")
    hdr=$(readelf -h "$f")
    dyn=$(readelf -d "$f")
    seg=$(readelf -lW "$f")
    syms=$(readelf --dyn-syms -W "$f")
    check() { # what condition
        if eval "$2"; then echo "ok - $name: $1"; else echo "not ok - $name: $1"; fail=1; fi
    }
    case "$name" in
    *.so) ;;
    *) check "PIE" 'echo "$hdr" | grep -q "Type:.*DYN"' ;;
    esac
    check "RELRO segment" 'echo "$seg" | grep -q GNU_RELRO'
    check "BIND_NOW (full RELRO)" 'echo "$dyn" | grep -Eq "BIND_NOW|FLAGS_1.*NOW"'
    check "non-executable stack" 'echo "$seg" | grep GNU_STACK | grep -vq RWE'
    check "stack protector" 'echo "$syms" | grep -q __stack_chk_fail'
    if [ "$fortify" = yes ]; then
        check "_FORTIFY_SOURCE" 'echo "$syms" | grep -Eq "__[a-z_]+_chk"'
    fi
done
exit $fail
