#!/bin/bash
# integration.sh - authgate-milter over its real socket (suite 'integration').
#
# usage: integration.sh BUILDDIR_OF_MILTER SOURCEDIR_OF_TESTS
# Builds a real LMDB store (milter-mkstore), starts authgate-milter in the
# foreground on a UNIX socket in a fresh temp dir, and checks:
#   - socket mode and pid file;
#   - the miltertest scripts (negotiation, header edits, exact EOM replies);
#   - exact MAIL and EOM dialogues with milter-client (miltertest cannot
#     show the text of a MAIL reply);
#   - one log line per decision, with untrusted text escaped;
#   - SIGHUP reloads (report_only), a broken configuration is refused and
#     the running one kept, an unreadable store tempfails (451 4.3.0);
#   - a second start is refused (pid file lock; without one, the socket
#     answers) and the running milter keeps its socket; a non-socket at the
#     path is refused and kept;
#   - SIGTERM drains a message in flight and removes pid file and socket;
#   - as root: milter_user drops privileges and still reads the store
#     through the policy group; started as the systemd unit does (no
#     CAP_DAC_OVERRIDE, no CAP_FOWNER) twice over the socket the first run
#     could not remove (logged), in a root-owned directory.
# Exits 77 (skip) when miltertest is missing.
set -u
B=$1 S=$2
MILTER=$B/authgate-milter CLIENT=$B/milter-client MKSTORE=$B/milter-mkstore
command -v miltertest >/dev/null || { echo "SKIP: miltertest not installed"; exit 77; }

T=$(mktemp -d /tmp/authgate-milter-it.XXXXXX)
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

"$MKSTORE" "$T/store" allow alice@example.com alias@example.com \
    allow bob @lists.example domain example.com || exit 1

conf() { # conf FILE SOCKET [extra lines...]
    local f=$1 s=$2; shift 2
    {
        echo "store = $T/store"
        echo "milter_socket = unix:$s"
        echo "milter_user = \"\""
        echo "milter_pidfile = $T/milter.pid"
        echo "milter_socket_mode = 0660"
        echo "authserv_id = mx.test"
        echo "milter_timeout = 10"
        for l in "$@"; do echo "$l"; done
    } > "$f"
}
SOCK=$T/milter.sock
conf "$T/authgate.conf" "$SOCK"

start() { # start CONF LOG
    "$MILTER" -f -c "$1" 2>"$2" &
    PID=$!
    PIDS+=("$PID")
    for _ in $(seq 100); do [ -S "$(sed -n 's/^milter_socket = unix://p' "$1")" ] && return 0; sleep 0.05; done
    echo "milter did not start:"; cat "$2"; return 1
}
start "$T/authgate.conf" "$T/milter.log" || exit 1

# --- socket and pid file
mode=$(stat -c %a "$SOCK")
[ "$mode" = 660 ] && ok "socket mode 0660" || bad "socket mode: got $mode, want 660"
[ "$(cat "$T/milter.pid" 2>/dev/null)" = "$PID" ] && ok "pid file holds $PID" \
    || bad "pid file: got '$(cat "$T/milter.pid" 2>/dev/null)', want $PID"

# --- a second start never takes the live socket over
"$MILTER" -f -c "$T/authgate.conf" 2>"$T/second.log" && bad "a second milter started" \
    || ok "a second start is refused"
grep -q 'another authgate-milter holds it' "$T/second.log" && ok "... by the pid file lock" \
    || bad "second start: $(cat "$T/second.log")"
conf "$T/nopid.conf" "$SOCK" 'milter_pidfile = ""'
sed -i "/^milter_pidfile = .*milter.pid/d" "$T/nopid.conf"
"$MILTER" -f -c "$T/nopid.conf" 2>"$T/second.log" && bad "a second milter without pid file started" \
    || ok "a second start without a pid file is refused"
grep -q 'another milter answers on it' "$T/second.log" && ok "... because the socket answers" \
    || bad "second start without pid file: $(cat "$T/second.log")"
: >"$T/plain"
"$MILTER" -f -c "$T/nopid.conf" -p "unix:$T/plain" 2>"$T/second.log" && bad "started over a file"
grep -q 'exists and is not a socket' "$T/second.log" && [ -f "$T/plain" ] \
    && ok "a non-socket at the path is refused and kept" || bad "non-socket: $(cat "$T/second.log")"
[ "$(stat -c %a "$SOCK")" = 660 ] && kill -0 "$PID" && ok "the running milter kept its socket" \
    || bad "the running milter lost its socket"

