#!/bin/bash
# test-postfix.sh - authgate-milter behind a real Postfix 3.7 (suite
# 'integration').
#
# One throwaway Postfix (lab.sh, smtpd chrooted as in Debian's master.cf)
# with a submission port (SMTP AUTH through the authgate SASL plugin) and an
# MX port without AUTH, both with smtpd_milters = the {auth_author} probe,
# then authgate-milter, milter_default_action = tempfail.  One store (made
# by milter-mta-store) drives AUTH and send-as.  Mail is relayed to an
# smtp-sink whose files show the final headers.  Checks, each with the exact
# reply Postfix gives the client:
#   - AUTH works through the plugin (235 / 535);
#   - legitimate mail (own address, CRAM-MD5, @domain rule, delegated
#     address, subaddress, case difference, IDN U-label vs A-label rule,
#     several authors with Sender, null sender) is delivered with exactly one
#     "Authentication-Results: mx.lab.test; auth=pass (MECH) smtp.auth=LOGIN"
#     right below Postfix's own Received (above the client's Received);
#     forged A-R with our authserv-id removed, other ids kept;
#   - envelope spoofs: 553 5.7.1 at MAIL; header spoofs: 550 5.7.1 at end of
#     data (display name, comment, encoded display name, several mailboxes,
#     Sender, MAIL FROM:<>, group syntax, encoded-word address, several
#     From fields, "From :");
#   - MX port: auth=none, forged A-R removed; protect_local_domains rejects
#     a local-domain From (550) and envelope sender (553);
#   - {auth_author}: the probe shows Postfix hands the client's AUTH= to
#     milters without authentication; authgate-milter ignores it;
#   - report_only delivers and logs what it would have done;
#   - store missing: 451 4.3.0; milter stopped or killed: Postfix tempfails;
#   - no rejected message reached the sink.
# Exits 77 (skip) when not root or a tool is missing.
# shellcheck source-path=SCRIPTDIR
set -u
HERE=$(dirname "$0")
# shellcheck source=../lab/lab.sh
. "$HERE/../lab/lab.sh"
lab_init postfix sink swaks
# shellcheck source=common.sh
. "$HERE/common.sh"
mm_init

ACCEPTED=0

# ---------------------------------------------------------------- setup
mm_store "$LAB/store" -s postfix # smtpd reads secrets/ as postfix
mm_sasl_conf "$LAB/smtpd.conf" "$LAB/store"
JAIL=$(lab_postfix_jail pf)
SOCK=$JAIL/authgate/milter.sock
BASE=("unauthenticated_action = accept" "protect_local_domains = yes")
mm_milter_conf "$LAB/milter.conf" "$LAB/store" "$SOCK" "${BASE[@]}"
mm_milter_start milter "$LAB/milter.conf"
mm_probe_start probe "$JAIL/authgate/probe.sock"
lab_sink_start sink
# permit_auth_destination on submission only lets unauthenticated mail for
# lab.test through, so the {auth_author} check can reach end of data.
lab_postfix_start pf --mx --sasl-conf "$LAB/smtpd.conf" --sasl-path "$LAB/plugins" \
    --relay-port "$(lab_get sink port)" --milter-default-action tempfail \
    --milter "unix:authgate/probe.sock, unix:authgate/milter.sock" \
    --submission-o "smtpd_relay_restrictions=permit_sasl_authenticated, permit_auth_destination, reject"
echo "# postfix started in $(lab_get pf start_seconds) s"
SUB=$(lab_get pf port)
MX=$(lab_get pf mx_port)
PF_RECEIVED='^Received: from client\.lab\.test .* by mx\.lab\.test \(Postfix\) with ESMTPS?A? '
lab_expect "milter_default_action is tempfail" \
    "$(postconf -c "$(lab_get pf conf)" -h milter_default_action)" tempfail

# ---------------------------------------------------------------- AUTH
lab_expect "AUTH PLAIN through the authgate plugin" \
    "$(lab_auth PLAIN "$SUB" alice@example.com "$MM_PW")" 235
