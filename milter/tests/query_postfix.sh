#!/bin/bash
# query_postfix.sh - Postfix 3.7 (a throwaway instance of the MTA lab, smtpd
# chrooted as on Debian) with smtpd_sender_login_maps on authgate-query's
# socketmap and reject_sender_login_mismatch, end to end over SMTP (suite
# 'integration').
#
# usage: query_postfix.sh MILTER_BUILDDIR PLUGIN_SO SOURCE_ROOT
#
# The blocks of docs/guide-postfix.md ("Postfix's own check") are used
# verbatim through tests/docs/snippet.sh: socketmap-authgate-conf
# (authgate-query's socket lines), socketmap-postmap (run, its output
# compared with the guide's), socketmap-main-cf (main.cf, with the socket
# path put in) and socketmap-submission-o (the submission service's -o).
# One store (inside the jail, where smtpd's SASL plugin reads it after
# chroot) serves both sides: smtpd authenticates through the authgate
# plugin (secrets, group postfix); authgate-query answers the socketmap
# from the policy.  Logins: alice@example.com (self, allow
# shared@example.com, allow @alice.example), bob@example.com (self),
# carol@example.com (deny carol@example.com: owns nothing).
# Checks:
#   submission (proxy:socketmap, socket outside the jail): own address,
#     delegated address, @domain rule, subaddress and case accepted and
#     delivered; another address (553), another login's address (553), a
#     login whose self-ownership is denied (553, NOTFOUND) refused with
#     Postfix's text; MAIL FROM:<> accepted (Postfix skips it: the header
#     check is the milter's); store unavailable (SIGHUP) and authgate-query
#     stopped: 451;
#   MX port offering AUTH (socketmap with the socket inside the jail, the
#     documented pitfall): reject_unauthenticated_sender_login_mismatch
#     refuses an unauthenticated stranger, because every address owns
#     itself.  (Without SASL on the port Postfix ignores the restriction.)
# Exits 77 when not root or a tool is missing.
set -u
B=$1 PLUGIN=$2 SRC=$3
# shellcheck source=../../tests/lab/lab.sh
. "$SRC/tests/lab/lab.sh"
# shellcheck source=../../tests/docs/snippet.sh
. "$SRC/tests/docs/snippet.sh"

lab_init postfix sink swaks
[ -r "$PLUGIN" ] || lab_skip "the authgate plugin is not built ($PLUGIN)"
[ ! -e "$LAB_SASL_SYSDIR/libauthgate.so" ] ||
    lab_skip "libauthgate.so is installed in $LAB_SASL_SYSDIR: the build's copy would be loaded beside it"

PW=Al1ce-S3cret

MAIN=$(snippet_get socketmap-main-cf "/run/authgate/query.sock=@QSOCK@") || lab_fail "guide block"
SUBO=$(snippet_get socketmap-submission-o) || lab_fail "guide block"

JAIL=$(lab_postfix_jail pf)
mkdir -p "$JAIL"
chmod 0755 "$JAIL"
STORE=$JAIL/store
"$B/milter-mkstore" "$STORE" setting mechanisms "SCRAM-SHA-256 PLAIN" \
    allow alice@example.com shared@example.com allow alice@example.com @alice.example \
    deny carol@example.com carol@example.com domain example.com || lab_fail "milter-mkstore failed"
printf '%s\n' "$PW" | "$B/query-adduser" "$STORE" alice@example.com bob@example.com \
    carol@example.com || lab_fail "query-adduser failed"
chgrp -R postfix "$STORE/secrets"

# Two authgate-query daemons on the one store: the guide's socket outside
# the jail (reached through proxymap), and one inside it (reached by the
# chrooted smtpd itself).
mkdir -p "$LAB/query" "$JAIL/query"
chmod 0755 "$LAB/query" "$JAIL/query"
QSOCK=$LAB/query/query.sock
JSOCK=$JAIL/query/query.sock
qconf() { # qconf FILE SOCKET ["key = value"...]
    local f=$1 s=$2
    shift 2
    {
        echo "store = $STORE"
        snippet_get socketmap-authgate-conf "/run/authgate/query.sock=$s" || echo "GUIDE BLOCK MISSING"
        echo "query_user = \"\""
        echo "query_pidfile = \"\""
        echo "authserv_id = mx.lab.test"
        for l in "$@"; do echo "$l"; done
    } | tac | awk '!seen[$1]++' | tac >"$f"
}
qconf "$LAB/q.conf" "$QSOCK"
qconf "$LAB/qj.conf" "$JSOCK"
lab_daemon_start query --ready-file "$QSOCK" -- "$B/authgate-query" -f -c "$LAB/q.conf"
lab_daemon_start queryjail --ready-file "$JSOCK" -- "$B/authgate-query" -f -c "$LAB/qj.conf"

