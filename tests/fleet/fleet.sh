#!/bin/bash
# fleet.sh - one central PostgreSQL store, node stores following it
# (suite 'integration'; the long runs through `make fleet-check`).
#
# usage: fleet.sh GROUP      GROUP: ldd nodes outage kill9 hostile ctl
# Environment (meson sets it): AUTHGATECTL, AUTHGATE_SYNC, SASLCHECK,
# PLUGIN_DIR, MILTER, MILTER_CLIENT, NO_LIBPQ (binaries that must not link
# libpq), FLEET_KILL_ROUNDS (kill9: default 12), FLEET_KILL_USERS (default
# 20000).
# Real components only: PostgreSQL 15 started here on loopback (pg.sh),
# authgatectl and authgate-sync as shipped, libsasl2 with the real plugin
# in a long-lived process (fleet-saslcheck), authgate-milter over its
# socket (milter-client).  Needs root (PostgreSQL runs as postgres): exit
# 77 otherwise.
set -u
G=${1:?group}
S=$(cd "$(dirname "$0")" && pwd)
CTL=${AUTHGATECTL:?} SYNC=${AUTHGATE_SYNC:?}
# shellcheck source=common.sh
. "$S/common.sh"

if [ "$G" = ldd ]; then
    for b in ${NO_LIBPQ:?}; do
        if ldd "$b" | grep -q 'libpq\.so'; then bad "$(basename "$b") links libpq"
        else ok "$(basename "$b") does not link libpq"; fi
        if nm -D "$b" 2>/dev/null | grep -q ' PQ'; then bad "$(basename "$b") has PQ symbols"; fi
    done
    for b in "$CTL" "$SYNC"; do
        ldd "$b" | grep -q 'libpq\.so' && ok "$(basename "$b") links libpq" \
            || bad "$(basename "$b") should link libpq"
    done
    fleet_tally
    exit
fi

fleet_need_pg
fleet_sandbox fleet
export AUTHGATE_CONFIG=/dev/null
pg_start "$T" || { echo "cannot start PostgreSQL"; exit 1; }
"$CTL" --store "$PG_OWNER" init --mechanisms "SCRAM-SHA-256 PLAIN" >/dev/null \
    || { echo "init of the central store failed"; exit 1; }
ctl() { "$CTL" --store "$PG_ADMIN" "$@"; }
adduser() { printf '%s\n' "$2" | ctl user add "$1" --password-stdin >/dev/null; }
central_seq() { PG_SQL_URI=$PG_ADMIN pg_sql "SELECT coalesce(max(seq), 0) FROM authgate.changes"; }
node_seq() { "$CTL" --store "$1" --json sync status --offline 2>/dev/null | jq -r .applied_seq; }
nodeconf() { # nodeconf N [extra]: T/nN.conf for node N
    printf 'store = %s\nsync_central = "%s"\nsync_interval = 2\nsync_retry_max = 2\n%s' \
        "$T/n$1" "$PG_NODE" "${2:-}" >"$T/n$1.conf"
}
start_sync() { # start_sync N
    "$SYNC" -c "$T/n$1.conf" >>"$T/sync$1.log" 2>&1 &
    SYNCPID[$1]=$!
    PIDS+=("$!")
}
# wait_nodes N...: every node has applied the central store's newest seq;
# prints the seconds it took.
wait_nodes() {
    local want t0 n
    want=$(central_seq)
    t0=$(date +%s.%N)
    for _ in $(seq 400); do
        n=0
        for i in "$@"; do [ "$(node_seq "$T/n$i")" = "$want" ] && n=$((n + 1)); done
        if [ "$n" = $# ]; then
            echo "$(date +%s.%N) - $t0" | bc
            return 0
        fi
        sleep 0.05
    done
    echo timeout
    return 1
}
verify() { # verify STORE LOGIN PASSWORD -> match|mismatch|...
    printf '%s\n' "$3" | "$CTL" --store "$1" verify "$2" --password-stdin >/dev/null 2>&1
    case $? in 0) echo match ;; 1) echo mismatch ;; *) echo "error $?" ;; esac
}