lab_expect "AUTH CRAM-MD5 through the authgate plugin" \
    "$(lab_auth CRAM-MD5 "$SUB" carol@example.org "$MM_PW")" 235
lab_expect "AUTH PLAIN with a wrong password" \
    "$(lab_auth PLAIN "$SUB" alice@example.com wrong-password)" 535

# ---------------------------------------------------------------- legitimate
# legit NAME MECH LOGIN ENVFROM HEADER...: accepted, delivered, one A-R of
# ours, right below Postfix's Received.  Sets HDR to the delivered header.
legit() {
    local name=$1 mech=$2 login=$3 envfrom=$4 id reply
    shift 4
    id=$(lab_id)
    mm_msg "$LAB/msg" "$id" "$@"
    reply=$(mm_send "$SUB" "$envfrom" rcpt@example.test "$LAB/msg" \
        --auth "$mech" --auth-user "$login" --auth-password "$MM_PW")
    lab_expect_match "legitimate, $name: accepted" "$reply" '^250 2\.0\.0 Ok: queued as [0-9A-F]+$'
    ACCEPTED=$((ACCEPTED + 1))
    HDR=$(mm_headers sink "$id")
    lab_expect "legitimate, $name: exactly one Authentication-Results of ours" \
        "$(printf '%s\n' "$HDR" | grep -ci '^Authentication-Results: mx\.lab\.test;')" 1
    lab_expect "legitimate, $name: auth=pass right below Postfix's Received" \
        "$(mm_after "$HDR" "$PF_RECEIVED")" \
        "Authentication-Results: mx.lab.test; auth=pass ($mech) smtp.auth=$login"
}

legit "own address, incoming A-R and Received" PLAIN alice@example.com alice@example.com \
    "Received: from laptop.example.com by client.lab.test; Thu, 26 Nov 2026 06:00:00 +0000" \
    "Authentication-Results: mx.lab.test; auth=pass smtp.auth=ceo@example.com" \
    "Authentication-Results: other.example; spf=pass smtp.mailfrom=alice@example.com" \
    "Authentication-Results: MX.LAB.TEST (forged); auth=pass smtp.auth=ceo@example.com" \
    "From: Alice <alice@example.com>" "To: rcpt@example.test"
lab_expect "own address: the client's Received follows our A-R" \
    "$(mm_after "$HDR" '^Authentication-Results: mx\.lab\.test; auth=pass' | cut -c1-36)" \
    "Received: from laptop.example.com by"
lab_expect "own address: forged A-R with our authserv-id removed (any case, comment)" \
    "$(printf '%s\n' "$HDR" | grep -c 'smtp.auth=ceo@example.com')" 0
lab_expect "own address: A-R of another authserv-id kept" \
    "$(printf '%s\n' "$HDR" | grep -cxF 'Authentication-Results: other.example; spf=pass smtp.mailfrom=alice@example.com')" 1
legit "CRAM-MD5, @domain rule" CRAM-MD5 carol@example.org news@example.net \
    "From: Example News <news@example.net>"
legit "delegated address" PLAIN alice@example.com shared@example.com \
    "From: Shared Desk <shared@example.com>"
legit "subaddresses" PLAIN alice@example.com alice+bounces@example.com \
    "From: Alice <alice+news@example.com>"
legit "case difference" PLAIN alice@example.com ALICE@Example.COM \
    'From: "Alice" <Alice@EXAMPLE.com>'
legit "U-label From, A-label rule" PLAIN alice@example.com info@xn--bcher-kva.example \
    "From: Info <info@bücher.example>"
legit "two authors and an allowed Sender" PLAIN alice@example.com alice@example.com \
    "From: alice@example.com, Shared <shared@example.com>" "Sender: alice@example.com"
legit "own address as display name" PLAIN alice@example.com alice@example.com \
    'From: "alice@example.com" <alice@example.com>'
legit "null sender, own From" PLAIN alice@example.com '<>' "From: alice@example.com"

