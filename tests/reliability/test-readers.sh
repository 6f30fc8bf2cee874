#!/bin/bash
# test-readers.sh - LMDB reader tables full (1024 slots, the store's
# maxreaders) of stale slots left by killed processes, and full of live
# readers, while authgate-authd, authgate-milter and Postfix with the
# plugin hold the store open (issue 7, "Faults").
#
#   stale: rl-readers fills both environments' tables with processes that
#     hold a read transaction and kills them all with SIGKILL.  Every
#     lookup afterwards must succeed at once (authdb clears dead slots on
#     MDB_READERS_FULL and retries): AUTH PLAIN (authd), AUTH CRAM-MD5 (the
#     plugin in smtpd), mail through the milter, rl-sasl-load in a new
#     process; and the slots are free again afterwards.
#   live: the tables (policy only, secrets only, both) are full of live
#     readers.  Then lookups may fail, but only temporarily (454, 451,
#     authd's empty reply, SASL temp), never an accept of a wrong password
#     or a 5xx for a good one; once the readers end, everything works
#     again with no restart.  While the tables are full, postfix reload
#     replaces the smtpd processes: the new ones load the plugin (open the
#     store as root, then chroot) with no free slot, and must work once
#     the readers end like the others.  (Before the fix, such an smtpd's
#     open failed with MDB_READERS_FULL, its retry inside the chroot could
#     not find the store, and it answered 454 until it exited: the full
#     count met this when Postfix's max_use replaced an smtpd mid-phase.)
# Rounds: 1 of each (make check), 5 of each (RELIAB_FULL=1).
set -u
HERE=$(dirname "$0")
# shellcheck source=rl.sh
. "$HERE/rl.sh"
rl_init postfix sink swaks
rl_stack_start
S=$LAB/store
ROUNDS=$(rl_pick 1 5)
printf 'CRAM-MD5 alice@example.com %s ok\nCRAM-MD5 bob@example.com wrong-pw-9 fail\n' "$RL_PW" >"$LAB/sasl.cases"
TEMPS=0 CHECKS=0

# slots: the reader slots taken in secrets/ and policy/, dead or alive
# (mdb_stat -r lists the table without clearing it; authgatectl would
# clear dead slots when it opens the store).
slots() {
    echo "$(mdb_stat -r "$S/secrets" | grep -c '^ *[0-9]') $(mdb_stat -r "$S/policy" | grep -c '^ *[0-9]')"
}

# expect_ok LABEL: every path answers as if nothing happened.
expect_ok() {
    local a
    rl_stack_expect_ok "$1"
    a=$(rl_authd_ask alice@example.com "$RL_PW")
    lab_expect "$1: authd direct" "${a%% *}" OK
    lab_expect_match "$1: plugin through libsasl2 in a new process" \
        "$("$RL_BIN/rl-sasl-load" "$S" "$LAB/sasl.cases" 2>&1)" '^sasl-load: exchanges 2 ok 1 fail 1 temp 0 wrong 0$'
    CHECKS=$((CHECKS + 2))
}

# temp CODE: count a temporary failure.
temp() {
    case $1 in 454* | 451* | EMPTY*) TEMPS=$((TEMPS + 1)) ;; esac
}

