#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# test-guide-postfix.sh - docs/guide-postfix.md's configurations in real
# Postfix 3.7 instances of the MTA lab, with authgate-authd, authgate-milter
# and the authgate plugin (suite 'integration').  The chrooted submission
# service is also what `make demo` runs (tests/demo/test-demo.sh).
#
# usage: test-guide-postfix.sh BUILDDIR
#
#   nochroot: the guide's authgate.conf, store commands, socket directories
#     (owners and modes of directories and sockets as the guide says),
#     smtpd.conf and master.cf "Without the chroot": smtpd's root is /;
#     without STARTTLS, MAIL is refused (530); PLAIN 235 through authd (its
#     log line), SCRAM-SHA-256 235 through the plugin, wrong password 535;
#     alice may send as herself and as sales@ (delivered with the guide's
#     Authentication-Results), not as bob@ (553 at MAIL) nor with From bob@
#     (550 at the end of DATA).
#   mx: the chrooted submission service plus the guide's MX service and
#     protect_local_domains: the MX offers no AUTH; mail from outside to a
#     local user is delivered with auth=none; mail from outside claiming
#     @example.org is refused at MAIL (envelope) or at the end of DATA
#     (From); submission still works beside it.
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
guide_tls "$LAB/tls" "$LAB_HOST"
TLS=(--main "smtpd_tls_cert_file = $LAB/tls/cert.pem" --main "smtpd_tls_key_file = $LAB/tls/key.pem")
PW=Alice-s3cret

# setup NAME CONF_EXTRA...: store, authgate.conf, milter directory, authd,
# milter for instance NAME (its jail holds the sockets); sets STORE CONF JAIL.
setup() {
    local name=$1 out=$LAB/log/$1-setup.out
    shift
    JAIL=$(lab_postfix_jail "$name")
    mkdir -p "$JAIL"
    STORE=$LAB/store-$name
    CONF=$LAB/authgate-$name.conf
    snippet_file postfix-authgate-conf "$CONF" "/var/lib/authgate=$STORE" \
        "/var/spool/postfix=$JAIL" "mail.example.org=$LAB_HOST" || lab_fail "snippet"
    printf '%s\n' "$@" 'authd_pidfile = ""' 'milter_pidfile = ""' >>"$CONF"
    snippet_run postfix-store "authgatectl=\"$CTL\" --config \"$CONF\"" >>"$out" 2>&1 ||
        lab_fail "postfix-store: $(cat "$out")"
    snippet_run postfix-socket-dirs "/var/spool/postfix=$JAIL" >>"$out" 2>&1 ||
        lab_fail "postfix-socket-dirs: $(cat "$out")"
    lab_daemon_start "$name-authd" --ready-file "$JAIL/run/authgate/authd/mux" -- "$AUTHD" -f -c "$CONF"
    lab_daemon_start "$name-milter" --ready-file "$JAIL/authgate/milter.sock" -- "$MILTER" -f -c "$CONF"
    lab_expect "$name: socket directories and sockets (owner, group, mode)" \
        "$(cd "$JAIL" && stat -c '%n %U:%G %a' run/authgate/authd run/authgate/authd/mux authgate authgate/milter.sock)" \
        "run/authgate/authd root:root 755
run/authgate/authd/mux authgate-authd:postfix 660
authgate root:postfix 750
authgate/milter.sock authgate-milter:authgate-milter 666"
}

# send NAME PORT TLS(tls|plain) SWAKS_ARG...: one session; the transcript
# file is printed.
send() {
    local t port=$2 tls=()
    t=$LAB/log/swaks.$1.$(date +%s%N)
    [ "$3" = plain ] || tls=(--tls)
    shift 3
    swaks --server "127.0.0.1:$port" "${tls[@]}" --helo client.example.net "$@" >"$t" 2>&1
    echo "$t"
}

# step LABEL FILE STEP WANT_ERE: the reply to STEP must match WANT_ERE.
step() {
    lab_expect_match "$1" "$(guide_reply "$2" "$3")" "$4"
}

# scram PORT LOGIN PW: the last reply code of a SCRAM-SHA-256 login over
# STARTTLS (gsasl; channel binding off: Postfix gives libsasl2 none).
scram() {
    gsasl --smtp --connect="127.0.0.1:$1" --x509-ca-file="$LAB/tls/cert.pem" --no-cb \
        -m SCRAM-SHA-256 -a "$2" -p "$3" --verbose </dev/null 2>&1 |
        awk '/^QUIT/ { exit } /^AUTH / { a = 1 } a && /^[2345][0-9][0-9][ -]/ { c = substr($0, 1, 3) } END { print c }'
}

alice=(--auth PLAIN --auth-user alice@example.org --auth-password "$PW")

# ------------------------------------------------------------ no chroot
lab_sink_start sink
setup nc
snippet_file postfix-smtpd-conf-nochroot "$LAB/smtpd-nc.conf" "/var/lib/authgate=$STORE" \
    "/var/spool/postfix=$JAIL" || lab_fail "snippet"
GUIDE_PF=()
guide_main "$(snippet_get postfix-main-cf)"
guide_master "$(snippet_get postfix-master-submission-nochroot "/var/spool/postfix=$JAIL")" submission
lab_postfix_start nc "${GUIDE_PF[@]}" "${TLS[@]}" --sasl-conf "$LAB/smtpd-nc.conf" \
    "${GUIDE_SASL_PATH[@]}" --relay-port "$(lab_get sink port)"
