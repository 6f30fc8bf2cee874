#!/bin/bash
# install-lab.sh - the Postfix part of packaging/install-test.sh: with the
# authgate packages installed, make a store with authgatectl, start the
# installed daemons the way their units start them (unit-run.sh), and run
# throwaway Postfix instances (tests/lab) against the installed plugin,
# sockets and store.  Run by install-test.sh only (it installs the packages
# first and purges them after); prints lab_expect lines and a tally.
#
# usage: install-lab.sh LAB_DIR     (tests/lab of the source tree)
#
# Checks (Exim 4.96 from tests/lab beside Postfix): store layout and modes made by "authgatectl init"; each daemon's
# credentials under its unit (user, groups, no capabilities left, bounding
# set, no_new_privs), sockets (owner, group, mode); AUTH through
# authgate-authd (PLAIN, LOGIN) and through the plugin loaded from the
# system plugin directory (SCRAM-SHA-256); the milter's verdicts and
# Authentication-Results on delivered mail; smtpd's supplementary groups
# and what it maps of the store; SIGHUP reload (ExecReload=); an instance
# that does not name authgate (sasldb only) is unaffected by the installed
# plugin and never touches the store; clean stop; every system call the
# daemons made is allowed by their units' seccomp settings; sockets the
# daemons cannot remove at their stop (logged) replaced at the next start;
# README.Debian's recipe for a chrooted smtpd (sockets in the jail, unit
# drop-ins), started twice.
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../tests/lab/lab.sh
. "$1/lab.sh"
lab_init postfix sink swaks gsasl exim

UNITS=/lib/systemd/system
PLUGIN=$LAB_SASL_SYSDIR/libauthgate.so
STORE=/var/lib/authgate
PW_ALICE='Al1ce-s3cret pw'

gid() { getent group "$1" | cut -d: -f3; }
uid() { getent passwd "$1" | cut -d: -f3; }
# status_field PID FIELD: a field of /proc/PID/status, tabs squeezed.
status_field() { awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status"; }
# sorted_groups PID: the supplementary group ids, sorted, space-separated.
sorted_groups() { status_field "$1" Groups | tr ' ' '\n' | sed '/^$/d' | sort -n | tr '\n' ' '; }
want_groups() { printf '%s\n' "$@" | sort -n | tr '\n' ' '; }
mode_of() { stat -c '%a %U %G' "$1" 2>&1; }

# ------------------------------------------------------------ the store
lab_expect "authgatectl init" "$(authgatectl init >"$LAB/log/init.out" 2>&1; echo $?)" 0
lab_expect "store directory" "$(mode_of $STORE)" "755 root root"
lab_expect "secrets/ (secrets_group)" "$(mode_of $STORE/secrets)" "750 root authgate-secrets"
lab_expect "secrets/data.mdb" "$(mode_of $STORE/secrets/data.mdb)" "640 root authgate-secrets"
lab_expect "secrets/lock.mdb" "$(mode_of $STORE/secrets/lock.mdb)" "660 root authgate-secrets"
lab_expect "policy/ (policy_group)" "$(mode_of $STORE/policy)" "750 root authgate-policy"
lab_expect "policy/data.mdb" "$(mode_of $STORE/policy/data.mdb)" "640 root authgate-policy"
lab_expect "policy/lock.mdb" "$(mode_of $STORE/policy/lock.mdb)" "660 root authgate-policy"
lab_expect "authgatectl user add alice@lab.test" \
    "$(printf '%s\n' "$PW_ALICE" | authgatectl user add alice@lab.test --password-stdin >/dev/null 2>&1; echo $?)" 0
lab_expect "authgatectl sender allow (delegated address)" \
    "$(authgatectl sender allow alice@lab.test shared@lab.test >/dev/null 2>&1; echo $?)" 0

# ------------------------------------------------------------ the daemons
# Started as their units start them, each with a private /dev/log so
# their syslog lines can be read, and traced for the seccomp comparison.
lab_daemon_start authd --devlog --ready-file /run/authgate/authd/mux -- \
    "$here/unit-run.sh" --strace "$LAB/authd.strace" "$UNITS/authgate-authd.service"
lab_daemon_start milter --devlog --ready-file /run/authgate/milter.sock -- \
    "$here/unit-run.sh" --strace "$LAB/milter.strace" "$UNITS/authgate-milter.service"
lab_daemon_start query --devlog --ready-file /run/authgate/query.sock -- \
    "$here/unit-run.sh" --strace "$LAB/query.strace" "$UNITS/authgate-query.service"
# running_or_gone PID: a process that exited but is not reaped yet (a
# zombie: kill -0 still succeeds) is gone.  A daemon that detached has init
# (or this machine's PID 1) as its parent, which may reap it later.
running_or_gone() {
    local st
    st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d ' ' -f 1)
    if [ -n "$st" ] && [ "$st" != Z ]; then echo running; else echo gone; fi
}
authd_pid=$(cat /run/authgate/authd.pid)
milter_pid=$(cat /run/authgate/milter.pid)
query_pid=$(cat /run/authgate/query.pid)

