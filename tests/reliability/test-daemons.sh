#!/bin/bash
# test-daemons.sh - authgate-milter and authgate-authd killed or hung
# under load behind a real Postfix (issue 7, "Faults"), and what the
# authd watchdog does about a hang.
#
# Postfix runs with milter_default_action = tempfail (as authgate-milter(8)
# says) and shortened milter timeouts (milter_connect_timeout 5s,
# milter_command_timeout 5s, milter_content_timeout 5s: Postfix's
# defaults are 30s/30s/300s; only the wait changes).  rl-smtp-load keeps
# sessions busy in every phase (tolerant: temporary failures are counted,
# a failing session reconnects); every phase's messages are accounted for
# afterwards: each accepted one in the sink exactly once, no spoofed one,
# no tempfailed one.
#   A  milter killed (SIGKILL) under load: Postfix answers 451 4.7.1 while
#      it is gone; restarted, mail flows again.
#   B  milter hung (SIGSTOP) under load: Postfix times it out and answers
#      4xx; killed and restarted, mail flows again.
#   C  authd killed under load (sessions AUTH PLAIN every 3 messages):
#      AUTH gets 454 (libsasl2 cannot connect) while it is gone, never 535;
#      restarted, AUTH works again.
#   D  authd hung (SIGSTOP), no service manager: libsasl2's saslauthd
#      client has no timeout, so smtpd blocks in read() for as long as authd
#      is stopped (no reply to the client after 8 s; smtpd's wchan is
#      unix_stream_read_generic).  The moment authd dies the blocked smtpd
#      reads end-of-file and answers 454.
#   E  the same hang under rl-supervise, a stand-in for systemd (Type=notify,
#      WatchdogSec=3, WatchdogSignal=SIGKILL, Restart=always; systemd cannot
#      run here, see supervise.c): authd's keep-alive stops, the supervisor
#      kills and restarts it, the blocked AUTH gets 454 within the watchdog
#      deadline, the next AUTH 235; under load: 0 unexpected answers.
#   F  authd's workers hung (ptrace-stopped threads) while its I/O thread
#      runs: requests queue up, authd notices that no request finished for
#      authd_timeout and withholds the keep-alive (logged), the supervisor
#      restarts it: 454, then 235.
#   G  as the Debian unit runs it (Type=forking, PIDFile=, WatchdogSec=):
#      authd goes into the background, keeps the watchdog systemd set for
#      the process it started, and a hang again ends in 454 and a
#      restart.
set -u
HERE=$(dirname "$0")
# shellcheck source=rl.sh
. "$HERE/rl.sh"
rl_init postfix sink swaks
rl_stack_start --main "milter_connect_timeout = 5s" --main "milter_command_timeout = 5s" \
    --main "milter_content_timeout = 5s"
CONF=$(lab_get pf conf)
printf '%s %s PLAIN\n%s %s CRAM-MD5\n' alice@example.com "$RL_PW" bob@example.com "$RL_PW" \
    >"$LAB/users.txt"
printf '%s %s PLAIN\n' alice@example.com "$RL_PW" >"$LAB/users-plain.txt"
LEDGERS=()
TOTALS=

# load_start NAME USERFILE [rl-smtp-load option]...: tolerant load in the
# background until load_stop.
load_start() {
    local name=$1 users=$2
    shift 2
    rm -f "$LAB/stop-$name"
    "$RL_BIN/rl-smtp-load" -p "$RL_SUB" -u "$users" -c 6 -m 0 -t -T 60 -b 5 -i "$name" \
        -S "$LAB/stop-$name" -l "$LAB/ledger-$name" "$@" >"$LAB/log/load-$name.out" 2>&1 &
    LOAD_PID=$!
    LEDGERS+=("$LAB/ledger-$name")
}

# load_stop NAME: stop it; check its exit status and summary; sets TEMP.
load_stop() {
    local name=$1 rc sum
    touch "$LAB/stop-$name"
    wait "$LOAD_PID"
    rc=$?
    sum=$(grep '^smtp-load: messages' "$LAB/log/load-$name.out")
    grep -v '^smtp-load: messages' "$LAB/log/load-$name.out" | sed 's/^/#   /'
    echo "# $name: $sum"
    lab_expect "$name: no unexpected answer (spoof accepted, 5xx for a good message, 535)" "$rc" 0
    TEMP=$(awk '$3 == "temp"' "$LAB/ledger-$name" | wc -l)
    TOTALS="$TOTALS $name: $(awk '{ print $3 }' "$LAB/ledger-$name" | sort | uniq -c | awk '{ printf "%s %s, ", $2, $1 }')auth-temp $(sed -n 's/.* auth-temp \([0-9]*\) .*/\1/p' <<<"$sum");"
}

