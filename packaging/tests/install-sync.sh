#!/bin/bash
# install-sync.sh - the fleet part of packaging/install-test.sh: with the
# authgate packages installed, authgate-sync started the way its unit
# starts it (unit-run.sh: Type=exec, capability bounding set CAP_CHOWN,
# no_new_privs, ProtectSystem=strict with only /var/lib/authgate
# writable) against a real PostgreSQL 15 (tests/fleet/pg.sh) with the
# node configuration of docs/guide-fleet.md (the default store plus
# sync_central), as a fleet node would run it.  Run by install-test.sh
# only (it installs the packages first and purges them after).
#
# usage: install-sync.sh TOP      (the source tree)
#
# Checks: the unit is installed disabled; the first round creates the
# node's store (modes and groups as authgatectl init makes them) with the
# central content; a user added centrally arrives on the node (seconds it
# took printed); authgatectl sync status is healthy; a local write to the
# managed store is refused; the process's credentials (root, bounding set
# CAP_CHOWN, no_new_privs); SIGTERM stops it with status 0; every system
# call it made is allowed by the unit's seccomp settings (trace-check.sh).
# The store and authgate.conf of the Postfix part are put aside and put
# back afterwards.  PostgreSQL's socket lives under /run (the unit's
# PrivateTmp= would hide one under /tmp).
#
# Output: "ok - ..." / "not ok - ...: got X, want Y" lines and a tally;
# exit 0 when every check passed, 1 otherwise.
set -u

top=$(cd "${1:?usage: install-sync.sh TOP}" && pwd)
here=$top/packaging/tests
STORE=/var/lib/authgate
CONF=/etc/authgate/authgate.conf
UNIT=/lib/systemd/system/authgate-sync.service
# shellcheck source=../../tests/fleet/pg.sh
. "$top/tests/fleet/pg.sh"

