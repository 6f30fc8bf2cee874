#!/bin/bash
# query_exim.sh - Exim 4.96 (heavy, unpacked by the MTA lab) as a
# submission server with the ACLs of docs/guide-exim.md asking
# authgate-query, end to end over SMTP (suite 'integration').
#
# usage: query_exim.sh MILTER_BUILDDIR PLUGIN_SO SOURCE_ROOT
#
# The guide's blocks marked "authgate-test: NAME" are extracted and used
# verbatim: the libsasl config (exim-sasl, with the store path put in),
# the authenticators (exim-authenticators), the macro of the main block
# (exim-main, with the socket path put in; its acl_smtp_mail/acl_smtp_data
# lines are the lab's own equivalent, acl_mail/acl_data), and the MAIL and
# DATA ACL statements (exim-acl-mail, exim-acl-data), each followed by
# "accept".  So the guide cannot drift from what is tested.
#
# One store serves both sides: Exim authenticates through the authgate
# SASL plugin (secrets, group Debian-exim), authgate-query decides from the
# policy.  Logins: alice@example.com (self, allow shared@example.com,
# allow @alice.example), bob@example.com (self).
# Checks (SMTP reply codes, Exim's log lines with authgate's texts, the
# sink's copies):
#   legitimate mail passes: own address, delegated address, @domain rule,
#     subaddress and case, folded From with a comment, encoded display
#     name, two authors with an allowed Sender;
#   refused like the milter: envelope spoof (553 at MAIL), display-name
#     address, encoded display-name address, several mailboxes without
#     Sender, Sender spoof, MAIL FROM:<> with a forged From, group syntax,
#     encoded-word in the address, several From fields, "From :" as a
#     second From, a header section over 64 KiB, another login's address;
#   actions after SIGHUP: header (accepted with X-Authgate-Verdict; an
#     incoming one is removed), quarantine (frozen, not delivered),
#     report_only (accepted, logged as would=reject);
#   store unavailable: 451 at MAIL; authgate-query stopped: 451.
# Exits 77 when not root or a tool is missing.
set -u
B=$1 PLUGIN=$2 SRC=$3
# shellcheck source=../../tests/lab/lab.sh
. "$SRC/tests/lab/lab.sh"
# shellcheck source=../../tests/docs/snippet.sh
. "$SRC/tests/docs/snippet.sh"

lab_init exim sink swaks
[ -r "$PLUGIN" ] || lab_skip "the authgate plugin is not built ($PLUGIN)"

PW=Al1ce-S3cret

# --- the store: logins with passwords (legacy PLAIN secret for auxprop),
# rules; secrets readable by Debian-exim.
"$B/milter-mkstore" "$LAB/store" setting mechanisms "SCRAM-SHA-256 PLAIN" \
    allow alice@example.com shared@example.com allow alice@example.com @alice.example \
    domain example.com || lab_fail "milter-mkstore failed"
printf '%s\n' "$PW" | "$B/query-adduser" "$LAB/store" alice@example.com bob@example.com ||
    lab_fail "query-adduser failed"
chgrp -R Debian-exim "$LAB/store/secrets"

# --- authgate-query, its socket reachable by Debian-exim
mkdir -p "$LAB/query"
chmod 0755 "$LAB/query"
QSOCK=$LAB/query/query.sock
qconf() {
    {
        echo "store = $LAB/store"
        snippet_get exim-query-conf "/run/authgate/query.sock=$QSOCK" || echo "GUIDE BLOCK MISSING"
        echo "query_user = \"\""
        echo "query_pidfile = \"\""
        echo "authserv_id = mx.lab.test"
        for l in "$@"; do echo "$l"; done
    } | tac | awk '!seen[$1]++' | tac >"$LAB/query.conf"
}
qconf
lab_daemon_start query --ready-file "$QSOCK" -- "$B/authgate-query" -f -c "$LAB/query.conf"
QPID=$(lab_get query pid)
# reload "key = value"...: new configuration, SIGHUP, wait for the log line
reload() {
    local n
    n=$(grep -c 'SIGHUP: configuration .* reloaded' "$(lab_get query out)")
    qconf "$@"
    kill -HUP "$QPID"
    for _ in $(seq 100); do
        [ "$(grep -c 'SIGHUP: configuration .* reloaded' "$(lab_get query out)")" -gt "$n" ] && return 0
        sleep 0.05
    done
    lab_fail "authgate-query did not reload"
}