# recovered NAME USERFILE: 30 messages, no temporary failure allowed.
recovered() {
    local out
    out=$("$RL_BIN/rl-smtp-load" -p "$RL_SUB" -u "$2" -c 3 -m 30 -T 60 -b 2 -i "$1after" \
        -l "$LAB/ledger-$1-after" 2>&1)
    LEDGERS+=("$LAB/ledger-$1-after")
    lab_expect_match "$1: recovered: 30 messages, all answered as expected" "$out" \
        '^smtp-load: messages 30 accepted [0-9]+ rejected [0-9]+ temp 0 unknown 0 unexpected 0 '
}

auth_bg() { # auth_bg FILE: AUTH PLAIN in the background, transcript in FILE
    swaks --server "127.0.0.1:$RL_SUB" --helo client.lab.test --quit-after AUTH --auth PLAIN \
        --auth-user alice@example.com --auth-password "$RL_PW" --timeout 60 >"$1" 2>&1 &
    AUTH_PID=$!
}

auth_code() { # the AUTH reply code in a finished transcript
    lab__swaks_code "$1" auth
}

# restarted N: wait until the supervisor started authd for the (N+1)th
# time and that process said READY=1.
restarted() {
    lab__wait 10 lab__more_starts "$1" || return 1
    lab__wait 10 lab__grep "READY=1 pid $(cat "$LAB/run/authd.main")\$" "$SUP"
}
lab__more_starts() {
    [ "$(grep -c 'start pid' "$SUP")" -gt "$1" ]
}
lab__more_mains() {
    [ "$(grep -c 'main pid' "$SUP")" -gt "$1" ]
}

smtpd_blocked() { # a smtpd of the instance sleeps in a UNIX socket read
    local p
    for p in $(lab_postfix_procs pf smtpd); do
        [ "$(cat "/proc/$p/wchan" 2>/dev/null)" = unix_stream_read_generic ] && return 0
    done
    return 1
}

# ------------------------------------------------------------ A: milter killed
load_start A "$LAB/users.txt"
sleep 2
lab__signal milter KILL
lab__wait 10 lab__dead milter
sleep 3
rl_milter_start milter "$LAB/milter.conf"
sleep 3
load_stop A
lab_expect_match "A: Postfix tempfailed while the milter was gone ($TEMP)" "$TEMP" '^[1-9]'
lab_expect_match "A: Postfix's reply was 451 4.7.1" \
    "$(awk '$3 == "temp" { print $4 }' "$LAB/ledger-A" | sort -u | tr '\n' ' ')" '451'
recovered A "$LAB/users.txt"

# ------------------------------------------------------------ B: milter hung
load_start B "$LAB/users.txt"
sleep 2
MPID=$(rl_pid milter)
kill -STOP "$MPID"
sleep 8
lab__signal milter KILL
lab__wait 10 lab__dead milter
rl_milter_start milter "$LAB/milter.conf"
sleep 3
load_stop B
lab_expect_match "B: Postfix timed the stopped milter out and tempfailed ($TEMP)" "$TEMP" '^[1-9]'
lab_expect_match "B: Postfix logged the milter timing out" \
    "$(lab_postfix_log pf | grep -c "milter unix:authgate/milter.sock: can't read .*: Connection timed out")" '^[1-9]'
recovered B "$LAB/users.txt"

# ------------------------------------------------------------ C: authd killed
load_start C "$LAB/users-plain.txt" -r 3
sleep 2
lab__signal authd KILL
lab__wait 10 lab__dead authd
sleep 3
rl_authd_start authd "$LAB/authd.conf"
sleep 3
load_stop C
authtemp=$(sed -n 's/.* auth-temp \([0-9]*\) .*/\1/p' "$LAB/log/load-C.out")
lab_expect_match "C: AUTH tempfailed (454) while authd was gone ($authtemp)" "$authtemp" '^[1-9]'
recovered C "$LAB/users-plain.txt"

