#!/bin/bash
# test-mta-postfix.sh - Postfix 3.7 (smtpd_sasl_type = cyrus) with the
# authgate plugin, smtpd chrooted or not.
#
# usage: test-mta-postfix.sh chroot|no-chroot auxprop|authd
#
# auxprop (pwcheck_method: auxprop; every mechanism from the plugin):
#   PLAIN LOGIN CRAM-MD5 DIGEST-MD5 SCRAM-SHA-1 SCRAM-SHA-256:
#   right password 235; wrong password, unknown login, disabled login 535;
#   a login with only a SCRAM-SHA-256 secret: SCRAM-SHA-256 235, the rest 535;
#   a password changed in the store by another process works at the next
#   login, the old one fails, answered by the same smtpd process (no reload);
#   a missing store: 454 for every mechanism.
#   chroot only: authgate_store is the real path (the plugin opens it as
#   root at init, before the chroot); a store outside the jail works for the
#   same reason; a store named as smtpd sees it inside the jail is opened
#   lazily, at the first login, as postfix.
#   The store's LMDB map grows (3000 logins added) while smtpd holds it:
#   logins go on, in the same smtpd, new logins included.
#   Also: a store only root can read works (opened at init as root); a
#   store created after smtpd started is found by the next login without
#   chroot, but not from inside the jail (454 until postfix reload).
# authd (pwcheck_method: saslauthd, authgate-authd's socket inside the jail
# when chrooted, saslauthd_path as smtpd sees it; auxprop for the rest):
#   PLAIN LOGIN right password 235, also for a login without any legacy
#   secret (only authd can check it); wrong, unknown, disabled 535; CRAM-MD5
#   and SCRAM-SHA-256 235 from the plugin in the same instance; a changed
#   password works at once; the store's map grows under authd: logins go
#   on; authd with a missing store: 454; authd stopped: 454.
# Prints how long each Postfix instance and authd took to start.
set -u
# shellcheck source=mta.sh
. "$(dirname "$0")/mta.sh"

mode=${1:-}
kind=${2:-}
case $mode in chroot | no-chroot) ;; *) lab_fail "usage: $0 chroot|no-chroot auxprop|authd" ;; esac
case $kind in auxprop | authd) ;; *) lab_fail "usage: $0 chroot|no-chroot auxprop|authd" ;; esac

mta_init postfix swaks gsasl
[ "$kind" = auxprop ] || mta_need_authd

ALL=(PLAIN LOGIN CRAM-MD5 DIGEST-MD5 SCRAM-SHA-1 SCRAM-SHA-256)
NEW_PW=N3w-alice-Pw
L="postfix $mode $kind"

# start_pf NAME SASL_CONF [OPTION]...: a Postfix instance with the plugin;
# one smtpd process (default_process_limit = 1) so that "the same process"
# can be checked.
start_pf() {
    local name=$1 conf=$2
    shift 2
    lab_postfix_start "$name" "--$mode" --sasl-conf "$conf" --sasl-path "$MTA_PLUGINS" \
        --main 'default_process_limit = 1' --main 'max_use = 1000' "$@"
    mta_timing "postfix $name ($mode)" "$name"
}

# smtpd_pids NAME: the instance's smtpd processes, space-separated.
smtpd_pids() {
    lab_postfix_procs "$1" smtpd | sort -n | tr '\n' ' '
}

# maps_store PID DIR: 1 if PID has DIR's secrets/data.mdb mapped (DIR as
# the host sees it: /proc/PID/maps names files from the reader's root).
maps_store() {
    if grep -q "$2/secrets/data.mdb" "/proc/$1/maps" 2>/dev/null; then
        echo 1
    else
        echo 0
    fi
}

# idle_smtpd NAME: make the master start an smtpd (a session without AUTH)
# and print its pid.
idle_smtpd() {
    swaks --server "127.0.0.1:$(lab_get "$1" port)" --helo client.lab.test --quit-after EHLO \
        >"$LAB/log/ehlo-$1.out" 2>&1
    lab_postfix_procs "$1" smtpd | head -1
}

