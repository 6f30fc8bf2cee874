# shellcheck shell=bash
# common.sh - what fleet.sh and guide.sh share (sourced; sources pg.sh).
#
#   ok TEXT / bad TEXT     "ok - TEXT" / "FAIL - TEXT", counted in CHECKS
#                          and FAILS
#   check NAME GOT WANT    ok, or bad saying what it got and wanted
#   fleet_tally            "N checks, M failed"; status 0 when none failed
#   fleet_need_pg          exit 77 unless root (PostgreSQL runs as postgres)
#                          with PostgreSQL 15 installed
#   fleet_sandbox NAME     T: a fresh directory /tmp/authgate-NAME.XXXXXX
#                          (0755); at exit the pids in PIDS are killed, the
#                          cluster in T stopped and T removed (kept when
#                          FLEET_KEEP is set)

# shellcheck source=pg.sh
. "$(dirname "${BASH_SOURCE[0]}")/pg.sh"

FAILS=0 CHECKS=0
PIDS=()

ok() { CHECKS=$((CHECKS + 1)); echo "ok - $*"; }
bad() { CHECKS=$((CHECKS + 1)); FAILS=$((FAILS + 1)); echo "FAIL - $*"; }
check() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: got '$2', want '$3'"; fi; }

fleet_tally() {
    echo "$CHECKS checks, $FAILS failed"
    [ "$FAILS" = 0 ]
}

fleet_need_pg() {
    [ "$(id -u)" = 0 ] || { echo "SKIP: needs root to run PostgreSQL as postgres"; exit 77; }
    [ -x "$PGBIN/initdb" ] || { echo "SKIP: postgresql-15 not installed"; exit 77; }
}

fleet__cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    pg_stop "$T"
    [ -n "${FLEET_KEEP:-}" ] || rm -rf "$T"
}

fleet_sandbox() {
    T=$(mktemp -d "/tmp/authgate-$1.XXXXXX")
    chmod 0755 "$T"
    trap fleet__cleanup EXIT
}