# --- miltertest scripts
for s in mt_negotiate mt_policy; do
    out=$(miltertest -D sock="unix:$SOCK" -D quarantine=no -s "$S/$s.lua" 2>&1)
    if [ $? -eq 0 ] && grep -q "^PASS $s" <<<"$out"; then ok "miltertest $s"
    else bad "miltertest $s:"; echo "$out"; fi
done

# --- exact dialogues: expect NAME "client args" <<< expected output
expect() {
    local name=$1; shift
    local want got
    want=$(cat)
    got=$("$CLIENT" "$@" "unix:$SOCK" 2>&1)
    if [ "$got" = "$want" ]; then ok "$name"
    else bad "$name"; echo "--- got:"; echo "$got"; echo "--- want:"; echo "$want"; fi
}
A=(-m i=QID1 -m '{auth_authen}=alice@example.com' -m '{auth_type}=PLAIN')

expect "allowed message: A-R inserted, forged A-R removed" "${A[@]}" -f '<alice@example.com>' \
    -h 'Authentication-Results: mx.test; auth=pass smtp.auth=ceo@example.com' \
    -h 'From: "Alice Smith" <alice+list@Example.COM>' <<'EOF2'
mail: continue
eom: delete Authentication-Results 1
eom: insert 1 Authentication-Results: mx.test; auth=pass (PLAIN) smtp.auth=alice@example.com
eom: continue
EOF2
expect "envelope mismatch at MAIL" "${A[@]}" -f '<bob@example.com>' <<'EOF2'
mail: reply 553 5.7.1 Sender address <bob@example.com> rejected: not owned by login alice@example.com
EOF2
expect "malformed envelope at MAIL" "${A[@]}" -f '<@relay.example:alice@example.com>' <<'EOF2'
mail: reply 553 5.1.7 Sender address rejected: malformed address
EOF2
expect "null sender, forged From" "${A[@]}" -f '<>' -h 'From: ceo@example.com' <<'EOF2'
mail: continue
eom: reply 550 5.7.1 From address <ceo@example.com> rejected: not owned by login alice@example.com
EOF2
expect "address in an encoded display name" "${A[@]}" -f '<alice@example.com>' \
    -h 'From: =?utf-8?q?ceo=40example.com?= <alice@example.com>' <<'EOF2'
mail: continue
eom: reply 550 5.7.1 From display name claims <ceo@example.com>, which login alice@example.com may not use
EOF2
expect "encoded-word as the address" "${A[@]}" -f '<alice@example.com>' \
    -h 'From: =?utf-8?q?ceo?=@example.com' <<'EOF2'
mail: continue
eom: reply 550 5.7.1 Message rejected: malformed From header: encoded-word where an address belongs (login alice@example.com)
EOF2
expect "obsolete route" "${A[@]}" -f '<alice@example.com>' \
    -h 'From: <@example.com:ceo@bank.example>' <<'EOF2'
mail: continue
eom: reply 550 5.7.1 Message rejected: malformed From header: obsolete source route (login alice@example.com)
EOF2
expect "Sender not allowed" "${A[@]}" -f '<alice@example.com>' \
    -h 'From: alice@example.com, alias@example.com' -h 'Sender: ceo@example.com' <<'EOF2'
mail: continue
eom: reply 550 5.7.1 Sender address <ceo@example.com> rejected: not owned by login alice@example.com
EOF2
expect "two authors with an allowed Sender" "${A[@]}" -f '<alice@example.com>' \
    -h 'From: alice@example.com, alias@example.com' -h 'Sender: alice@example.com' <<'EOF2'
mail: continue
eom: insert 1 Authentication-Results: mx.test; auth=pass (PLAIN) smtp.auth=alice@example.com
eom: continue
EOF2
expect "8-bit address in a reply is escaped" "${A[@]}" -f '<alice@example.com>' \
    -h 'From: ceo@bücher.example' <<'EOF2'
mail: continue
eom: reply 550 5.7.1 From address <ceo@b\xC3\xBCcher.example> rejected: not owned by login alice@example.com
EOF2
expect "bare login with a domain rule, IDN-free" -m i=QID2 -m '{auth_authen}=bob' \
    -m '{auth_type}=CRAM-MD5' -f '<news@lists.example>' -h 'From: News <news@LISTS.example>' <<'EOF2'
mail: continue
eom: insert 1 Authentication-Results: mx.test; auth=pass (CRAM-MD5) smtp.auth=bob
eom: continue
EOF2
expect "several messages on one connection" "${A[@]}" -n 2 -f '<alias@example.com>' \
    -h 'From: alias@example.com' <<'EOF2'
