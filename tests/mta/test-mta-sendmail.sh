#!/bin/bash
# test-mta-sendmail.sh - Sendmail 8.17 (a forking daemon, unpacked by the
# MTA lab) with the authgate plugin.
#
# usage: test-mta-sendmail.sh auxprop|authd
#
# Sendmail initializes libsasl2 (and so the plugin, which opens the store)
# in the daemon and forks a child, running as root, per connection.
# auxprop (pwcheck_method: auxprop):
#   PLAIN LOGIN CRAM-MD5 DIGEST-MD5 SCRAM-SHA-1 SCRAM-SHA-256: right
#   password 235; wrong password, unknown login, disabled login 535; a
#   password changed in the store works in the next connection's child, the
#   old one fails, same daemon (no restart); the store's map grows while
#   the daemon holds it: logins go on; a missing store: Sendmail
#   answers 535 for every mechanism (it has no temporary AUTH reply).
# authd (pwcheck_method: saslauthd, authgate-authd running as nobody):
#   PLAIN LOGIN right password 235, also for a login without any legacy
#   secret; wrong, unknown, disabled 535; CRAM-MD5 235 from the plugin in
#   the same daemon; a changed password works at once; authd with a
#   missing store or stopped: 535.
# Prints how long Sendmail and authd took to start.
set -u
# shellcheck source=mta.sh
. "$(dirname "$0")/mta.sh"

kind=${1:-}
case $kind in auxprop | authd) ;; *) lab_fail "usage: $0 auxprop|authd" ;; esac

mta_init sendmail swaks gsasl
[ "$kind" = auxprop ] || mta_need_authd

ALL=(PLAIN LOGIN CRAM-MD5 DIGEST-MD5 SCRAM-SHA-1 SCRAM-SHA-256)
NEW_PW=N3w-alice-Pw
L="sendmail $kind"

# start_sm NAME SASL_CONF: a Sendmail daemon offering every mechanism.
start_sm() {
    lab_sendmail_start "$1" --sasl-conf "$2" --sasl-path "$MTA_PLUGINS" --mechs "${ALL[*]}"
    mta_timing "sendmail $1" "$1"
}

# check_change NAME STORE MECH...: change alice's password; the next
# connection's child uses the new one, the daemon is the same process.
check_change() {
    local name=$1 store=$2 port pid
    shift 2
    port=$(lab_get "$name" port)
    pid=$(lab_get "$name" pid)
    mta_passwd "$store" alice@lab.test "$NEW_PW"
    mta_check "$L: changed password, new one" "$port" alice@lab.test "$NEW_PW" 235 "$@"
    mta_check "$L: changed password, old one" "$port" alice@lab.test "$MTA_PW" 535 "$@"
    lab_expect "$L: changed password: the same daemon (no restart)" \
        "$(lab__alive "$name" && lab_get "$name" pid)" "$pid"
    mta_passwd "$store" alice@lab.test "$MTA_PW"
}

echo "# $L: Sendmail 8.17 daemon, $kind; logins alice (all secrets), carol (disabled), dora (SCRAM-SHA-256 only)"
store=$LAB/store

