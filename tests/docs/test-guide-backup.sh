#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# test-guide-backup.sh - docs/guide-backup.md against the Postfix guide's
# running stack (suite 'integration').
#
# usage: test-guide-backup.sh BUILDDIR
#
#   backup: the guide's directory command (mode 0700); the guide's cron
#     line's command (cron's \% unescaped, run by sh as cron would) while
#     authgate-authd answers logins and authgatectl writes: a backup dated
#     today (directories 0750, files 0640, the store's groups), a copy
#     older than 14 days pruned, a younger one kept; `authgatectl check` on
#     the copy warns about the two lock files only, as the guide says.
#   restore: after the store changes (alice's password, a rule, bob
#     deleted), the guide's restore commands (systemctl and postfix mapped
#     to the lab's daemons and instance) bring back the backup's state:
#     `authgatectl check` clean, alice's old password through authd
#     (PLAIN) and through the plugin in a fresh smtpd (SCRAM-SHA-256), bob
#     back, the changed rule undone as the milter sees it.
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
PW=Alice-s3cret
guide_postfix_stack pf
port=$(lab_get pf port)
ctl() {
    "$CTL" --config "$GUIDE_CONF" "$@"
}
printf '%s\n' Bob-s3cret | ctl user add bob@example.org --password-stdin >/dev/null || lab_fail "user add bob"
BK=$LAB/backups
# The guide's paths in this sandbox.
MAP=("/var/lib/authgate=$GUIDE_STORE" "/var/backups/authgate=$BK")

# auth MECH LOGIN PW: the AUTH reply code over STARTTLS.
auth() {
    local t=$LAB/log/auth.$RANDOM
    if [ "$1" = SCRAM-SHA-256 ]; then
        gsasl --smtp --connect="127.0.0.1:$port" --x509-ca-file="$LAB/tls/cert.pem" --no-cb \
            -m SCRAM-SHA-256 -a "$2" -p "$3" --verbose </dev/null >"$t" 2>&1
        awk '/^QUIT/ { exit } /^AUTH / { a = 1 } a && /^[2345][0-9][0-9][ -]/ { c = substr($0, 1, 3) }
             END { print c }' "$t"
    else
        guide_swaks "$t" "$port" --quit-after AUTH --auth "$1" --auth-user "$2" --auth-password "$3"
        guide_code "$(guide_reply "$t" AUTH)"
        echo
    fi
}

# --------------------------------------------------------------- backup
snippet_run backup-dir "/var/backups/authgate=$BK" >>"$LAB/log/backup.out" 2>&1 || lab_fail "backup-dir: $(cat "$LAB/log/backup.out")"
lab_expect "backup directory mode" "$(stat -c %a "$BK")" 700
mkdir -p "$BK/old" "$BK/young"
touch -d '20 days ago' "$BK/old"
touch -d '3 days ago' "$BK/young"

