#!/bin/bash
# test-store-faults.sh - the store missing, unreadable, truncated or from
# a newer schema, under a real Postfix with the plugin, authgate-authd and
# authgate-milter (issue 7, "Faults").
#
# For each fault, on the secrets environment (what the plugin and authd
# read) and on the policy environment (what the milter reads):
#   - while the daemons run with the store open (in-place faults:
#     truncation, a schema migration) and after they restart with the
#     fault present (all four; postfix reload gives fresh smtpd processes,
#     which open the store as root before chroot);
#   - secrets: AUTH PLAIN (libsasl2 -> authd) and AUTH CRAM-MD5 (the
#     plugin) get 454 for the good password and for a wrong one (never 235,
#     never 535), authd answers a direct request with an empty reply (its
#     temporary failure), authd's log and Postfix's log (the plugin's line)
#     say why;
#   - policy: an authenticated message gets 451 4.3.0 from the milter, a
#     spoofed one too (never accepted), the milter's log says why;
#   - after the repair (restart where the fault was missing/unreadable):
#     235 and 250 again, 535 and 550 for the wrong password and the spoof.
# "Unreadable" means the environment's directory loses its group (postfix
# for secrets/, nogroup for policy/): authd runs as postfix and the milter
# as nobody.  smtpd opens the store as root at sasl_server_init, before it
# chroots, so modes cannot make the store unreadable to the plugin inside
# Postfix: that case is checked with rl-sasl-load running as nobody.
set -u
HERE=$(dirname "$0")
# shellcheck source=rl.sh
. "$HERE/rl.sh"
rl_init postfix sink swaks
rl_stack_start
S=$LAB/store
CHECKS=0

# secrets_down LABEL ERE: every AUTH is a temporary failure; logs match ERE.
secrets_down() {
    local label=$1 ere=$2 a
    lab_expect "$label: AUTH PLAIN (authd), good password -> 454" "$(rl_auth PLAIN alice@example.com "$RL_PW")" 454
    lab_expect "$label: AUTH PLAIN (authd), wrong password -> 454" "$(rl_auth PLAIN alice@example.com wrong-Pw-1)" 454
    lab_expect "$label: AUTH CRAM-MD5 (plugin), good password -> 454" "$(rl_auth CRAM-MD5 alice@example.com "$RL_PW")" 454
    lab_expect "$label: AUTH CRAM-MD5 (plugin), wrong password -> 454" "$(rl_auth CRAM-MD5 alice@example.com wrong-Pw-1)" 454
    a=$(rl_authd_ask alice@example.com "$RL_PW")
    lab_expect "$label: authd's direct answer is empty (temporary)" "${a%% *}" EMPTY
    lab_expect_match "$label: authd's log says why" "$(tail -20 "$LAB/log/authd.out")" "$ere"
    lab_expect_match "$label: Postfix's log has the plugin's reason" \
        "$(tail -60 "$(lab_get pf log)" | grep 'authgate:')" "$ere"
    CHECKS=$((CHECKS + 7))
}

policy_down() {
    local label=$1 ere=$2
    lab_expect "$label: AUTH CRAM-MD5 still works (secrets intact)" "$(rl_auth CRAM-MD5 alice@example.com "$RL_PW")" 235
    lab_expect_match "$label: legitimate message -> 451 4.3.0" \
        "$(rl_send CRAM-MD5 alice@example.com "$RL_PW" alice@example.com)" '^451 4\.3\.0 '
    lab_expect_match "$label: spoofed envelope -> 451 4.3.0, not accepted" \
        "$(rl_send CRAM-MD5 alice@example.com "$RL_PW" ceo@example.com)" '^451 4\.3\.0 '
    lab_expect_match "$label: the milter's log says why" "$(tail -20 "$LAB/log/milter.out")" "$ere"
    CHECKS=$((CHECKS + 4))
}

# restart_all [secrets|policy]: fresh processes for what reads that env
# (both by default).  The milter is killed: libmilter takes 5 s to stop
# on SIGTERM, and a fresh start is all this needs.
restart_all() {
    if [ "${1:-secrets}" = secrets ]; then
        lab_daemon_stop authd
        rl_authd_start authd "$LAB/authd.conf"
        postfix -c "$(lab_get pf conf)" reload >>"$LAB/log/pf.out" 2>&1
    fi
    if [ "${1:-policy}" = policy ]; then
        lab__signal milter KILL
        lab__wait 10 lab__dead milter
        rl_milter_start milter "$LAB/milter.conf"
    fi
    sleep 1
}