check_daemon() {
    local name=$1 pid=$2 user=$3 group=$4 exe=$5 u
    u=$(uid "$user")
    lab_expect "$name: runs $exe" "$(readlink "/proc/$pid/exe")" "$exe"
    lab_expect "$name: real, effective, saved uid = $user" "$(status_field "$pid" Uid)" "$u $u $u $u"
    lab_expect "$name: groups = $user, $group only" "$(sorted_groups "$pid")" \
        "$(want_groups "$(gid "$user")" "$(gid "$group")")"
    lab_expect "$name: no capabilities left" "$(status_field "$pid" CapPrm) $(status_field "$pid" CapEff)" \
        "0000000000000000 0000000000000000"
    # CAP_CHOWN 0, CAP_SETGID 6, CAP_SETUID 7 (no CAP_FOWNER: the socket is
    # chmodded before it is chowned)
    lab_expect "$name: bounding set = CapabilityBoundingSet=" "$(status_field "$pid" CapBnd)" 00000000000000c1
    lab_expect "$name: no_new_privs" "$(status_field "$pid" NoNewPrivs)" 1
}
check_daemon authgate-authd "$authd_pid" authgate-authd authgate-secrets /usr/sbin/authgate-authd
check_daemon authgate-milter "$milter_pid" authgate-milter authgate-policy /usr/sbin/authgate-milter
check_daemon authgate-query "$query_pid" authgate-query authgate-policy /usr/sbin/authgate-query
lab_expect "authd socket: owner, group, mode" "$(mode_of /run/authgate/authd/mux)" \
    "660 authgate-authd authgate-authd"
lab_expect "authd socket directory (RuntimeDirectory=)" "$(mode_of /run/authgate/authd)" "755 root root"
lab_expect "milter socket: owner, group, mode" "$(mode_of /run/authgate/milter.sock)" \
    "660 authgate-milter authgate-milter"
lab_expect "query socket: owner, group, mode" "$(mode_of /run/authgate/query.sock)" \
    "660 authgate-query authgate-query"
lab_expect_match "authd opened the store as its user" "$(cat "$(lab_get authd syslog)")" \
    "ready: socket /run/authgate/authd/mux .*store $STORE"

# ------------------------------------------------------------ Postfix
# The smtpd.conf of README.Debian, as installed.
zcat /usr/share/doc/authgate-tools/README.Debian.gz |
    awk '/^In \/etc\/postfix\/sasl\/smtpd.conf:/ || /smtpd.conf:$/ { on = 1; next }
         on && /^    / { sub(/^    /, ""); print; seen = 1; next }
         on && seen { exit }' >"$LAB/smtpd.conf"
lab_expect_match "README.Debian's smtpd.conf names the plugin" "$(cat "$LAB/smtpd.conf")" \
    '^auxprop_plugin: authgate$'
lab_sink_start sink
lab_postfix_start pf --no-chroot --sasl-conf "$LAB/smtpd.conf" \
    --milter unix:/run/authgate/milter.sock --relay-port "$(lab_get sink port)"
port=$(lab_get pf port)

