#!/bin/bash
# query_daemon.sh - authgate-query as a daemon over its real UNIX socket,
# without an MTA (suite 'integration'; the MTA tests are query_exim.sh and
# query_postfix.sh).
#
# usage: query_daemon.sh BUILDDIR_OF_MILTER
# Builds real LMDB stores (milter-mkstore) and checks, with query-client:
#   - socket mode and group, pid file; -t; detached start reports readiness;
#   - socketmap: several lookups on one connection, exact replies;
#   - line protocol: mail and data requests, exact response lines; a bad
#     request answers tempfail;
#   - one log line per request, untrusted text escaped;
#   - idle and request timeouts disconnect; query_connections caps the
#     connections served at once (the next client waits, then is served);
#   - a stale socket is replaced; a second server is refused by the pid
#     file lock, or without one because the socket answers; a non-socket is
#     refused;
#   - SIGHUP: a new action reaches an open socketmap connection at its next
#     request; a broken configuration is refused and the running one kept;
#     a store that cannot be opened answers TEMP / tempfail 451 4.3.0;
#   - SIGTERM lets a request in flight finish, removes socket and pid file;
#   - as root: query_user drops privileges and still reads the store
#     through the policy group; started as the systemd unit does (no
#     CAP_DAC_OVERRIDE, no CAP_FOWNER) twice over the socket the first run
#     could not remove (logged), in a root-owned directory.
set -u
B=$1
Q=$B/authgate-query CLIENT=$B/query-client MKSTORE=$B/milter-mkstore

T=$(mktemp -d /tmp/authgate-query-it.XXXXXX)
chmod 0711 "$T"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
FAILS=0 CHECKS=0
ok() { CHECKS=$((CHECKS + 1)); echo "ok - $*"; }
bad() { CHECKS=$((CHECKS + 1)); FAILS=$((FAILS + 1)); echo "FAIL - $*"; }
# check NAME COMMAND...: ok when COMMAND succeeds
check() {
    local name=$1
    shift
    if "$@"; then ok "$name"; else bad "$name"; fi
}
# has FILE ERE / says TEXT ERE: a line matches
has() { grep -qE -- "$2" "$1"; }
says() { grep -qE -- "$2" <<<"$1"; }
not() { ! "$@"; }
# same NAME GOT WANT
same() {
    if [ "$2" = "$3" ]; then ok "$1"
    else bad "$1"; echo "--- got:"; echo "$2"; echo "--- want:"; echo "$3"; fi
}

"$MKSTORE" "$T/store" allow alice@example.com alias@example.com \
    allow alice@example.com @lists.example allow bob '*' deny bob @example.com \
    domain example.com login alice@example.com login bob login bob@example.com \
    login news@lists.example || exit 1

conf() { # conf FILE SOCKET ["key = value" (overrides a default)...]
    local f=$1 s=$2; shift 2
    {
        echo "store = $T/store"
        echo "query_socket = $s"
        echo "query_user = \"\""
        echo "query_pidfile = $T/query.pid"
        echo "query_socket_mode = 0660"
        echo "query_socket_group = nogroup"
        echo "authserv_id = mx.test"
        for l in "$@"; do echo "$l"; done
    } | tac | awk '!seen[$1]++' | tac > "$f"
}
SOCK=$T/query.sock
conf "$T/q.conf" "$SOCK"

start() { # start CONF LOG [ARGS]
    local c=$1 l=$2; shift 2
    "$Q" -f -c "$c" "$@" 2>"$l" &
    PID=$!
    PIDS+=("$PID")
    for _ in $(seq 100); do grep -q ' ready on ' "$l" 2>/dev/null && return 0; sleep 0.05; done
    echo "authgate-query did not start:"; cat "$l"; return 1
}
start "$T/q.conf" "$T/q.log" || exit 1

# --- socket and pid file
same "socket mode and group" "$(stat -c '%a %G' "$SOCK")" "660 nogroup"
same "pid file holds the pid" "$(cat "$T/query.pid" 2>/dev/null)" "$PID"
same "no core dumps (RLIMIT_CORE 0)" \
    "$(awk '/^Max core file size/ { print $5, $6 }' "/proc/$PID/limits")" "0 0"
out=$("$Q" -t -c "$T/q.conf" 2>&1)
check "-t: store usable ($out)" says "$out" 'are usable'