# --- Exim with the guide's text
mkdir -p "$LAB/plugins"
chmod 0755 "$LAB/plugins"
cp "$PLUGIN" "$LAB/plugins/libauthgate.so" && chmod 0644 "$LAB/plugins/libauthgate.so"
snippet_file exim-sasl "$LAB/exim-sasl.conf" "/var/lib/authgate=$LAB/store" || lab_fail "guide block"
macro=$(snippet_get exim-main "/run/authgate/query.sock=$QSOCK" | grep '^AUTHGATE_QUERY = ')
[ -n "$macro" ] || lab_fail "exim-main has no AUTHGATE_QUERY macro"
auths=$(snippet_get exim-authenticators) || lab_fail "guide block"
aclmail=$(snippet_get exim-acl-mail) || lab_fail "guide block"
acldata=$(snippet_get exim-acl-data) || lab_fail "guide block"
lab_sink_start sink
lab_exim_start ex --sasl-conf "$LAB/exim-sasl.conf" --sasl-path "$LAB/plugins" --mechs "" \
    --authenticators "$auths" --relay-port "$(lab_get sink port)" \
    --main "$macro" --acl-mail "$aclmail
  accept" --acl-data "$acldata
  accept"
PORT=$(lab_get ex port)

# The guide's "Trying it" command, pointed at this Exim (which has no TLS:
# -tls dropped) with the password given (swaks would ask for it); the
# refusal must be the one the guide prints under it.
try=$(snippet_get exim-try "localhost:587=127.0.0.1:$PORT" " -tls=" \
    "--auth-user alice@example.com=--auth-user alice@example.com --auth-password $PW") ||
    lab_fail "guide block"
bash -c "$try" >"$LAB/try.out" 2>&1
# Exim folds a long reply into several lines ("550-5.7.1 ...", "550 5.7.1
# ..."): join them as one reply with one code.
lab_expect "the guide's swaks command gets the refusal it shows" \
    "$(awk '/^<\*\* 5[0-9][0-9][- ]/ {
                t = substr($0, 5); c = substr(t, 1, 3); t = substr(t, 5)
                x = t; sub(/ .*/, "", x); sub(/^[^ ]+ /, "", t)
                r = (r == "" ? c " " x " " t : r " " t) }
            /^<\*\* 5[0-9][0-9] / { last = r; r = "" }
            END { print last }' "$LAB/try.out")" \
    "$(sed -n 's/^# //p' <<<"$try")"

# send LABEL WANT LOGIN ENVFROM HEADER-LINES...: one message with those
# header lines (and a Subject carrying a unique id), authenticated as
# LOGIN; the final SMTP code must be WANT; an accepted message must reach
# the sink (unless HELD=1: quarantine) and is then in $LAB/last-delivered.
# ENVFROM "" is the null sender.
HELD=0
send() {
    local label=$1 want=$2 login=$3 env=$4 id got
    shift 4
    id=$(lab_id)
    {
        printf '%s\r\n' "$@"
        printf 'Subject: %s\r\nTo: rcpt@example.test\r\n\r\nbody\r\n' "$id"
    } >"$LAB/msg"
    got=$(lab_send "$PORT" "${env:-<>}" rcpt@example.test --auth PLAIN --auth-user "$login" \
        --auth-password "$PW" --data "@$LAB/msg")
    lab_expect "$label" "$got" "$want"
    if [ "$want" = 250 ] && [ "$got" = 250 ] && [ "$HELD" = 0 ]; then
        lab_sink_find sink Subject "$id" 20 >"$LAB/last-delivered" ||
            lab_expect "$label: reached the sink" "no" "yes"
    fi
}
# rejected ERE: Exim's main log says a message was refused with this text
rejected() {
    lab_expect_match "$1: Exim's log carries authgate's reply" "$(lab_exim_log ex main)" "$2"
}

AL=alice@example.com
# --- legitimate mail
send "own address" 250 $AL $AL "From: Alice <alice@example.com>"
send "delegated address" 250 $AL shared@example.com "From: Shared <shared@example.com>"
send "@domain rule" 250 $AL news@alice.example "From: News <news@alice.example>"
send "subaddress and case" 250 $AL alice+lists@Example.COM \
    "From: \"Alice Smith\" <Alice+news@EXAMPLE.com>"
send "folded From with a comment" 250 $AL $AL "From: Alice (work)" $'\t<alice@example.com>'
send "encoded display name" 250 $AL $AL "From: =?utf-8?q?Al=C3=AFce?= <alice@example.com>"
send "two authors with an allowed Sender" 250 $AL $AL \
    "From: alice@example.com, shared@example.com" "Sender: alice@example.com"
send "null sender, own From" 250 $AL "" "From: alice@example.com"

# --- spoofs, refused with the milter's decisions
send "envelope spoof" 553 $AL ceo@example.com "From: alice@example.com"
rejected "envelope spoof" \
    'rejected MAIL <ceo@example.com>: 553 5\.7\.1 Sender address <ceo@example.com> rejected: not owned by login alice@example\.com'