# postmap -q asks as the user postfix, with its groups (debconf's answer),
# reading this instance's main.cf (/etc/postfix/main.cf may not exist).
as_postfix() { setpriv --reuid=postfix --regid=postfix --init-groups -- "$@"; }
pfconf=$(lab_get pf conf)
lookup() { as_postfix postmap -c "$pfconf" -q "$1" socketmap:unix:/run/authgate/query.sock:senders 2>&1; }
# (Under self_send a login that is an address owns itself; an address
# that is no login is owned only by rules: authgate-query(8).)
lab_expect "postfix's socketmap lookup: a delegated address" "$(lookup shared@lab.test)" \
    alice@lab.test
lab_expect "postfix's socketmap lookup: an address nobody may use (not found)" \
    "$(lookup ceo@lab.test)" ""

lab_expect "PLAIN, right password (authgate-authd)" "$(lab_auth PLAIN "$port" alice@lab.test "$PW_ALICE")" 235
lab_expect "PLAIN, wrong password" "$(lab_auth PLAIN "$port" alice@lab.test wrong)" 535
lab_expect "PLAIN, unknown login" "$(lab_auth PLAIN "$port" nobody@lab.test "$PW_ALICE")" 535
lab_expect "LOGIN, right password" "$(lab_auth LOGIN "$port" alice@lab.test "$PW_ALICE")" 235
lab_expect "SCRAM-SHA-256, right password (plugin)" \
    "$(lab_auth SCRAM-SHA-256 "$port" alice@lab.test "$PW_ALICE")" 235
lab_expect "SCRAM-SHA-256, wrong password" "$(lab_auth SCRAM-SHA-256 "$port" alice@lab.test wrong)" 535
syslog=$(cat "$(lab_get authd syslog)")
lab_expect_match "authd logged the right password" "$syslog" \
    'login="alice" realm="lab.test" .*result=OK reason="password accepted"'
lab_expect_match "authd logged the wrong password" "$syslog" \
    'login="alice" realm="lab.test" .*result=NO reason="wrong password"'

auth=(--auth PLAIN --auth-user alice@lab.test --auth-password "$PW_ALICE")
id1=$(lab_id)
lab_expect "alice sends as herself" \
    "$(lab_send "$port" alice@lab.test rcpt@example.test "${auth[@]}" --add-header "X-Lab-Id: $id1")" 250
lab_expect_match "delivered with Authentication-Results" "$(lab_sink_find sink X-Lab-Id "$id1")" \
    '^Authentication-Results: [^;]+; auth=pass \(PLAIN\) smtp.auth=alice@lab.test$'
lab_expect "alice sends as a delegated address" \
    "$(lab_send "$port" shared@lab.test rcpt@example.test "${auth[@]}")" 250
lab_expect "envelope spoof refused at MAIL" \
    "$(lab_send "$port" ceo@lab.test rcpt@example.test "${auth[@]}")" 553
lab_expect "header From spoof refused at end of data" \
    "$(lab_send "$port" alice@lab.test rcpt@example.test "${auth[@]}" --header "From: <ceo@lab.test>")" 550

smtpd=$(lab_postfix_procs pf smtpd | head -1)
if [ -n "$smtpd" ]; then
    maps=$(cat "/proc/$smtpd/maps")
    lab_expect_match "smtpd loaded the plugin from the system directory" "$maps" " $PLUGIN\$"
    lab_expect_match "smtpd maps the store's secrets" "$maps" " $STORE/secrets/data.mdb\$"
    lab_expect "smtpd never maps the policy environment" "$(grep -c " $STORE/policy/" <<<"$maps")" 0
    lab_expect "smtpd's groups include authgate-secrets, authgate-authd, authgate-milter (debconf)" \
        "$(for g in authgate-secrets authgate-authd authgate-milter; do
            sorted_groups "$smtpd" | tr ' ' '\n' | grep -cx "$(gid $g)"
        done | tr '\n' ' ')" "1 1 1 "
else
    lab_expect "an smtpd process of the instance" "none" "one"
fi

# ExecReload=/bin/kill -HUP $MAINPID
kill -HUP "$authd_pid" "$milter_pid"
lab_wait_log "$(lab_get authd syslog)" 'SIGHUP: configuration .* reloaded' 10
lab_wait_log "$(lab_get milter syslog)" 'SIGHUP: configuration .* reloaded' 10
lab_expect_match "authd reloaded on SIGHUP" "$(cat "$(lab_get authd syslog)")" \
    'SIGHUP: configuration /etc/authgate/authgate.conf reloaded'
