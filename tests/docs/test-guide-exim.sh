#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# test-guide-exim.sh - docs/guide-exim-auth.md in a real Exim 4.96 daemon
# (unpacked by the MTA lab) with authgate-authd and the authgate plugin
# (suite 'integration').
#
# usage: test-guide-exim.sh BUILDDIR
#
# The Exim configuration is written here (the lab's own generator has no
# place for these authenticators): main section, TLS, an ACL accepting
# authenticated mail, delivery to an smtp-sink, and the guide's two
# authenticator blocks verbatim.  libsasl2 reads the guide's exim.conf;
# authgate-authd runs with the guide's authgate.conf lines, its socket
# directory bound over /run/saslauthd in Exim's mount namespace (the path
# compiled into Debian's Exim).  The guide's `adduser Debian-exim
# authgate-secrets` is run as written (under a lock; undone at the end if
# this test made the membership).
#
#   before STARTTLS only SCRAM is offered, after it PLAIN LOGIN and SCRAM;
#   PLAIN and LOGIN 235 through authd (its log line), wrong password 535;
#   SCRAM-SHA-256 and SCRAM-SHA-1 235 through the plugin as Debian-exim
#   (the store's secrets group authgate-secrets, Debian-exim a member),
#   wrong password 535; an authenticated message is delivered with
#   $authenticated_id = the login; a store replaced as a whole is used by
#   the next AUTH without restarting Exim; authd stopped: PLAIN defers
#   (435).
# Exits 77 when not root, a component is not built, or Exim cannot be
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
lab_init exim sink swaks gsasl
guide_accounts
guide_plugin
PW=Alice-s3cret

# The guide's adduser, as written: serialized with other runs of this test,
# undone at exit when this run made the membership.
exec 7>/run/lock/authgate-guide-exim.lock
flock -w 600 7 || lab_fail "cannot lock /run/lock/authgate-guide-exim.lock"
if id -nG Debian-exim | tr ' ' '\n' | grep -qx authgate-secrets; then
    ADDED=0
else
    ADDED=1
fi
snippet_run exim-adduser >"$LAB/log/adduser.out" 2>&1 || lab_fail "adduser: $(cat "$LAB/log/adduser.out")"
lab_expect "Debian-exim is in authgate-secrets" \
    "$(id -nG Debian-exim | tr ' ' '\n' | grep -cx authgate-secrets)" 1
# lab_daemon_stop guide-exim-deluser runs at cleanup: a tiny daemon whose
# SIGTERM handler undoes the membership.
if [ "$ADDED" = 1 ]; then
    lab_daemon_start guide-exim-deluser -- bash -c \
        'trap "deluser --quiet Debian-exim authgate-secrets; exit 0" TERM; while :; do sleep 1; done'
fi

# The store: the default mechanisms (SCRAM-SHA-256 SCRAM-SHA-1), group
# authgate-secrets.
STORE=$LAB/store
"$CTL" --store "$STORE" init >>"$LAB/log/store.out" 2>&1 || lab_fail "init: $(cat "$LAB/log/store.out")"
printf '%s\n' "$PW" | "$CTL" --store "$STORE" user add alice@example.org --password-stdin \
    >>"$LAB/log/store.out" 2>&1 || lab_fail "user add"

# authgate-authd with the guide's lines; its /run/saslauthd is a sandbox
# directory, bound over the real one in Exim's namespace only.
SAD=$LAB/saslauthd
{
    echo "store = $STORE"
    snippet_get exim-authgate-conf "/run/saslauthd=$SAD" || lab_fail "snippet"
    echo 'authd_pidfile = ""'
} >"$LAB/authgate.conf"
lab_daemon_start authd --ready-file "$SAD/mux" -- "$AUTHD" -f -c "$LAB/authgate.conf"
lab_expect "authd made /run/saslauthd as the guide says" "$(stat -c '%U:%G %a' "$SAD")" \
    "authgate-authd:Debian-exim 750"
lab__saslauthd_rundir

# Exim.
EX=$LAB/ex
mkdir -p "$EX/spool" "$EX/log" "$EX/sasl" "$EX/tls"
chmod 0755 "$EX" "$EX/sasl"
chown -R Debian-exim: "$EX/spool" "$EX/log"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=$LAB_HOST" -addext "subjectAltName=DNS:$LAB_HOST,IP:127.0.0.1" \
    -keyout "$EX/tls/key.pem" -out "$EX/tls/cert.pem" >"$LAB/log/openssl.out" 2>&1 ||
    lab_fail "openssl: $(cat "$LAB/log/openssl.out")"
