#!/bin/bash
# guide.sh - docs/guide-fleet.md as an administrator follows it, every
# block of it (tests/docs/snippet.sh), against a real PostgreSQL 15
# started here (pg.sh) with TLS (a CA and a server certificate made here
# with openssl) and the real authgatectl and authgate-sync (suite
# 'integration', test fleet-guide).
#
# The guide's host db.example.net is 127.0.0.1 here (PGPORT names the
# port, which the guide leaves to libpq), its files live in the sandbox
# (FROM=TO mappings: every FROM must occur in its block), passwords come
# from a password file (PGPASSFILE), the service file from PGSERVICEFILE.
#   fleet-roles          run as the superuser with psql, as written
#   fleet-diagram        its claims: the schema, the change log, the
#                        node's default store
#   fleet-init           run; the roles table of section 1 checked
#   fleet-service, fleet-admin-service   the service file (sslmode
#                        verify-full against the test CA)
#   fleet-admin          run at a terminal (script(1): user add asks for
#                        the password twice); export shows its work
#   fleet-node-conf      the configuration of two nodes running
#                        authgate-sync: a full node and, as the comment
#                        says, a milter-only node (sync_secrets = no, role
#                        relay7 of authgate_policy_node)
#   fleet-sync-commands  run on a node; the status and the JSON field the
#                        guide tells to alert on
#   fleet-rejected-log   the line authgate-sync really logs for that key
#   fleet-resync         after a forced local write (drift): ends it
#   fleet-prune          run as the owner: a node that had applied the
#                        pruned changes goes on incrementally, one that
#                        had not reloads everything
# Needs root (PostgreSQL runs as postgres): exit 77 otherwise.
# Environment (meson): AUTHGATECTL, AUTHGATE_SYNC.
set -u
S=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$S/../.." && pwd)
CTL=${AUTHGATECTL:?} SYNC=${AUTHGATE_SYNC:?}
# shellcheck source=common.sh
. "$S/common.sh"
fleet_need_pg
for t in openssl script jq psql; do
    command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
# shellcheck source=../docs/snippet.sh
. "$TOP/tests/docs/snippet.sh"

fleet_sandbox fleet-guide

pg_start_bare "$T" || { echo "cannot start PostgreSQL"; exit 1; }
export PGPORT=$PGPORT_T

# TLS: a CA, and a server certificate for 127.0.0.1 (the guide's
# db.example.net), so that sslmode=verify-full is checked for real.
(
    cd "$T" || exit 1
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=fleet test CA" \
        -keyout ca.key -out db-ca.pem
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout server.key -out server.csr
    printf 'subjectAltName=IP:127.0.0.1\n' >san.ext
    openssl x509 -req -in server.csr -CA db-ca.pem -CAkey ca.key -CAcreateserial -days 2 \
        -extfile san.ext -out server.crt
) >"$T/openssl.log" 2>&1 || { echo "openssl failed: $(cat "$T/openssl.log")"; exit 1; }
install -o postgres -m 0600 "$T/server.key" "$T/pg/data/server.key"
install -o postgres -m 0644 "$T/server.crt" "$T/pg/data/server.crt"
printf "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n" >>"$T/pg/data/postgresql.conf"
pg_ctl_as -D "$T/pg/data" reload >/dev/null

# ------------------------------------------------------------ 1. roles
snippet_file fleet-roles "$T/roles.sql" || exit 1
psql -X -q -v ON_ERROR_STOP=1 "$PG_SUPER" -f "$T/roles.sql" >"$T/roles.out" 2>&1
check "fleet-roles: the guide's SQL runs as the superuser" "$?" 0
# Passwords for the login roles (the guide leaves them to the DBA), in a
# password file only (section 2).
pg_sql "ALTER ROLE authgate_owner PASSWORD 'Owner-pw-1'; ALTER ROLE alice PASSWORD 'Alice-pw-1';
        ALTER ROLE mx1 PASSWORD 'Mx1-pw-1'; ALTER ROLE relay7 PASSWORD 'Relay7-pw-1';" >/dev/null
