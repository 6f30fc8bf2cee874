#!/bin/bash
# test-mta-exim.sh - Exim 4.96 heavy (a daemon, unpacked by the MTA lab)
# with the authgate plugin (cyrus_sasl driver) and with authgate-authd
# (Exim's built-in saslauthd condition).
#
# usage: test-mta-exim.sh auxprop|authd
#
# Exim runs SASL as Debian-exim (the store's secrets group here) and
# initializes libsasl2, and so the plugin, at every AUTH command.
# auxprop (cyrus_sasl authenticators, pwcheck_method: auxprop):
#   PLAIN LOGIN CRAM-MD5 DIGEST-MD5 SCRAM-SHA-1 SCRAM-SHA-256: right
#   password 235; wrong password, unknown login, disabled login 535; a
#   password changed in the store works at once, the old one fails, same
#   daemon; the store's map grows: logins go on; a missing store: 435 (Exim defers SASL_UNAVAIL) for every
#   mechanism; a store Debian-exim cannot read: 435.
# authd:
#   cyrus_sasl with pwcheck_method: saslauthd (libsasl2's client to authd):
#     PLAIN LOGIN 235 (also for a login without legacy secrets), CRAM-MD5
#     and SCRAM-SHA-256 235 from the plugin; wrong, unknown, disabled 535;
#     authd with a missing store or stopped: 535, because libsasl2's
#     saslauthd client reports a verifier failure as SASL_FAIL and Exim's
#     cyrus_sasl driver treats SASL_FAIL as permanent (the plugin itself
#     answers SASL_UNAVAIL for that reason: 435 above).
#   the saslauthd condition (Exim's own client; its socket path
#   /var/run/saslauthd/mux is compiled in, so authd's socket directory is
#   bind-mounted over /run/saslauthd in Exim's mount namespace):
#     PLAIN LOGIN 235; wrong, unknown, disabled 535; a changed password
#     works at once; authd with a missing store or stopped: 435.
# Prints how long each Exim and authd took to start.
set -u
# shellcheck source=mta.sh
. "$(dirname "$0")/mta.sh"

kind=${1:-}
case $kind in auxprop | authd) ;; *) lab_fail "usage: $0 auxprop|authd" ;; esac

mta_init exim swaks gsasl
[ "$kind" = auxprop ] || mta_need_authd

ALL=(PLAIN LOGIN CRAM-MD5 DIGEST-MD5 SCRAM-SHA-1 SCRAM-SHA-256)
NEW_PW=N3w-alice-Pw
L="exim $kind"

# start_ex NAME [OPTION]...: an Exim daemon with the plugin on its path.
start_ex() {
    local name=$1
    shift
    lab_exim_start "$name" --sasl-path "$MTA_PLUGINS" "$@"
    mta_timing "exim $name" "$name"
}

# check_change LABEL NAME STORE MECH...: change alice's password; the new
# one works at once, the old one fails, the daemon is the same process.
check_change() {
    local label=$1 name=$2 store=$3 port pid
    shift 3
    port=$(lab_get "$name" port)
    pid=$(lab_get "$name" pid)
    mta_passwd "$store" alice@lab.test "$NEW_PW"
    mta_check "$label: changed password, new one" "$port" alice@lab.test "$NEW_PW" 235 "$@"
    mta_check "$label: changed password, old one" "$port" alice@lab.test "$MTA_PW" 535 "$@"
    lab_expect "$label: changed password: the same daemon (no restart)" \
        "$(lab__alive "$name" && lab_get "$name" pid)" "$pid"
    mta_passwd "$store" alice@lab.test "$MTA_PW"
}

# check_failures LABEL PORT MECH...: wrong, unknown, disabled -> 535.
check_failures() {
    local label=$1 port=$2
    shift 2
    mta_check "$label: wrong password" "$port" alice@lab.test "$MTA_BAD" 535 "$@"
    mta_check "$label: unknown login" "$port" nobody@lab.test "$MTA_PW" 535 "$@"
    mta_check "$label: disabled login, right password" "$port" carol@lab.test "$MTA_PW" 535 "$@"
}

echo "# $L: Exim 4.96 daemon, $kind; logins alice (all secrets), carol (disabled), dora (SCRAM-SHA-256 only)"
store=$LAB/store
# Exim's SASL code runs as Debian-exim: the store's secrets group.
mta_store "$store" Debian-exim