group_nodes() {
    adduser alice@example.com pw-one
    ctl sender allow alice@example.com sales@example.com >/dev/null
    ctl domain add example.com >/dev/null
    for i in 1 2 3; do nodeconf $i; start_sync $i; done
    t=$(wait_nodes 1 2 3) && ok "three nodes loaded the central store (${t}s)" \
        || { bad "nodes did not load: $(cat "$T"/sync*.log)"; return; }
    # One long-lived SASL consumer (libsasl2 + plugin) and one milter on node 1.
    coproc SASL { "$SASLCHECK" "$PLUGIN_DIR" "$T/n1" 2>"$T/sasl.log"; }
    PIDS+=("$SASL_PID")
    sasl() { echo "$1 $2" >&"${SASL[1]}"; read -r -t 10 line <&"${SASL[0]}"; echo "${line:-none}"; }
    printf 'store = %s\nmilter_socket = unix:%s\nmilter_user = ""\nmilter_pidfile = %s\nauthserv_id = mx.test\n' \
        "$T/n1" "$T/milter.sock" "$T/milter.pid" >"$T/milter.conf"
    "$MILTER" -f -c "$T/milter.conf" 2>"$T/milter.log" &
    PIDS+=("$!")
    for _ in $(seq 100); do [ -S "$T/milter.sock" ] && break; sleep 0.05; done
    mail() { "$MILTER_CLIENT" -m i=Q1 -m "{auth_authen}=$1" -m '{auth_type}=PLAIN' -f "<$2>" \
        -h "From: <$2>" "unix:$T/milter.sock" 2>&1 | head -1; }
    check "plugin: alice authenticates on node 1" "$(sasl alice@example.com pw-one)" OK
    check "milter: alice may send as sales@" "$(mail alice@example.com sales@example.com)" \
        "mail: continue"

    adduser carol@example.com pw-carol
    t=$(wait_nodes 1 2 3) && ok "user added centrally reached 3 nodes in ${t}s" || bad "add: $t"
    for i in 1 2 3; do check "node $i: carol's password" "$(verify "$T/n$i" carol@example.com pw-carol)" match; done
    check "plugin (same process): carol authenticates" "$(sasl carol@example.com pw-carol)" OK

    printf 'pw-two\n' | ctl user passwd alice@example.com --password-stdin >/dev/null
    t=$(wait_nodes 1 2 3) && ok "password changed centrally reached 3 nodes in ${t}s" || bad "passwd: $t"
    for i in 1 2 3; do
        check "node $i: alice's new password" "$(verify "$T/n$i" alice@example.com pw-two)" match
        check "node $i: alice's old password" "$(verify "$T/n$i" alice@example.com pw-one)" mismatch
    done
    check "plugin: alice's new password" "$(sasl alice@example.com pw-two)" OK
    check "plugin: alice's old password" "$(sasl alice@example.com pw-one)" NO

    ctl sender del alice@example.com sales@example.com >/dev/null
    t=$(wait_nodes 1 2 3) && ok "send-as rule removed centrally reached 3 nodes in ${t}s" || bad "rule: $t"
    for i in 1 2 3; do
        "$CTL" --store "$T/n$i" sender test alice@example.com sales@example.com >/dev/null 2>&1
        check "node $i: alice may no longer send as sales@" "$?" 1
    done
    got=$(mail alice@example.com sales@example.com)
    case $got in "mail: reply 553 5.7.1"*) ok "milter (same process): sales@ now refused" ;;
        *) bad "milter after the rule removal: got '$got'" ;; esac
    check "milter: alice still sends as herself" "$(mail alice@example.com alice@example.com)" \
        "mail: continue"

    # The poll alone: a change made in a transaction that sends no NOTIFY
    # (the trigger skips it when authgate.notified already names the
    # transaction) reaches the nodes by the sync_interval poll.
    before=$(central_seq)
    got=$(PG_SQL_URI=$PG_ADMIN pg_sql "BEGIN;
        SELECT set_config('authgate.notified', pg_current_xact_id()::text, true);
        DELETE FROM authgate.policy_domains WHERE key = convert_to('example.com', 'UTF8')
            RETURNING 'deleted';
        COMMIT;" 2>&1)
    case $got in *deleted*) ok "example.com deleted centrally without a NOTIFY" ;;
        *) bad "direct delete of example.com: $got" ;; esac
    [ "$(central_seq)" -gt "$before" ] && ok "the change log has the deletion" \
        || bad "the change log did not grow ($before)"
    t=$(wait_nodes 1 2 3) && ok "a change without NOTIFY reached 3 nodes by the poll in ${t}s" \
        || bad "poll: $t"
    # (a NOTIFY arrives in milliseconds; the poll comes within sync_interval, 2 s)
    check "it came by the poll, not a NOTIFY (${t}s > 0.2s)" "$(echo "$t > 0.2" | bc)" 1
    for i in 1 2 3; do
        check "node $i: example.com no longer local (poll)" \
            "$("$CTL" --store "$T/n$i" domain list | grep -c '^example.com$')" 0
    done
    ctl domain add example.com >/dev/null
    wait_nodes 1 2 3 >/dev/null

    ctl user del carol@example.com >/dev/null
    wait_nodes 1 2 3 >/dev/null
    check "plugin: deleted user refused" "$(sasl carol@example.com pw-carol)" NO
    for i in 1 2 3; do
        "$CTL" --store "$T/n$i" check >/dev/null 2>&1
        check "node $i: authgatectl check" "$?" 0
        printf 'x\n' | "$CTL" --store "$T/n$i" user add local@x --password-stdin >/dev/null 2>&1
        check "node $i: a local write is refused (managed store)" "$?" 7
    done
    "$CTL" --store "$T/n1" --json sync status >"$T/status.json"
    check "sync status: lag 0" "$(jq -r .lag_changes "$T/status.json")" 0
    check "sync status: no error" "$(jq -r .last_error "$T/status.json")" ""
    # A forced local write stops the sync (drift) until --resync.
    printf 'x\n' | "$CTL" --store "$T/n2" --force user add local@example.com --password-stdin >/dev/null
    adduser drift@example.com pw-drift
    sleep 3
    check "drifted node 2 does not follow" "$(verify "$T/n2" drift@example.com pw-drift)" mismatch
    "$CTL" --store "$T/n2" sync status --offline >"$T/drift.txt"
    check "sync status says drift (exit 1)" "$?" 1
    grep -q "^drift: .*local write" "$T/drift.txt" && ok "sync status names the drift" \
        || bad "sync status: $(cat "$T/drift.txt")"
    "$CTL" --store "$T/n2" sync --once --resync --central "$PG_NODE" >/dev/null 2>&1
    check "resync ends the drift" "$?" 0
    check "after resync: central user present" "$(verify "$T/n2" drift@example.com pw-drift)" match
    check "after resync: local user gone" "$(verify "$T/n2" local@example.com x)" mismatch
    t=$(wait_nodes 1 2 3) && ok "all nodes agree after the resync" || bad "after resync: $t"
    for i in 2 3; do
        diff <("$CTL" --store "$T/n1" export --with-secrets | tail -n +2) \
            <("$CTL" --store "$T/n$i" export --with-secrets | tail -n +2) >/dev/null \
            && ok "node $i has exactly node 1's content" || bad "node $i differs from node 1"
    done
}