lab_expect_match "milter reloaded on SIGHUP" "$(cat "$(lab_get milter syslog)")" \
    'SIGHUP: configuration /etc/authgate/authgate.conf reloaded'
lab_expect "PLAIN after the reload" "$(lab_auth PLAIN "$port" alice@lab.test "$PW_ALICE")" 235

# ------------------------------------------------------------ inert
# An instance that does not name authgate: sasldb for every lookup
# (no auxprop_plugin line: libsasl asks every plugin, authgate included).
jail=$(lab_postfix_jail pf2)
mkdir -p "$jail/etc"
printf 'Lab-user-pw\n' | saslpasswd2 -p -f "$jail/etc/sasldb2" -u "$LAB_HOST" -c labuser
chgrp postfix "$jail/etc/sasldb2"
chmod 0640 "$jail/etc/sasldb2"
printf 'pwcheck_method: auxprop\nsasldb_path: @JAIL@/etc/sasldb2\nmech_list: PLAIN CRAM-MD5\n' \
    >"$LAB/smtpd-sasldb.conf"
lab_postfix_start pf2 --no-chroot --sasl-conf "$LAB/smtpd-sasldb.conf"
port2=$(lab_get pf2 port)
lab_expect "sasldb instance: PLAIN right" "$(lab_auth PLAIN "$port2" labuser Lab-user-pw)" 235
lab_expect "sasldb instance: PLAIN wrong" "$(lab_auth PLAIN "$port2" labuser wrong)" 535
lab_expect "sasldb instance: CRAM-MD5 right" "$(lab_auth CRAM-MD5 "$port2" labuser Lab-user-pw)" 235
lab_expect "sasldb instance: authgate's logins are unknown there" \
    "$(lab_auth PLAIN "$port2" alice@lab.test "$PW_ALICE")" 535
