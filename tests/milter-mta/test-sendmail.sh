#!/bin/bash
# test-sendmail.sh - authgate-milter behind a real Sendmail 8.17 (suite
# 'integration').
#
# One Sendmail daemon (lab.sh: unpacked Debian package, own UTS namespace
# and /dev/log) with SMTP AUTH through the authgate SASL plugin and two
# filters, both F=T: authgate-milter, then the {auth_author} probe.  The
# auth macros reach the filters at MAIL through Sendmail's default
# confMILTER_MACROS_ENVFROM (the probe shows {auth_authen} arriving).  One
# store (milter-mta-store) drives AUTH and send-as.  Mail is relayed to an
# smtp-sink.  Checks, each with the exact reply Sendmail gives the client:
#   - AUTH through the plugin in Sendmail's fork-per-connection model;
#   - legitimate mail delivered with exactly one Authentication-Results of
#     ours right below Sendmail's own Received, forged ones removed, other
#     authserv-ids kept;
#   - envelope spoof 553 5.7.1 at MAIL, header spoofs 550 5.7.1 at end of
#     data;
#   - {auth_author} from an unauthenticated client is not trusted;
#   - store missing: 451 4.3.0; milter stopped or killed: Sendmail tempfails
#     (F=T);
#   - no rejected message reached the sink.
# Exits 77 (skip) when not root or a tool is missing.
# shellcheck source-path=SCRIPTDIR
set -u
HERE=$(dirname "$0")
# shellcheck source=../lab/lab.sh
. "$HERE/../lab/lab.sh"
lab_init sink swaks sendmail
# shellcheck source=common.sh
. "$HERE/common.sh"
mm_init

ACCEPTED=0

# ---------------------------------------------------------------- setup
mm_store "$LAB/store" # Sendmail runs SASL as root
mm_sasl_conf "$LAB/Sendmail.conf" "$LAB/store"
SOCK=$LAB/run/milter.sock
BASE=("unauthenticated_action = accept" "protect_local_domains = yes")
mm_milter_conf "$LAB/milter.conf" "$LAB/store" "$SOCK" "${BASE[@]}"
mm_milter_start milter "$LAB/milter.conf"
mm_probe_start probe "$LAB/run/probe.sock"
lab_sink_start sink
lab_sendmail_start sm --sasl-conf "$LAB/Sendmail.conf" --sasl-path "$LAB/plugins" \
    --relay-port "$(lab_get sink port)" --milter "unix:$SOCK" \
    --mc "INPUT_MAIL_FILTER(\`probe', \`S=unix:$LAB/run/probe.sock, F=T, T=S:10s;R:10s;E:30s')dnl"
echo "# sendmail started in $(lab_get sm start_seconds) s"
SM=$(lab_get sm port)
SM_RECEIVED='^Received: from client\.lab\.test .* by mx\.lab\.test \(8\.17[^)]*\) with ESMTPS?A? '
QUEUED='^250 2\.0\.0 [0-9A-Za-z]+ Message accepted for delivery$'

CF=$(lab_get sm dir)/sendmail.cf
lab_expect_match "authgate-milter runs with F=T (sendmail.cf)" "$(cat "$CF")" "^Xlab, S=unix:$SOCK, F=T,"
lab_expect_match "Sendmail's default envfrom macros hold {auth_type} {auth_authen} {auth_author}" \
    "$(cat "$CF")" '^O Milter[.]macros[.]envfrom=.*[{]auth_type[}], [{]auth_authen[}], .*[{]auth_author[}]'

# ---------------------------------------------------------------- AUTH
lab_expect "AUTH PLAIN through the authgate plugin" \
    "$(lab_auth PLAIN "$SM" alice@example.com "$MM_PW")" 235
lab_expect "AUTH CRAM-MD5 through the authgate plugin" \
    "$(lab_auth CRAM-MD5 "$SM" carol@example.org "$MM_PW")" 235
lab_expect "AUTH PLAIN with a wrong password" \
    "$(lab_auth PLAIN "$SM" alice@example.com wrong-password)" 535

