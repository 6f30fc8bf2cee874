#!/bin/bash
# test-mta-saslpasswd.sh - saslpasswd2 and saslpluginviewer (sasl2-bin)
# against the authgate store, through the layout the MTAs use: the plugin
# directory holding libauthgate.so ahead of the system plugin directory
# (SASL_PATH) and a scratch saslpasswd.conf (SASL_CONF_PATH), with a real
# Postfix instance (no chroot, pwcheck_method: auxprop) proving each change
# at its next login, without a reload.
#
#   saslpluginviewer -a lists the auxprop plugin "authgate";
#   a read-only saslpasswd.conf (no authgate_writable): saslpasswd2 -c
#     fails and writes nothing;
#   authgate_writable: yes: saslpasswd2 -c -u lab.test frank creates
#     frank@lab.test with every secret the store's mechanisms setting asks
#     for (the cmusaslsecret wipe saslpasswd2 sends afterwards undoes
#     nothing): Postfix 235 for PLAIN LOGIN CRAM-MD5 DIGEST-MD5 SCRAM-SHA-1
#     SCRAM-SHA-256; saslpasswd2 (change): the new password 235, the old
#     535; saslpasswd2 -d: 535 for every mechanism, the login is gone;
#     saslpasswd2 -d of an unknown login fails with "user not found".
set -u
# shellcheck source=mta.sh
. "$(dirname "$0")/mta.sh"

mta_init postfix swaks gsasl
lab__need saslpasswd2 saslpluginviewer

ALL=(PLAIN LOGIN CRAM-MD5 DIGEST-MD5 SCRAM-SHA-1 SCRAM-SHA-256)
FRANK_PW=Fr4nk-S3cret
FRANK_NEW=Fr4nk-N3w-pw
L=saslpasswd2

# sasltool CONFDIR PROGRAM [ARG]...: run a sasl2-bin tool with the plugin
# directory and CONFDIR (holding PROGRAM's .conf) as libsasl2 finds them;
# standard input is passed on.  Prints the exit status after the output.
sasltool() {
    local confdir=$1
    shift
    SASL_PATH="$MTA_PLUGINS:$LAB_SASL_SYSDIR" SASL_CONF_PATH=$confdir "$@" 2>&1
    echo "exit=$?"
}

echo "# $L: saslpasswd2 and saslpluginviewer with the plugin; Postfix checks each change"
store=$LAB/store
mta_store "$store" postfix
mta_sasl_conf "$LAB/smtpd.conf" "$store" auxprop
lab_postfix_start pf --no-chroot --sasl-conf "$LAB/smtpd.conf" --sasl-path "$MTA_PLUGINS"
mta_timing "postfix pf (no-chroot)" pf
port=$(lab_get pf port)

mkdir -p "$LAB/sasl-ro" "$LAB/sasl-rw"
printf '%s\n' 'auxprop_plugin: authgate' "authgate_store: $store" >"$LAB/sasl-ro/saslpasswd.conf"
printf '%s\n' 'auxprop_plugin: authgate' "authgate_store: $store" 'authgate_writable: yes' \
    >"$LAB/sasl-rw/saslpasswd.conf"

out=$(sasltool "$LAB/sasl-rw" saslpluginviewer -a)
lab_expect_match "$L: saslpluginviewer -a lists the plugin" "$out" '^Plugin "authgate"'
lab_expect_match "$L: saslpluginviewer -a: authgate is an installed auxprop mechanism" \
    "$(printf '%s\n' "$out" | sed -n '/^Installed and properly configured auxprop/{n;p;}')" \
    '(^| )authgate( |$)'

out=$(printf '%s\n' "$FRANK_PW" | sasltool "$LAB/sasl-ro" saslpasswd2 -p -c -u lab.test frank)
lab_expect_match "$L: read-only install: saslpasswd2 -c fails" "$out" '^exit=[1-9]'
# The plugin refused libsasl2's store probe, so no plugin can store.
lab_expect_match "$L: read-only install: ... because the store probe was refused" "$out" \
    'no mechanism available'
lab_expect "$L: read-only install: nothing written" "$("$MTA_STORE" show "$store" frank@lab.test)" absent

out=$(printf '%s\n' "$FRANK_PW" | sasltool "$LAB/sasl-rw" saslpasswd2 -p -c -u lab.test frank)
lab_expect_match "$L: saslpasswd2 -c -u lab.test frank succeeds" "$out" '^exit=0$'
lab_expect "$L: frank@lab.test has the store's secrets" \
    "$("$MTA_STORE" show "$store" frank@lab.test)" \
    "present hash SCRAM-SHA-256 SCRAM-SHA-1 CRAM-MD5 DIGEST-MD5 PLAIN"
mta_check "$L: created login" "$port" frank@lab.test "$FRANK_PW" 235 "${ALL[@]}"

out=$(printf '%s\n' "$FRANK_NEW" | sasltool "$LAB/sasl-rw" saslpasswd2 -p frank@lab.test)
lab_expect_match "$L: saslpasswd2 (change) succeeds" "$out" '^exit=0$'
lab_expect "$L: the store checks the new password" \
    "$(printf '%s\n' "$FRANK_NEW" | "$MTA_STORE" verify "$store" frank@lab.test)" ok
mta_check "$L: changed password, new one" "$port" frank@lab.test "$FRANK_NEW" 235 "${ALL[@]}"
mta_check "$L: changed password, old one" "$port" frank@lab.test "$FRANK_PW" 535 PLAIN CRAM-MD5 \
    SCRAM-SHA-256

out=$(sasltool "$LAB/sasl-rw" saslpasswd2 -d frank@lab.test </dev/null)
lab_expect_match "$L: saslpasswd2 -d succeeds" "$out" '^exit=0$'
lab_expect "$L: deleted login is gone" "$("$MTA_STORE" show "$store" frank@lab.test)" absent
mta_check "$L: deleted login" "$port" frank@lab.test "$FRANK_NEW" 535 "${ALL[@]}"
out=$(sasltool "$LAB/sasl-rw" saslpasswd2 -d frank@lab.test </dev/null)
lab_expect_match "$L: saslpasswd2 -d of an unknown login fails" "$out" '^exit=[1-9]'
lab_expect_match "$L: ... saying so" "$out" 'user not found'
# the other logins were not touched
mta_check "$L: other login still works" "$port" alice@lab.test "$MTA_PW" 235 PLAIN SCRAM-SHA-256

lab_finish
