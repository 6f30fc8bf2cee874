#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# test-guide-security.sh - docs/security.md's blocks and claims against real
# programs (suite 'integration').
#
# usage: test-guide-security.sh BUILDDIR
#
#   - the modes listing: the guide's command, run on a store made by
#     authgatectl init under umask 000 and under umask 077, prints exactly
#     the guide's listing;
#   - authgate-milter's user cannot read secrets/ (not in the group), the
#     authd user can;
#   - the "PLAIN and LOGIN only" smtpd.conf in a chrooted Postfix with
#     authgate-authd: PLAIN and LOGIN 235, wrong password 535, SCRAM not
#     offered, and no smtpd process has the store mapped (while the Postfix
#     guide's smtpd.conf, with the plugin, does map it: the control).
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
lab_init postfix swaks
guide_accounts
PW=Alice-s3cret

for mask in 000 077; do
    store=$LAB/store-$mask
    (umask "$mask" && "$CTL" --store "$store" init >>"$LAB/log/init.out" 2>&1) ||
        lab_fail "authgatectl init: $(cat "$LAB/log/init.out")"
    lab_expect "modes under umask $mask are the guide's" \
        "$(snippet_run security-modes-cmd "/var/lib/authgate=$store" 2>&1)" \
        "$(snippet_get security-modes "/var/lib/authgate=$store")"
done
store=$LAB/store-077
printf '%s\n' "$PW" | "$CTL" --store "$store" user add alice@example.org --password-stdin \
    >>"$LAB/log/init.out" 2>&1 || lab_fail "user add failed"
lab_expect "authgate-milter cannot read secrets/" \
    "$(runuser -u authgate-milter -- cat "$store/secrets/data.mdb" >/dev/null 2>&1 && echo read || echo denied)" denied
lab_expect "authgate-milter can read policy/" \
    "$(runuser -u authgate-milter -- cat "$store/policy/data.mdb" >/dev/null 2>&1 && echo read || echo denied)" read
lab_expect "authgate-authd can read secrets/" \
    "$(runuser -u authgate-authd -- cat "$store/secrets/data.mdb" >/dev/null 2>&1 && echo read || echo denied)" read

# PLAIN and LOGIN only: no SASL process maps the store.
jail=$(lab_postfix_jail pf)
mkdir -p "$jail"
{
    echo "store = $store"
    echo "authd_socket = $jail/run/authgate/authd/mux"
    echo "authd_socket_group = postfix"
    echo 'authd_pidfile = ""'
} >"$LAB/authgate.conf"
lab_daemon_start authd --ready-file "$jail/run/authgate/authd/mux" -- "$AUTHD" -f -c "$LAB/authgate.conf"
snippet_file security-smtpd-conf-authd-only "$LAB/smtpd.conf" || lab_fail "snippet"
guide_plugin
lab_postfix_start pf --chroot --sasl-conf "$LAB/smtpd.conf" "${GUIDE_SASL_PATH[@]}"
port=$(lab_get pf port)
lab_expect "authd only: PLAIN" "$(lab_auth PLAIN "$port" alice@example.org "$PW")" 235
lab_expect "authd only: LOGIN" "$(lab_auth LOGIN "$port" alice@example.org "$PW")" 235
lab_expect "authd only: wrong password" "$(lab_auth PLAIN "$port" alice@example.org wrong)" 535
lab_expect "authd only: SCRAM-SHA-256 not offered" \
    "$(swaks --server "127.0.0.1:$port" --quit-after HELO 2>&1 | sed -n 's/^<-  250[- ]AUTH //p')" "PLAIN LOGIN"
# mapped NAME: how many of the instance's processes map a store file.
mapped() {
    local p n=0
    for p in $(lab_postfix_procs "$1"); do
        if grep -q "$store/secrets/data.mdb" "/proc/$p/maps" 2>/dev/null; then
            n=$((n + 1))
        fi
    done
    echo "$n/$(lab_postfix_procs "$1" smtpd | wc -l) smtpd"
}
lab_expect "authd only: Postfix processes with the store mapped" "$(mapped pf)" "0/1 smtpd"
# The control: with the plugin configured (the Postfix guide), smtpd maps it.
snippet_file postfix-smtpd-conf "$LAB/smtpd-plugin.conf" "/var/lib/authgate=$store" || lab_fail "snippet"
lab_postfix_start pfplugin --chroot --sasl-conf "$LAB/smtpd-plugin.conf" "${GUIDE_SASL_PATH[@]}"
swaks --server "127.0.0.1:$(lab_get pfplugin port)" --quit-after HELO >/dev/null 2>&1
lab_expect "control: with the plugin, smtpd maps the store" "$(mapped pfplugin)" "1/1 smtpd"
lab_expect_match "authd only: no plugin complaint in the maillog" \
    "$(lab_postfix_log pf | grep -c 'authgate:' || true)" '^0$'

lab_finish
