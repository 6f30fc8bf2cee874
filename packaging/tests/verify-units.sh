#!/bin/sh
# verify-units.sh - the systemd units as meson configured them pass
# `systemd-analyze verify` and agree with the shipped configuration.
#
# usage: verify-units.sh CONF UNIT BINARY [UNIT BINARY]...
#   CONF    packaging/authgate.conf (its commented defaults are the
#           built-in ones: test-packaging-conf proves it)
#   UNIT    a configured unit file; BINARY the built daemon its ExecStart
#           names once installed.
#
# systemd-analyze verify needs the ExecStart binary to exist, so each unit
# is checked as a copy whose ExecStart names BINARY (nothing else
# changes), and without looking for the Documentation= man pages (not
# installed yet); the installed units are verified as they are, man pages
# included, by packaging/install-test.sh.  Checks per unit: verify prints nothing and
# succeeds; CapabilityBoundingSet= is exactly what the program needs (the
# daemons: CAP_CHOWN CAP_SETUID CAP_SETGID -- they chmod their socket
# before the chown, so no CAP_FOWNER; authgate-sync: CAP_CHOWN, to give a
# store it creates to its groups); the store is writable under
# ProtectSystem=strict (ReadWritePaths= or RuntimeDirectory=).  For the
# daemons: PIDFile= is the configured default pid file; the default
# socket's and pid file's directories are writable; the store environment
# the daemon must never read is in InaccessiblePaths=; no ExecStopPost=
# (a daemon replaces the socket it left at its next start); authd's
# socket is in its RuntimeDirectory.  For authgate-sync: Type=exec (it
# runs in the foreground), both environments visible.  `systemd-analyze
# security` rates each unit's exposure at most at its ceiling below (authd
# and query have no network, the milter may listen on TCP, the sync talks
# to PostgreSQL), so that a weakened sandbox fails here.
# Exit 77 (skipped) without systemd-analyze.
set -u

command -v systemd-analyze >/dev/null 2>&1 || {
    echo "SKIP: systemd-analyze not found (package systemd)" >&2
    exit 77
}
[ $# -ge 3 ] || {
    echo "usage: verify-units.sh CONF UNIT BINARY [UNIT BINARY]..." >&2
    exit 2
}
conf=$1
shift
fails=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
    echo "not ok - $*"
    fails=$((fails + 1))
}

ok() {
    echo "ok - $*"
}

# default KEY: the built-in default as the shipped file shows it.
default() {
    sed -n "s/^#$1 = \{0,1\}//p" "$conf"
}

# unit_values FILE KEY: every value of KEY= (space-separated lists split).
unit_values() {
    sed -n "s/^$2=//p" "$1" | tr ' ' '\n' | sed '/^$/d'
}

# covered UNIT PATH: PATH lies under a ReadWritePaths= or /run/RuntimeDirectory=.
covered() {
    for w in $(unit_values "$1" ReadWritePaths | sed 's/^-//') \
        $(unit_values "$1" RuntimeDirectory | sed 's|^|/run/|'); do
        case $2 in "$w" | "$w"/*) return 0 ;; esac
    done
    return 1
}

while [ $# -ge 2 ]; do
    unit=$1 bin=$2
    shift 2
    name=$(basename "$unit")
    case $name in
    authgate-authd.service) prefix=authd hidden=policy ceiling=2.0 sock=$(default authd_socket) ;;
    authgate-milter.service) prefix=milter hidden=secrets ceiling=3.0 sock=$(default milter_socket) ;;
    authgate-query.service) prefix=query hidden=secrets ceiling=2.0 sock=$(default query_socket) ;;
    authgate-sync.service) prefix=sync hidden='' ceiling=2.5 sock='' ;;
    *)
        fail "$name: unknown unit"
        continue
        ;;
    esac
    sock=${sock#unix:}
    mkdir -p "$tmp/$prefix"
    sed "s|^ExecStart=[^ ]*|ExecStart=$bin|" "$unit" >"$tmp/$prefix/$name"
    out=$(systemd-analyze verify --man=no "$tmp/$prefix/$name" 2>&1)
    rc=$?
    if [ $rc -eq 0 ] && [ -z "$out" ]; then
        ok "$name: systemd-analyze verify is silent"
    else
        fail "$name: systemd-analyze verify: got status $rc and \"$out\", want 0 and no output"
    fi

    exposure=$(systemd-analyze security --offline=yes "$tmp/$prefix/$name" 2>&1 |
        sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
    if [ -n "$exposure" ] && awk -v e="$exposure" -v c="$ceiling" 'BEGIN { exit !(e <= c) }'; then
        ok "$name: systemd-analyze security exposure $exposure (ceiling $ceiling)"
    else
        fail "$name: systemd-analyze security: got exposure \"$exposure\", want at most $ceiling"
    fi

    case $prefix in
    sync) want_caps=CAP_CHOWN ;;
    *) want_caps="CAP_CHOWN CAP_SETUID CAP_SETGID" ;;
    esac
    got=$(unit_values "$unit" CapabilityBoundingSet | tr '\n' ' ' | sed 's/ $//')
    [ "$got" = "$want_caps" ] && ok "$name: CapabilityBoundingSet=$got" ||
        fail "$name: got CapabilityBoundingSet=$got, want $want_caps"

    store=$(default store)
    covered "$unit" "$store" && ok "$name: $store is writable" ||
        fail "$name: $store is not under ReadWritePaths= or RuntimeDirectory="

    if [ "$prefix" = sync ]; then
        got=$(unit_values "$unit" Type)
        [ "$got" = exec ] && ok "$name: Type=exec" || fail "$name: got Type=$got, want exec"
        [ -z "$(unit_values "$unit" InaccessiblePaths)" ] &&
            ok "$name: both environments visible" ||
            fail "$name: got InaccessiblePaths=$(unit_values "$unit" InaccessiblePaths), want none"
    else
        pid=$(default "${prefix}_pidfile")
        got=$(unit_values "$unit" PIDFile)
        [ "$got" = "$pid" ] && ok "$name: PIDFile=$pid" ||
            fail "$name: got PIDFile=$got, want $pid (${prefix}_pidfile)"

        for p in "$(dirname "$sock")" "$(dirname "$pid")"; do
            covered "$unit" "$p" && ok "$name: $p is writable" ||
                fail "$name: $p is not under ReadWritePaths= or RuntimeDirectory="
        done

        unit_values "$unit" InaccessiblePaths | grep -qx -- "-$store/$hidden" &&
            ok "$name: $store/$hidden is inaccessible" ||
            fail "$name: want InaccessiblePaths=-$store/$hidden"

        # A daemon replaces the socket it left behind (it holds its pid
        # file lock): no unit needs to remove it.
        [ -z "$(unit_values "$unit" ExecStopPost)" ] && ok "$name: no ExecStopPost=" ||
            fail "$name: got ExecStopPost=$(unit_values "$unit" ExecStopPost), want none"
        if [ "$prefix" = authd ]; then
            case $sock in
            /run/$(unit_values "$unit" RuntimeDirectory)/*) ok "$name: $sock is in the RuntimeDirectory" ;;
            *) fail "$name: $sock is not in the RuntimeDirectory" ;;
            esac
        fi
    fi

    grep -q '^ExecStart=[^ ]*/authgate-'"$prefix"'$' "$unit" &&
        ok "$name: ExecStart runs the daemon with the default configuration" ||
        fail "$name: got $(grep '^ExecStart=' "$unit"), want the daemon without arguments"
done
[ $fails -eq 0 ] || exit 1
exit 0