if [ "$kind" = auxprop ]; then
    mta_sasl_conf "$LAB/exim-sasl.conf" "$store" auxprop
    start_ex ex --sasl-conf "$LAB/exim-sasl.conf" --mechs "${ALL[*]}"
    port=$(lab_get ex port)
    mta_check "$L: right password" "$port" alice@lab.test "$MTA_PW" 235 "${ALL[@]}"
    check_failures "$L" "$port" "${ALL[@]}"
    mta_check "$L: SCRAM-SHA-256-only login" "$port" dora@lab.test "$MTA_PW" 235 SCRAM-SHA-256
    lab_expect_match "$L: syslog says the login is disabled" "$(lab_exim_log ex syslog)" \
        'authgate: login carol@lab\.test is disabled'
    check_change "$L" ex "$store" "${ALL[@]}"
    mta_grow "$L" "$store"
    mta_check "$L: after the map grew" "$port" alice@lab.test "$MTA_PW" 235 "${ALL[@]}"

    mta_sasl_conf "$LAB/exim-missing.conf" "$LAB/no-such-store" auxprop
    start_ex exmissing --sasl-conf "$LAB/exim-missing.conf" --mechs "${ALL[*]}"
    mta_check "$L: missing store" "$(lab_get exmissing port)" alice@lab.test "$MTA_PW" 435 "${ALL[@]}"
    lab_expect_match "$L: syslog says the store cannot be opened" \
        "$(lab_exim_log exmissing syslog)" 'authgate: cannot open store: .*no-such-store'

    # A store Debian-exim may not read (group root): also temporary.
    mta_store "$LAB/store-root" root
    mta_sasl_conf "$LAB/exim-unreadable.conf" "$LAB/store-root" auxprop
    start_ex exunread --sasl-conf "$LAB/exim-unreadable.conf" --mechs "PLAIN CRAM-MD5 SCRAM-SHA-256"
    mta_check "$L: store unreadable by Debian-exim" "$(lab_get exunread port)" alice@lab.test \
        "$MTA_PW" 435 PLAIN CRAM-MD5 SCRAM-SHA-256
    lab_expect_match "$L: syslog says why" "$(lab_exim_log exunread syslog)" \
        'authgate: cannot open store: .*store-root.*(Permission denied|permission)'
else
    mta_authd_start authd --store "$store" --socket "$LAB/authd/mux" --user Debian-exim
    mta_timing "authgate-authd" authd
    mta_authd_start authdmissing --store "$LAB/no-such-store" --socket "$LAB/authd-missing/mux" \
        --user Debian-exim

    # cyrus_sasl: libsasl2's saslauthd client.
    C="$L (cyrus_sasl, pwcheck_method: saslauthd)"
    mta_sasl_conf "$LAB/exim-sasl.conf" "$store" saslauthd "saslauthd_path: $LAB/authd/mux"
    start_ex exsasl --sasl-conf "$LAB/exim-sasl.conf" --mechs "PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256"
    port=$(lab_get exsasl port)
    mta_check "$C: right password" "$port" alice@lab.test "$MTA_PW" 235 PLAIN LOGIN
    mta_check "$C: no legacy secret, right password (only authd can say yes)" "$port" \
        dora@lab.test "$MTA_PW" 235 PLAIN LOGIN
    check_failures "$C" "$port" PLAIN LOGIN
    mta_check "$C: challenge-response from the plugin beside authd" "$port" alice@lab.test \
        "$MTA_PW" 235 CRAM-MD5 SCRAM-SHA-256
    check_change "$C" exsasl "$store" PLAIN LOGIN
    mta_sasl_conf "$LAB/exim-missing.conf" "$store" saslauthd "saslauthd_path: $LAB/authd-missing/mux"
    start_ex exsaslmissing --sasl-conf "$LAB/exim-missing.conf" --mechs "PLAIN LOGIN"
    # libsasl2's saslauthd client reports authd's temporary answer as
    # SASL_FAIL, which Exim's cyrus_sasl driver turns into a permanent 535.
    mta_check "$C: authd's store missing (SASL_FAIL: Exim says 535)" \
        "$(lab_get exsaslmissing port)" alice@lab.test "$MTA_PW" 535 PLAIN LOGIN
    lab_expect_match "$C: authd's store missing: libsasl2 logged the verifier's bad answer" \
        "$(lab_exim_log exsaslmissing syslog)" 'bad response from saslauthd'

    # The saslauthd condition: Exim's own client, its compiled-in socket.
    S="$L (saslauthd condition)"
    start_ex excond --mechs "" --saslauthd "$LAB/authd" --saslauthd-mechs "PLAIN LOGIN"
    cport=$(lab_get excond port)
    mta_check "$S: right password" "$cport" alice@lab.test "$MTA_PW" 235 PLAIN LOGIN
    mta_check "$S: no legacy secret, right password" "$cport" dora@lab.test "$MTA_PW" 235 PLAIN LOGIN
    check_failures "$S" "$cport" PLAIN LOGIN
    lab_expect_match "$S: authd logged Exim's request (login and realm as the condition sent them)" \
        "$(cat "$(lab_get authd out)")" 'login="alice@lab\.test" realm="" service="smtp" result=OK'
    check_change "$S" excond "$store" PLAIN LOGIN
    start_ex excondmissing --mechs "" --saslauthd "$LAB/authd-missing" --saslauthd-mechs "PLAIN LOGIN"
    mta_check "$S: authd's store missing" "$(lab_get excondmissing port)" alice@lab.test \
        "$MTA_PW" 435 PLAIN LOGIN

    lab_daemon_stop authd
    mta_check "$C: authd stopped (SASL_FAIL: Exim says 535)" "$port" alice@lab.test "$MTA_PW" \
        535 PLAIN LOGIN
    lab_expect_match "$C: authd stopped: libsasl2 logged it" "$(lab_exim_log exsasl syslog)" \
        'cannot connect to saslauthd server'

    mta_check "$S: authd stopped" "$cport" alice@lab.test "$MTA_PW" 435 PLAIN LOGIN
fi

lab_finish