# ------------------------------------------------------------ D: authd hung
APID=$(rl_pid authd)
kill -STOP "$APID"
auth_bg "$LAB/log/auth-D"
sleep 8
lab_expect "D: no reply to AUTH after 8 s with authd stopped (libsasl2 has no timeout)" \
    "$(grep -cE '^<[-*~]* +(235|454|535) ' "$LAB/log/auth-D") $(kill -0 "$AUTH_PID" 2>/dev/null && echo waiting)" "0 waiting"
lab_expect "D: smtpd sleeps in read() on authd's socket" "$(smtpd_blocked && echo blocked)" blocked
t0=$(lab__now)
lab__signal authd KILL
wait "$AUTH_PID"
d_secs=$(lab__since "$t0")
lab_expect "D: authd dies -> the blocked AUTH gets 454 (in $d_secs s)" "$(auth_code "$LAB/log/auth-D")" 454
lab__wait 10 lab__dead authd
rl_authd_start authd "$LAB/authd.conf"
lab_expect "D: restarted: AUTH PLAIN 235" "$(rl_auth PLAIN alice@example.com "$RL_PW")" 235

# ------------------------------------------------------------ E: supervised
lab_daemon_stop authd
rl_authd_conf "authd_timeout=3"
SOCK=$RL_JAIL/authgate/authd/mux
lab_daemon_start authdsup --ready-file "$SOCK" -- "$RL_BIN/rl-supervise" -n "$LAB/run/notify" \
    -w 3000 -a 1000 -r 200 -p "$LAB/run/authd.main" -- "$RL_AUTHD" -f -c "$LAB/authd.conf"
SUP=$LAB/log/authdsup.out
lab_wait_log "$SUP" 'READY=1' 10 || lab_fail "supervised authd not ready: $(cat "$SUP")"
sleep 4
lab_expect "E: keep-alives arrive (no watchdog timeout in 4 s idle)" "$(grep -c 'watchdog timeout' "$SUP")" 0
lab_expect "E: authd logged its watchdog" "$(grep -c 'watchdog: keep-alive every 1500 ms' "$SUP")" 1
lab_expect "E: supervised authd answers" "$(rl_auth PLAIN alice@example.com "$RL_PW")" 235
load_start E "$LAB/users-plain.txt" -r 3
sleep 3
lab_expect "E: no watchdog timeout under load" "$(grep -c 'watchdog timeout' "$SUP")" 0
main=$(cat "$LAB/run/authd.main")
starts=$(grep -c 'start pid' "$SUP")
kill -STOP "$main"
t0=$(lab__now)
auth_bg "$LAB/log/auth-E"
wait "$AUTH_PID"
e_secs=$(lab__since "$t0")
lab_expect "E: AUTH during the hang: 454 once the watchdog killed authd" "$(auth_code "$LAB/log/auth-E")" 454
lab_expect "E: ... within the deadline plus 2 s (took $e_secs s)" \
    "$(awk -v s="$e_secs" 'BEGIN { print (s <= 5.0) ? "yes" : "no" }')" yes
restarted "$starts"
lab_expect "E: the supervisor saw the timeout and restarted authd" \
    "$(grep -c "watchdog timeout: pid $main " "$SUP")" 1
lab_expect "E: restarted: AUTH PLAIN 235" "$(rl_auth PLAIN alice@example.com "$RL_PW")" 235
sleep 2
load_stop E
recovered E "$LAB/users-plain.txt"

# ------------------------------------------------------------ F: workers hung
main=$(cat "$LAB/run/authd.main")
starts=$(grep -c 'start pid' "$SUP")
coproc FREEZE { "$RL_BIN/rl-freeze-threads" "$main" 2>&1; }
read -r line <&"${FREEZE[0]}"
lab_expect "F: authd's 2 workers frozen (its I/O thread runs)" "$line" "frozen 2"
t0=$(lab__now)
auth_bg "$LAB/log/auth-F"
wait "$AUTH_PID"
f_secs=$(lab__since "$t0")
freeze_in=${FREEZE[1]}
exec {freeze_in}>&-
wait "$FREEZE_PID" 2>/dev/null
lab_expect "F: AUTH with the workers hung: 454 after the restart (took $f_secs s)" \
    "$(auth_code "$LAB/log/auth-F")" 454
lab_expect "F: authd said why it withheld the keep-alive" \
    "$(grep -cE 'no request finished for [0-9]+ ms while [0-9]+ waited for 2 stuck workers: withholding' "$SUP")" 1
