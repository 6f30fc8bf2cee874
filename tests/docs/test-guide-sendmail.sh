#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# test-guide-sendmail.sh - docs/guide-sendmail.md in a real Sendmail 8.17
# daemon (unpacked by the MTA lab) with authgate-authd, authgate-milter and
# the authgate plugin (suite 'integration').
#
# usage: test-guide-sendmail.sh BUILDDIR
#
# Sendmail.conf is the guide's; the guide's sendmail.mc lines are added to
# the lab's sendmail.mc as they are, with /run/authgate mapped into the
# sandbox and the MSA's port picked at run time (Addr=127.0.0.1), plus
# STARTTLS with a throwaway certificate (the guide leaves STARTTLS to
# Debian's starttls.m4).  The store is the Postfix guide's (its commands).
#
#   on the MSA port: before STARTTLS only SCRAM offered, after it PLAIN
#   LOGIN SCRAM-SHA-256 SCRAM-SHA-1; PLAIN and LOGIN 235 through authd,
#   SCRAM 235 through the plugin, wrong password 535; without AUTH MAIL is
#   refused (M=a); alice's own mail delivered with Authentication-Results,
#   envelope spoof 553 5.7.1, From spoof 550 5.7.1 with the text the guide
#   quotes; milter stopped: mail is refused temporarily (F=T), not passed.
# Exits 77 when not root, a component is not built, or Sendmail cannot be
# unpacked.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
# shellcheck source=../lab/lab.sh
. "$TOP/tests/lab/lab.sh"
. "$HERE/snippet.sh"
. "$HERE/guide.sh"

BUILD=${1:?usage: $0 BUILDDIR}
guide_binaries "$BUILD"
lab_init sendmail sink swaks gsasl
guide_accounts
guide_plugin
PW=Alice-s3cret
RUN=$LAB/run-authgate
mkdir -p "$RUN"
STORE=$LAB/store

# authgate.conf: the daemons' defaults, with /run/authgate in the sandbox.
CONF=$LAB/authgate.conf
{
    echo "store = $STORE"
    echo "authd_socket = $RUN/authd/mux"
    echo "milter_socket = unix:$RUN/milter.sock"
    echo "authserv_id = $LAB_HOST"
    echo 'authd_pidfile = ""'
    echo 'milter_pidfile = ""'
} >"$CONF"
snippet_run postfix-store "authgatectl=\"$CTL\" --config \"$CONF\"" >"$LAB/log/store.out" 2>&1 ||
    lab_fail "store: $(cat "$LAB/log/store.out")"
lab_daemon_start authd --ready-file "$RUN/authd/mux" -- "$AUTHD" -f -c "$CONF"
lab_daemon_start milter --ready-file "$RUN/milter.sock" -- "$MILTER" -f -c "$CONF"
lab_sink_start sink

snippet_file sendmail-sasl-conf "$LAB/Sendmail.conf" "/var/lib/authgate=$STORE" \
    "/run/authgate=$RUN" || lab_fail "snippet"
msa=$(lab_free_port)
mc=()
while IFS= read -r line; do
    [ -z "$line" ] || mc+=(--mc "$line")
done < <(snippet_get sendmail-mc "/run/authgate=$RUN" "Port=submission=Addr=127.0.0.1, Port=$msa" ||
    echo "SNIPPET-FAILED")
[[ " ${mc[*]} " != *SNIPPET-FAILED* ]] || lab_fail "snippet sendmail-mc"
TLS=$LAB/smtls
mkdir -p "$TLS"
chmod 0700 "$TLS"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=$LAB_HOST" -addext "subjectAltName=DNS:$LAB_HOST,IP:127.0.0.1" \
    -keyout "$TLS/key.pem" -out "$TLS/cert.pem" >"$LAB/log/openssl.out" 2>&1 ||
    lab_fail "openssl: $(cat "$LAB/log/openssl.out")"
chmod 0600 "$TLS/key.pem"
lab_sendmail_start sm --sasl-conf "$LAB/Sendmail.conf" "${GUIDE_SASL_PATH[@]}" \
    --relay-port "$(lab_get sink port)" \
    --mc "define(\`confCACERT_PATH', \`$TLS')dnl" \
    --mc "define(\`confCACERT', \`$TLS/cert.pem')dnl" \
    --mc "define(\`confSERVER_CERT', \`$TLS/cert.pem')dnl" \
    --mc "define(\`confSERVER_KEY', \`$TLS/key.pem')dnl" \
    "${mc[@]}"
