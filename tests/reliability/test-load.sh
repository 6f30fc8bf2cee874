#!/bin/bash
# test-load.sh - messages over 20 concurrent authenticated SMTP sessions
# through Postfix + the plugin + authgate-authd + authgate-milter (issue 7,
# "Load"), every message accounted for, the daemons' memory, descriptors
# and threads sampled from /proc.
#
# usage: test-load.sh [valgrind]
#
# rl-smtp-load (see smtpload.c) runs 20 sessions, each AUTH once (PLAIN
# through authd for even sessions, CRAM-MD5 through the plugin for odd
# ones) and then message after message on the same connection; 20% are
# spoofed (envelope: 553 at MAIL; header From: 550 at end of data).  Every
# message must get its expected reply (no temporary failure, no timeout);
# afterwards every accepted message must be in the smtp-sink exactly
# once, no spoofed one at all, and nothing else.
# /proc is sampled every second for the milter and authd: VmRSS, open
# descriptors, threads.  RSS must be flat (the last sample at most 1 MiB or
# 5% above the sample at a quarter of the run); descriptors and threads
# must be back to their values before the run once Postfix has closed its
# connections (postfix stop).
# Messages: 2,000 (make check), 20,000 (RELIAB_FULL=1).
# "valgrind": both daemons run under valgrind memcheck (300 / 1,000
# messages); they are stopped with SIGTERM at the end and valgrind must
# report 0 errors and 0 bytes definitely or indirectly lost (the RSS
# check is skipped there: the RSS is valgrind's).
set -u
HERE=$(dirname "$0")
# shellcheck source=rl.sh
. "$HERE/rl.sh"
rl_init postfix sink
MODE=${1:-plain}
if [ "$MODE" = valgrind ]; then
    lab__need valgrind
    MSGS=$(rl_pick 300 1000)
    mkdir -p "$LAB/vg"
    chmod 0777 "$LAB/vg"
    # shellcheck disable=SC2054 # the commas are valgrind's list syntax
    RL_WRAP=(valgrind --vgdb=no --error-exitcode=99 --leak-check=full
        --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect
        --track-fds=no --log-file="$LAB/vg/%p.log")
else
    MSGS=$(rl_pick 2000 20000)
fi
SESSIONS=20
rl_stack_start --main "smtpd_client_connection_count_limit = 0" \
    --main "default_process_limit = 60"
printf '%s %s PLAIN\n%s %s CRAM-MD5\n' alice@example.com "$RL_PW" bob@example.com "$RL_PW" \
    >"$LAB/users.txt"
MPID=$(rl_pid milter) APID=$(rl_pid authd)
read -r m_rss0 m_fd0 m_thr0 <<<"$(rl_proc "$MPID")"
read -r a_rss0 a_fd0 a_thr0 <<<"$(rl_proc "$APID")"

# Sampler: one line per second, "secs m_rss m_fd m_thr a_rss a_fd a_thr".
(
    t=0
    while [ ! -e "$LAB/stop-sampler" ]; do
        echo "$t $(rl_proc "$MPID") $(rl_proc "$APID")"
        sleep 1
        t=$((t + 1))
    done
) >"$LAB/samples" &
SAMPLER=$!

"$RL_BIN/rl-smtp-load" -p "$RL_SUB" -u "$LAB/users.txt" -c "$SESSIONS" -m "$MSGS" \
    -l "$LAB/ledger" -T 120 >"$LAB/log/load.out" 2>&1
load_rc=$?
touch "$LAB/stop-sampler"
wait "$SAMPLER"
sed 's/^/# /' "$LAB/log/load.out"
summary=$(grep '^smtp-load: messages' "$LAB/log/load.out")
lab_expect "rl-smtp-load: every message got the reply its kind expects" "$load_rc" 0
lab_expect_match "all $MSGS messages tried" "$summary" "^smtp-load: messages $MSGS "

# The accounting, once the queue is empty.
conf=$(lab_get pf conf)
drained() {
    [ "$(postqueue -c "$conf" -j 2>/dev/null | wc -l)" = 0 ]
}
lab__wait 300 drained || echo "# queue not empty after 300 s"
sleep 1
accepted=$(awk '$3 == "accepted"' "$LAB/ledger" | wc -l)
rejected=$(awk '$3 == "rejected"' "$LAB/ledger" | wc -l)
awk '$3 == "accepted" { print $1 }' "$LAB/ledger" | sort >"$LAB/accepted.ids"
awk '$2 != "legit" { print $1 }' "$LAB/ledger" | sort >"$LAB/spoof.ids"
find "$(lab_get sink dir)" -type f -print0 | xargs -0 grep -h '^X-Load-Id: ' |
    sed 's/^X-Load-Id: //; s/\r$//' | sort >"$LAB/sink.ids"
lab_expect "ledger: one line per message" "$(wc -l <"$LAB/ledger")" "$MSGS"
lab_expect "every accepted message delivered exactly once ($accepted)" \
    "$(comm -3 "$LAB/accepted.ids" "$LAB/sink.ids" | wc -l) $(uniq -d "$LAB/sink.ids" | wc -l)" "0 0"