group_outage() {
    adduser alice@example.com pw-one
    ctl sender allow alice@example.com sales@example.com >/dev/null
    for i in 1 2 3; do nodeconf $i; start_sync $i; done
    wait_nodes 1 2 3 >/dev/null || { bad "nodes did not load"; return; }
    pg_stop "$T"
    sleep 3
    for i in 1 2 3; do
        check "central down: node $i authenticates" "$(verify "$T/n$i" alice@example.com pw-one)" match
        "$CTL" --store "$T/n$i" sender test alice@example.com sales@example.com >/dev/null 2>&1
        check "central down: node $i enforces the rules" "$?" 0
        "$CTL" --store "$T/n$i" sender test alice@example.com boss@example.com >/dev/null 2>&1
        check "central down: node $i refuses others" "$?" 1
        kill -0 "${SYNCPID[$i]}" 2>/dev/null && ok "central down: sync $i keeps running" \
            || bad "sync $i exited"
    done
    "$CTL" --store "$T/n1" --json sync status --offline >"$T/down.json"
    check "sync status exit while down" "$?" 1
    case $(jq -r .last_error "$T/down.json") in *PostgreSQL*) ok "sync status shows the connection error" ;;
        *) bad "last_error while down: $(jq -r .last_error "$T/down.json")" ;; esac
    grep -q "serving the last synced state" "$T/sync1.log" && ok "the outage is logged" \
        || bad "no outage line in the log"
    # Nodes 2 and 3 are also stopped: they catch up when started again.
    kill "${SYNCPID[2]}" "${SYNCPID[3]}"
    pg_restart_only "$T"
    adduser bob@example.com pw-bob
    ctl sender del alice@example.com sales@example.com >/dev/null
    t=$(wait_nodes 1) && ok "central back: node 1 caught up in ${t}s" || bad "node 1: $t"
    start_sync 2
    start_sync 3
    t=$(wait_nodes 2 3) && ok "restarted syncs caught up in ${t}s" || bad "nodes 2 3: $t"
    for i in 1 2 3; do
        check "node $i: user added after the outage" "$(verify "$T/n$i" bob@example.com pw-bob)" match
        "$CTL" --store "$T/n$i" sender test alice@example.com sales@example.com >/dev/null 2>&1
        check "node $i: rule removed after the outage" "$?" 1
    done
    "$CTL" --store "$T/n1" sync status >/dev/null
    check "sync status healthy again" "$?" 0
}