smtpd2=$(lab_postfix_procs pf2 smtpd | head -1)
if [ -n "$smtpd2" ]; then
    lab_expect_match "sasldb instance: the plugin is loaded" "$(cat "/proc/$smtpd2/maps")" " $PLUGIN\$"
    lab_expect "sasldb instance: nothing of the store mapped or open" \
        "$(
            grep -c " $STORE/" "/proc/$smtpd2/maps"
            for fd in /proc/"$smtpd2"/fd/*; do readlink "$fd"; done | grep -c "^$STORE/"
        )" "0
0"
else
    lab_expect "an smtpd process of the sasldb instance" "none" "one"
fi
lab_expect_match "sasldb instance: no authgate log line" \
    "$(lab_postfix_log pf2 | grep -ci authgate || true)" '^0$'

# ------------------------------------------------------------ Exim
# Exim 4.96's cyrus_sasl authenticators, as Debian-exim: PLAIN through
# authgate-authd, SCRAM-SHA-256 through the plugin (debconf put Debian-exim
# in authgate-authd and authgate-secrets).
lab_exim_start ex --sasl-conf "$LAB/smtpd.conf" --mechs "PLAIN SCRAM-SHA-256"
porte=$(lab_get ex port)
lab_expect "Exim: PLAIN through authgate-authd" "$(lab_auth PLAIN "$porte" alice@lab.test "$PW_ALICE")" 235
lab_expect "Exim: PLAIN, wrong password" "$(lab_auth PLAIN "$porte" alice@lab.test wrong)" 535
lab_expect "Exim: SCRAM-SHA-256 through the plugin" \
    "$(lab_auth SCRAM-SHA-256 "$porte" alice@lab.test "$PW_ALICE")" 235
lab_expect_match "Exim: authd saw Exim's uid" "$(cat "$(lab_get authd syslog)")" \
    "peer=pid:[0-9]+,uid:$(uid Debian-exim) "
lab_exim_stop ex

# ------------------------------------------------------------ query
# Postfix's own reject_sender_login_mismatch over authgate-query (no milter).
lab_postfix_start pfq --no-chroot --sasl-conf "$LAB/smtpd.conf" --relay-port "$(lab_get sink port)" \
    --main 'smtpd_sender_login_maps = socketmap:unix:/run/authgate/query.sock:senders' \
    --submission-o 'smtpd_sender_restrictions=reject_sender_login_mismatch,permit_sasl_authenticated,reject'
portq=$(lab_get pfq port)
lab_expect "sender_login_maps: alice as a delegated address" \
    "$(lab_send "$portq" shared@lab.test rcpt@example.test "${auth[@]}")" 250
lab_expect "sender_login_maps: envelope spoof refused by Postfix" \
    "$(lab_send "$portq" ceo@lab.test rcpt@example.test "${auth[@]}")" 553
lab_expect_match "sender_login_maps: Postfix's own reason" "$(lab_postfix_log pfq)" \
    'Sender address rejected: not owned by user alice@lab.test'
kill -HUP "$query_pid"
lab_wait_log "$(lab_get query syslog)" 'SIGHUP' 10
lab_expect_match "query reloaded on SIGHUP" "$(cat "$(lab_get query syslog)")" 'SIGHUP: configuration'
lab_postfix_stop pfq

# ------------------------------------------------------------ stop
lab_postfix_stop pf
lab_postfix_stop pf2
lab_daemon_stop authd
lab_daemon_stop milter
lab_daemon_stop query
lab_expect "query gone after stop" "$(running_or_gone "$query_pid")" gone
# No longer root at their stop, the daemons cannot remove their sockets
# from the root-owned /run/authgate; they say so, and the next start,
# holding the pid file lock, replaces the socket root may not probe.
lab_expect "query: its socket stays behind at stop" \
    "$(test -S /run/authgate/query.sock && echo present || echo absent)" present
lab_expect_match "query logged the socket it left" "$(cat "$(lab_get query syslog)")" \
    'socket /run/authgate/query.sock left behind: Permission denied'
lab_expect "milter: its socket stays behind at stop" \
    "$(test -S /run/authgate/milter.sock && echo present || echo absent)" present
lab_expect_match "milter logged the socket it left" "$(cat "$(lab_get milter syslog)")" \
    'cannot remove the socket unix:/run/authgate/milter.sock: Permission denied'
lab_daemon_start query-2 --devlog -- "$here/unit-run.sh" "$UNITS/authgate-query.service"
lab_wait_log "$(lab_get query-2 syslog)" ' ready on ' 20
lab_expect "query starts again over the socket it left" "$(lookup shared@lab.test)" alice@lab.test
lab_daemon_stop query-2
lab_expect "authd gone after stop" "$(running_or_gone "$authd_pid")" gone
lab_expect "milter gone after stop" "$(running_or_gone "$milter_pid")" gone
lab_expect "RuntimeDirectory removed at stop" "$(test -e /run/authgate/authd && echo present || echo absent)" absent
lab_expect_match "milter logged its stop" "$(cat "$(lab_get milter syslog)")" 'stopped$'

for d in authd milter query; do
    out=$("$here/trace-check.sh" "$LAB/$d.strace" "/usr/sbin/authgate-$d" "$UNITS/authgate-$d.service")
    rc=$?
    grep '^# ' <<<"$out" | head -1
    grep '^#   ' <<<"$out" | awk '{ printf "%s %s  ", $2, $3 }' | fold -s -w 96 | sed 's/^/#   /'
    echo
    while read -r line; do
        case $line in
        "ok - "*) lab_expect "authgate-$d: ${line#ok - }" ok ok ;;
        "not ok - "*) lab_expect "authgate-$d: ${line#not ok - }" "broken" ok ;;
        esac
    done < <(grep -v '^#' <<<"$out")
    [ $rc -eq 0 ] || grep -q '^not ok' <<<"$out" || lab_expect "trace-check $d" "exit $rc" "exit 0"
done

# ------------------------------------------------------------ chroot
# README.Debian's recipe for Debian's chrooted smtpd, with this instance's
# jail in place of /var/spool/postfix: root-owned socket directories in the
# jail, the sockets moved there in authgate.conf, a drop-in per unit
# letting it write there; smtpd.conf unchanged (saslauthd_path as seen in
# the jail; the store outside it, opened before the chroot).
jail=$(lab_postfix_jail pfc)
conf=/etc/authgate/authgate.conf
cp -p "$conf" "$LAB/authgate.conf.orig"
install -d -m 0755 "$jail/run/authgate/authd" "$jail/authgate"
printf 'authd_socket = %s\nmilter_socket = unix:%s\n' \
    "$jail/run/authgate/authd/mux" "$jail/authgate/milter.sock" >>"$conf"
for d in authd milter; do mkdir -p "/etc/systemd/system/authgate-$d.service.d"; done
printf '[Service]\nReadWritePaths=%s\n' "$jail/run/authgate/authd" \
    >/etc/systemd/system/authgate-authd.service.d/chroot.conf
printf '[Service]\nReadWritePaths=%s\n' "$jail/authgate" \
    >/etc/systemd/system/authgate-milter.service.d/chroot.conf
lab_daemon_start authd-chroot --devlog --ready-file "$jail/run/authgate/authd/mux" -- \
    "$here/unit-run.sh" "$UNITS/authgate-authd.service"
lab_daemon_start milter-chroot --devlog --ready-file "$jail/authgate/milter.sock" -- \
    "$here/unit-run.sh" "$UNITS/authgate-milter.service"
lab_postfix_start pfc --chroot --sasl-conf "$LAB/smtpd.conf" \
    --milter unix:/authgate/milter.sock --relay-port "$(lab_get sink port)"
portc=$(lab_get pfc port)
lab_expect "chroot: PLAIN through the socket in the jail" \
    "$(lab_auth PLAIN "$portc" alice@lab.test "$PW_ALICE")" 235
lab_expect "chroot: SCRAM-SHA-256, store outside the jail" \
    "$(lab_auth SCRAM-SHA-256 "$portc" alice@lab.test "$PW_ALICE")" 235
id2=$(lab_id)
lab_expect "chroot: alice sends as herself" \
    "$(lab_send "$portc" alice@lab.test rcpt@example.test "${auth[@]}" --add-header "X-Lab-Id: $id2")" 250
lab_expect_match "chroot: delivered with Authentication-Results" "$(lab_sink_find sink X-Lab-Id "$id2")" \
    '^Authentication-Results: [^;]+; auth=pass \(PLAIN\) smtp.auth=alice@lab.test$'
lab_expect "chroot: header From spoof refused" \
    "$(lab_send "$portc" alice@lab.test rcpt@example.test "${auth[@]}" --header "From: <ceo@lab.test>")" 550
smtpdc=$(lab_postfix_procs pfc smtpd | head -1)
lab_expect "chroot: smtpd runs in the jail" "$(readlink "/proc/${smtpdc:-0}/root")" "$jail"
lab_daemon_stop authd-chroot
lab_daemon_stop milter-chroot
lab_expect "chroot: authd's socket stays behind (it replaces it at start)" \
    "$(test -S "$jail/run/authgate/authd/mux" && echo present || echo absent)" present
lab_expect_match "chroot: authd logged the socket it left" "$(cat "$(lab_get authd-chroot syslog)")" \
    "socket $jail/run/authgate/authd/mux left behind: Permission denied"
lab_expect "chroot: the milter's socket stays behind (it replaces it at start)" \
    "$(test -S "$jail/authgate/milter.sock" && echo present || echo absent)" present
# A second start of each, over what the first left behind.
lab_daemon_start authd-chroot2 --devlog -- "$here/unit-run.sh" "$UNITS/authgate-authd.service"
lab_wait_log "$(lab_get authd-chroot2 syslog)" 'ready: socket' 20
lab_daemon_start milter-chroot2 --devlog -- \
    "$here/unit-run.sh" "$UNITS/authgate-milter.service"
lab_wait_log "$(lab_get milter-chroot2 syslog)" 'ready on' 20
lab_expect "chroot, restarted: PLAIN" "$(lab_auth PLAIN "$portc" alice@lab.test "$PW_ALICE")" 235
lab_expect "chroot, restarted: the milter answers" \
    "$(lab_send "$portc" alice@lab.test rcpt@example.test "${auth[@]}" --header "From: <ceo@lab.test>")" 550
lab_postfix_stop pfc
lab_daemon_stop authd-chroot2
lab_daemon_stop milter-chroot2
# Undo the administrator's changes: the packages own neither.
rm -rf /etc/systemd/system/authgate-authd.service.d /etc/systemd/system/authgate-milter.service.d
cp -p "$LAB/authgate.conf.orig" "$conf"

lab_finish