chgrp -R Debian-exim "$EX/tls"
chmod 0750 "$EX/tls"
chmod 0640 "$EX/tls/key.pem"
snippet_file exim-sasl-conf "$EX/sasl/exim.conf" "/var/lib/authgate=$STORE" || lab_fail "snippet"
lab_sink_start sink
port=$(lab_free_port)
sasl_path=$LAB_SASL_SYSDIR
[ ${#GUIDE_SASL_PATH[@]} = 0 ] || sasl_path=${GUIDE_SASL_PATH[1]}:$LAB_SASL_SYSDIR
{
    cat <<EOF
# written by tests/docs/test-guide-exim.sh
exim_path = $LAB_EXIM/usr/sbin/exim4
primary_hostname = $LAB_HOST
qualify_domain = $LAB_HOST
spool_directory = $EX/spool
log_file_path = $EX/log/%slog
pid_file_path = $EX/exim.pid
daemon_smtp_ports = $port
local_interfaces = 127.0.0.1
keep_environment =
add_environment = <; SASL_CONF_PATH=$EX/sasl; SASL_PATH=$sasl_path
deliver_drop_privilege = true
tls_advertise_hosts = *
tls_certificate = $EX/tls/cert.pem
tls_privatekey = $EX/tls/key.pem
host_lookup =
rfc1413_hosts =
acl_smtp_rcpt = acl_rcpt
acl_smtp_data = acl_data

begin acl
acl_rcpt:
  accept authenticated = *
  deny message = 5.7.1 relay not permitted, authenticate first
acl_data:
  accept add_header = X-Guide-Auth-Id: \$authenticated_id

begin routers
to_sink:
  driver = manualroute
  route_list = * 127.0.0.1
  self = send
  transport = to_sink_smtp
  no_more

begin transports
to_sink_smtp:
  driver = smtp
  port = $(lab_get sink port)
  allow_localhost
  hosts_avoid_tls = *

begin authenticators
EOF
    snippet_get exim-authenticators-plain || exit 1
    echo
    snippet_get exim-authenticators-scram || exit 1
} >"$EX/exim.conf" || lab_fail "exim.conf"
"$LAB_EXIM/usr/sbin/exim4" -C "$EX/exim.conf" -bV >"$LAB/log/exim-bV.out" 2>&1 ||
    lab_fail "Exim rejects the configuration: $(cat "$LAB/log/exim-bV.out")"
lab_daemon_start exim --hostname "$LAB_HOST" --devlog --bind "$SAD" /run/saslauthd \
    --ready-port "$port" -- "$LAB_EXIM/usr/sbin/exim4" -C "$EX/exim.conf" -bdf -q30m
echo "# Exim started in $(lab_get exim start_seconds) s"

# offered TLS: the AUTH line of the EHLO reply (plain or after STARTTLS).
offered() {
    local t=$LAB/log/ehlo.$1 tls=() mark='-'
    [ "$1" = plain ] || tls=(--tls) mark='~'
    swaks --server "127.0.0.1:$port" "${tls[@]}" --quit-after HELO >"$t" 2>&1
    sed -nE "s/^<$mark +250[- ]AUTH //p" "$t"
}
lab_expect "before STARTTLS: only SCRAM" "$(offered plain)" "SCRAM-SHA-256 SCRAM-SHA-1"
lab_expect "after STARTTLS: PLAIN LOGIN and SCRAM" "$(offered tls)" "PLAIN LOGIN SCRAM-SHA-256 SCRAM-SHA-1"

# auth MECH LOGIN PW: the AUTH reply code, over STARTTLS.
auth() {
    local t=$LAB/log/auth.$RANDOM
    case $1 in
    SCRAM-*)
        gsasl --smtp --connect="127.0.0.1:$port" --x509-ca-file="$EX/tls/cert.pem" --no-cb \
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
for m in PLAIN LOGIN SCRAM-SHA-256 SCRAM-SHA-1; do
    lab_expect "$m right password" "$(auth "$m" alice@example.org "$PW")" 235
    lab_expect "$m wrong password" "$(auth "$m" alice@example.org wrong)" 535
done
lab_expect_match "authd decided PLAIN and LOGIN (full login, no realm)" "$(cat "$(lab_get authd out)")" \
    'login="alice@example\.org" realm="" service="smtp" result=OK'

t=$LAB/log/send
guide_swaks "$t" "$port" --auth PLAIN --auth-user alice@example.org --auth-password "$PW" \
    --from alice@example.org --to friend@example.net --header "X-Guide: exim-1"
lab_expect_match "message accepted" "$(guide_reply "$t" EOD)" '^250 '
lab_expect_match "delivered with the login as \$authenticated_id" \
    "$(lab_sink_find sink X-Guide exim-1 30)" '^X-Guide-Auth-Id: alice@example\.org$'

# A restored (replaced) store: the next AUTH opens the new files.
NEW=$LAB/store-new
"$CTL" --store "$NEW" init >>"$LAB/log/store.out" 2>&1 || lab_fail "init new"
printf '%s\n' 'Restored-pw' | "$CTL" --store "$NEW" user add alice@example.org --password-stdin \
    >>"$LAB/log/store.out" 2>&1 || lab_fail "user add new"
mv "$STORE" "$LAB/store-replaced" && mv "$NEW" "$STORE"
lab_expect "replaced store: SCRAM-SHA-256 with its password, no restart" \
    "$(auth SCRAM-SHA-256 alice@example.org Restored-pw)" 235

lab_daemon_stop authd
lab_expect "authd stopped: PLAIN defers" "$(auth PLAIN alice@example.org "$PW")" 435

lab_finish