# ---------------------------------------------------------------- spoofs
# spoof NAME ENVFROM WANT HEADER...: alice@example.com sends; the reply to
# MAIL or to end of data is exactly WANT.
spoof() {
    local name=$1 envfrom=$2 want=$3
    shift 3
    mm_msg "$LAB/msg" "$(lab_id)" "$@"
    lab_expect "spoof, $name" "$(mm_send "$SUB" "$envfrom" rcpt@example.test "$LAB/msg" \
        --auth PLAIN --auth-user alice@example.com --auth-password "$MM_PW")" "$want"
}
NOT_OWNED='rejected: not owned by login alice@example.com'
spoof "envelope sender (553 at MAIL)" ceo@example.com \
    "553 5.7.1 Sender address <ceo@example.com> $NOT_OWNED" "From: alice@example.com"
mm_msg "$LAB/msg" "$(lab_id)" "From: news@sub.example.net"
lab_expect "spoof, envelope in a subdomain of carol's @domain rule" \
    "$(mm_send "$SUB" news@sub.example.net rcpt@example.test "$LAB/msg" --auth CRAM-MD5 \
        --auth-user carol@example.org --auth-password "$MM_PW")" \
    "553 5.7.1 Sender address <news@sub.example.net> rejected: not owned by login carol@example.org"
spoof "From address" alice@example.com \
    "550 5.7.1 From address <ceo@example.com> $NOT_OWNED" "From: CEO <ceo@example.com>"
spoof "address as display name" alice@example.com \
    "550 5.7.1 From display name claims <ceo@example.com>, which login alice@example.com may not use" \
    'From: "ceo@example.com" <alice@example.com>'
spoof "address in an encoded display name" alice@example.com \
    "550 5.7.1 From display name claims <ceo@example.com>, which login alice@example.com may not use" \
    'From: =?utf-8?q?ceo=40example=2Ecom?= <alice@example.com>'
spoof "address in a comment" alice@example.com \
    "550 5.7.1 From display name claims <ceo@example.com>, which login alice@example.com may not use" \
    'From: alice@example.com (ceo@example.com)'
spoof "several mailboxes without Sender" alice@example.com \
    "550 5.7.1 Message rejected: several From mailboxes need a Sender header field (login alice@example.com)" \
    "From: alice@example.com, ceo@example.com"
spoof "several mailboxes, one not owned, allowed Sender" alice@example.com \
    "550 5.7.1 From address <ceo@example.com> $NOT_OWNED" \
    "From: alice@example.com, ceo@example.com" "Sender: alice@example.com"
spoof "Sender" alice@example.com \
    "550 5.7.1 Sender address <ceo@example.com> $NOT_OWNED" \
    "From: alice@example.com" "Sender: ceo@example.com"
spoof "MAIL FROM:<> with a forged From" '<>' \
    "550 5.7.1 From address <ceo@example.com> $NOT_OWNED" "From: ceo@example.com"
spoof "group syntax" alice@example.com \
    "550 5.7.1 Message rejected: malformed From header: group syntax (login alice@example.com)" \
    "From: Board: ceo@example.com;"
spoof "encoded-word where the address belongs" alice@example.com \
    "550 5.7.1 Message rejected: malformed From header: encoded-word where an address belongs (login alice@example.com)" \
    "From: =?utf-8?q?ceo?=@example.com"
# Postfix processes headers before its milters see them: a null-sender
# message without From gets "From: MAILER-DAEMON" (no address) from cleanup
# (127.0.0.1 matches local_header_rewrite_clients), which is malformed.
spoof "MAIL FROM:<> and no From (Postfix adds From: MAILER-DAEMON)" '<>' \
    "550 5.7.1 Message rejected: malformed From header: display name without an address (login alice@example.com)" \
    "To: rcpt@example.test"
spoof "two From fields" alice@example.com "550 5.7.1 Message rejected: 2 From header fields (login alice@example.com)" \
    "From: alice@example.com" "From: ceo@example.com"
# Not as the first line: Postfix takes a first "From " line for an mbox
# separator (it becomes X-Mailbox-Line) and adds From: <envelope sender>.
spoof "'From :' with a space before the colon" alice@example.com \
    "550 5.7.1 From address <ceo@example.com> $NOT_OWNED" "To: rcpt@example.test" \
    "From : ceo@example.com"

