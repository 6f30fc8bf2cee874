#!/bin/bash
# test-growth.sh - the store's LMDB maps grow (many doublings) while 16
# processes look up through the real plugin and the real milter (issue 7,
# "Faults").
#
# The store starts with a 256 KiB map (mta-store create -s); authgatectl
# then imports logins (Dovecot passwd-file, sha512-crypt hashes: secrets/
# grows) and send-as rules (a Postfix sender-login map: policy/ grows) in
# batches, each batch one transaction that has to grow the map, while
#   8 rl-sasl-load processes  libsasl2 + the authgate plugin: CRAM-MD5,
#                             SCRAM-SHA-256, sasl_checkpass; good and
#                             wrong passwords, an unknown login
#   8 rl-milter-load clients  authgate-milter over its socket: allowed,
#                             delegated and refused senders
# look up logins and rules that exist from the start.  Every answer must
# be the expected one: 0 wrong answers, 0 errors (no temporary failure
# either).  The map sizes before and after are printed; the test fails if
# either did not grow.  After the growth a sample of the imported logins
# and rules is checked too.
# Logins imported: 20,000 (make check), 200,000 (RELIAB_FULL=1).
set -u
HERE=$(dirname "$0")
# shellcheck source=rl.sh
. "$HERE/rl.sh"
rl_init
[ -x "${RL_MTA_STORE:-}" ] || lab_skip "RL_MTA_STORE is not set (run through meson test)"
lab__need mdb_stat
TOTAL=$(rl_pick 20000 200000)
BATCH=$(rl_pick 2500 20000)
S=$LAB/store
RL_STORE=$S
"$RL_MTA_STORE" create "$S" -m "SCRAM-SHA-256 CRAM-MD5 PLAIN" -s 262144 ||
    lab_fail "mta-store create failed"
rl_stable_users

mapsize() {
    mdb_stat -e "$S/$1" | awk '/Map size:/ { print $3 }'
}
S0=$(mapsize secrets) P0=$(mapsize policy)

rl_stable_load 8
sleep 1

HASH='$6$rlgrowth$jTX9gHpcGlrUU0rB0R5X1ACVJAZNmS6gMyxkXDfpvSzWHA/gdSECzWdB8FSkZStfeM5kkxhtX6jpV1kmULiZm.'
t0=$(lab__now)
n=0 batches=0 importfail=0
while [ "$n" -lt "$TOTAL" ]; do
    awk -v a="$n" -v b="$BATCH" -v h="$HASH" \
        'BEGIN { for (i = a; i < a + b; i++) printf "g%d@grow.test:{SHA512-CRYPT}%s\n", i, h }' >"$LAB/users.txt"
    awk -v a="$n" -v b="$BATCH" \
        'BEGIN { for (i = a; i < a + b; i++) printf "x%d@grow.test g%d@grow.test\n", i, i }' >"$LAB/map.txt"
    rl_ctl import dovecot "$LAB/users.txt" >>"$LAB/log/import.out" 2>&1 || importfail=$((importfail + 1))
    rl_ctl import sender-login-maps "$LAB/map.txt" >>"$LAB/log/import.out" 2>&1 || importfail=$((importfail + 1))
    n=$((n + BATCH))
    batches=$((batches + 1))
done
secs=$(lab__since "$t0")
sleep 1
rl_stable_stop
S1=$(mapsize secrets) P1=$(mapsize policy)
cat "$LAB"/log/sasl-*.out "$LAB"/log/milter-*.out | grep -v '^sasl-load: exchanges\|^milter-load: decisions' | head -10 | sed 's/^/# /'

lab_expect "$batches import batches of $BATCH logins and $BATCH rules: all succeeded" "$importfail" 0
lab_expect "16 lookup processes: 0 wrong answers, 0 errors (exit status)" "$RL_FAILED" 0
read -r sn sw st mn mw mt <<<"$(rl_load_totals)"
lab_expect "plugin exchanges: wrong 0, temporary 0 (of $sn)" "$sw $st" "0 0"
lab_expect "milter decisions: wrong 0, temporary/lost 0 (of $mn)" "$mw $mt" "0 0"
lab_expect "lookups ran during the growth" "$([ "$sn" -gt 100 ] && [ "$mn" -gt 100 ] && echo yes)" yes
lab_expect "secrets/ map grew ($S0 -> $S1)" "$([ "$S1" -gt "$S0" ] && echo yes)" yes
lab_expect "policy/ map grew ($P0 -> $P1)" "$([ "$P1" -gt "$P0" ] && echo yes)" yes
doublings() { awk -v a="$1" -v b="$2" 'BEGIN { n = 0; while (a < b) { a *= 2; n++ } print n }'; }

# The imported data is there and answers.
last=$((TOTAL - 1))
lab_expect "the last imported login verifies (authgatectl verify)" \
    "$(printf 'import-pw-1\n' | rl_ctl verify "g$last@grow.test" --password-stdin >/dev/null 2>&1; echo $?)" 0
printf 'g%d@grow.test x%d@grow.test accept\ng%d@grow.test x0@grow.test reject\n' "$last" "$last" "$last" >"$LAB/m2.cases"
lab_expect_match "an imported rule, through the running milter" \
    "$("$RL_BIN/rl-milter-load" "unix:$LAB/milter/milter.sock" "$LAB/m2.cases")" 'wrong 0$'
rl_figure growth "$TOTAL logins + $TOTAL rules imported in $batches batches in $secs s; secrets map $S0 -> $S1 bytes ($(doublings "$S0" "$S1") doublings), policy map $P0 -> $P1 ($(doublings "$P0" "$P1") doublings)"
rl_figure growth-lookups "8 plugin processes: $sn exchanges, wrong $sw, temporary $st; 8 milter clients: $mn decisions, wrong $mw, temporary/lost $mt"
lab_finish