# shellcheck disable=SC2317 # called through lab__wait
# new_smtpd NAME PIDS: succeeds once an smtpd other than PIDS answers (a
# session without AUTH makes the master start one when none is idle).
new_smtpd() {
    local now
    now=$(idle_smtpd "$1" >/dev/null; smtpd_pids "$1")
    [ -n "$now" ] && [ "$now" != "$2" ]
}

# check_change NAME STORE MECH...: change alice's password in the store,
# then the new one works and the old one fails, in the same smtpd.
check_change() {
    local name=$1 store=$2 port before
    shift 2
    port=$(lab_get "$name" port)
    before=$(smtpd_pids "$name")
    lab_expect_match "$L: one smtpd is running before the change" "$before" '^[0-9]+ $'
    mta_passwd "$store" alice@lab.test "$NEW_PW"
    mta_check "$L: changed password, new one" "$port" alice@lab.test "$NEW_PW" 235 "$@"
    mta_check "$L: changed password, old one" "$port" alice@lab.test "$MTA_PW" 535 "$@"
    lab_expect "$L: changed password: answered by the smtpd that was running before (no reload)" \
        "$(smtpd_pids "$name")" "$before"
    mta_passwd "$store" alice@lab.test "$MTA_PW"
}

echo "# $L: Postfix 3.7, smtpd $mode, $kind; logins alice (all secrets), carol (disabled), dora (SCRAM-SHA-256 only)"
jail=$(lab_postfix_jail pf)
store=$jail/authgate
mkdir -p "$jail"
mta_store "$store" postfix