lab_expect "no spoofed message delivered (of $(wc -l <"$LAB/spoof.ids"))" \
    "$(comm -12 "$LAB/spoof.ids" "$LAB/sink.ids" | wc -l)" 0
lab_expect "nothing else in the sink" "$(find "$(lab_get sink dir)" -type f | wc -l)" "$accepted"
lab_expect "accepted + rejected = all messages" "$((accepted + rejected))" "$MSGS"

# /proc: RSS flat during the run; fds and threads back after Postfix closed.
n=$(wc -l <"$LAB/samples")
q=$(((n + 3) / 4))
read -r _ m_rss_q _ _ a_rss_q _ _ <<<"$(sed -n "${q}p" "$LAB/samples")"
read -r _ m_rss_e _ _ a_rss_e _ _ <<<"$(tail -1 "$LAB/samples")"
max_m_fd=$(awk 'max < $3 { max = $3 } END { print max }' "$LAB/samples")
max_m_thr=$(awk 'max < $4 { max = $4 } END { print max }' "$LAB/samples")
max_a_fd=$(awk 'max < $6 { max = $6 } END { print max }' "$LAB/samples")
max_a_thr=$(awk 'max < $7 { max = $7 } END { print max }' "$LAB/samples")
flat() { # flat BASE LAST: LAST <= BASE + max(1024, BASE/20) KiB
    awk -v b="$1" -v l="$2" 'BEGIN { s = b / 20; if (s < 1024) s = 1024; exit !(l <= b + s) }'
}
# (Under valgrind RSS is valgrind's: memcheck's leak report stands in.)
if [ "$MODE" != valgrind ]; then
    lab_expect "milter RSS flat: ${m_rss_q} KiB at 1/4 of the run, ${m_rss_e} KiB at the end" \
        "$(flat "$m_rss_q" "$m_rss_e" && echo flat)" flat
    lab_expect "authd RSS flat: ${a_rss_q} KiB at 1/4 of the run, ${a_rss_e} KiB at the end" \
        "$(flat "$a_rss_q" "$a_rss_e" && echo flat)" flat
fi
lab_postfix_stop pf
sleep 1
read -r _ m_fd1 m_thr1 <<<"$(rl_proc "$MPID")"
read -r _ a_fd1 a_thr1 <<<"$(rl_proc "$APID")"
lab_expect "milter descriptors back after Postfix stopped ($m_fd0 before, max $max_m_fd)" "$m_fd1" "$m_fd0"
lab_expect "milter threads back after Postfix stopped ($m_thr0 before, max $max_m_thr)" "$m_thr1" "$m_thr0"
lab_expect "authd descriptors back ($a_fd0 before, max $max_a_fd)" "$a_fd1" "$a_fd0"
lab_expect "authd threads constant ($a_thr0 before, max $max_a_thr)" "$a_thr1 $max_a_thr" "$a_thr0 $a_thr0"

if [ "$MODE" = valgrind ]; then
    lab_daemon_stop milter
    lab_daemon_stop authd
    vgsum=
    for f in "$LAB"/vg/*.log; do
        prog=$(sed -n 's/^==[0-9]*== Command: \([^ ]*\).*/\1/p' "$f" | head -1)
        prog=$(basename "${prog:-?}")
        grep -E 'ERROR SUMMARY|definitely lost|indirectly lost|in use at exit|All heap blocks' "$f" |
            sed "s/^==[0-9]*==/# $prog:/"
        lab_expect "valgrind $prog: ERROR SUMMARY 0 errors" \
            "$(grep -c 'ERROR SUMMARY: 0 errors' "$f")" 1
        lab_expect "valgrind $prog: nothing definitely or indirectly lost" \
            "$(grep -cE '(definitely|indirectly) lost: [1-9]' "$f")" 0
        lab_expect "valgrind $prog: the leak check ran at exit" \
            "$(grep -cE 'All heap blocks were freed|LEAK SUMMARY' "$f")" 1
        vgsum="$vgsum $prog: $(sed -n 's/^==[0-9]*== ERROR SUMMARY: \([0-9]*\) errors.*/\1 errors/p' "$f"), $(sed -n 's/^==[0-9]*== *in use at exit: \(.*\)/\1 in use at exit/p' "$f");"
    done
    lab_expect "valgrind ran both daemons" "$(ls "$LAB"/vg/*.log 2>/dev/null | wc -l)" 2
    rl_figure "loadvalgrind-memcheck" "$vgsum"
fi
rl_figure "load${MODE/plain/}" "$summary"
rl_figure "load${MODE/plain/}-accounting" "accepted $accepted (all in the sink once), rejected $rejected (553 at MAIL / 550 at end of data), spoofed delivered 0, temp 0"
rl_figure "load${MODE/plain/}-proc" "milter RSS ${m_rss0}/${m_rss_q}/${m_rss_e} KiB (start/quarter/end), fds ${m_fd0}->max ${max_m_fd}->${m_fd1}, threads ${m_thr0}->max ${max_m_thr}->${m_thr1}; authd RSS ${a_rss0}/${a_rss_q}/${a_rss_e} KiB, fds ${a_fd0}->max ${max_a_fd}->${a_fd1}, threads ${a_thr0}->max ${max_a_thr}->${a_thr1} ($n samples)"
lab_finish
