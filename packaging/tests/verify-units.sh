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
# succeeds; PIDFile= is the configured default pid file; the default
# socket's and pid file's directories and the store are writable under
# ProtectSystem=strict (ReadWritePaths= or RuntimeDirectory=); the store
# environment the daemon must never read is in InaccessiblePaths=; a
# socket the daemon would have to probe at its next start is removed when
# it stops; `systemd-analyze security` rates the unit's exposure at most at
# its ceiling below (authd and query have no network, the milter may
# listen on TCP), so that a weakened sandbox fails here.
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

    pid=$(default "${prefix}_pidfile")
    got=$(unit_values "$unit" PIDFile)
    [ "$got" = "$pid" ] && ok "$name: PIDFile=$pid" ||
        fail "$name: got PIDFile=$got, want $pid (${prefix}_pidfile)"

    store=$(default store)
    for p in "$(dirname "$sock")" "$(dirname "$pid")" "$store"; do
        covered "$unit" "$p" && ok "$name: $p is writable" ||
            fail "$name: $p is not under ReadWritePaths= or RuntimeDirectory="
    done

    unit_values "$unit" InaccessiblePaths | grep -qx -- "-$store/$hidden" &&
        ok "$name: $store/$hidden is inaccessible" ||
        fail "$name: want InaccessiblePaths=-$store/$hidden"

    # A daemon that probes a stale socket by connecting to it cannot, as
    # root without CAP_DAC_OVERRIDE, probe one its user owns: the socket
    # must be gone before the next start (RuntimeDirectory= or ExecStopPost=).
    case $prefix in
    query)
        grep -qx "ExecStopPost=/bin/rm -f $sock" "$unit" &&
            ok "$name: ExecStopPost= removes $sock" ||
            fail "$name: want ExecStopPost=/bin/rm -f $sock"
        ;;
    authd)
        case $sock in
        /run/$(unit_values "$unit" RuntimeDirectory)/*) ok "$name: $sock is in the RuntimeDirectory" ;;
        *) fail "$name: $sock is not in the RuntimeDirectory" ;;
        esac
        ;;
    esac

    grep -q '^ExecStart=[^ ]*/authgate-'"$prefix"'$' "$unit" &&
        ok "$name: ExecStart runs the daemon with the default configuration" ||
        fail "$name: got $(grep '^ExecStart=' "$unit"), want the daemon without arguments"
done
[ $fails -eq 0 ] || exit 1
exit 0