# ---------------------------------------------------------------- MX port
id=$(lab_id)
lab_expect_match "MX, unauthenticated remote sender: accepted" \
    "$(mm_raw "$MX" "MAIL FROM:<news@remote.example>" "RCPT TO:<rcpt@lab.test>" DATA \
        "Authentication-Results: mx.lab.test; auth=pass (PLAIN) smtp.auth=alice@example.com" \
        "Authentication-Results: remote.example; dkim=pass header.d=remote.example" \
        "From: News <news@remote.example>" "X-Lab-Id: $id" "" "body" .)" \
    '^250 2\.0\.0 Ok: queued as [0-9A-F]+$'
ACCEPTED=$((ACCEPTED + 1))
HDR=$(mm_headers sink "$id")
lab_expect "MX: exactly one A-R of ours" \
    "$(printf '%s\n' "$HDR" | grep -ci '^Authentication-Results: mx\.lab\.test;')" 1
lab_expect "MX: auth=none right below Postfix's Received (forged auth=pass removed)" \
    "$(mm_after "$HDR" "$PF_RECEIVED")" "Authentication-Results: mx.lab.test; auth=none"
lab_expect "MX: A-R of another authserv-id kept" \
    "$(printf '%s\n' "$HDR" | grep -cxF 'Authentication-Results: remote.example; dkim=pass header.d=remote.example')" 1
lab_expect "MX, protect_local_domains: local-domain From (550 at end of data)" \
    "$(mm_raw "$MX" "MAIL FROM:<news@remote.example>" "RCPT TO:<rcpt@lab.test>" DATA \
        "From: Alice <alice@example.com>" "" "body" .)" \
    "550 5.7.1 From address <alice@example.com> rejected: authentication required for a local domain"
lab_expect "MX, protect_local_domains: local-domain envelope sender (553 at MAIL)" \
    "$(mm_raw "$MX" "MAIL FROM:<alice@example.com>")" \
    "553 5.7.1 Sender address <alice@example.com> rejected: authentication required for a local domain"

# ---------------------------------------------------------------- {auth_author}
# authgate-milter asks for its MAIL macros itself (SMFIF_SETSYMLIST: "i
# {auth_authen} {auth_type}"), so Postfix does not even send it
# {auth_author}; the probe, which takes Postfix's default macro set, shows
# that Postfix would.  (With {auth_author} added to that list and trusted,
# every check below fails: tried by hand.)
LOCAL_AUTH="553 5.7.1 Sender address <alice@example.com> rejected: authentication required for a local domain"
lab_expect "{auth_author}: no AUTH, MAIL FROM:<alice@example.com> AUTH=<alice@example.com> on submission" \
    "$(mm_raw "$SUB" "MAIL FROM:<alice@example.com> AUTH=<alice@example.com>")" "$LOCAL_AUTH"
lab_expect_match "{auth_author}: Postfix handed that AUTH= to the milters (probe)" \
    "$(mm_milter_log probe)" '^mail_from=<alice@example\.com> auth_authen=\(none\) auth_author=<alice@example\.com>$'
for port in SUB MX; do
    id=$(lab_id)
    lab_expect_match "{auth_author}: no AUTH, remote sender with AUTH=<alice@example.com> on $port: accepted" \
        "$(mm_raw "${!port}" "MAIL FROM:<author-$port@remote.example> AUTH=<alice@example.com>" \
            "RCPT TO:<rcpt@lab.test>" DATA "From: author-$port@remote.example" "X-Lab-Id: $id" "" body .)" \
        '^250 2\.0\.0 Ok: queued as [0-9A-F]+$'
    ACCEPTED=$((ACCEPTED + 1))
    lab_expect "{auth_author}: $port message reported auth=none, not alice" \
        "$(mm_headers sink "$id" | grep -i '^Authentication-Results:')" \
        "Authentication-Results: mx.lab.test; auth=none"
    lab_expect_match "{auth_author}: the $port milters got auth_author=<alice@example.com> (probe)" \
        "$(mm_milter_log probe)" \
        "^mail_from=<author-$port@remote\.example> auth_authen=\(none\) auth_author=<alice@example\.com>$"