# shellcheck source=tally.sh
. "$here/tally.sh"
status_field() { awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status"; }
node_has() { # node_has LOGIN PASSWORD: 0 when the node's store verifies it
    printf '%s\n' "$2" | authgatectl verify "$1" --password-stdin >/dev/null 2>&1
}

if [ ! -x "$PGBIN/initdb" ]; then
    echo "not ok - PostgreSQL 15 is needed ($PGBIN/initdb missing: packaging/deps.sh installs postgresql)"
    exit 1
fi

T=$(mktemp -d /run/agsync-test.XXXXXX)
chmod 0755 "$T"
runner=''
cleanup() {
    if [ -n "$runner" ] && kill -0 "$runner" 2>/dev/null; then
        kill -TERM "$runner"
        wait "$runner" 2>/dev/null
    fi
    pg_stop "$T"
    rm -rf "$STORE/secrets" "$STORE/policy" "$STORE/sync.status"
    if [ -d "$T/kept" ]; then
        find "$T/kept" -mindepth 1 -maxdepth 1 -exec mv -t "$STORE" {} +
    fi
    [ -f "$T/authgate.conf" ] && cp -p "$T/authgate.conf" "$CONF"
    rm -rf "$T"
}
trap cleanup EXIT

expect "authgate-sync.service is installed disabled" \
    "$(test -e /etc/systemd/system/multi-user.target.wants/authgate-sync.service && echo enabled || echo disabled)" \
    disabled

# The node starts without a store: the Postfix part's is put aside.
mkdir "$T/kept"
find "$STORE" -mindepth 1 -maxdepth 1 -exec mv -t "$T/kept" {} +
cp -p "$CONF" "$T/authgate.conf"

pg_start "$T" >"$T/pg.out" 2>&1 || {
    echo "not ok - PostgreSQL did not start: $(cat "$T/pg.out")"
    exit 1
}
# Root under the unit has no CAP_DAC_OVERRIDE: the socket's directory must
# be searchable by others, as Debian's /run/postgresql is (pg.sh makes
# its parent postgres's, mode 0700).
chmod 0711 "$T/pg"
# The central store, as guide-fleet.md sets it up (roles made by pg.sh).
AUTHGATE_CONFIG=/dev/null authgatectl --store "$PG_OWNER" init --mechanisms "SCRAM-SHA-256" \
    >"$T/init.out" 2>&1
expect "central store: authgatectl init" "$?" 0
ctl() { AUTHGATE_CONFIG=/dev/null authgatectl --store "$PG_ADMIN" "$@"; }
printf 'Al1ce-fleet\n' | ctl user add alice@fleet.test --password-stdin >/dev/null
ctl sender allow alice@fleet.test sales@fleet.test >/dev/null

# The node's authgate.conf: the shipped file plus sync_central.
printf 'sync_central = "%s"\n' "$PG_NODE" >>"$CONF"

"$here/unit-run.sh" --strace "$T/sync.strace" "$UNIT" >"$T/sync.log" 2>&1 &
runner=$!
for _ in $(seq 300); do
    node_has alice@fleet.test Al1ce-fleet && break
    sleep 0.1
done
expect "first round: the central user on the node" \
    "$(node_has alice@fleet.test Al1ce-fleet && echo present || echo absent)" present
expect "first round: the central rule on the node" \
    "$(authgatectl sender test alice@fleet.test sales@fleet.test >/dev/null 2>&1; echo $?)" 0
expect "node store made by the sync: secrets/" "$(mode_of $STORE/secrets)" "750 root authgate-secrets"
expect "node store made by the sync: secrets/data.mdb" "$(mode_of $STORE/secrets/data.mdb)" \
    "640 root authgate-secrets"
expect "node store made by the sync: policy/" "$(mode_of $STORE/policy)" "750 root authgate-policy"
expect "node store made by the sync: policy/data.mdb" "$(mode_of $STORE/policy/data.mdb)" \
    "640 root authgate-policy"

pid=''
for p in /proc/[0-9]*; do
    [ "$(readlink "$p/exe" 2>/dev/null)" = /usr/sbin/authgate-sync ] && pid=${p#/proc/}
done
if [ -n "$pid" ]; then
    expect "authgate-sync runs as root" "$(status_field "$pid" Uid)" "0 0 0 0"
    # CAP_CHOWN is capability 0.
    expect "bounding set = CapabilityBoundingSet= (CAP_CHOWN)" "$(status_field "$pid" CapBnd)" \
        0000000000000001
    expect "effective capabilities: CAP_CHOWN only" "$(status_field "$pid" CapEff)" 0000000000000001
    expect "no_new_privs" "$(status_field "$pid" NoNewPrivs)" 1
else
    expect "an authgate-sync process" none one
fi

# One change arrives (LISTEN/NOTIFY; the poll every sync_interval would
# bring it within 30 s anyway).
t0=$(date +%s.%N)
printf 'B0b-fleet\n' | ctl user add bob@fleet.test --password-stdin >/dev/null
for _ in $(seq 250); do
    node_has bob@fleet.test B0b-fleet && break
    sleep 0.02
done
took=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
expect "a user added centrally arrives on the node" \
    "$(node_has bob@fleet.test B0b-fleet && echo present || echo absent)" present
echo "# the change reached the node ${took} s after authgatectl returned"
expect "authgatectl sync status: healthy" "$(authgatectl sync status >"$T/status.out" 2>&1; echo $?)" 0
expect "a local write to the managed store is refused (exit 7)" \
    "$(printf 'x\n' | authgatectl user add local@fleet.test --password-stdin >/dev/null 2>&1; echo $?)" 7

kill -TERM "$runner"
wait "$runner"
expect "unit-run: stopped cleanly (authgate-sync exited 0 on SIGTERM)" "$?" 0
runner=''
expect "authgate-sync logged its stop" "$(grep -c 'info: stopping$' "$T/sync.log")" 1
grep -q 'error' "$T/sync.log" && sed 's/^/# /' "$T/sync.log"

out=$("$here/trace-check.sh" "$T/sync.strace" /usr/sbin/authgate-sync "$UNIT")
rc=$?
grep '^# ' <<<"$out" | head -1
while read -r line; do
    case $line in
    "ok - "*) expect "authgate-sync: ${line#ok - }" ok ok ;;
    "not ok - "*) expect "authgate-sync: ${line#not ok - }" broken ok ;;
    esac
done < <(grep -v '^#' <<<"$out")
[ $rc -eq 0 ] || grep -q '^not ok' <<<"$out" || expect "trace-check sync" "exit $rc" "exit 0"

tally "sync part: "