if [ "$kind" = auxprop ]; then
    # Sendmail runs SASL as root: the store's group does not matter.
    mta_store "$store" root
    mta_sasl_conf "$LAB/Sendmail.conf" "$store" auxprop
    start_sm sm "$LAB/Sendmail.conf"
    port=$(lab_get sm port)
    lab_expect_match "$L: the daemon has the store mapped (opened at init, before any fork)" \
        "$(cat "/proc/$(lab_get sm pid)/maps")" "$store/secrets/data\.mdb"
    mta_check "$L: right password" "$port" alice@lab.test "$MTA_PW" 235 "${ALL[@]}"
    mta_check "$L: wrong password" "$port" alice@lab.test "$MTA_BAD" 535 "${ALL[@]}"
    mta_check "$L: unknown login" "$port" nobody@lab.test "$MTA_PW" 535 "${ALL[@]}"
    mta_check "$L: disabled login, right password" "$port" carol@lab.test "$MTA_PW" 535 "${ALL[@]}"
    mta_check "$L: SCRAM-SHA-256-only login" "$port" dora@lab.test "$MTA_PW" 235 SCRAM-SHA-256
    lab_expect_match "$L: syslog says the login is disabled" "$(lab_sendmail_log sm)" \
        'authgate: login carol@lab\.test is disabled'
    lab_expect_match "$L: syslog has Sendmail's AUTH line" "$(lab_sendmail_log sm)" \
        'AUTH=server, relay=.*authid=alice@lab\.test, mech=SCRAM-SHA-256'
    # Every lookup ran in a per-connection child, not in the daemon.
    lab_expect "$L: the plugin ran in forked children, one per connection (distinct pids >= 6)" \
        "$(lab_sendmail_log sm | sed -n 's/.*sendmail\[\([0-9]*\)\]: authgate: .*/\1/p' |
            grep -vx "$(lab_get sm pid)" | sort -u | awk 'END { print (NR >= 6) }')" 1
    lab_expect "$L: ... and never in the daemon" \
        "$(lab_sendmail_log sm | grep -c "sendmail\[$(lab_get sm pid)\]: authgate: ")" 0
    check_change sm "$store" "${ALL[@]}"
    mta_grow "$L" "$store"
    mta_check "$L: after the map grew" "$port" alice@lab.test "$MTA_PW" 235 "${ALL[@]}"

    mta_sasl_conf "$LAB/Sendmail-missing.conf" "$LAB/no-such-store" auxprop
    start_sm smmissing "$LAB/Sendmail-missing.conf"
    mta_check "$L: missing store" "$(lab_get smmissing port)" alice@lab.test "$MTA_PW" 535 "${ALL[@]}"
    lab_expect_match "$L: syslog says the store cannot be opened" "$(lab_sendmail_log smmissing)" \
        'authgate: cannot open store: .*no-such-store'
    # 535 on the wire, but libsasl2's answer was the temporary one.
    lab_expect_match "$L: missing store: Sendmail logs SASL_UNAVAIL, not a wrong password" \
        "$(lab_sendmail_log smmissing)" 'AUTH failure \(CRAM-MD5\): remote authentication server unavailable \(-24\)'
else
    # authd as an unprivileged user whose group reads the secrets.
    mta_store "$store" nogroup
    mta_authd_start authd --store "$store" --socket "$LAB/authd/mux" --user nobody --group nogroup
    mta_timing "authgate-authd" authd
    mta_sasl_conf "$LAB/Sendmail.conf" "$store" saslauthd "saslauthd_path: $LAB/authd/mux"
    start_sm sm "$LAB/Sendmail.conf"
    port=$(lab_get sm port)
    mta_check "$L: right password" "$port" alice@lab.test "$MTA_PW" 235 PLAIN LOGIN
    mta_check "$L: no legacy secret, right password (only authd can say yes)" "$port" \
        dora@lab.test "$MTA_PW" 235 PLAIN LOGIN
    mta_check "$L: wrong password" "$port" alice@lab.test "$MTA_BAD" 535 PLAIN LOGIN
    mta_check "$L: unknown login" "$port" nobody@lab.test "$MTA_PW" 535 PLAIN LOGIN
    mta_check "$L: disabled login, right password" "$port" carol@lab.test "$MTA_PW" 535 PLAIN LOGIN
    mta_check "$L: challenge-response from the plugin beside authd" "$port" alice@lab.test \
        "$MTA_PW" 235 CRAM-MD5 SCRAM-SHA-256
    lab_expect_match "$L: authd logged the decision (as root: Sendmail's child)" \
        "$(cat "$(lab_get authd out)")" 'login="alice" realm="lab\.test" service="smtp" result=OK .*uid:0 '
    check_change sm "$store" PLAIN LOGIN

    mta_authd_start authdmissing --store "$LAB/no-such-store" --socket "$LAB/authd-missing/mux" \
        --user nobody --group nogroup
    mta_sasl_conf "$LAB/Sendmail-missing.conf" "$store" saslauthd \
        "saslauthd_path: $LAB/authd-missing/mux"
    start_sm smmissing "$LAB/Sendmail-missing.conf"
    mta_check "$L: authd's store missing" "$(lab_get smmissing port)" alice@lab.test "$MTA_PW" \
        535 PLAIN LOGIN

    lab_expect_match "$L: authd's store missing: Sendmail logs SASL_FAIL, not a wrong password" \
        "$(lab_sendmail_log smmissing)" 'AUTH failure \(PLAIN\): generic failure \(-1\)'

    lab_daemon_stop authd
    mta_check "$L: authd stopped" "$port" alice@lab.test "$MTA_PW" 535 PLAIN LOGIN
fi

lab_finish