printf '127.0.0.1:%s:authgate:%s\n' "$PGPORT" authgate_owner:Owner-pw-1 "$PGPORT" alice:Alice-pw-1 \
    "$PGPORT" mx1:Mx1-pw-1 "$PGPORT" relay7:Relay7-pw-1 >"$T/pgpass"
chmod 0600 "$T/pgpass"
export PGPASSFILE=$T/pgpass

# ------------------------------------------------------------ init
snippet_run fleet-init "authgatectl=$CTL" "db.example.net=127.0.0.1" >"$T/init.out" 2>&1
check "fleet-init: init as authgate_owner over TCP ($(tr '\n' ' ' <"$T/init.out"))" "$?" 0
OWNER="postgresql://authgate_owner@127.0.0.1/authgate"
as() { # as ROLE SQL: psql over TLS with the password file; the exit status
    PG_SQL_URI="postgresql://$1@127.0.0.1/authgate?sslmode=verify-full&sslrootcert=$T/db-ca.pem" \
        pg_sql "$2" >/dev/null 2>&1
}
check "roles: alice (authgate_admin) writes a data table" \
    "$(as alice "DELETE FROM authgate.policy_domains WHERE false"; echo $?)" 0
check "roles: alice may not write the change log" \
    "$(as alice "DELETE FROM authgate.changes WHERE false"; echo $?)" 1
check "roles: mx1 (authgate_node) reads the secrets" \
    "$(as mx1 "SELECT count(*) FROM authgate.secrets_users"; echo $?)" 0
check "roles: mx1 writes nothing" "$(as mx1 "DELETE FROM authgate.policy_domains WHERE false"; echo $?)" 1
check "roles: relay7 (authgate_policy_node) reads the policy and the log" \
    "$(as relay7 "SELECT count(*) FROM authgate.policy_rules, authgate.changes"; echo $?)" 0
check "roles: relay7 may not read secrets_users" \
    "$(as relay7 "SELECT count(*) FROM authgate.secrets_users"; echo $?)" 1
check "roles: relay7 may not read secrets_meta" \
    "$(as relay7 "SELECT count(*) FROM authgate.secrets_meta"; echo $?)" 1

# The diagram's claims: schema "authgate" with the change log; nodes keep
# their store in the default store directory.
diagram=$(snippet_get fleet-diagram) || exit 1
schema=$(sed -n 's/.*schema "\([a-z_]*\)".*/\1/p' <<<"$diagram")
check "fleet-diagram: schema \"$schema\" exists" \
    "$(PG_SQL_URI="$OWNER" pg_sql "SELECT count(*) FROM pg_namespace WHERE nspname = '$schema'" 2>&1)" 1
check "fleet-diagram: its change log is $schema.changes" "$(as alice "SELECT 1 FROM $schema.changes"; echo $?)" 0
grep -q ' /var/lib/authgate$' <<<"$diagram" && grep -qx '#store = /var/lib/authgate' "$TOP/packaging/authgate.conf" &&
    ok "fleet-diagram: nodes' stores in /var/lib/authgate, the default store" ||
    bad "fleet-diagram: the node store it shows is not the default store"

# ------------------------------------------------------------ 2. service file
{
    snippet_get fleet-service db.example.net=127.0.0.1 "/etc/authgate/db-ca.pem=$T/db-ca.pem" &&
        echo &&
        snippet_get fleet-admin-service db.example.net=127.0.0.1 "/etc/authgate/db-ca.pem=$T/db-ca.pem"
} >"$T/pg_service.conf" || exit 1
export PGSERVICEFILE=$T/pg_service.conf
check "fleet-service: mx1 over TLS (verify-full) through the service" \
    "$(psql -X -At "service=authgate" -c 'SELECT current_user, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()' 2>&1)" \
    "mx1|t"