# --- socketmap, several lookups on one connection
same "socketmap answers" "$("$CLIENT" sm "$SOCK" alice@example.com alias@example.com \
    news@lists.example bob@example.com x@else.example 'not an address' '=owners x' 2>&1)" \
"OK alice@example.com
OK alice@example.com
OK alice@example.com,bob,news@lists.example
OK bob@example.com
OK bob
NOTFOUND 
PERM unknown map name (this server answers \"senders\")"

# --- line protocol
printf 'Received: from c\n\tby mx\nFrom: "ceo@example.com" <alice@example.com>\nSubject: x\n' >"$T/h1"
printf 'From: Alice <alice@example.com>\nSender: alice@example.com\n' >"$T/h2"
printf 'From: Friends:;\n' >"$T/h3"
same "mail: own address" "$("$CLIENT" mail "$SOCK" alice@example.com alice@example.com)" \
    "accept pass 250 2.0.0 envelope sender <alice@example.com> allowed"
same "mail: envelope spoof" "$("$CLIENT" mail "$SOCK" alice@example.com ceo@example.com)" \
    "reject mismatch 553 5.7.1 Sender address <ceo@example.com> rejected: not owned by login alice@example.com"
same "data: display-name spoof" "$("$CLIENT" data "$SOCK" alice@example.com '' "$T/h1")" \
    "reject mismatch 550 5.7.1 From display name claims <ceo@example.com>, which login alice@example.com may not use"
same "data: allowed" "$("$CLIENT" data "$SOCK" alice@example.com alias@example.com "$T/h2")" \
    "accept pass 250 2.0.0 From and Sender allowed"
same "data: group syntax" "$("$CLIENT" data "$SOCK" alice@example.com alice@example.com "$T/h3")" \
    "reject malformed 550 5.7.1 Message rejected: malformed From header: group syntax (login alice@example.com)"
same "bad request" "$(printf 'helo\n' | "$CLIENT" raw "$SOCK")" \
    "tempfail tempfail 451 4.3.0 authgate-query: bad request: unknown command (mail or data)"
# A login with a line break cannot forge a log line (escaped by the logger).
"$CLIENT" mail "$SOCK" $'mallory\nauthgate-query[1]: info: forged' x@example.com >/dev/null

# --- logging
sleep 0.2
n=$(grep -cE 'info: (socketmap|mail|data) |notice: (mail|data) |warning: (socketmap|line protocol)' "$T/q.log")
same "one log line per request (7 lookups, 7 line requests)" "$n" 14
check "data decision logged like the milter's" grep -qF 'notice: data id=- login="alice@example.com" envfrom="<>" from="\x22ceo@example.com\x22 <alice@example.com>" verdict=reject class=mismatch rule="none" reason="From display name or comment claims <ceo@example.com>, not allowed for alice@example.com"' "$T/q.log"
check "socketmap lookup logged" grep -qF 'info: socketmap map=senders key="alias@example.com" result=OK logins=1 skipped=0 reply="OK alice@example.com"' "$T/q.log"
check "bad request logged" has "$T/q.log" 'warning: line protocol: bad request: unknown command'
if grep -q '^authgate-query\[1\]: info: forged' "$T/q.log"; then
    bad "a login with a line break forged a log line"
elif grep -q 'login="mallory\\x0aauthgate-query\[1\]: info: forged"' "$T/q.log"; then
    ok "untrusted login escaped in the log"
else bad "escaped login not found in the log"; fi

# --- a second server on the same socket is refused; a non-socket too
out=$("$Q" -f -c "$T/q.conf" -p "$SOCK" 2>&1)
check "second server refused by the pid file lock ($out)" says "$out" 'another authgate-query holds it'
conf "$T/nopid.conf" "$SOCK" 'query_pidfile = ""'
out=$("$Q" -f -c "$T/nopid.conf" 2>&1)
check "without a pid file: live socket not taken over ($out)" says "$out" 'another server answers on it'
: >"$T/plain"
out=$("$Q" -f -c "$T/nopid.conf" -p "$T/plain" 2>&1)
check "a non-socket is not replaced ($out)" says "$out" 'exists and is not a socket'
check "the running server kept its socket" test "$("$CLIENT" sm "$SOCK" alice@example.com)" = \
    "OK alice@example.com"

# --- SIGHUP: a new action reaches an open socketmap connection; a data
# request sees it too; a broken configuration is refused.
conf "$T/q.conf" "$SOCK" "mismatch_action = header"
kill -HUP "$PID"
for _ in $(seq 50); do grep -q 'SIGHUP: configuration .* reloaded' "$T/q.log" && break; sleep 0.05; done
same "after SIGHUP mismatch_action=header" \
    "$("$CLIENT" data "$SOCK" alice@example.com '' "$T/h1")" \
    "header mismatch 250 2.0.0 From display name claims <ceo@example.com>, which login alice@example.com may not use"
echo "no_such_key = 1" >>"$T/q.conf"
kill -HUP "$PID"
sleep 0.3
check "broken configuration refused on SIGHUP" has "$T/q.log" \
    'SIGHUP: .*unknown key.*keeping the running configuration'
check "still running after a bad SIGHUP" kill -0 "$PID"

# --- a store that cannot be opened: TEMP and tempfail, never an answer
conf "$T/q.conf" "$SOCK" "store = $T/no-such-store"
kill -HUP "$PID"
sleep 0.3
same "store missing: socketmap TEMP" "$("$CLIENT" sm "$SOCK" alice@example.com)" \
    "TEMP the send-as policy store is unavailable"
same "store missing: line protocol tempfail" \
    "$("$CLIENT" mail "$SOCK" alice@example.com alice@example.com)" \
    "tempfail tempfail 451 4.3.0 Temporary failure reading the send-as policy, try again later"
check "store failure logged" has "$T/q.log" 'error: store: .*no-such-store'

# --- SIGTERM: a request in flight finishes, then the daemon exits and
# removes its socket and pid file.
conf "$T/q.conf" "$SOCK"
kill -HUP "$PID"
sleep 0.3
"$CLIENT" hold "$SOCK" "" 5 >"$T/idle.out" &
idle=$!
"$CLIENT" slow "$SOCK" "25:senders alice@example.com" 1.5 "," >"$T/slow.out" &
slow=$!
sleep 0.5
kill -TERM "$PID"
sleep 0.3
check "waits for the request in flight" kill -0 "$PID"
wait "$slow" "$idle"
same "the request in flight is answered" "$(cat "$T/slow.out")" "20:OK alice@example.com,"
check "an idle connection is closed at once ($(cat "$T/idle.out"))" has "$T/idle.out" \
    '^closed after 0\.[0-9] s$'
for _ in $(seq 200); do
    [ "$(awk '{ print $3 }' "/proc/$PID/stat" 2>/dev/null)" = Z ] && break
    [ -d "/proc/$PID" ] || break
    sleep 0.05
done
kill -KILL "$PID" 2>/dev/null # only if it hangs: the check below then fails
wait "$PID"
same "exit status after the drain" "$?" 0
check "socket and pid file removed" test ! -e "$SOCK" -a ! -e "$T/query.pid"

# --- timeouts and the connection cap
conf "$T/q2.conf" "$SOCK" "query_timeout = 1" "query_idle_timeout = 2" "query_connections = 2"
start "$T/q2.conf" "$T/q2.log" || exit 1
out=$("$CLIENT" hold "$SOCK" "" 6)
check "idle connection closed after 2 s ($out)" says "$out" '^closed after 2\.[0-9] s$'
out=$("$CLIENT" hold "$SOCK" "25:senders alice" 6)
check "partial request cut after 1 s ($out)" says "$out" '^closed after 1\.[0-9] s$'
check "request timeout logged" has "$T/q2.log" 'client sent no whole request within 1 s: disconnected'
"$CLIENT" hold "$SOCK" "" 3 >/dev/null &
h1=$!
"$CLIENT" hold "$SOCK" "" 3 >/dev/null &
h2=$!
sleep 0.5
t0=$(date +%s.%N)
out=$("$CLIENT" mail "$SOCK" alice@example.com alice@example.com)
t=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
wait "$h1" "$h2"
same "third client served once a slot frees" "$out" \
    "accept pass 250 2.0.0 envelope sender <alice@example.com> allowed"
check "third client waited ($t s, want >= 1) for a slot" awk -v t="$t" 'BEGIN { exit !(t >= 1.0) }'
check "connection cap logged" has "$T/q2.log" '2 connections open \(query_connections\): new clients wait'

# --- a stale socket (server killed) is replaced at the next start
kill -KILL "$PID"
wait "$PID" 2>/dev/null
check "SIGKILL leaves the socket" test -S "$SOCK"
start "$T/q2.conf" "$T/q3.log" || exit 1
same "stale socket replaced" "$("$CLIENT" sm "$SOCK" alice@example.com)" "OK alice@example.com"
kill "$PID"
wait "$PID" 2>/dev/null

# --- detached start: the command returns once ready
conf "$T/q4.conf" "$SOCK"
if "$Q" -c "$T/q4.conf"; then
    DPID=$(cat "$T/query.pid")
    PIDS+=("$DPID")
    same "detached daemon answers" "$("$CLIENT" sm "$SOCK" alice@example.com)" "OK alice@example.com"
    kill "$DPID"
else bad "detached start failed"; fi
conf "$T/q5.conf" "$T/no-such-dir/query.sock"
check "detached start with a bad socket path fails" not "$Q" -c "$T/q5.conf" 2>"$T/q5.err"
check "... and says so ($(cat "$T/q5.err"))" has "$T/q5.err" 'startup failed'

# --- as root: drop to query_user, read the store through the policy group
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 && getent group nogroup >/dev/null; then
    "$MKSTORE" -g nogroup "$T/store2" allow alice@example.com alias@example.com || exit 1
    chmod 0755 "$T"
    mkdir -p "$T/run" && chown nobody "$T/run"
    conf "$T/q6.conf" "$T/run/query.sock" "store = $T/store2" "query_user = nobody" \
        "query_pidfile = $T/run/query.pid"
    start "$T/q6.conf" "$T/q6.log" || exit 1
    uid=$(awk '/^Uid:/ { print $2 $3 $4 $5 }' "/proc/$PID/status")
    same "runs as nobody (real, effective, saved, fs)" "$uid" "65534655346553465534"
    same "not dumpable after the drop (/proc/PID stays root's)" \
        "$(stat -c %u "/proc/$PID/environ")" 0
    same "reads the policy through its group" "$("$CLIENT" sm "$T/run/query.sock" alias@example.com)" \
        "OK alice@example.com"
    kill "$PID"
    wait "$PID" 2>/dev/null
    check "socket removed after dropping privileges" test ! -e "$T/run/query.sock"

    # As the systemd unit starts it: root with only CAP_CHOWN, CAP_SETUID
    # and CAP_SETGID (no CAP_DAC_OVERRIDE, no CAP_FOWNER), the socket in a
    # root-owned directory.  It cannot remove its socket at stop (and says
    # so); the next start replaces it although root may not probe it.
    if command -v setpriv >/dev/null; then
        install -d -m 0755 "$T/rrun"
        conf "$T/q7.conf" "$T/rrun/query.sock" "store = $T/store2" "query_user = nobody" \
            "query_pidfile = $T/rrun/query.pid"
        unit=(setpriv --bounding-set=-all,+chown,+setuid,+setgid --no-new-privs --)
        for round in 1 2; do
            "${unit[@]}" "$Q" -f -c "$T/q7.conf" 2>"$T/q7.$round.log" &
            PID=$!
            PIDS+=("$PID")
            for _ in $(seq 100); do grep -q ' ready on ' "$T/q7.$round.log" && break; sleep 0.05; done
            check "unit capabilities, start $round ($(tail -1 "$T/q7.$round.log"))" \
                has "$T/q7.$round.log" ' ready on '
            same "start $round: socket mode and owner (chmod before chown: no CAP_FOWNER)" \
                "$(stat -c '%a %U %G' "$T/rrun/query.sock")" "660 nobody nogroup"
            same "start $round: answers" "$("$CLIENT" sm "$T/rrun/query.sock" alias@example.com)" \
                "OK alice@example.com"
            kill "$PID"
            wait "$PID" 2>/dev/null
        done
        check "the failed removal at stop is logged" has "$T/q7.1.log" \
            "socket $T/rrun/query.sock left behind: Permission denied"
    else
        echo "# skipped: unit capabilities (setpriv missing)"
    fi
else
    echo "# skipped: privilege drop (needs root, user nobody, group nogroup)"
fi

echo "# $CHECKS checks, $FAILS failed"
[ "$FAILS" = 0 ]
