#!/bin/bash
# bench.sh - run bench-sync against a throwaway PostgreSQL (root: it runs
# the server as postgres).  usage: bench.sh BENCH_SYNC AUTHGATECTL [USERS [CHANGES]]
set -eu
S=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
. "$S/pg.sh"
T=$(mktemp -d /tmp/authgate-bench-sync.XXXXXX)
chmod 0755 "$T"
trap 'pg_stop "$T"; rm -rf "$T"' EXIT
pg_start "$T"
AUTHGATE_CONFIG=/dev/null "$2" --store "$PG_OWNER" init --mechanisms "SCRAM-SHA-256" >/dev/null
"$1" "$PG_ADMIN" "$PG_NODE" "$T/node" "${3:-100000}" "${4:-200}"