port=$(lab_get nc port)
echo "# nochroot: Postfix started in $(lab_get nc start_seconds) s"
t=$(send nc "$port" plain --from alice@example.org --to friend@example.net)
smtpd=$(lab_postfix_procs nc smtpd | head -1)
lab_expect "nochroot: smtpd runs in / (no chroot)" "$(readlink "/proc/$smtpd/root")" /
step "nochroot: without STARTTLS MAIL is refused" "$t" MAIL '^530 5\.7\.0 '

t=$(send nc "$port" tls "${alice[@]}" --from alice@example.org --to friend@example.net \
    --header "From: Alice <alice@example.org>" --header "X-Guide: nc-legit")
step "nochroot: PLAIN through authd" "$t" AUTH '^235 '
step "nochroot: own address accepted" "$t" EOD '^250 '
lab_expect_match "nochroot: authd decided" "$(cat "$(lab_get nc-authd out)")" \
    'login="alice" realm="example\.org" service="smtp" result=OK'
lab_expect "nochroot: delivered with the guide's Authentication-Results" \
    "$(lab_sink_find sink X-Guide nc-legit | grep '^Authentication-Results:')" \
    "$(snippet_get postfix-authres "mail.example.org=$LAB_HOST")"
t=$(send nc "$port" tls "${alice[@]}" --from sales@example.org --to friend@example.net \
    --header "From: Sales <sales@example.org>")
step "nochroot: sales@ allowed by the guide's rule" "$t" EOD '^250 '
t=$(send nc "$port" tls "${alice[@]}" --from bob@example.org --to friend@example.net)
step "nochroot: envelope spoof" "$t" MAIL '^553 5\.7\.1 '
t=$(send nc "$port" tls "${alice[@]}" --from alice@example.org --to friend@example.net \
    --header "From: bob@example.org")
step "nochroot: From spoof" "$t" EOD '^550 5\.7\.1 From address <bob@example\.org> rejected'
t=$(send nc "$port" tls --auth PLAIN --auth-user alice@example.org --auth-password wrong \
    --from alice@example.org --to friend@example.net)
step "nochroot: wrong password" "$t" AUTH '^535 '
lab_expect "nochroot: SCRAM-SHA-256 through the plugin" "$(scram "$port" alice@example.org "$PW")" 235
lab_expect "nochroot: SCRAM-SHA-256, wrong password" "$(scram "$port" alice@example.org wrong)" 535

# ------------------------------------------------------------ MX (chroot)
setup mx "$(snippet_get postfix-authgate-conf-mx)"
snippet_file postfix-smtpd-conf "$LAB/smtpd-mx.conf" "/var/lib/authgate=$STORE" || lab_fail "snippet"
GUIDE_PF=()
guide_main "$(snippet_get postfix-main-cf)"
guide_master "$(snippet_get postfix-master-submission)" submission
guide_master "$(snippet_get postfix-master-mx)" mx
lab_postfix_start mx "${GUIDE_PF[@]}" "${TLS[@]}" --sasl-conf "$LAB/smtpd-mx.conf" \
    "${GUIDE_SASL_PATH[@]}" --relay-port "$(lab_get sink port)" --relay-domains example.org
sub=$(lab_get mx port)
mx=$(lab_get mx mx_port)
echo "# mx: Postfix started in $(lab_get mx start_seconds) s"
t=$(send mx "$mx" plain --quit-after HELO)
lab_expect "mx: smtpd runs in its jail" \
    "$(readlink "/proc/$(lab_postfix_procs mx smtpd | head -1)/root")" "$JAIL"
lab_expect "mx: no AUTH offered on the MX port" "$(grep -cE '^<[-~] +250[- ]AUTH ' "$t")" 0
t=$(send mx "$sub" tls --quit-after HELO)
lab_expect "mx: the submission port offers AUTH after STARTTLS" \
    "$(grep -E '^<~ +250[- ]AUTH ' "$t" | sed -E 's/^<~ +250[- ]//')" "AUTH PLAIN LOGIN SCRAM-SHA-256 SCRAM-SHA-1"
t=$(send mx "$mx" plain --from news@lists.example.net --to alice@example.org \
    --header "From: News <news@lists.example.net>" --header "X-Guide: mx-inbound")
step "mx: inbound mail from outside" "$t" EOD '^250 '
lab_expect "mx: delivered with auth=none" \
    "$(lab_sink_find sink X-Guide mx-inbound | grep '^Authentication-Results:')" \
    "Authentication-Results: $LAB_HOST; auth=none"
t=$(send mx "$mx" plain --from ceo@example.org --to alice@example.org)
step "mx: unauthenticated envelope sender in a local domain" "$t" MAIL '^553 5\.7\.1 '
t=$(send mx "$mx" plain --from news@lists.example.net --to alice@example.org \
    --header "From: CEO <ceo@example.org>")
step "mx: unauthenticated From in a local domain" "$t" EOD '^550 5\.7\.1 '
t=$(send mx "$sub" tls "${alice[@]}" --from alice@example.org --to friend@example.net)
step "mx: submission beside it" "$t" EOD '^250 '
lab_expect_match "mx: the milter logged the local-domain refusal" \
    "$(cat "$(lab_get mx-milter out)")" 'envfrom="<ceo@example\.org>".*verdict=reject'

lab_finish
