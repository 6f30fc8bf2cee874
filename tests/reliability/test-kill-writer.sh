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
rl_stable_users
rl_stable_load 2

mkdir -p "$LAB/kw"
t0=$(lab__now)
"$RL_BIN/rl-kill-writer" -n "$ROUNDS" -p "$RL_BIN/rl-crashpoint.so" "$RL_AUTHGATECTL" "$LAB/store" "$LAB/kw" >"$LAB/log/kw.out" 2>&1
kw=$?
secs=$(lab__since "$t0")
rl_stable_stop
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
read -r sn sw st mn mw mt <<<"$(rl_load_totals)"
lab_expect "plugin lookups during the kills: some ran" "$([ "$sn" -gt 0 ] && echo yes)" yes
lab_expect "milter decisions during the kills: some ran" "$([ "$mn" -gt 0 ] && echo yes)" yes
rl_figure kill-writer "${summary#kill-writer: } (${secs} s)"
rl_figure kill-writer-lookups "plugin exchanges $sn wrong $sw temp $st; milter decisions $mn wrong $mw temp/lost $mt"
lab_finish