mail: continue
eom: insert 1 Authentication-Results: mx.test; auth=pass (PLAIN) smtp.auth=alice@example.com
eom: continue
mail: continue
eom: insert 1 Authentication-Results: mx.test; auth=pass (PLAIN) smtp.auth=alice@example.com
eom: continue
EOF2
expect "unauthenticated: accepted, auth=none" -m i=QID3 -f '<x@remote.example>' \
    -h 'From: ceo@example.com' <<'EOF2'
mail: continue
eom: insert 1 Authentication-Results: mx.test; auth=none
eom: continue
EOF2
# A login with a line break cannot forge a log line (escaped by the logger).
"$CLIENT" -m i=QIDX -m $'{auth_authen}=mallory\nauthgate-milter[1]: info: forged' \
    -f '<x@example.com>' "unix:$SOCK" >/dev/null

# --- logging: one line per decision, escaped
sleep 0.2
n=$(grep -c 'qid=' "$T/milter.log")
decisions=$(grep -c 'verdict=' "$T/milter.log")
[ "$n" = "$decisions" ] && ok "every decision line carries a queue id ($n lines)" \
    || bad "decision lines: $decisions, with qid: $n"
line=$(grep 'qid=QID1 ' "$T/milter.log" | grep 'envfrom="<bob@example.com>"')
if grep -q 'login="alice@example.com" envfrom="<bob@example.com>" from="" verdict=reject class=mismatch rule="none" reason="envelope sender <bob@example.com> not allowed for alice@example.com"' <<<"$line"; then
    ok "MAIL decision logged"
else bad "MAIL decision log line: $line"; fi
line=$(grep 'qid=QID2 ' "$T/milter.log")
if grep -q 'login="bob" envfrom="<news@lists.example>" from="News <news@LISTS.example>" verdict=accept class=pass rule="allow @lists.example"' <<<"$line"; then
    ok "header decision logged with the deciding rule"
else bad "header decision log line: $line"; fi
if grep -q '^authgate-milter\[1\]: info: forged' "$T/milter.log"; then
    bad "a login with a line break forged a log line"
elif grep -q 'login="mallory\\x0aauthgate-milter\[1\]: info: forged"' "$T/milter.log"; then
    ok "untrusted login escaped in the log"
else bad "escaped login not found in the log"; fi

# --- SIGHUP: report_only
conf "$T/authgate.conf" "$SOCK" "report_only = yes"
kill -HUP "$PID"
sleep 0.5
expect "after SIGHUP report_only=yes, a mismatch is accepted" "${A[@]}" -f '<bob@example.com>' \
    -h 'From: bob@example.com' <<'EOF2'
mail: continue
eom: insert 1 Authentication-Results: mx.test; auth=pass (PLAIN) smtp.auth=alice@example.com
eom: continue
EOF2
grep -q 'verdict=accept would=reject (report_only) class=mismatch' "$T/milter.log" \
    && ok "report_only logs what it would have done" || bad "report_only log line missing"
# quarantine and header actions (reloaded)
conf "$T/authgate.conf" "$SOCK" "mismatch_action = quarantine" "malformed_action = header"
kill -HUP "$PID"
sleep 0.5
out=$(miltertest -D sock="unix:$SOCK" -D quarantine=yes -s "$S/mt_negotiate.lua" 2>&1)
grep -q "^PASS mt_negotiate" <<<"$out" && ok "SMFIF_QUARANTINE negotiated once an action needs it" \
    || { bad "negotiation with quarantine:"; echo "$out"; }
expect "mismatch_action=quarantine" "${A[@]}" -f '<alice@example.com>' -h 'From: ceo@example.com' <<'EOF2'
mail: continue
eom: insert 1 Authentication-Results: mx.test; auth=pass (PLAIN) smtp.auth=alice@example.com
eom: quarantine authgate mismatch: From address <ceo@example.com> rejected: not owned by login alice@example.com
eom: continue
EOF2
expect "malformed_action=header" "${A[@]}" -f '<alice@example.com>' -h 'From: Friends:;' \
    -h 'X-Authgate-Verdict: pass (forged)' <<'EOF2'
mail: continue
eom: delete X-Authgate-Verdict 1
eom: insert 1 Authentication-Results: mx.test; auth=pass (PLAIN) smtp.auth=alice@example.com
eom: add X-Authgate-Verdict: malformed; Message rejected: malformed From header: group syntax (login alice@example.com)
eom: continue
EOF2
expect "a MAIL-stage quarantine is applied at end of message" "${A[@]}" -f '<bob@example.com>' \
    -h 'From: alice@example.com' <<'EOF2'