psql -X -At "service=authgate sslrootcert=$T/server.crt" -c 'SELECT 1' >/dev/null 2>&1
check "fleet-service: a server certificate the CA did not sign is refused" "$?" 2

# ------------------------------------------------------------ 3. administering
printf 'carol@example.com:{SHA512-CRYPT}%s\ndan@example.com:{PLAIN}D4n-pw\n' \
    "$(printf 'C4rol' | openssl passwd -6 -stdin)" >"$T/dovecot-users"
snippet_get fleet-admin "authgatectl=$CTL" "/etc/dovecot/users=$T/dovecot-users" >"$T/admin.sh" || exit 1
# at_terminal SCRIPT PASSWORD OUT: run SCRIPT with bash -eu on a terminal
# (script(1) gives it a pty), typing PASSWORD at every password prompt
# once the prompt shows; everything it prints goes to OUT.  Its status.
at_terminal() {
    local tok pid from to
    : >"$3"
    coproc TTY { script -qec "bash -eu $1" /dev/null 2>&1; }
    # (bash forgets TTY and TTY_PID once the coprocess ends: copy them.)
    pid=$TTY_PID
    exec {from}<&"${TTY[0]}" {to}>&"${TTY[1]}"
    while IFS= read -r -d ' ' -t 60 tok <&"$from"; do
        printf '%s ' "$tok" >>"$3"
        case $tok in *[Pp]assword:) printf '%s\n' "$2" >&"$to" ;; esac
    done
    printf '%s' "$tok" >>"$3"
    exec {from}<&- {to}>&-
    wait "$pid"
}
# At a terminal: user add asks for the password twice.
at_terminal "$T/admin.sh" B0b-pw-1 "$T/admin.out"
check "fleet-admin: the admin's commands at a terminal" "$?" 0
grep -q '^user bob@example.com' "$T/admin.out" && grep -q '^rule bob@example.com allow @example.com' "$T/admin.out" &&
    grep -q '^user carol@example.com' "$T/admin.out" && ok "fleet-admin: export shows the user, the rule, the import" ||
    bad "fleet-admin: export: $(tr -d '\r' <"$T/admin.out" | tail -20)"
AG='postgresql:///authgate?service=authgate-admin'
actl() { "$CTL" --store "$AG" "$@"; }
check "the password typed at the terminal was set (verify on the central store)" \
    "$(printf 'B0b-pw-1\n' | actl verify bob@example.com --password-stdin >/dev/null 2>&1; echo $?)" 0
check "the imported hash works (carol)" \
    "$(printf 'C4rol\n' | actl verify carol@example.com --password-stdin >/dev/null 2>&1; echo $?)" 0

# ------------------------------------------------------------ 4. nodes
snippet_file fleet-node-conf "$T/node1.conf" "/var/lib/authgate=$T/node1" "60=2" || exit 1
# The milter-only node, as the comment says: no secrets, role relay7.
snippet_get fleet-node-conf "/var/lib/authgate=$T/node2" "60=2" |
    sed -e 's/^sync_secrets = yes$/sync_secrets = no/' \
        -e 's/^sync_central = "service=authgate"$/sync_central = "service=authgate user=relay7"/' \
        >"$T/node2.conf"
grep -q '^sync_secrets = no$' "$T/node2.conf" && grep -q 'user=relay7' "$T/node2.conf" ||
    bad "node 2's configuration: the guide's lines changed?"
start_sync() { # start_sync N
    "$SYNC" -c "$T/node$1.conf" >>"$T/sync$1.log" 2>&1 &
    SYNCPID[$1]=$!
    PIDS+=("$!")
}
central_seq() { PG_SQL_URI="$OWNER" pg_sql "SELECT coalesce(max(seq), 0) FROM authgate.changes"; }
node_seq() { "$CTL" --config "$T/node$1.conf" --json sync status --offline 2>/dev/null | jq -r .applied_seq; }
wait_node() { # wait_node N: the node applied the central store's newest change (15 s)
    local want
    want=$(central_seq)
    for _ in $(seq 300); do
        [ "$(node_seq "$1")" = "$want" ] && return 0
        kill -0 "${SYNCPID[$1]}" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}