done

# ---------------------------------------------------------------- report_only
mm_milter_reload milter "$LAB/store" "${BASE[@]}" "report_only = yes"
id=$(lab_id)
mm_msg "$LAB/msg" "$id" "From: CEO <ceo@example.com>"
reply=$(mm_send "$SUB" ceo@example.com rcpt@example.test "$LAB/msg" \
    --auth PLAIN --auth-user alice@example.com --auth-password "$MM_PW")
lab_expect_match "report_only: envelope and From spoof delivered" "$reply" \
    '^250 2\.0\.0 Ok: queued as [0-9A-F]+$'
ACCEPTED=$((ACCEPTED + 1))
qid=${reply##* }
lab_expect "report_only: delivered with auth=pass for the login" \
    "$(mm_after "$(mm_headers sink "$id")" "$PF_RECEIVED")" \
    "Authentication-Results: mx.lab.test; auth=pass (PLAIN) smtp.auth=alice@example.com"
lab_expect_match "report_only: the log says what would have been done" "$(mm_milter_log milter)" \
    "qid=$qid login=\"alice@example.com\" envfrom=\"<ceo@example.com>\" from=\"CEO <ceo@example.com>\" verdict=accept would=reject \(report_only\) class=mismatch"

# ---------------------------------------------------------------- store errors
mm_milter_reload milter "$LAB/no-such-store" "${BASE[@]}"
STORE_ERR="451 4.3.0 Temporary failure reading the send-as policy, try again later"
mm_msg "$LAB/msg" "$(lab_id)" "From: alice@example.com"
lab_expect "store missing: authenticated MAIL tempfailed" \
    "$(mm_send "$SUB" alice@example.com rcpt@example.test "$LAB/msg" \
        --auth PLAIN --auth-user alice@example.com --auth-password "$MM_PW")" "$STORE_ERR"
lab_expect "store missing: MX null sender tempfailed at end of data" \
    "$(mm_raw "$MX" "MAIL FROM:<>" "RCPT TO:<rcpt@lab.test>" DATA "From: a@remote.example" "" body .)" \
    "$STORE_ERR"
mm_milter_reload milter "$LAB/store" "${BASE[@]}"
legit "store back after SIGHUP" PLAIN alice@example.com alice@example.com "From: alice@example.com"

# ---------------------------------------------------------------- milter down
# Postfix answers AUTH itself while its milter is unreachable: it maps the
# tempfail to 454 (smtpd_sasl_proto.c, "Sendmail compatibility").
milter_down() {
    local how=$1
    lab_expect "milter $how: AUTH on submission" \
        "$(lab_auth PLAIN "$SUB" alice@example.com "$MM_PW")" 454
    lab_expect "milter $how: authenticated submission" \
        "$(mm_send "$SUB" alice@example.com rcpt@example.test "$LAB/msg" \
            --auth PLAIN --auth-user alice@example.com --auth-password "$MM_PW")" \
        "454 4.3.0 Try again later"
    lab_expect "milter $how: unauthenticated MAIL on submission" \
        "$(mm_raw "$SUB" "MAIL FROM:<news@remote.example>")" \
        "451 4.7.1 Service unavailable - try again later"
    lab_expect "milter $how: MAIL on the MX port" \
        "$(mm_raw "$MX" "MAIL FROM:<news@remote.example>")" \
        "451 4.7.1 Service unavailable - try again later"
}
lab_daemon_stop milter
echo "# authgate-milter stopped in $(lab_get milter stop_seconds) s"
milter_down "stopped (socket removed)"
mm_milter_start milter2 "$LAB/milter.conf"
legit "milter restarted" PLAIN alice@example.com alice@example.com "From: alice@example.com"
lab__signal milter2 KILL
lab__wait 5 lab__dead milter2 || lab_fail "authgate-milter survived SIGKILL"
milter_down "killed (stale socket)"

lab_expect "only the $ACCEPTED accepted messages reached the sink" "$(lab_sink_count sink)" "$ACCEPTED"
lab_finish
