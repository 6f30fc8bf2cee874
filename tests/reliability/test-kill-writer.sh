#!/bin/bash
# test-kill-writer.sh - kill -9 of authgatectl mid-change, round after
# round, while the plugin (libsasl2 in other processes) and the milter (over
# its socket) keep looking up (issue 7, "Faults").
#
# rl-kill-writer is the writer and the judge (see killwriter.c): after each
# round, authgatectl check exits 0, every acknowledged change is in the
# store, a killed change is there entirely or not at all (in both
# environments, once the next writer completed a change cut between their
# commits: "rolled-forward"), no record is torn.  Beside it, for the whole run: 2 rl-sasl-load processes (CRAM-MD5,
# SCRAM-SHA-256, PLAIN through sasl_checkpass, wrong passwords, an unknown
# login) and 2 rl-milter-load clients of a running authgate-milter (own
# address, a delegated domain, a refused address) must get exactly the
# expected answer every time: 0 wrong answers, 0 temporary failures.
# Rounds: 60 (make check), 200 (RELIAB_FULL=1).
set -u
HERE=$(dirname "$0")
# shellcheck source=rl.sh
. "$HERE/rl.sh"
rl_init

ROUNDS=$(rl_pick 60 200)
rl_store "$LAB/store" --mechanisms "SCRAM-SHA-256 CRAM-MD5 PLAIN"
for i in 0 1 2 3; do
    rl_user "s$i@stable.test" "Stable-pw-$i"
done
rl_ctl sender allow s0@stable.test @shared.test >>"$LAB/log/ctl.out" 2>&1 || lab_fail "sender allow"

cat >"$LAB/sasl.cases" <<CASES
CRAM-MD5 s0@stable.test Stable-pw-0 ok
CHECKPASS s1@stable.test Stable-pw-1 ok
CRAM-MD5 s2@stable.test wrong-password fail
CHECKPASS s3@stable.test wrong-password fail
CRAM-MD5 nobody@stable.test Stable-pw-0 fail
SCRAM-SHA-256 s3@stable.test Stable-pw-3 ok
CASES
cat >"$LAB/milter.cases" <<CASES
s0@stable.test s0@stable.test accept
s0@stable.test desk@shared.test accept
s0@stable.test ceo@other.test reject
s1@stable.test s0@stable.test reject
s2@stable.test s2+tag@stable.test accept
CASES

rl_conf "$LAB/milter.conf" "store=$LAB/store" "milter_socket=unix:$LAB/milter/milter.sock" \
    'milter_user=""' "milter_pidfile=$LAB/run/milter.pid" "milter_socket_mode=0600" \
    "authserv_id=mx.lab.test" "milter_timeout=10"
rl_milter_start milter "$LAB/milter.conf"

STOP=$LAB/stop
pids=()
for i in 1 2; do
    "$RL_BIN/rl-sasl-load" -S "$STOP" "$LAB/store" "$LAB/sasl.cases" >"$LAB/log/sasl-$i.out" 2>&1 &
    pids+=($!)
    "$RL_BIN/rl-milter-load" -S "$STOP" "unix:$LAB/milter/milter.sock" "$LAB/milter.cases" \
        >"$LAB/log/milter-$i.out" 2>&1 &
    pids+=($!)
done

mkdir -p "$LAB/kw"
t0=$(lab__now)
"$RL_BIN/rl-kill-writer" -n "$ROUNDS" -p "$RL_BIN/rl-crashpoint.so" "$RL_AUTHGATECTL" "$LAB/store" "$LAB/kw" >"$LAB/log/kw.out" 2>&1
kw=$?
secs=$(lab__since "$t0")
touch "$STOP"
rl_wait_pids "${pids[@]}"
loadfail=$RL_FAILED
cat "$LAB/log/kw.out" | grep -v '^kill-writer: [0-9]* rounds:' | sed 's/^/# /'
cat "$LAB"/log/sasl-*.out "$LAB"/log/milter-*.out | sed 's/^/# /'

lab_expect "rl-kill-writer: $ROUNDS rounds, 0 lost / torn / check failures / mixed" "$kw" 0
lab_expect "lookup processes (plugin x2, milter x2) exited clean" "$loadfail" 0
summary=$(grep '^kill-writer: rounds' "$LAB/log/kw.out")
lab_expect_match "every round ran" "$summary" "^kill-writer: rounds $ROUNDS "
killed=$(sed -n 's/.* killed \([0-9]*\) .*/\1/p' <<<"$summary")
lab_expect "most rounds were killed (got ${killed:-0} of $ROUNDS)" \
    "$([ "${killed:-0}" -ge $((ROUNDS / 2)) ] && echo yes)" yes
between=$(sed -n 's/.* (between the commits \([0-9]*\),.*/\1/p' <<<"$summary")
rolled=$(sed -n 's/.* rolled-forward \([0-9]*\) .*/\1/p' <<<"$summary")
lab_expect "some kills landed between the two environments' commits (got ${between:-0})" \
    "$([ "${between:-0}" -gt 0 ] && echo yes)" yes
lab_expect "the next writer completed such changes (rolled forward ${rolled:-0})" \
    "$([ "${rolled:-0}" -gt 0 ] && echo yes)" yes
sasl=$(cat "$LAB"/log/sasl-*.out | awk '/^sasl-load: exchanges/ { n += $3; w += $11; t += $9 } END { print n + 0, w + 0, t + 0 }')
milt=$(cat "$LAB"/log/milter-*.out | awk '/^milter-load: decisions/ { n += $3; w += $13; t += $9 + $11 } END { print n + 0, w + 0, t + 0 }')
read -r sn sw st <<<"$sasl"
read -r mn mw mt <<<"$milt"
lab_expect "plugin lookups during the kills: some ran" "$([ "$sn" -gt 0 ] && echo yes)" yes
lab_expect "milter decisions during the kills: some ran" "$([ "$mn" -gt 0 ] && echo yes)" yes
rl_figure kill-writer "${summary#kill-writer: } (${secs} s)"
rl_figure kill-writer-lookups "plugin exchanges $sn wrong $sw temp $st; milter decisions $mn wrong $mw temp/lost $mt"
lab_finish