nverify() { # nverify N LOGIN PASSWORD: authgatectl verify's exit status on node N
    printf '%s\n' "$3" | "$CTL" --config "$T/node$1.conf" verify "$2" --password-stdin >/dev/null 2>&1
    echo $?
}
start_sync 1
start_sync 2
wait_node 1 && ok "fleet-node-conf: node 1 loaded the central store" || bad "node 1: $(cat "$T/sync1.log")"
wait_node 2 && ok "fleet-node-conf: node 2 (policy only, relay7) loaded it" || bad "node 2: $(cat "$T/sync2.log")"
check "node 1: bob's password" "$(nverify 1 bob@example.com B0b-pw-1)" 0
check "node 1: the rule" \
    "$("$CTL" --config "$T/node1.conf" sender test bob@example.com x@example.com >/dev/null 2>&1; echo $?)" 0
check "node 2: the rule" \
    "$("$CTL" --config "$T/node2.conf" sender test bob@example.com x@example.com >/dev/null 2>&1; echo $?)" 0
check "node 2: no secrets copied (bob unknown there)" "$(nverify 2 bob@example.com B0b-pw-1)" 1
t0=$(date +%s.%N)
printf 'D4ve-pw\n' | actl user add dave@example.com --password-stdin >/dev/null
wait_node 1 && ok "a change reached node 1 in $(awk -v a="$t0" -v b="$(date +%s.%N)" \
    'BEGIN { printf "%.2f", b - a }') s (LISTEN, not the poll)" || bad "node 1 missed dave"

# The commands a node's admin runs.
AUTHGATE_CONFIG=$T/node1.conf snippet_run fleet-sync-commands "authgatectl=$CTL" >"$T/cmds.out" 2>&1
check "fleet-sync-commands: they run (exit 0: healthy)" "$?" 0
grep -q '^applied seq: ' "$T/cmds.out" && grep -q '^lag: *0 changes' "$T/cmds.out" &&
    ok "fleet-sync-commands: status shows the applied seq and the lag" ||
    bad "fleet-sync-commands: $(cat "$T/cmds.out")"
json=$(sed -n '/^{/,$p' "$T/cmds.out")
check "fleet-sync-commands: the JSON has seconds_since_success (the guide alerts on it)" \
    "$(jq -r '.seconds_since_success | type' <<<"$json" 2>&1)" number

# What a node accepts: the guide's example key, logged as the guide shows.
PG_SQL_URI="postgresql://alice@127.0.0.1/authgate" pg_sql "INSERT INTO authgate.secrets_users
    SELECT 'Carol@Example.COM'::bytea, value FROM authgate.secrets_users
    WHERE key = 'bob@example.com'::bytea" >/dev/null
wait_node 1
want=$(snippet_get fleet-rejected-log | tr '\n' ' ' | sed 's/ $//; s/^authgate-sync\[[0-9]*\]: //')
got=$(grep -F "rejected secrets_users key" "$T/sync1.log" | head -1)
case $got in "authgate-sync[${SYNCPID[1]}]: $want") ok "fleet-rejected-log: the line the sync logs" ;;
    *) bad "fleet-rejected-log: got '$got', want 'authgate-sync[${SYNCPID[1]}]: $want'" ;; esac
check "the rejected key is counted in sync status" \
    "$("$CTL" --config "$T/node1.conf" --json sync status --offline | jq -r .rejected_last)" 1
PG_SQL_URI="postgresql://alice@127.0.0.1/authgate" pg_sql \
    "DELETE FROM authgate.secrets_users WHERE key = 'Carol@Example.COM'::bytea" >/dev/null
wait_node 1