# A {SHA512-CRYPT} hash of $1 (libxcrypt through openssl passwd).
sha512_hash() { printf "%s" "$1" | openssl passwd -6 -stdin; }

# Export of a store minus its first line (path and time).
snap() { "$CTL" --store "$1" export --with-secrets | tail -n +2; }

group_kill9() {
    local users=${FLEET_KILL_USERS:-20000} rounds=${FLEET_KILL_ROUNDS:-12}
    local h sa=0 sb=0 smix=0 rolled=0 mixed i delay got seqA seqB sp ss envok
    h=$(sha512_hash x)
    for i in $(seq 1 "$users"); do echo "u$i@example.com:{SHA512-CRYPT}$h"; done >"$T/users.pw"
    ctl import dovecot "$T/users.pw" >/dev/null || { bad "import of $users users"; return; }
    for i in $(seq 1 200); do echo "@example.com u$i@example.com"; done >"$T/maps"
    ctl import sender-login-maps "$T/maps" >/dev/null
    nodeconf 1
    "$CTL" --store "$T/n1" sync --once --central "$PG_NODE" >/dev/null 2>&1 || { bad "initial load"; return; }
    snap "$T/n1" >"$T/A"
    snap "$PG_ADMIN" >"$T/A.central"
    diff -q "$T/A" "$T/A.central" >/dev/null && ok "node equals the central store at state A" \
        || bad "node differs from central at A"
    cp -a "$T/n1" "$T/n1.A"
    seqA=$(central_seq)
    # State B: one central transaction changing every user and rule.
    PG_SQL_URI=$PG_ADMIN pg_sql "BEGIN;
        UPDATE authgate.secrets_users SET value = (SELECT value FROM authgate.secrets_users
            WHERE key = 'u1@example.com'::bytea) WHERE key <> 'u1@example.com'::bytea;
        DELETE FROM authgate.secrets_users WHERE key LIKE 'u1%'::bytea AND key <> 'u1@example.com'::bytea;
        DELETE FROM authgate.policy_ruleidx;
        -- every rule goes; each remaining login keeps its note (version 1,
        -- flag \"login exists\", no rules), as authdb itself would leave it
        UPDATE authgate.policy_rules SET value = '\\x01010000'::bytea;
        DELETE FROM authgate.policy_rules WHERE key LIKE 'u1%'::bytea AND key <> 'u1@example.com'::bytea;
        COMMIT;" >/dev/null
    snap "$PG_ADMIN" >"$T/B"
    seqB=$(central_seq)
    [ "$(grep -c '^user ' "$T/B")" -lt "$(grep -c '^user ' "$T/A")" ] && ok "state B differs from A" \
        || bad "state B is not a change"
    # How long one uninterrupted run takes: kills land uniformly inside it.
    rm -rf "$T/n1.B" && cp -a "$T/n1.A" "$T/n1.B"
    t0=$(date +%s%N)
    "$CTL" --store "$T/n1.B" sync --once --central "$PG_NODE" >/dev/null 2>&1
    span=$((($(date +%s%N) - t0) / 1000000))
    ok "an uninterrupted incremental round of $users changed users takes ${span} ms"
    for i in $(seq 1 "$rounds"); do
        rm -rf "$T/n1"
        cp -a "$T/n1.A" "$T/n1"
        opts=()
        [ $((i % 4)) = 0 ] && opts=(--resync)
        "$CTL" --store "$T/n1" sync --once --central "$PG_NODE" "${opts[@]}" >/dev/null 2>&1 &
        pid=$!
        delay=$(awk -v r=$RANDOM -v s="$span" 'BEGIN { printf "%.3f", (r % (s + 1)) / 1000 }')
        sleep "$delay"
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        if ! "$CTL" --store "$T/n1" check >/dev/null 2>&1; then
            bad "round $i (kill after ${delay}s): authgatectl check failed"
            continue
        fi
        # Each environment is one LMDB transaction carrying its own seq:
        # its content must be the central state at that seq.  Secrets
        # commit first (with the journal of the policy changes), so until
        # the next write open secrets may be at B while policy is still at
        # A (read-only commands do not complete it: they never write).
        envseq() {
            "$CTL" --store "$T/n1" --json sync status --offline >"$T/st.json"
            sp=$(jq -r .applied_seq_policy "$T/st.json")
            ss=$(jq -r .applied_seq_secrets "$T/st.json")
        }
        envcheck() { # $1: when
            local e q re want
            snap "$T/n1" >"$T/now"
            envseq
            envok=1
            for e in policy secrets; do
                [ $e = policy ] && q=$sp re='^(rule|domain) ' || { q=$ss; re='^(user|secret) '; }
                if [ "$q" = "$seqA" ]; then want=A; elif [ "$q" = "$seqB" ]; then want=B; else
                    bad "round $i ($1): $e seq $q is neither $seqA nor $seqB"; envok=0; continue; fi
                if ! cmp -s <(grep -E "$re" "$T/now") <(grep -E "$re" "$T/$want"); then
                    bad "round $i ($1, kill after ${delay}s): $e content is not state $want of its seq $q"
                    envok=0
                fi
            done
        }
        envcheck "after the kill"
        [ "$envok" = 1 ] || continue
        mixed=0
        if [ "$sp" = "$seqA" ] && [ "$ss" = "$seqA" ]; then sa=$((sa + 1))
        elif [ "$sp" = "$seqB" ] && [ "$ss" = "$seqB" ]; then sb=$((sb + 1))
        elif [ "$sp" = "$seqA" ] && [ "$ss" = "$seqB" ]; then smix=$((smix + 1)); mixed=1
        else bad "round $i: policy at B with secrets at A: policy never commits first"; continue; fi
        # The next write open completes it before anything else: a sync
        # round whose central store is unreachable opens the node for
        # writing, then fails to connect.  After it the node is entirely
        # at one central state, and the log says when it completed one.
        "$CTL" --store "$T/n1" sync --once \
            --central "host=$T/nonexistent dbname=none connect_timeout=2" >"$T/open.log" 2>&1
        envcheck "after the next write open"
        [ "$envok" = 1 ] || continue
        if [ "$sp" != "$ss" ]; then
            bad "round $i: after the next write open policy is at $sp, secrets at $ss"
            continue
        fi
        if [ "$mixed" = 1 ]; then
            if grep -q "completed a change interrupted between the environments" "$T/open.log"; then
                rolled=$((rolled + 1))
            else
                bad "round $i: the next write open completed the change without saying so"
            fi
        fi
        seq_now=$(node_seq "$T/n1")
        "$CTL" --store "$T/n1" sync --once --central "$PG_NODE" >/dev/null 2>&1
        snap "$T/n1" >"$T/now"
        cmp -s "$T/now" "$T/B" || bad "round $i: the next run did not complete (seq was $seq_now)"
    done
    ok "kill -9 during the apply, $rounds rounds of $users users: $sa left state A, $sb state B, $smix secrets B with policy A (between the two commits: $rolled completed by the next write open), never a mix within an environment"
    [ $((sa + sb + smix)) = "$rounds" ] || bad "only $((sa + sb + smix)) of $rounds rounds were consistent"
    [ "$rolled" = "$smix" ] || bad "only $rolled of $smix rounds cut between the commits were completed by the next write open"
}

group_hostile() {
    adduser alice@example.com pw-one
    ctl domain add example.com >/dev/null
    nodeconf 1
    "$CTL" --store "$T/n1" sync --once --central "$PG_NODE" >/dev/null 2>&1
    snap "$T/n1" >"$T/before"
    PG_SQL_URI=$PG_ADMIN pg_sql "BEGIN;
        INSERT INTO authgate.secrets_users VALUES ('Carol@Example.COM'::bytea,
            (SELECT value FROM authgate.secrets_users WHERE key = 'alice@example.com'::bytea));
        INSERT INTO authgate.secrets_users VALUES ('dave'::bytea, '\\x0102'::bytea);
        INSERT INTO authgate.secrets_users VALUES ('eve'::bytea, decode(repeat('00', 1048576), 'hex'));
        INSERT INTO authgate.secrets_users VALUES (decode(repeat('61', 400), 'hex'),
            (SELECT value FROM authgate.secrets_users WHERE key = 'alice@example.com'::bytea));
        INSERT INTO authgate.secrets_users VALUES ('a b@example.com'::bytea,
            (SELECT value FROM authgate.secrets_users WHERE key = 'alice@example.com'::bytea));
        INSERT INTO authgate.policy_domains VALUES ('EXAMPLE.org'::bytea, '\\x01'::bytea);
        INSERT INTO authgate.policy_domains VALUES ('bad..domain'::bytea, '\\x01'::bytea);
        INSERT INTO authgate.policy_domains VALUES ('good.example'::bytea, '\\x09'::bytea);
        INSERT INTO authgate.policy_rules VALUES ('alice@example.com'::bytea,
            '\\x0100010001010c006e6f74616e61646472657373'::bytea)
            ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value;
        INSERT INTO authgate.policy_rules VALUES ('bob@example.com'::bytea,
            '\\x01000100010111004f574e4552406578616d706c652e636f6d'::bytea);
        INSERT INTO authgate.policy_meta VALUES ('s:self_send'::bytea, 'maybe'::bytea);
        UPDATE authgate.secrets_meta SET value = 'not-a-hash'::bytea WHERE key = 'dummy_hash'::bytea;
        UPDATE authgate.secrets_users SET value = '\\x01'::bytea WHERE key = 'alice@example.com'::bytea;
        COMMIT;" >"$T/sql.out" 2>&1 || { bad "hostile SQL failed: $(cat "$T/sql.out")"; return; }
    "$CTL" --store "$T/n1" sync --once --central "$PG_NODE" >"$T/out" 2>"$T/err"
    check "sync with hostile data exits 5" "$?" 5
    grep -q "13 rejected" "$T/out" && ok "13 keys rejected" || bad "output: $(cat "$T/out")"
    for want in 'secrets_users key "Carol@Example.COM".*not in normalized form' \
        'secrets_users key "dave".*does not decode' 'secrets_users key "eve".*larger than' \
        'secrets_users key "aaaa.*not a valid login' 'secrets_users key "a b@example.com".*not a valid login' \
        'policy_domains key "EXAMPLE.org".*normalized' 'policy_domains key "bad..domain".*not a valid domain' \
        'policy_domains key "good.example".*version' 'policy_rules key "alice@example.com".*pattern' \
        'policy_rules key "bob@example.com".*normalized' 'policy_meta key "s:self_send".*yes or no' \
        'secrets_meta key "dummy_hash".*crypt' 'secrets_users key "alice@example.com".*does not decode'; do
        grep -q "rejected $want" "$T/err" && ok "clear error: $want" || bad "no line for: $want"
    done
    "$CTL" --store "$T/n1" check >/dev/null 2>&1
    check "node passes authgatectl check" "$?" 0
    snap "$T/n1" >"$T/after"
    diff -q "$T/before" "$T/after" >/dev/null && ok "node content unchanged by hostile data" \
        || bad "node changed: $(diff "$T/before" "$T/after" | head -5)"
    check "alice still authenticates on the node" "$(verify "$T/n1" alice@example.com pw-one)" match
    check "sync status counts the rejected keys" \
        "$("$CTL" --store "$T/n1" --json sync status --offline | jq -r .rejected_last)" 13
    # A valid change after the hostile ones still applies.
    adduser zed@example.com pw-zed
    "$CTL" --store "$T/n1" sync --once --central "$PG_NODE" >/dev/null 2>&1
    check "a valid later change applies" "$(verify "$T/n1" zed@example.com pw-zed)" match
    PG_SQL_URI=$PG_ADMIN pg_sql "TRUNCATE authgate.policy_domains" >/dev/null 2>&1
    check "TRUNCATE of a data table is refused" "$?" 1
}

group_ctl() {
    local n
    "$CTL" --store "$PG_OWNER" init >/dev/null 2>&1
    check "init on an existing central store: exit 4" "$?" 4
    out=$("$CTL" --store "$PG_OWNER" upgrade)
    check "upgrade at the current schema" "$out" "central store at schema 1: nothing to do"
    printf 'pw\n' | ctl user add Alice@Example.COM --password-stdin >/dev/null
    check "user add on PostgreSQL" "$?" 0
    printf 'pw\n' | ctl user add alice@example.com --password-stdin >/dev/null 2>&1
    check "user add of an existing login: exit 4" "$?" 4
    check "verify right password" "$(verify "$PG_ADMIN" alice@example.com pw)" match
    check "verify wrong password" "$(verify "$PG_ADMIN" alice@example.com nope)" mismatch
    ctl user disable alice@example.com >/dev/null && check "user disable" \
        "$(ctl --json user show alice@example.com | jq -r .user.disabled)" true
    ctl user enable alice@example.com >/dev/null
    ctl sender allow alice@example.com '@example.com' >/dev/null
    ctl sender deny alice@example.com boss@example.com >/dev/null
    ctl sender test alice@example.com x@example.com >/dev/null
    check "sender test allowed by @domain" "$?" 0
    ctl sender test alice@example.com boss@example.com >/dev/null
    check "sender test denied by the address rule" "$?" 1
    ctl domain add example.com >/dev/null && ctl domain add EXAMPLE.com >/dev/null 2>&1
    check "domain add twice: exit 4" "$?" 4
    check "domain list" "$(ctl domain list)" example.com
    ctl settings set self_send no >/dev/null
    check "settings set / show" "$(ctl settings show | awk '$1 == "self_send" {print $2}')" no
    ctl settings set self_send maybe >/dev/null 2>&1
    check "invalid setting: exit 5" "$?" 5
    h=$(sha512_hash x)
    printf 'u1@example.com:{SHA512-CRYPT}%s\nu2@example.com:{SHA512-CRYPT}%s\nbad login:{PLAIN}x\n' "$h" "$h" >"$T/pw"
    ctl import dovecot "$T/pw" >/dev/null 2>&1
    check "import dovecot with one bad record: exit 5" "$?" 5
    ctl import dovecot --all-or-nothing "$T/pw" >/dev/null 2>&1
    n=$(ctl --json stats | jq -r .stats.users)
    check "users after imports (all-or-nothing rolled back nothing extra)" "$n" 3
    check "verify an imported hash" "$(verify "$PG_ADMIN" u2@example.com x)" match
    ctl check >/dev/null
    check "check on PostgreSQL" "$?" 0
    ctl export >"$T/export" && grep -q '^rule alice@example.com deny boss@example.com' "$T/export" \
        && ok "export from PostgreSQL" || bad "export: $(head -20 "$T/export")"
    ctl user del alice@example.com >/dev/null
    check "user del removes the rules too" "$(ctl sender list | wc -l)" 0
    ctl backup "$T/bk" >/dev/null 2>&1
    check "backup of a PostgreSQL store is refused (pg_dump)" "$?" 5
    # Roles: nodes read only, the policy node reads no secrets.
    printf 'pw\n' | "$CTL" --store "$PG_NODE" user add n@example.com --password-stdin >/dev/null 2>&1
    check "node role cannot write: exit 7" "$?" 7
    "$CTL" --store "$PG_NODE" user list >/dev/null
    check "node role reads users" "$?" 0
    "$CTL" --store "$PG_PNODE" user list >/dev/null 2>&1
    check "policy node role cannot read secrets: exit 7" "$?" 7
    "$CTL" --store "$PG_PNODE" domain list >/dev/null
    check "policy node role reads the policy" "$?" 0
    PG_SQL_URI=$PG_PNODE pg_sql "SELECT count(*) FROM authgate.secrets_users" >/dev/null 2>&1
    check "policy node role: SELECT on secrets_users denied" "$?" 1
    # Credentials from a password file over TCP (never argv).
    printf '127.0.0.1:%s:authgate:node:node-pw-T3st\n' "$PGPORT_T" >"$T/pgpass"
    chmod 0600 "$T/pgpass"
    PGPASSFILE=$T/pgpass "$CTL" --store "postgresql://node@127.0.0.1:$PGPORT_T/authgate" user list >/dev/null
    check "node role over TCP with a password file" "$?" 0
    "$CTL" --store "postgresql://node@127.0.0.1:$PGPORT_T/authgate" user list >/dev/null 2>&1
    check "without the password file: refused (exit 6)" "$?" 6
    # A newer schema is refused with a clear error.
    PG_SQL_URI=$PG_OWNER pg_sql "UPDATE authgate.schema_version SET version = 99" >/dev/null
    err=$(ctl user list 2>&1)
    check "newer schema: exit 6" "$?" 6
    case $err in *"schema 99 is newer"*) ok "newer schema: clear error" ;; *) bad "newer schema: $err" ;; esac
    nodeconf 1
    err=$("$CTL" --store "$T/n1" sync --once --central "$PG_NODE" 2>&1)
    case $err in *"schema 99 is newer"*) ok "sync refuses a newer schema" ;; *) bad "sync on schema 99: $err" ;; esac
    PG_SQL_URI=$PG_OWNER pg_sql "UPDATE authgate.schema_version SET version = 1" >/dev/null
    # The admin views decode the records.
    check "view authgate.users" "$(PG_SQL_URI=$PG_ADMIN pg_sql "SELECT login || ' ' || hash_scheme FROM authgate.users WHERE login = 'u1@example.com'")" "u1@example.com sha512-crypt"
    ctl sender allow u1@example.com '@example.com' >/dev/null
    check "view authgate.rules" "$(PG_SQL_URI=$PG_ADMIN pg_sql "SELECT login || ' ' || action || ' ' || kind || ' ' || pattern FROM authgate.rules")" "u1@example.com allow domain @example.com"
    check "view authgate.settings" "$(PG_SQL_URI=$PG_ADMIN pg_sql "SELECT value FROM authgate.settings WHERE setting = 'self_send'")" no
}

case $G in
nodes | outage | kill9 | hostile | ctl) "group_$G" ;;
*) echo "unknown group $G"; exit 2 ;;
esac
fleet_tally