if [ "$kind" = auxprop ]; then
    # The real path, even when chrooted: the plugin opens the store when
    # smtpd initializes SASL, as root, before chroot().
    mta_sasl_conf "$LAB/smtpd.conf" "$store" auxprop
    start_pf pf "$LAB/smtpd.conf"
    port=$(lab_get pf port)
    smtpd=$(idle_smtpd pf)
    want_root=/
    [ "$mode" = no-chroot ] || want_root=$jail
    lab_expect "$L: smtpd's root directory" "$(readlink "/proc/$smtpd/root")" "$want_root"
    lab_expect "$L: smtpd has the store mapped before any AUTH (opened at init)" \
        "$(maps_store "$smtpd" "$store")" 1
    mta_check "$L: right password" "$port" alice@lab.test "$MTA_PW" 235 "${ALL[@]}"
    mta_check "$L: wrong password" "$port" alice@lab.test "$MTA_BAD" 535 "${ALL[@]}"
    mta_check "$L: unknown login" "$port" nobody@lab.test "$MTA_PW" 535 "${ALL[@]}"
    mta_check "$L: disabled login, right password" "$port" carol@lab.test "$MTA_PW" 535 "${ALL[@]}"
    mta_check "$L: SCRAM-SHA-256-only login" "$port" dora@lab.test "$MTA_PW" 235 SCRAM-SHA-256
    mta_check "$L: SCRAM-SHA-256-only login, no secret" "$port" dora@lab.test "$MTA_PW" 535 \
        PLAIN LOGIN CRAM-MD5 DIGEST-MD5 SCRAM-SHA-1
    lab_expect_match "$L: maillog says the login is disabled" "$(lab_postfix_log pf)" \
        'authgate: login carol@lab\.test is disabled'
    check_change pf "$store" "${ALL[@]}"
    before=$(smtpd_pids pf)
    mta_grow "$L" "$store"
    mta_check "$L: after the map grew" "$port" alice@lab.test "$MTA_PW" 235 "${ALL[@]}"
    mta_check "$L: a login added by the growth" "$port" bulk2999@lab.test "$MTA_PW" 235 \
        PLAIN CRAM-MD5 SCRAM-SHA-256
    lab_expect "$L: after the map grew: the same smtpd" "$(smtpd_pids pf)" "$before"

    # A missing store: a temporary failure for every mechanism.
    mta_sasl_conf "$LAB/smtpd-missing.conf" "$LAB/no-such-store" auxprop
    start_pf pfmissing "$LAB/smtpd-missing.conf"
    port=$(lab_get pfmissing port)
    mta_check "$L: missing store" "$port" alice@lab.test "$MTA_PW" 454 "${ALL[@]}"
    mta_check "$L: missing store, unknown login" "$port" nobody@lab.test "$MTA_PW" 454 PLAIN CRAM-MD5
    lab_expect_match "$L: maillog says the store cannot be opened" "$(lab_postfix_log pfmissing)" \
        "authgate: cannot open store: .*no-such-store"

    # A store created after smtpd started: each lookup retries the open,
    # from where smtpd is.  Without chroot that finds it at once; in the
    # jail the real path does not exist, so that smtpd keeps answering 454
    # until it is replaced (postfix reload, max_idle, max_use).
    later=$(lab_postfix_jail pflater)/authgate-later
    mkdir -p "$(lab_postfix_jail pflater)"
    mta_sasl_conf "$LAB/smtpd-later.conf" "$later" auxprop
    start_pf pflater "$LAB/smtpd-later.conf"
    port=$(lab_get pflater port)
    mta_check "$L: store not created yet" "$port" alice@lab.test "$MTA_PW" 454 PLAIN CRAM-MD5
    before=$(smtpd_pids pflater)
    mta_store "$later" postfix
    if [ "$mode" = no-chroot ]; then
        mta_check "$L: store created after start: the next login opens it" "$port" \
            alice@lab.test "$MTA_PW" 235 PLAIN CRAM-MD5 SCRAM-SHA-256
    else
        mta_check "$L: store created after start: not reachable from inside the jail" "$port" \
            alice@lab.test "$MTA_PW" 454 PLAIN CRAM-MD5 SCRAM-SHA-256
        lab_expect_match "$L: ... the retry names the real path, which the jail lacks" \
            "$(lab_postfix_log pflater)" "authgate: cannot open store: $later/secrets"
        lab_expect "$L: ... same smtpd as before the store existed" "$(smtpd_pids pflater)" "$before"
        postfix -c "$(lab_get pflater conf)" reload >>"$LAB/log/pflater.out" 2>&1
        lab__wait 20 new_smtpd pflater "$before" || lab_fail "postfix reload: smtpd not replaced"
        mta_check "$L: store created after start: after postfix reload" "$port" \
            alice@lab.test "$MTA_PW" 235 PLAIN CRAM-MD5 SCRAM-SHA-256
    fi

    # Only root can read the store: smtpd opened it as root at init.
    rootstore=$(lab_postfix_jail pfroot)/authgate
    mkdir -p "$(lab_postfix_jail pfroot)"
    mta_store "$rootstore" root
    mta_sasl_conf "$LAB/smtpd-root.conf" "$rootstore" auxprop
    start_pf pfroot "$LAB/smtpd-root.conf"
    mta_check "$L: store readable by root only (opened at init)" "$(lab_get pfroot port)" \
        alice@lab.test "$MTA_PW" 235 PLAIN CRAM-MD5 SCRAM-SHA-256

    if [ "$mode" = chroot ]; then
        # Outside the jail: reachable only through the handle opened at init.
        outside=$LAB/store-outside
        mta_store "$outside" postfix
        mta_sasl_conf "$LAB/smtpd-outside.conf" "$outside" auxprop
        start_pf pfout "$LAB/smtpd-outside.conf"
        port=$(lab_get pfout port)
        mta_check "$L: store outside the jail" "$port" alice@lab.test "$MTA_PW" 235 \
            PLAIN CRAM-MD5 SCRAM-SHA-256
        check_change pfout "$outside" PLAIN CRAM-MD5 SCRAM-SHA-256

        # Named as smtpd sees it inside the jail: the open at init fails
        # (no such path outside), the first login opens it in the jail.
        [ ! -e /authgate-in-jail ] || lab_fail "/authgate-in-jail exists on the host"
        injail=$(lab_postfix_jail pflazy)/authgate-in-jail
        mkdir -p "$(lab_postfix_jail pflazy)"
        mta_store "$injail" postfix
        mta_sasl_conf "$LAB/smtpd-lazy.conf" /authgate-in-jail auxprop
        start_pf pflazy "$LAB/smtpd-lazy.conf"
        port=$(lab_get pflazy port)
        smtpd=$(idle_smtpd pflazy)
        lab_expect "$L: jail path: smtpd has no store mapped before the first login" \
            "$(maps_store "$smtpd" "$injail")" 0
        mta_check "$L: store named by its path inside the jail" "$port" alice@lab.test "$MTA_PW" \
            235 PLAIN CRAM-MD5 SCRAM-SHA-256
        lab_expect "$L: jail path: opened by the first login" "$(maps_store "$smtpd" "$injail")" 1
    fi