# Drift: an emergency local write, then the guide's resync.
check "node 1: a local write is refused (exit 7)" \
    "$("$CTL" --config "$T/node1.conf" user disable bob@example.com >/dev/null 2>&1; echo $?)" 7
"$CTL" --config "$T/node1.conf" --force user disable bob@example.com >/dev/null
check "node 1: --force writes (bob locked out)" "$(nverify 1 bob@example.com B0b-pw-1)" 1
printf 'Er1n-pw\n' | actl user add erin@example.com --password-stdin >/dev/null
sleep 3
check "drifted node 1 does not follow" "$(nverify 1 erin@example.com Er1n-pw)" 1
n=$(grep -c 'was written locally (authgatectl --force) since it was last synced' "$T/sync1.log")
[ "$n" -ge 2 ] && ok "the sync logs the drift at each attempt ($n lines in 3 s)" ||
    bad "drift lines: got $n, want 2 or more: $(tail -3 "$T/sync1.log")"
AUTHGATE_CONFIG=$T/node1.conf snippet_run fleet-resync "authgatectl=$CTL" >"$T/resync.out" 2>&1
check "fleet-resync: ends the drift" "$?" 0
check "after the resync: the central content (bob enabled again)" "$(nverify 1 bob@example.com B0b-pw-1)" 0
check "after the resync: erin arrived" "$(nverify 1 erin@example.com Er1n-pw)" 0
printf 'Fr4nk-pw\n' | actl user add frank@example.com --password-stdin >/dev/null
wait_node 1 && check "after the resync the sync follows again" "$(nverify 1 frank@example.com Fr4nk-pw)" 0 ||
    bad "node 1 did not follow after the resync: $(tail -3 "$T/sync1.log")"

# ------------------------------------------------------------ 6. the change log
# Node 2 stops; changes go on; the log is pruned past node 2's seq but not
# past node 1's.
wait_node 2
kill "${SYNCPID[2]}"
wait "${SYNCPID[2]}" 2>/dev/null
seq2=$(node_seq 2)
actl sender allow dave@example.com sales@example.com >/dev/null
actl domain add example.com >/dev/null
wait_node 1
prune=$(($(central_seq) - 1))
[ "$prune" -gt "$seq2" ] || bad "prune point $prune is not past node 2's seq $seq2"
snippet_get fleet-prune "100000=$prune" >"$T/prune.sql" || exit 1
psql -X -q -v ON_ERROR_STOP=1 "$OWNER" -f "$T/prune.sql" >"$T/prune.out" 2>&1
check "fleet-prune: runs as authgate_owner ($(tr '\n' ' ' <"$T/prune.out"))" "$?" 0
check "fleet-prune: the log now starts after $prune" \
    "$(PG_SQL_URI="$OWNER" pg_sql "SELECT min(seq) > $prune, (SELECT through FROM authgate.horizon) FROM authgate.changes")" \
    "t|$prune"
PG_SQL_URI="postgresql://alice@127.0.0.1/authgate" pg_sql \
    "DELETE FROM authgate.changes WHERE seq <= $prune" >/dev/null 2>&1
check "fleet-prune: an admin (alice) may not prune" "$?" 1
loads1=$(grep -c 'applied seq .* (full load)' "$T/sync1.log")
actl sender allow dave@example.com info@example.com >/dev/null
wait_node 1 && check "node 1 (past the prune point) goes on incrementally" \
    "$(grep -c 'applied seq .* (full load)' "$T/sync1.log")" "$loads1" || bad "node 1 after the prune"
start_sync 2
wait_node 2 && ok "node 2 (behind the prune point) caught up" || bad "node 2 after the prune: $(tail -3 "$T/sync2.log")"
check "node 2 reloaded everything (its second full load)" \
    "$(grep -c 'applied seq .* (full load)' "$T/sync2.log")" 2
check "node 2 has the rules made while it was down" \
    "$("$CTL" --config "$T/node2.conf" sender test dave@example.com info@example.com >/dev/null 2>&1; echo $?)" 0

fleet_tally
