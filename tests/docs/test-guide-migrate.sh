#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# test-guide-migrate.sh - docs/guide-migrate.md: a real Postfix moved from
# sasldb2 to authgate, with the guide's files and commands (suite
# 'integration').
#
# usage: test-guide-migrate.sh BUILDDIR
#
#   before: a sasldb2 made with saslpasswd2 (alice in the host name's
#     realm, bob in example.org) inside a chrooted Postfix using the
#     guide's "typical" smtpd.conf: PLAIN and CRAM-MD5 235 for "alice".
#   import: the guide's sasldb commands on that very file, the guide's
#     sender_login table through its commands (sender test allows alice as
#     sales@, check passes), the guide's Dovecot passwd-file through its
#     command (the summary names the hash-only logins).
#   after: the Postfix guide's stack on the imported store: "alice" and
#     bob@example.org log in with their old passwords (PLAIN through authd,
#     SCRAM-SHA-256 through the plugin); carol (SHA512-CRYPT) and dave
#     (BLF-CRYPT, completed to dave@example.org) with PLAIN, not SCRAM until
#     `user passwd`, then SCRAM too; the milter applies the imported map
#     (alice as sales@ yes, as ceo@ no).
# Exits 77 when not root or a component is not built.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
# shellcheck source=../lab/lab.sh
. "$TOP/tests/lab/lab.sh"
. "$HERE/snippet.sh"
. "$HERE/guide.sh"

BUILD=${1:?usage: $0 BUILDDIR}
guide_binaries "$BUILD"
lab_init postfix sink swaks gsasl
guide_accounts
guide_plugin
APW=Alice-old-pw BPW=Bob-old-pw

# ---------------------------------------------------------------- before
bjail=$(lab_postfix_jail before)
mkdir -p "$bjail/etc"
SASLDB=$bjail/etc/sasldb2
printf '%s' "$APW" | saslpasswd2 -p -f "$SASLDB" -u "$LAB_HOST" -c alice || lab_fail "saslpasswd2"
printf '%s' "$BPW" | saslpasswd2 -p -f "$SASLDB" -u example.org -c bob || lab_fail "saslpasswd2"
chgrp postfix "$SASLDB" && chmod 0640 "$SASLDB"
snippet_file migrate-sasldb-smtpd-conf "$LAB/smtpd-before.conf" || lab_fail "snippet"
lab_postfix_start before --chroot --sasl-conf "$LAB/smtpd-before.conf"
lab_expect "before: alice PLAIN from sasldb2" "$(lab_auth PLAIN "$(lab_get before port)" alice "$APW")" 235
lab_expect "before: alice CRAM-MD5 from sasldb2" "$(lab_auth CRAM-MD5 "$(lab_get before port)" alice "$APW")" 235

# ---------------------------------------------------------------- import
GUIDE_JAIL=$(lab_postfix_jail after)
GUIDE_STORE=$LAB/store-after
GUIDE_CONF=$LAB/authgate-after.conf
mkdir -p "$GUIDE_JAIL"
guide_conf
ctl=("authgatectl=\"$CTL\" --config \"$GUIDE_CONF\"")
snippet_run migrate-sasldb "${ctl[@]}" "/var/spool/postfix/etc/sasldb2=$SASLDB" \
    "mail.example.org=$LAB_HOST" >"$LAB/log/import-sasldb.out" 2>&1
lab_expect "the guide's sasldb commands" "$?" 0
lab_expect "imported logins" "$("$CTL" --config "$GUIDE_CONF" user list | awk '{ print $1 }' | sort | tr '\n' ' ')" \
    "alice bob@example.org "
snippet_file migrate-sender-login "$LAB/sender_login" || lab_fail "snippet"
out=$(snippet_run migrate-maps "${ctl[@]}" "/etc/postfix/sender_login=$LAB/sender_login" 2>&1)
lab_expect "the guide's map commands (sender test allows, check passes)" "$?" 0
lab_expect_match "sender test names the imported rule" "$out" 'allow sales@example\.org'
snippet_file migrate-dovecot-users "$LAB/users" || lab_fail "snippet"
out=$(snippet_run migrate-dovecot "${ctl[@]}" "/etc/dovecot/users=$LAB/users" 2>&1)
lab_expect "the guide's Dovecot command" "$?" 0
lab_expect_match "the summary names carol as hash-only" "$out" 'carol@example\.org'
lab_expect_match "the summary names dave as hash-only" "$out" 'dave@example\.org'

# ---------------------------------------------------------------- after
guide_postfix_stack after
port=$(lab_get after port)
auth() {
    local t=$LAB/log/auth.$RANDOM
    case $1 in
    SCRAM-*)
        gsasl --smtp --connect="127.0.0.1:$port" --x509-ca-file="$LAB/tls/cert.pem" --no-cb \
            -m "$1" -a "$2" -p "$3" --verbose </dev/null >"$t" 2>&1
        awk '/^QUIT/ { exit } /^AUTH / { a = 1 } a && /^[2345][0-9][0-9][ -]/ { c = substr($0, 1, 3) }
             END { print c }' "$t"
        ;;
    *)
        guide_swaks "$t" "$port" --quit-after AUTH --auth "$1" --auth-user "$2" --auth-password "$3"
        guide_code "$(guide_reply "$t" AUTH)"
        echo
        ;;
    esac
}
lab_expect "after: alice, old password, PLAIN (authd)" "$(auth PLAIN alice "$APW")" 235
lab_expect "after: alice, old password, SCRAM-SHA-256 (plugin)" "$(auth SCRAM-SHA-256 alice "$APW")" 235
lab_expect "after: bob@example.org, old password, PLAIN" "$(auth PLAIN bob@example.org "$BPW")" 235
lab_expect "after: carol (SHA512-CRYPT), PLAIN" "$(auth PLAIN carol@example.org Carol-s3cret)" 235
lab_expect "after: dave (BLF-CRYPT), PLAIN" "$(auth PLAIN dave@example.org Dave-s3cret)" 235
lab_expect "after: carol, SCRAM before her next password change" \
    "$(auth SCRAM-SHA-256 carol@example.org Carol-s3cret)" 535
printf '%s\n' Carol-n3w | "$CTL" --config "$GUIDE_CONF" user passwd carol@example.org --password-stdin \
    >/dev/null || lab_fail "user passwd carol"
lab_expect "after: carol, SCRAM after user passwd" "$(auth SCRAM-SHA-256 carol@example.org Carol-n3w)" 235

send() {
    local t=$LAB/log/send.$1
    shift
    guide_swaks "$t" "$port" --auth PLAIN --auth-user alice --auth-password "$APW" \
        --from alice@example.org --to friend@example.net "$@"
    echo "$t"
}
t=$(send sales --header "From: Sales <sales@example.org>")
lab_expect_match "after: alice as sales@ (imported map)" "$(guide_reply "$t" EOD)" '^250 '
t=$(send ceo --header "From: CEO <ceo@example.org>")
lab_expect_match "after: alice as ceo@ refused" "$(guide_reply "$t" EOD)" \
    '^550 5\.7\.1 From address <ceo@example\.org> rejected: not owned by login alice$'

lab_finish