else
    # authgate-authd's socket where smtpd looks for it: inside the jail
    # when chrooted (@JAIL@ is "" then), the same file otherwise.
    mta_authd_start authd --store "$store" --socket "$jail/run/authd/mux" --user postfix
    mta_timing "authgate-authd" authd
    mta_sasl_conf "$LAB/smtpd.conf" "$store" saslauthd 'saslauthd_path: @JAIL@/run/authd/mux'
    start_pf pf "$LAB/smtpd.conf"
    port=$(lab_get pf port)
    mta_check "$L: right password" "$port" alice@lab.test "$MTA_PW" 235 PLAIN LOGIN
    mta_check "$L: no legacy secret, right password (only authd can say yes)" "$port" \
        dora@lab.test "$MTA_PW" 235 PLAIN LOGIN
    mta_check "$L: wrong password" "$port" alice@lab.test "$MTA_BAD" 535 PLAIN LOGIN
    mta_check "$L: unknown login" "$port" nobody@lab.test "$MTA_PW" 535 PLAIN LOGIN
    mta_check "$L: disabled login, right password" "$port" carol@lab.test "$MTA_PW" 535 PLAIN LOGIN
    mta_check "$L: challenge-response from the plugin beside authd" "$port" alice@lab.test \
        "$MTA_PW" 235 CRAM-MD5 SCRAM-SHA-256
    # libsasl2's saslauthd client splits the login at its last '@'.
    lab_expect_match "$L: authd logged the decision" "$(cat "$(lab_get authd out)")" \
        'login="alice" realm="lab\.test" service="smtp" result=OK'
    lab_expect_match "$L: authd logged the disabled login" "$(cat "$(lab_get authd out)")" \
        'login="carol" realm="lab\.test" service="smtp" result=NO reason="login disabled"'
    check_change pf "$store" PLAIN LOGIN
    mta_grow "$L" "$store"
    mta_check "$L: after the map grew" "$port" alice@lab.test "$MTA_PW" 235 PLAIN LOGIN
    mta_check "$L: a login added by the growth" "$port" bulk2999@lab.test "$MTA_PW" 235 PLAIN

    # authd with a missing store: temporary failure.
    mkdir -p "$(lab_postfix_jail pfmissing)"
    mta_authd_start authdmissing --store "$LAB/no-such-store" \
        --socket "$(lab_postfix_jail pfmissing)/run/authd/mux" --user postfix
    mta_sasl_conf "$LAB/smtpd-missing.conf" "$store" saslauthd 'saslauthd_path: @JAIL@/run/authd/mux'
    start_pf pfmissing "$LAB/smtpd-missing.conf"
    mta_check "$L: authd's store missing" "$(lab_get pfmissing port)" alice@lab.test "$MTA_PW" \
        454 PLAIN LOGIN

    # authd not running: libsasl2 cannot connect, a temporary failure.
    lab_daemon_stop authd
    mta_check "$L: authd stopped" "$port" alice@lab.test "$MTA_PW" 454 PLAIN LOGIN
fi

lab_finish
