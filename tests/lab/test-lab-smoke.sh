#!/bin/bash
# test-lab-smoke.sh - proves the MTA lab (lab.sh) with stock components only:
# Debian's sasldb auxprop plugin, a sasldb2 made by saslpasswd2 -f in the
# sandbox, the real saslauthd, and the probe milter authlog-milter.
#
#   Postfix, chroot on and off: PLAIN and CRAM-MD5 right password -> 235 and
#     the message reaches the sink carrying the milter's header; wrong
#     password -> 535 (SCRAM-SHA-256 too, through gsasl); no relaying
#     without AUTH; the MX port takes mail for the relay domain without AUTH
#     (milter header "none").
#   Sendmail (TCP daemon, milter with F=T): the same, plus Sendmail's own
#     syslog lines captured through the private /dev/log.
#   Exim (daemon, cyrus_sasl): the same; Exim has no milter, so the proof of
#     delivery is the X-Lab-Auth-Id header its DATA ACL adds.
#   Exim with the saslauthd condition against saslauthd -a sasldb: PLAIN and
#     LOGIN 235 / 535.
# Prints how long each component took to start and to stop.
# Suite 'integration'; exits 77 when not root or a tool is missing.
set -u
. "$(dirname "$0")/lab.sh"

lab_init postfix sink swaks gsasl saslauthd milter sendmail exim

PW=S3cret-pw
BAD=wrong-pw

# One sasldb, copied per reader: smtpd reads it as postfix (inside its
# jail), Exim as Debian-exim, Sendmail and saslauthd as root.
printf '%s' "$PW" | saslpasswd2 -p -f "$LAB/sasldb2" -u "$LAB_HOST" -c labuser ||
    lab_fail "saslpasswd2 failed"
chmod 0640 "$LAB/sasldb2"

# sasl_conf FILE PATH: a libsasl config using the sasldb at PATH.
# A scratch plugin directory holding a renamed copy of the sasldb plugin:
# seeing that file mapped in an MTA proves the lab's --sasl-path wiring
# (SASL_PATH via import_environment / a sendmail.cf E line).
mkdir -p "$LAB/plugins"
cp "$(readlink -f "$LAB_SASL_SYSDIR/libsasldb.so")" "$LAB/plugins/liblabcopy.so"

# mapped PID: 1 if PID has the scratch plugin copy mapped, else 0.
mapped() {
    if grep -q "$LAB/plugins/liblabcopy.so" "/proc/$1/maps" 2>/dev/null; then
        echo 1
    else
        echo 0
    fi
}

sasl_conf() {
    printf '%s\n' 'pwcheck_method: auxprop' 'auxprop_plugin: sasldb' "sasldb_path: $2" \
        'mech_list: PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256' 'log_level: 5' >"$1"
}

# check_auth LABEL PORT MECH...: right password 235, wrong 535.
check_auth() {
    local label=$1 port=$2 mech
    shift 2
    for mech in "$@"; do
        lab_expect "$label: $mech right password" "$(lab_auth "$mech" "$port" labuser "$PW")" 235
        lab_expect "$label: $mech wrong password" "$(lab_auth "$mech" "$port" labuser "$BAD")" 535
    done
}

# check_delivery LABEL PORT SINK HEADER_ERE MECH...: an authenticated
# message is accepted (250) and reaches the sink with a header matching ERE.
check_delivery() {
    local label=$1 port=$2 sink=$3 ere=$4 mech id
    shift 4
    for mech in "$@"; do
        id=$(lab_id)
        lab_expect "$label: $mech message accepted" \
            "$(lab_send "$port" "labuser@$LAB_HOST" rcpt@example.test --auth "$mech" \
                --auth-user labuser --auth-password "$PW" --add-header "X-Lab-Id: $id")" 250
        lab_expect_match "$label: $mech message reached the sink" \
            "$(lab_sink_find "$sink" X-Lab-Id "$id")" "$ere"
    done
}

# altconf_count DIR: how often /etc/postfix/main.cf mentions DIR.
altconf_count() {
    if [ -e /etc/postfix/main.cf ]; then
        grep -cF "$1" /etc/postfix/main.cf
    else
        echo 0
    fi
}

timing() {
    echo "# $1 started in $(lab_get "$2" start_seconds) s"
}

# ---------------------------------------------------------------- ports
# Reservations make ports unique even when asked for at the same moment.
for i in $(seq 1 20); do
    lab_free_port >"$LAB/port.$i" &
done
wait
lab_expect "20 concurrent lab_free_port calls gave 20 different ports" \
    "$(cat "$LAB"/port.* | sort -u | grep -c '^[0-9][0-9]*$')" 20