lab_expect "F: the supervisor restarted it" "$(grep -c "watchdog timeout: pid $main " "$SUP")" 1
restarted "$starts"
lab_expect "F: restarted: AUTH PLAIN 235" "$(rl_auth PLAIN alice@example.com "$RL_PW")" 235
grep -E 'watchdog|start pid|exit pid|READY' "$SUP" | sed 's/^/# supervisor: /'

# ------------------------------------------------------------ G: Type=forking
lab_daemon_stop authdsup
rl_authd_conf "authd_timeout=3"
lab_daemon_start authdfork --ready-file "$SOCK" -- "$RL_BIN/rl-supervise" -n "$LAB/run/notify" \
    -w 3000 -a 1000 -r 200 -p "$LAB/run/authd.main" -F "$LAB/run/authd.pid" -- \
    "$RL_AUTHD" -c "$LAB/authd.conf"
SUP=$LAB/log/authdfork.out
lab_wait_log "$SUP" 'main pid [0-9]+ \(from the PIDFile\)' 10 ||
    lab_fail "forking authd did not start: $(cat "$SUP")"
sleep 4
lab_expect "G: forking authd: keep-alives arrive from the daemon (no watchdog timeout in 4 s)" \
    "$(grep -c 'watchdog timeout' "$SUP")" 0
lab_expect "G: forking authd answers" "$(rl_auth PLAIN alice@example.com "$RL_PW")" 235
main=$(cat "$LAB/run/authd.main")
lab_expect "G: the main pid is the background daemon, not the process started" \
    "$(grep -c "start pid $main " "$SUP")" 0
starts=$(grep -c 'main pid' "$SUP")
kill -STOP "$main"
t0=$(lab__now)
auth_bg "$LAB/log/auth-G"
wait "$AUTH_PID"
g_secs=$(lab__since "$t0")
lab_expect "G: AUTH during the hang: 454 (took $g_secs s)" "$(auth_code "$LAB/log/auth-G")" 454
lab_expect "G: the supervisor saw the timeout" "$(grep -c "watchdog timeout: pid $main " "$SUP")" 1
lab__wait 10 lab__more_mains "$starts"
lab_expect "G: restarted: AUTH PLAIN 235" "$(rl_auth PLAIN alice@example.com "$RL_PW")" 235
grep -E 'watchdog|start pid|main pid|exit pid' "$SUP" | sed 's/^/# supervisor (forking): /'

# ------------------------------------------------------------ accounting
conf=$CONF
drained() { [ "$(postqueue -c "$conf" -j 2>/dev/null | wc -l)" = 0 ]; }
lab__wait 120 drained
sleep 1
cat "${LEDGERS[@]}" >"$LAB/ledger-all"
find "$(lab_get sink dir)" -type f -print0 | xargs -0 grep -h '^X-Load-Id: ' |
    sed 's/^X-Load-Id: //; s/\r$//' | sort >"$LAB/sink.ids"
awk '$3 == "accepted" { print $1 }' "$LAB/ledger-all" | sort >"$LAB/acc.ids"
awk '$2 != "legit" || $3 == "temp" || $3 == "rejected" { print $1 }' "$LAB/ledger-all" | sort >"$LAB/not.ids"
awk '$3 == "unknown" { print $1 }' "$LAB/ledger-all" | sort >"$LAB/unk.ids"
lab_expect "every accepted message delivered exactly once ($(wc -l <"$LAB/acc.ids"))" \
    "$(comm -23 "$LAB/acc.ids" "$LAB/sink.ids" | wc -l) $(uniq -d "$LAB/sink.ids" | wc -l)" "0 0"
lab_expect "no spoofed, rejected or tempfailed message delivered ($(wc -l <"$LAB/not.ids"))" \
    "$(comm -12 "$LAB/not.ids" "$LAB/sink.ids" | wc -l)" 0
lab_expect "the sink holds accepted messages, and of the unknown ones only legitimate ones" \
    "$(comm -23 "$LAB/sink.ids" "$LAB/acc.ids" | comm -23 - "$LAB/unk.ids" | wc -l)" 0
rl_figure daemons "milter killed, milter hung, authd killed, authd hung (no supervisor: blocked until killed, then 454 in ${d_secs} s), authd hung under the watchdog (454 after ${e_secs} s, restarted), authd workers hung (454 after ${f_secs} s, restarted), authd hung as the Debian unit runs it (Type=forking: 454 after ${g_secs} s, restarted)"
rl_figure daemons-messages "$(wc -l <"$LAB/ledger-all") messages:$TOTALS"
lab_finish