mail: continue
eom: insert 1 Authentication-Results: mx.test; auth=pass (PLAIN) smtp.auth=alice@example.com
eom: quarantine authgate mismatch: Sender address <bob@example.com> rejected: not owned by login alice@example.com
eom: continue
EOF2
# A broken configuration is refused; the running one stays.
echo "no_such_key = 1" >> "$T/authgate.conf"
kill -HUP "$PID"
sleep 0.5
grep -q 'SIGHUP: .*unknown key.*keeping the running configuration' "$T/milter.log" \
    && ok "broken configuration refused on SIGHUP" || bad "broken configuration not reported"
kill -0 "$PID" 2>/dev/null && ok "still running after a bad SIGHUP" || bad "milter died on SIGHUP"
# An unreadable store: temporary failure, never accept.
conf "$T/authgate.conf" "$SOCK" "store = $T/nonexistent"
sed -i "1d" "$T/authgate.conf" # drop the first store line: one key once
kill -HUP "$PID"
sleep 0.5
expect "missing store: 451 4.3.0 at MAIL" "${A[@]}" -f '<alice@example.com>' <<'EOF2'
mail: reply 451 4.3.0 Temporary failure reading the send-as policy, try again later
EOF2
expect "missing store: 451 4.3.0 at end of message" "${A[@]}" -f '<>' -h 'From: alice@example.com' <<'EOF2'
mail: continue
eom: reply 451 4.3.0 Temporary failure reading the send-as policy, try again later
EOF2
conf "$T/authgate.conf" "$SOCK"
kill -HUP "$PID"
sleep 0.5
expect "store back after SIGHUP" "${A[@]}" -f '<alice@example.com>' -h 'From: alice@example.com' <<'EOF2'
mail: continue
eom: insert 1 Authentication-Results: mx.test; auth=pass (PLAIN) smtp.auth=alice@example.com
eom: continue
EOF2

# --- SIGTERM drains a message in flight
"$CLIENT" "${A[@]}" -s 2 -f '<alice@example.com>' -h 'From: alice@example.com' \
    "unix:$SOCK" > "$T/drain.out" 2>&1 &
CPID=$!
for _ in $(seq 50); do grep -q '^pause' "$T/drain.out" 2>/dev/null && break; sleep 0.05; done
kill -TERM "$PID"
sleep 0.5
if "$CLIENT" "${A[@]}" -f '<alice@example.com>' "unix:$SOCK" >/dev/null 2>&1; then
    bad "new connections accepted while draining"
else ok "no new connections after SIGTERM"; fi
wait "$CPID"
if grep -q '^eom: continue' "$T/drain.out"; then ok "message in flight finished during drain"
else bad "drained message:"; cat "$T/drain.out"; fi
wait "$PID"; rc=$?
[ $rc = 0 ] && ok "exit status 0 after drain" || bad "exit status $rc after SIGTERM"
[ ! -e "$T/milter.pid" ] && ok "pid file removed" || bad "pid file left behind"
[ ! -e "$SOCK" ] && ok "socket removed" || bad "socket left behind"

# --- -t, and daemon mode (detached; the command waits for readiness)
"$MILTER" -t -c "$T/authgate.conf" 2>/dev/null && ok "-t: usable configuration" \
    || bad "-t failed on a usable configuration"
conf "$T/bad.conf" "$T/d.sock" "store = $T/nonexistent"
sed -i "1d" "$T/bad.conf"
"$MILTER" -t -c "$T/bad.conf" 2>/dev/null && bad "-t passed with a missing store" \
    || ok "-t: missing store reported"
# authserv_id unset: the host name (RFC 8601 section 2.5)
grep -v '^authserv_id' "$T/authgate.conf" >"$T/noid.conf"
if "$MILTER" -t -c "$T/noid.conf" 2>"$T/noid.err" &&
    grep -qF "(authserv-id $(hostname))" "$T/noid.err"; then
    ok "-t: authserv_id defaults to the host name"
else
    bad "authserv_id without a setting: got $(cat "$T/noid.err"), want the host name $(hostname)"