mkdir -p "$LAB/plugins"
chmod 0755 "$LAB/plugins"
cp "$PLUGIN" "$LAB/plugins/libauthgate.so" && chmod 0644 "$LAB/plugins/libauthgate.so"
printf '%s\n' 'pwcheck_method: auxprop' 'auxprop_plugin: authgate' 'authgate_store: @JAIL@/store' \
    'mech_list: PLAIN' >"$LAB/smtpd.conf"

subo=()
while read -r o kv; do
    [ "$o" = -o ] || lab_fail "postfix-submission: not an -o line: $o $kv"
    subo+=(--submission-o "$kv")
done <<<"$SUBO"
lab_sink_start sink
lab_postfix_start pf --chroot --mx --sasl-conf "$LAB/smtpd.conf" --sasl-path "$LAB/plugins" \
    --relay-port "$(lab_get sink port)" --main "${MAIN//@QSOCK@/$QSOCK}" \
    "${subo[@]}" \
    --mx-o "smtpd_sasl_auth_enable=yes" \
    --mx-o "smtpd_sender_login_maps=socketmap:unix:@JAIL@/query/query.sock:senders" \
    --mx-o "smtpd_sender_restrictions=reject_unauthenticated_sender_login_mismatch"
PORT=$(lab_get pf port)
MX=$(lab_get pf mx_port)

# send LABEL WANT LOGIN ENVFROM: authenticated as LOGIN, MAIL FROM ENVFROM
# ("" is <>); the final code must be WANT; accepted mail must be delivered.
send() {
    local label=$1 want=$2 login=$3 env=$4 id got
    id=$(lab_id)
    got=$(lab_send "$PORT" "${env:-<>}" rcpt@example.test --auth PLAIN --auth-user "$login" \
        --auth-password "$PW" --add-header "X-Lab-Id: $id")
    lab_expect "$label" "$got" "$want"
    if [ "$want" = 250 ] && [ "$got" = 250 ]; then
        lab_sink_find sink X-Lab-Id "$id" 20 >/dev/null ||
            lab_expect "$label: reached the sink" no yes
    fi
}
logsays() {
    lab_expect_match "$1: Postfix's log" "$(lab_postfix_log pf)" "$2"
}

AL=alice@example.com
# The guide's postmap -q, against the guide's socket (authgate-query's
# socket mode and group from the guide's lines).
lab_expect "the guide's socket: group and mode" "$(stat -c '%G %a' "$QSOCK")" "postfix 660"
pm=$(snippet_run socketmap-postmap "postmap=postmap -c $(lab_get pf conf)" \
    "/run/authgate/query.sock=$QSOCK" "alice@example.org=$AL" 2>&1)
lab_expect "the guide's postmap -q prints what it says" "$pm" \
    "$(snippet_get socketmap-postmap "alice@example.org=$AL" | sed -n 's/^# //p')"
send "own address" 250 $AL $AL
send "delegated address" 250 $AL shared@example.com
send "@domain rule" 250 $AL news@alice.example
send "subaddress and case" 250 $AL Alice+lists@EXAMPLE.com
send "null sender (skipped by Postfix)" 250 $AL ""
send "another address" 553 $AL ceo@example.com
logsays "another address" \
    'reject: RCPT from .*: 553 5\.7\.1 <ceo@example\.com>: Sender address rejected: not owned by user alice@example\.com'
send "another login's address" 553 bob@example.com $AL
logsays "another login's address" \
    '553 5\.7\.1 <alice@example\.com>: Sender address rejected: not owned by user bob@example\.com'
send "self-ownership denied (NOTFOUND)" 553 carol@example.com carol@example.com
logsays "self-ownership denied (NOTFOUND)" \
    '553 5\.7\.1 <carol@example\.com>: Sender address rejected: not owned by user carol@example\.com'
lab_expect_match "authgate-query logged the lookups" "$(cat "$(lab_get query out)")" \
    'socketmap map=senders key="carol@example.com" result=NOTFOUND'

# The documented pitfall, on the MX port (socket inside the jail).
got=$(lab_send "$MX" stranger@remote.example someone@lab.test)
lab_expect "MX: an unauthenticated stranger is refused (every address owns itself)" "$got" 553
logsays "MX" '553 5\.7\.1 <stranger@remote\.example>: Sender address rejected: not logged in'
lab_expect_match "MX: the jail socket answered" "$(cat "$(lab_get queryjail out)")" \
    'key="stranger@remote.example" result=OK logins=1'

# Failures are temporary.
qconf "$LAB/q.conf" "$QSOCK" "store = $LAB/no-such-store"
kill -HUP "$(lab_get query pid)"
lab_wait_log "$(lab_get query out)" 'SIGHUP: configuration .* reloaded' 10 ||
    lab_fail "authgate-query did not reload"
send "store unavailable" 451 $AL $AL
logsays "store unavailable" '451 4\.3\.0 <alice@example\.com>: Temporary lookup failure'
logsays "store unavailable: authgate-query's reason" \
    'socketmap server temporary error: the send-as policy store is unavailable'
lab_daemon_stop query
send "authgate-query stopped" 451 $AL $AL

lab_finish