send "display-name address" 550 $AL $AL "From: \"ceo@example.com\" <alice@example.com>"
rejected "display-name address" \
    'rejected after DATA: 550 5\.7\.1 From display name claims <ceo@example\.com>, which login alice@example\.com may not use'
send "encoded display-name address" 550 $AL $AL \
    "From: =?utf-8?q?ceo=40example.com?= <alice@example.com>"
send "several mailboxes without Sender" 550 $AL $AL "From: alice@example.com, shared@example.com"
rejected "several mailboxes without Sender" \
    '550 5\.7\.1 Message rejected: several From mailboxes need a Sender header field'
send "Sender spoof" 550 $AL $AL "From: alice@example.com" "Sender: ceo@example.com"
rejected "Sender spoof" \
    '550 5\.7\.1 Sender address <ceo@example\.com> rejected: not owned by login alice@example\.com'
send "MAIL FROM:<> with a forged From" 550 $AL "" "From: ceo@example.com"
rejected "MAIL FROM:<> with a forged From" \
    'F=<> A=cyrus_plain:alice@example\.com rejected after DATA: 550 5\.7\.1 From address <ceo@example\.com> rejected'
send "group syntax" 550 $AL $AL "From: Team: alice@example.com;"
rejected "group syntax" '550 5\.7\.1 Message rejected: malformed From header: group syntax'
send "encoded-word in the address" 550 $AL $AL "From: =?utf-8?q?ceo?=@example.com"
rejected "encoded-word in the address" \
    '550 5\.7\.1 Message rejected: malformed From header: encoded-word where an address belongs'
send "several From fields" 550 $AL $AL "From: alice@example.com" "From: ceo@example.com"
rejected "several From fields" '550 5\.7\.1 Message rejected: 2 From header fields'
send "From : as a second From" 550 $AL $AL "From: alice@example.com" "From : ceo@example.com"
send "another login's address" 550 bob@example.com bob@example.com "From: alice@example.com"
rejected "another login's address" \
    'rejected after DATA: 550 5\.7\.1 From address <alice@example\.com> rejected: not owned by login bob@example\.com'
big=()
for i in $(seq 1000); do big+=("X-Filler-$i: $(printf '%070d' "$i")"); done
send "header section over 64 KiB" 550 $AL $AL "From: alice@example.com" "${big[@]}"
rejected "header section over 64 KiB" '550 5\.7\.1 Message rejected: header section too large to check'

# --- actions (SIGHUP)
reload "mismatch_action = header"
send "mismatch_action=header: accepted" 250 $AL $AL "From: ceo@example.com" \
    "X-Authgate-Verdict: pass (forged)"
lab_expect_match "mismatch_action=header: our X-Authgate-Verdict" "$(cat "$LAB/last-delivered")" \
    '^X-Authgate-Verdict: mismatch; From address <ceo@example\.com> rejected: not owned by login alice@example\.com$'
lab_expect "mismatch_action=header: the forged one removed" \
    "$(grep -c '^X-Authgate-Verdict:' "$LAB/last-delivered")" 1
send "a passing message loses a forged X-Authgate-Verdict" 250 $AL $AL \
    "From: alice@example.com" "X-Authgate-Verdict: pass (forged)"
lab_expect "no X-Authgate-Verdict on a pass" \
    "$(grep -c '^X-Authgate-Verdict:' "$LAB/last-delivered")" 0

reload "mismatch_action = quarantine"
n=$(lab_sink_count sink)
HELD=1
send "mismatch_action=quarantine: accepted" 250 $AL $AL "From: ceo@example.com"
HELD=0
lab_expect_match "quarantine: Exim froze it" "$(lab_exim_log ex main)" \
    'authgate: frozen: From address <ceo@example\.com> rejected'
sleep 2
lab_expect "quarantine: nothing delivered" "$(lab_sink_count sink)" "$n"

reload "report_only = yes"
send "report_only: a spoof is accepted" 250 $AL $AL "From: ceo@example.com"
lab_expect_match "report_only: logged as would=reject" "$(cat "$(lab_get query out)")" \
    'verdict=accept would=reject \(report_only\) class=mismatch'

# --- failures are temporary, never "allowed"
reload "store = $LAB/no-such-store"
send "store unavailable" 451 $AL $AL "From: alice@example.com"
rejected "store unavailable" \
    'rejected MAIL <alice@example\.com>: 451 4\.3\.0 Temporary failure reading the send-as policy'
lab_daemon_stop query
send "authgate-query stopped" 451 $AL $AL "From: alice@example.com"
rejected "authgate-query stopped" '451 4\.3\.0 authgate-query did not answer'

lab_finish