fi
conf "$T/daemon.conf" "$T/d.sock"
sed -i "s|^milter_pidfile = .*|milter_pidfile = $T/d.pid|" "$T/daemon.conf"
if "$MILTER" -c "$T/daemon.conf"; then
    DPID=$(cat "$T/d.pid" 2>/dev/null)
    PIDS+=("$DPID")
    if [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null && [ -S "$T/d.sock" ]; then
        ok "daemon mode: returned 0 once listening (pid $DPID)"
    else bad "daemon mode: no live daemon behind the pid file"; fi
    out=$("$CLIENT" "${A[@]}" -f '<alice@example.com>' "unix:$T/d.sock" 2>&1)
    [ "$(head -1 <<<"$out")" = "mail: continue" ] && ok "daemon answers" || bad "daemon: $out"
    kill -TERM "$DPID"
    for _ in $(seq 100); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$DPID" 2>/dev/null && bad "daemon still running after SIGTERM" || ok "daemon stopped"
else
    bad "daemon mode: startup failed"
fi
conf "$T/nodir.conf" "$T/no/such/dir/m.sock"
"$MILTER" -c "$T/nodir.conf" 2>/dev/null && bad "daemon mode: started without its socket" \
    || ok "daemon mode: a socket that cannot be created fails the command"

# --- privileges (root only)
if [ "$(id -u)" = 0 ] && getent passwd nobody >/dev/null && getent group nogroup >/dev/null; then
    "$MKSTORE" -g nogroup "$T/store2" allow alice@example.com alias@example.com || exit 1
    mkdir -p "$T/run" && chown nobody "$T/run"
    conf "$T/drop.conf" "$T/run/m.sock" "milter_user = nobody"
    sed -i -e "s|^store = .*|store = $T/store2|" -e '/^milter_user = ""/d' \
        -e "s|^milter_pidfile = .*|milter_pidfile = $T/run/m.pid|" "$T/drop.conf"
    start "$T/drop.conf" "$T/drop.log" || exit 1
    uid=$(awk '/^Uid:/ {print $2 $3 $4 $5}' "/proc/$PID/status")
    nob=$(id -u nobody)
    [ "$uid" = "$nob$nob$nob$nob" ] && ok "dropped to nobody (uid $nob)" || bad "uids: $uid"
    [ "$(stat -c %U "$T/run/m.sock")" = nobody ] && ok "socket owned by milter_user" \
        || bad "socket owner $(stat -c %U "$T/run/m.sock")"
    out=$("$CLIENT" "${A[@]}" -f '<alias@example.com>' -h 'From: alias@example.com' "unix:$T/run/m.sock")
    grep -q '^eom: insert 1 Authentication-Results' <<<"$out" \
        && ok "store read through the policy group after dropping root" || bad "after drop: $out"
    kill -TERM "$PID"; wait "$PID"

    # As the systemd unit starts it: root with only CAP_CHOWN, CAP_SETUID
    # and CAP_SETGID (no CAP_DAC_OVERRIDE, no CAP_FOWNER), the socket in a
    # root-owned directory.  It cannot remove its socket at stop (and says
    # so); the next start replaces it although root may not probe it.
    if command -v setpriv >/dev/null; then
        install -d -m 0755 "$T/rrun"
        conf "$T/unit.conf" "$T/rrun/m.sock" "milter_user = nobody"
        sed -i -e "s|^store = .*|store = $T/store2|" -e '/^milter_user = ""/d' \
            -e "s|^milter_pidfile = .*|milter_pidfile = $T/rrun/m.pid|" "$T/unit.conf"
        unit=(setpriv --bounding-set=-all,+chown,+setuid,+setgid --no-new-privs --)
        for round in 1 2; do
            "${unit[@]}" "$MILTER" -f -c "$T/unit.conf" 2>"$T/unit$round.log" &
            PID=$!
            PIDS+=("$PID")
            for _ in $(seq 100); do grep -q 'ready on' "$T/unit$round.log" && break; sleep 0.05; done
            grep -q 'ready on' "$T/unit$round.log" && ok "unit capabilities, start $round" \
                || bad "unit capabilities, start $round: $(cat "$T/unit$round.log")"
            [ "$(stat -c '%a %U' "$T/rrun/m.sock")" = "660 nobody" ] \
                && ok "start $round: socket 0660 nobody (chmod before chown: no CAP_FOWNER)" \
                || bad "start $round: socket $(stat -c '%a %U' "$T/rrun/m.sock")"
            out=$("$CLIENT" "${A[@]}" -f '<alias@example.com>' "unix:$T/rrun/m.sock" 2>&1)
            [ "$(head -1 <<<"$out")" = "mail: continue" ] && ok "start $round: answers" \
                || bad "start $round: $out"
            kill -TERM "$PID"
            wait "$PID"
        done
        grep -q "cannot remove the socket unix:$T/rrun/m.sock: Permission denied" "$T/unit1.log" \
            && ok "the failed removal at stop is logged" || bad "stop: $(cat "$T/unit1.log")"
    else
        echo "# unit capabilities not checked: setpriv missing"
    fi
else
    echo "# privilege drop not checked: needs root, user nobody and group nogroup"
fi

echo "# $CHECKS checks, $FAILS failed"
[ "$FAILS" = 0 ]