# fault KIND ENV apply|repair
fault() {
    local kind=$1 env=$2 how=$3 grp
    [ "$env" = secrets ] && grp=postfix || grp=nogroup
    case $kind/$how in
    missing/apply) mv "$S/$env" "$S/$env.away" ;;
    missing/repair) mv "$S/$env.away" "$S/$env" ;;
    unreadable/apply) chgrp root "$S/$env" ;;
    unreadable/repair) chgrp "$grp" "$S/$env" ;;
    truncated/apply)
        cp "$S/$env/data.mdb" "$LAB/$env.data.copy"
        truncate -s "$(($(stat -c %s "$S/$env/data.mdb") / 2))" "$S/$env/data.mdb"
        ;;
    truncated/repair) cat "$LAB/$env.data.copy" >"$S/$env/data.mdb" ;;
    newer/apply) "$RL_BIN/rl-schema" "$S/$env" 2 ;;
    newer/repair) "$RL_BIN/rl-schema" "$S/$env" 1 ;;
    esac
}

declare -A WHY=([missing]='missing|no authgate store|no store' [unreadable]='[Pp]ermission denied'
    [truncated]='truncated|corrupt' [newer]='newer')

# Grow the store a little so that half of data.mdb cuts used pages.
printf 'Filler-pw-1\n' >"$LAB/pw"
for i in $(seq 1 40); do echo "filler$i@example.org:{PLAIN}Filler-pw-1"; done >"$LAB/fill.txt"
rl_ctl import dovecot "$LAB/fill.txt" >>"$LAB/log/ctl.out" 2>&1 || lab_fail "import filler"

rl_stack_expect_ok "before any fault"
for kind in truncated newer missing unreadable; do
    for env in secrets policy; do
        fault "$kind" "$env" apply || lab_fail "cannot apply $kind to $env"
        if [ "$kind" = truncated ] || [ "$kind" = newer ]; then
            # in place: the running daemons and smtpd see it at once
            if [ "$env" = secrets ]; then
                secrets_down "$kind $env, daemons running" "${WHY[$kind]}"
            else
                policy_down "$kind $env, milter running" "${WHY[$kind]}"
            fi
        fi
        restart_all "$env"
        if [ "$env" = secrets ]; then
            if [ "$kind" = unreadable ]; then
                # root opens it before chroot: the plugin in smtpd reads it;
                # authd (user postfix) cannot.
                lab_expect "$kind $env, restarted: AUTH PLAIN (authd) -> 454" \
                    "$(rl_auth PLAIN alice@example.com "$RL_PW")" 454
                a=$(rl_authd_ask alice@example.com "$RL_PW")
                lab_expect "$kind $env, restarted: authd's direct answer is empty" "${a%% *}" EMPTY
                lab_expect_match "$kind $env, restarted: authd's log says why" \
                    "$(tail -20 "$LAB/log/authd.out")" "${WHY[$kind]}"
                printf 'CRAM-MD5 alice@example.com %s ok\n' "$RL_PW" >"$LAB/sasl.cases"
                chmod 0644 "$LAB/sasl.cases"
                out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups env TMPDIR=/tmp \
                    AUTHGATE_PLUGIN_PATH="$AUTHGATE_PLUGIN_PATH" \
                    "$RL_BIN/rl-sasl-load" -t "$S" "$LAB/sasl.cases" 2>&1)
                lab_expect_match "$kind $env: the plugin in a process without the group: temporary failure" \
                    "$out" '^sasl-load: exchanges 1 ok 0 fail 0 temp 1 wrong 0$'
                CHECKS=$((CHECKS + 4))
            else
                secrets_down "$kind $env, restarted" "${WHY[$kind]}"
            fi
        else
            policy_down "$kind $env, restarted" "${WHY[$kind]}"
        fi
        fault "$kind" "$env" repair || lab_fail "cannot repair $kind on $env"
        restart_all "$env"
        rl_stack_expect_ok "$kind $env repaired"
    done
done

# The whole store directory missing.
mv "$S" "$S.away"
restart_all
secrets_down "store directory missing" "${WHY[missing]}"
mv "$S.away" "$S"
restart_all
rl_stack_expect_ok "store directory back"
rl_figure store-faults "4 faults x 2 environments (+ the whole store missing): $CHECKS checks"
lab_finish