# ---------------------------------------------------------------- legitimate
# legit NAME MECH LOGIN ENVFROM HEADER...: see test-postfix.sh.
legit() {
    local name=$1 mech=$2 login=$3 envfrom=$4 id reply
    shift 4
    id=$(lab_id)
    mm_msg "$LAB/msg" "$id" "$@"
    reply=$(mm_send "$SM" "$envfrom" rcpt@example.test "$LAB/msg" \
        --auth "$mech" --auth-user "$login" --auth-password "$MM_PW")
    lab_expect_match "legitimate, $name: accepted" "$reply" "$QUEUED"
    ACCEPTED=$((ACCEPTED + 1))
    HDR=$(mm_headers sink "$id")
    lab_expect "legitimate, $name: exactly one Authentication-Results of ours" \
        "$(printf '%s\n' "$HDR" | grep -ci '^Authentication-Results: mx\.lab\.test;')" 1
    lab_expect "legitimate, $name: auth=pass right below Sendmail's Received" \
        "$(mm_after "$HDR" "$SM_RECEIVED")" \
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
lab_expect_match "own address: the filters got {auth_authen} at MAIL (probe)" \
    "$(mm_milter_log probe)" '^mail_from=<alice@example\.com> auth_authen=alice@example\.com '
legit "CRAM-MD5, @domain rule" CRAM-MD5 carol@example.org news@example.net \
    "From: Example News <news@example.net>"
legit "delegated address, subaddress" PLAIN alice@example.com shared+desk@example.com \
    "From: Shared Desk <Shared@Example.com>"
legit "null sender, own From" PLAIN alice@example.com '<>' "From: alice@example.com"

# ---------------------------------------------------------------- spoofs
spoof() {
    local name=$1 envfrom=$2 want=$3
    shift 3
    mm_msg "$LAB/msg" "$(lab_id)" "$@"
    lab_expect "spoof, $name" "$(mm_send "$SM" "$envfrom" rcpt@example.test "$LAB/msg" \
        --auth PLAIN --auth-user alice@example.com --auth-password "$MM_PW")" "$want"
}
NOT_OWNED='rejected: not owned by login alice@example.com'
# Sendmail puts "<address>... " before the text of a 5xx MAIL reply from a
# filter (not before a 4xx one, see "store missing" below).
spoof "envelope sender (553 at MAIL)" ceo@example.com \
    "553 5.7.1 <ceo@example.com>... Sender address <ceo@example.com> $NOT_OWNED" \
    "From: alice@example.com"
spoof "From address" alice@example.com \
    "550 5.7.1 From address <ceo@example.com> $NOT_OWNED" "From: CEO <ceo@example.com>"
spoof "address as display name" alice@example.com \
    "550 5.7.1 From display name claims <ceo@example.com>, which login alice@example.com may not use" \
    'From: "ceo@example.com" <alice@example.com>'
spoof "Sender" alice@example.com \
    "550 5.7.1 Sender address <ceo@example.com> $NOT_OWNED" \
    "From: alice@example.com" "Sender: ceo@example.com"
spoof "MAIL FROM:<> with a forged From" '<>' \
    "550 5.7.1 From address <ceo@example.com> $NOT_OWNED" "From: ceo@example.com"
spoof "group syntax" alice@example.com \
    "550 5.7.1 Message rejected: malformed From header: group syntax (login alice@example.com)" \
    "From: Board: ceo@example.com;"
spoof "two From fields" alice@example.com "550 5.7.1 Message rejected: 2 From header fields (login alice@example.com)" \
    "From: alice@example.com" "From: ceo@example.com"
spoof "'From :' with a space before the colon" alice@example.com \
    "550 5.7.1 From address <ceo@example.com> $NOT_OWNED" "To: rcpt@example.test" \
    "From : ceo@example.com"

# ---------------------------------------------------------------- {auth_author}
# Sendmail relays for loopback clients without AUTH.  As with Postfix,
# authgate-milter's SMFIF_SETSYMLIST keeps {auth_author} from it; the probe
# (Sendmail's default macro set) shows Sendmail would send it.
lab_expect "{auth_author}: no AUTH, MAIL FROM:<alice@example.com> AUTH=<alice@example.com>" \
    "$(mm_raw "$SM" "MAIL FROM:<alice@example.com> AUTH=<alice@example.com>")" \
    "553 5.7.1 <alice@example.com>... Sender address <alice@example.com> rejected: authentication required for a local domain"
id=$(lab_id)
lab_expect_match "{auth_author}: no AUTH, remote sender with AUTH=<alice@example.com>: accepted" \
    "$(mm_raw "$SM" "MAIL FROM:<author@remote.example> AUTH=<alice@example.com>" \
        "RCPT TO:<rcpt@lab.test>" DATA "From: author@remote.example" "X-Lab-Id: $id" "" body .)" \
    "$QUEUED"
ACCEPTED=$((ACCEPTED + 1))
lab_expect "{auth_author}: reported auth=none, not alice" \
    "$(mm_headers sink "$id" | grep -i '^Authentication-Results:')" \
    "Authentication-Results: mx.lab.test; auth=none"
lab_expect_match "{auth_author}: Sendmail handed AUTH=<alice@example.com> to the filters (probe)" \
    "$(mm_milter_log probe)" \
    '^mail_from=<author@remote\.example> auth_authen=\(none\) auth_author=<alice@example\.com>$'

# ---------------------------------------------------------------- store errors
mm_milter_reload milter "$LAB/no-such-store" "${BASE[@]}"
mm_msg "$LAB/msg" "$(lab_id)" "From: alice@example.com"
lab_expect "store missing: authenticated MAIL tempfailed" \
    "$(mm_send "$SM" alice@example.com rcpt@example.test "$LAB/msg" \
        --auth PLAIN --auth-user alice@example.com --auth-password "$MM_PW")" \
    "451 4.3.0 Temporary failure reading the send-as policy, try again later"
lab_expect "store missing: null sender tempfailed at end of data" \
    "$(mm_raw "$SM" "MAIL FROM:<>" "RCPT TO:<rcpt@lab.test>" DATA "From: a@remote.example" "" body .)" \
    "451 4.3.0 Temporary failure reading the send-as policy, try again later"
mm_milter_reload milter "$LAB/store" "${BASE[@]}"
legit "store back after SIGHUP" PLAIN alice@example.com alice@example.com "From: alice@example.com"

# ---------------------------------------------------------------- milter down
milter_down() {
    local how=$1
    lab_expect "milter $how: AUTH" "$(lab_auth PLAIN "$SM" alice@example.com "$MM_PW")" 454
    lab_expect "milter $how: authenticated submission" \
        "$(mm_send "$SM" alice@example.com rcpt@example.test "$LAB/msg" \
            --auth PLAIN --auth-user alice@example.com --auth-password "$MM_PW")" \
        "454 4.3.0 Please try again later"
    lab_expect "milter $how: MAIL without AUTH" \
        "$(mm_raw "$SM" "MAIL FROM:<news@remote.example>")" "451 4.3.2 Please try again later"
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