lab_wait_listen "$msa" 30 || lab_fail "the guide's MSA daemon does not listen on $msa: $(lab_sendmail_log sm | tail -5)"
echo "# Sendmail started in $(lab_get sm start_seconds) s"

offered() {
    local t=$LAB/log/ehlo.$1 tls=() mark='-'
    [ "$1" = plain ] || tls=(--tls) mark='~'
    swaks --server "127.0.0.1:$msa" "${tls[@]}" --quit-after HELO >"$t" 2>&1
    sed -nE "s/^<$mark +250[- ]AUTH //p" "$t"
}
lab_expect "before STARTTLS: only SCRAM" "$(offered plain)" "SCRAM-SHA-256 SCRAM-SHA-1"
lab_expect "after STARTTLS: PLAIN LOGIN and SCRAM" "$(offered tls)" "PLAIN LOGIN SCRAM-SHA-256 SCRAM-SHA-1"

auth() {
    local t=$LAB/log/auth.$RANDOM
    case $1 in
    SCRAM-*)
        gsasl --smtp --connect="127.0.0.1:$msa" --x509-ca-file="$TLS/cert.pem" --no-cb \
            -m "$1" -a "$2" -p "$3" --verbose </dev/null >"$t" 2>&1
        awk '/^QUIT/ { exit } /^AUTH / { a = 1 } a && /^[2345][0-9][0-9][ -]/ { c = substr($0, 1, 3) }
             END { print c }' "$t"
        ;;
    *)
        guide_swaks "$t" "$msa" --quit-after AUTH --auth "$1" --auth-user "$2" --auth-password "$3"
        guide_code "$(guide_reply "$t" AUTH)"
        echo
        ;;
    esac
}
for m in PLAIN LOGIN SCRAM-SHA-256 SCRAM-SHA-1; do
    lab_expect "$m right password" "$(auth "$m" alice@example.org "$PW")" 235
    lab_expect "$m wrong password" "$(auth "$m" alice@example.org wrong)" 535
done
lab_expect_match "authd decided PLAIN and LOGIN" "$(cat "$(lab_get authd out)")" \
    'login="alice" realm="example\.org" service="smtp" result=OK'

# send LABEL SWAKS_ARG...: a session on the MSA port; prints the transcript.
send() {
    local t=$LAB/log/send.$1
    shift
    guide_swaks "$t" "$msa" --to friend@example.net "$@"
    echo "$t"
}
alice=(--auth PLAIN --auth-user alice@example.org --auth-password "$PW")
t=$(send noauth --from alice@example.org)
lab_expect_match "without AUTH: MAIL refused (M=a)" "$(guide_reply "$t" MAIL)" '^5[0-9][0-9] '
t=$(send legit "${alice[@]}" --from alice@example.org --header "From: Alice <alice@example.org>" \
    --header "X-Guide: sm-legit")
lab_expect_match "own mail accepted" "$(guide_reply "$t" EOD)" '^250 '
lab_expect_match "delivered with Authentication-Results" "$(lab_sink_find sink X-Guide sm-legit 30)" \
    "^Authentication-Results: $LAB_HOST; auth=pass \\(PLAIN\\) smtp\\.auth=alice@example\\.org\$"
t=$(send env "${alice[@]}" --from boss@example.org)
lab_expect_match "envelope spoof" "$(guide_reply "$t" MAIL)" '^553 5\.7\.1 '
t=$(send from "${alice[@]}" --from alice@example.org --header "From: Boss <boss@example.org>")
lab_expect "From spoof: the reply the guide quotes" "$(guide_reply "$t" EOD)" \
    "550 5.7.1 From address <boss@example.org> rejected: not owned by login alice@example.org"
lab_daemon_stop milter
t=$(send down "${alice[@]}" --from alice@example.org --header "X-Guide: sm-down")
# Sendmail refuses the session from its first command after EHLO (here
# STARTTLS: 454 4.7.0) and swaks gives up: the last reply is the refusal.
lab_expect_match "milter down: refused temporarily (F=T)" \
    "$(grep -E '^<[-~*]+ +[0-9]{3} ' "$t" | tail -1)" '^<[-~*]+ +4[0-9][0-9] '
lab_expect "milter down: nothing passed unchecked" \
    "$(lab_sink_find sink X-Guide sm-down 3 >/dev/null && echo delivered || echo none)" none

lab_finish