# expect_temp_or_ok LABEL: tables full of live readers: an answer or a
# temporary failure, never a wrong answer.
expect_temp_or_ok() {
    local c a
    c=$(rl_auth PLAIN alice@example.com "$RL_PW")
    lab_expect_match "$1: AUTH PLAIN (authd), good password: 235 or 454 (got $c)" "$c" '^(235|454)$'
    temp "$c"
    c=$(rl_auth CRAM-MD5 alice@example.com "$RL_PW")
    lab_expect_match "$1: AUTH CRAM-MD5 (plugin), good password: 235 or 454 (got $c)" "$c" '^(235|454)$'
    temp "$c"
    c=$(rl_auth CRAM-MD5 alice@example.com bad-pw-1)
    lab_expect_match "$1: AUTH CRAM-MD5, wrong password: 535 or 454 (got $c)" "$c" '^(535|454)$'
    temp "$c"
    c=$(rl_send CRAM-MD5 alice@example.com "$RL_PW" alice@example.com)
    lab_expect_match "$1: legitimate message: 250, or 4xx at AUTH or from the milter (got ${c:0:40})" "$c" '^(250 2\.0\.0 Ok|454 4\.7\.0|451 4\.3\.0)'
    temp "$c"
    c=$(rl_send CRAM-MD5 alice@example.com "$RL_PW" ceo@example.com)
    lab_expect_match "$1: spoofed message: 553 or 4xx, never 250 (got ${c:0:40})" "$c" '^(553 5\.7\.1|454 4\.7\.0|451 4\.3\.0)'
    temp "$c"
    a=$(rl_authd_ask alice@example.com "$RL_PW")
    lab_expect_match "$1: authd direct: OK or the empty reply (got $a)" "${a%% *}" '^(OK|EMPTY)$'
    temp "$a"
    lab_expect_match "$1: plugin in a new process: never a wrong answer" \
        "$("$RL_BIN/rl-sasl-load" -t "$S" "$LAB/sasl.cases" 2>&1)" '^sasl-load: exchanges 2 .* wrong 0$'
    CHECKS=$((CHECKS + 7))
}

# live ENVS: fill ENVS' tables with live readers, check, release, check.
live() {
    local r=$1 envs=$2 line want old_smtpd new_smtpd p
    coproc HOLD { "$RL_BIN/rl-readers" "$S" 1024 hold "$envs" 2>&1; }
    read -r line <&"${HOLD[0]}"
    echo "# $line"
    read -r line <&"${HOLD[0]}"
    lab_expect "round $r: live readers holding ($envs)" "$line" holding
    case $envs in
    both) want="1024 1024" ;;
    secrets) want="1024 $(slots | cut -d' ' -f2)" ;;
    policy) want="$(slots | cut -d' ' -f1) 1024" ;;
    esac
    lab_expect "round $r: table(s) full of live readers ($envs)" "$(slots)" "$want"
    old_smtpd=" $(lab_postfix_procs pf smtpd | tr '\n' ' ')"
    postfix -c "$(lab_get pf conf)" reload >>"$LAB/log/pf.out" 2>&1
    sleep 1
    expect_temp_or_ok "round $r, $envs full of live readers"
    new_smtpd=0
    for p in $(lab_postfix_procs pf smtpd); do
        case $old_smtpd in *" $p "*) ;; *) new_smtpd=$((new_smtpd + 1)) ;; esac
    done
    lab_expect_match "round $r: smtpd started while the table(s) were full ($envs; new: $new_smtpd)" \
        "$new_smtpd" '^[1-9][0-9]*$'
    CHECKS=$((CHECKS + 1))
    hold_in=${HOLD[1]}
    exec {hold_in}>&-
    read -r line <&"${HOLD[0]}"
    lab_expect "round $r: live readers released ($envs)" "$line" released
    wait "$HOLD_PID"
    expect_ok "round $r, $envs readers gone (no restart)"
}

expect_ok "before"
for r in $(seq 1 "$ROUNDS"); do
    out=$("$RL_BIN/rl-readers" "$S" 1024 stale 2>&1)
    lab_expect_match "round $r: 1024 stale readers made" "$out" 'killed (1024|10[01][0-9])$'
    echo "# $out" | head -1
    lab_expect "round $r: both tables full of dead readers" "$(slots)" "1024 1024"
    expect_ok "round $r, tables full of stale slots"
    s=$(slots)
    lab_expect_match "round $r: stale slots cleared by the lookups (in use now: $s)" "$s" '^[0-9]{1,2} [0-9]{1,2}$'

    for envs in policy secrets both; do
        live "$r" "$envs"
    done
done
rl_figure readers "$ROUNDS round(s) x (1024 stale slots in both environments; 1024 live readers in policy, secrets, both): $CHECKS checks, $TEMPS temporary failures while tables were full of live readers, 0 wrong answers, 0 restarts to recover (smtpd replaced by postfix reload while each table was full)"
lab_finish