cron=$(snippet_get backup-cron "authgatectl=$CTL --config $GUIDE_CONF" "/var/backups/authgate=$BK") || lab_fail "snippet"
lab_expect_match "cron line: minute hour dom month dow user" "$cron" '^[0-9]+ [0-9]+ \* \* \* root '
cmd=$(cut -d ' ' -f 7- <<<"$cron")
unescaped=${cmd//\\%/}
lab_expect "cron line: every % escaped" "$(grep -c '%' <<<"$unescaped")" 0
cmd=${cmd//\\%/%}
# Logins and writes while the backup runs.
(for i in 1 2 3 4 5 6; do auth PLAIN alice@example.org "$PW" >>"$LAB/log/during.out"; done) &
during=$!
(for i in $(seq 20); do ctl domain add "d$i.example" >/dev/null; done) &
writes=$!
sh -c "$cmd" >>"$LAB/log/backup.out" 2>&1
lab_expect "the cron command" "$?" 0
wait "$during" "$writes"
lab_expect "logins during the backup" "$(sort -u "$LAB/log/during.out")" 235
today=$BK/$(date +%F)
lab_expect "backup modes" "$(cd "$today" && find . -printf '%m %g %p\n' | sort -k 3)" \
    "750 root .
750 authgate-policy ./policy
640 authgate-policy ./policy/data.mdb
640 authgate-policy ./policy/lock.mdb
750 authgate-secrets ./secrets
640 authgate-secrets ./secrets/data.mdb
640 authgate-secrets ./secrets/lock.mdb"
lab_expect "old copies pruned, young ones kept" "$(cd "$BK" && ls -d old young 2>/dev/null)" young
chk=$("$CTL" --store "$today" check 2>&1)
lab_expect "check on the copy: only the lock file warnings" \
    "$(grep -E '^(warning|error)' <<<"$chk" | sed -E 's#^(warning: ).*/(secrets|policy)/lock\.mdb: .*#\1\2 lock#')" \
    "warning: secrets lock
warning: policy lock"

# --------------------------------------------------------------- change
printf '%s\n' 'N3w-pw' | ctl user passwd alice@example.org --password-stdin >/dev/null || lab_fail "passwd"
ctl sender del alice@example.org sales@example.org >/dev/null || lab_fail "sender del"
ctl user del bob@example.org >/dev/null || lab_fail "user del"
lab_expect "changed: old password refused" "$(auth PLAIN alice@example.org "$PW")" 535

# --------------------------------------------------------------- restore
# systemctl and postfix as the guide uses them, on the lab's daemons
# (called from the guide's commands through eval).
# shellcheck disable=SC2317
systemctl() {
    local verb=$1 u
    shift
    for u in "$@"; do
        case $verb:$u in
        stop:authgate-authd) lab_daemon_stop pf-authd ;;
        stop:authgate-milter) lab_daemon_stop pf-milter ;;
        start:authgate-authd)
            lab_daemon_start pf-authd --ready-file "$GUIDE_JAIL/run/authgate/authd/mux" -- \
                "$AUTHD" -f -c "$GUIDE_CONF"
            ;;
        start:authgate-milter)
            lab_daemon_start pf-milter --ready-file "$GUIDE_JAIL/authgate/milter.sock" -- \
                "$MILTER" -f -c "$GUIDE_CONF"
            ;;
        *) lab_fail "systemctl $verb $u: not mapped" ;;
        esac
    done
}
# shellcheck disable=SC2317
postfix() {
    command postfix -c "$(lab_get pf conf)" "$@"
}
text=$(snippet_get backup-restore "${MAP[@]}" "2026-11-26=$(date +%F)" "authgatectl=ctl") ||
    lab_fail "snippet"
before=$(lab_postfix_procs pf smtpd | tr '\n' ' ')
(
    set -e
    eval "$text"
) >"$LAB/log/restore.out" 2>&1
lab_expect "the restore commands" "$?" 0
lab_expect_match "restore: check says no errors" "$(cat "$LAB/log/restore.out")" 'no errors'
lab_expect "restore: check warns about nothing" "$(grep -c '^warning' "$LAB/log/restore.out")" 0
lab_expect "restore: modes as a fresh store's" \
    "$(snippet_run security-modes-cmd "/var/lib/authgate=$GUIDE_STORE")" \
    "$(snippet_get security-modes "/var/lib/authgate=$GUIDE_STORE")"
# The old smtpd processes leave after their session; wait for a new one.
# shellcheck disable=SC2317 # called by lab__wait
new_smtpd() {
    local now
    swaks --server "127.0.0.1:$port" --quit-after HELO >/dev/null 2>&1
    now=$(lab_postfix_procs pf smtpd | tr '\n' ' ')
    [ -n "$now" ] && [ "$now" != "$before" ]
}
lab__wait 20 new_smtpd || lab_fail "postfix reload: no new smtpd"
lab_expect "restore: alice's old password (authd)" "$(auth PLAIN alice@example.org "$PW")" 235
lab_expect "restore: alice's old password (plugin, SCRAM-SHA-256)" "$(auth SCRAM-SHA-256 alice@example.org "$PW")" 235
lab_expect "restore: the new password is gone" "$(auth PLAIN alice@example.org N3w-pw)" 535
lab_expect "restore: bob is back" "$(auth PLAIN bob@example.org Bob-s3cret)" 235
t=$LAB/log/sales
guide_swaks "$t" "$port" --auth PLAIN --auth-user alice@example.org --auth-password "$PW" \
    --from sales@example.org --to friend@example.net --header "From: Sales <sales@example.org>"
lab_expect_match "restore: the milter sees the rule again" "$(guide_reply "$t" EOD)" '^250 '

lab_finish