# ---------------------------------------------------------------- Postfix
for mode in chroot no-chroot; do
    pf=pf-$mode
    jail=$(lab_postfix_jail "$pf")
    mkdir -p "$jail/etc" "$jail/milter"
    cp "$LAB/sasldb2" "$jail/etc/sasldb2"
    chgrp postfix "$jail/etc/sasldb2"
    # @JAIL@: "" with chroot (smtpd opens /etc/sasldb2 inside the jail),
    # the jail's path without.
    sasl_conf "$LAB/smtpd.conf" "@JAIL@/etc/sasldb2"
    lab_sink_start "$pf-sink"
    # The milter socket lives in the jail; Postfix names it relative to the
    # queue directory, which is right with and without chroot.
    lab_authlog_milter_start "$pf-milter" "unix:$jail/milter/authlog.sock"
    lab_postfix_start "$pf" "--$mode" --mx --sasl-conf "$LAB/smtpd.conf" --sasl-path "$LAB/plugins" \
        --relay-port "$(lab_get "$pf-sink" port)" --milter unix:milter/authlog.sock
    timing "postfix ($mode)" "$pf"
    port=$(lab_get "$pf" port)

    check_auth "postfix $mode" "$port" PLAIN CRAM-MD5 SCRAM-SHA-256
    # The smtpd that just answered is idle; its root is the jail or /.
    want=/
    [ "$mode" = no-chroot ] || want=$jail
    smtpd=$(lab_postfix_procs "$pf" smtpd | head -1)
    lab_expect "postfix $mode: smtpd's root directory" "$(readlink "/proc/$smtpd/root")" "$want"
    lab_expect "postfix $mode: smtpd loaded a plugin from --sasl-path" "$(mapped "$smtpd")" 1
    check_delivery "postfix $mode" "$port" "$pf-sink" '^X-Lab-Auth-Authen: labuser$' PLAIN CRAM-MD5
    lab_expect_match "postfix $mode: milter saw the SASL macros" \
        "$(cat "$(lab_get "$pf-milter" log)")" 'auth_type=CRAM-MD5 auth_authen=labuser$'
    lab_expect "postfix $mode: no relaying without AUTH" \
        "$(lab_send "$port" someone@example.org rcpt@example.test)" 554
    id=$(lab_id)
    lab_expect "postfix $mode: MX port takes mail for lab.test" \
        "$(lab_send "$(lab_get "$pf" mx_port)" someone@example.org rcpt@lab.test \
            --add-header "X-Lab-Id: $id")" 250
    lab_expect_match "postfix $mode: MX message reached the sink unauthenticated" \
        "$(lab_sink_find "$pf-sink" X-Lab-Id "$id")" '^X-Lab-Auth-Authen: none$'
    lab_expect "postfix $mode: the sink counted every message" "$(lab_sink_count "$pf-sink")" 3
    # alternate_config_directories is what lets an unprivileged user's
    # postqueue use the instance.
    conf=$(lab_get "$pf" conf)
    lab_expect "postfix $mode: unprivileged postqueue -c works" \
        "$(runuser -u nobody -- postqueue -c "$conf" -p >/dev/null 2>&1; echo $?)" 0
done

# ---------------------------------------------------------------- Sendmail
sasl_conf "$LAB/Sendmail.conf" "$LAB/sasldb2"
lab_sink_start sm-sink
lab_authlog_milter_start sm-milter "unix:$LAB/run/sm-milter.sock"
lab_sendmail_start sm --sasl-conf "$LAB/Sendmail.conf" --sasl-path "$LAB/plugins" \
    --relay-port "$(lab_get sm-sink port)" --milter "unix:$LAB/run/sm-milter.sock"
timing sendmail sm
port=$(lab_get sm port)
check_auth sendmail "$port" PLAIN CRAM-MD5
lab_expect "sendmail: daemon loaded a plugin from --sasl-path" "$(mapped "$(lab_get sm pid)")" 1
check_delivery sendmail "$port" sm-sink '^X-Lab-Auth-Authen: labuser$' PLAIN CRAM-MD5
lab_expect_match "sendmail: milter saw the SASL macros" \
    "$(cat "$(lab_get sm-milter log)")" 'auth_type=CRAM-MD5 auth_authen=labuser$'
lab_expect_match "sendmail: its syslog lines were captured" \
    "$(lab_sendmail_log sm)" 'AUTH=server, relay=.*authid=labuser, mech=CRAM-MD5'

# ---------------------------------------------------------------- Exim
cp "$LAB/sasldb2" "$LAB/sasldb2-exim"
chgrp Debian-exim "$LAB/sasldb2-exim"
sasl_conf "$LAB/exim-sasl.conf" "$LAB/sasldb2-exim"
lab_sink_start ex-sink
lab_exim_start ex --sasl-conf "$LAB/exim-sasl.conf" --relay-port "$(lab_get ex-sink port)"
timing "exim (cyrus_sasl)" ex
port=$(lab_get ex port)
check_auth "exim cyrus_sasl" "$port" PLAIN CRAM-MD5
check_delivery "exim cyrus_sasl" "$port" ex-sink '^X-Lab-Auth-Id: labuser$' PLAIN CRAM-MD5

lab_saslauthd_start sad --sasldb "$LAB/sasldb2"
timing saslauthd sad
lab_exim_start exsa --mechs "" --saslauthd "$(lab_get sad dir)" --saslauthd-mechs "PLAIN LOGIN" \
    --relay-port "$(lab_get ex-sink port)"
timing "exim (saslauthd)" exsa
port=$(lab_get exsa port)
check_auth "exim saslauthd" "$port" PLAIN LOGIN
check_delivery "exim saslauthd" "$port" ex-sink '^X-Lab-Auth-Id: labuser$' PLAIN

# ---------------------------------------------------------------- stop
for n in pf-chroot pf-no-chroot; do
    lab_postfix_stop "$n"
    echo "# postfix $n stopped in $(lab_get "$n" stop_seconds) s"
    lab_expect "$n: config directory left alternate_config_directories" \
        "$(altconf_count "$(lab_get "$n" conf)")" 0
done
for n in sm ex exsa sad; do
    lab_daemon_stop "$n"
    echo "# $n stopped in $(lab_get "$n" stop_seconds) s"
done
lab_finish
