#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# test-demo.sh - runs `make demo`'s script non-interactively and checks its
# transcript, so that the demo cannot silently rot (suite 'integration').
#
# usage: test-demo.sh BUILDDIR
#
#   1. demo.sh: exit status 0; every step's SMTP replies, the milter's and
#      authd's log lines and the delivered Authentication-Results as
#      expected (exact reply texts, field by field); the summary line; and
#      afterwards nothing left: the sandbox is gone, no process mentions it
#      (command line or environment), /etc/postfix/main.cf no longer lists
#      its Postfix instance; README.md's transcript is the same (after
#      masking ports, queue ids, pids, times, the sandbox's name).
#   2. demo.sh --keep: returns while the demo keeps running, prints how to
#      reach it; the printed swaks command line really sends a message
#      (250), the printed manage command changes the rules and the next
#      message sees it; demo.sh --stop SANDBOX then leaves nothing behind.
# Prints how long each run took.  Exits 77 when the demo cannot run here
# (not root, authgatectl or another component not built).
set -u
BUILD=${1:?usage: $0 BUILDDIR}
HERE=$(cd "$(dirname "$0")" && pwd)
DEMO=$HERE/demo.sh
# shellcheck source=../docs/snippet.sh
. "$HERE/../docs/snippet.sh"
T=$(mktemp -d /tmp/authgate-demo-test.XXXXXX)
KEPT=
cleanup() {
    [ -z "$KEPT" ] || "$DEMO" --stop "$KEPT" >/dev/null 2>&1
    rm -rf "$T"
}
trap cleanup EXIT
FAILS=0 CHECKS=0

check() { # check NAME GOT WANT
    CHECKS=$((CHECKS + 1))
    if [ "$2" = "$3" ]; then
        echo "ok - $1"
    else
        FAILS=$((FAILS + 1))
        echo "not ok - $1: got ${2:-<nothing>}, want $3"
    fi
}

check_line() { # check_line NAME FILE FIXED-STRING: some line of FILE equals it
    CHECKS=$((CHECKS + 1))
    if grep -qxF -- "$3" "$2"; then
        echo "ok - $1"
    else
        FAILS=$((FAILS + 1))
        echo "not ok - $1: no line"
        echo "#   $3"
    fi
}

check_match() { # check_match NAME FILE ERE: some line of FILE matches
    CHECKS=$((CHECKS + 1))
    if grep -qE -- "$3" "$2"; then
        echo "ok - $1"
    else
        FAILS=$((FAILS + 1))
        echo "not ok - $1: no line matching"
        echo "#   $3"
    fi
}

# leftovers SANDBOX: what still refers to the sandbox, 5 s after the
# demo ended (the lab's watchdog notices the end within a second).
leftovers() {
    local i
    for ((i = 0; i < 50; i++)); do
        [ -n "$(leftovers_now "$1")" ] || return 0
        sleep 0.1
    done
    leftovers_now "$1"
}

leftovers_now() {
    local sb=$1 p
    [ ! -e "$sb" ] || echo "directory $sb"
    for p in /proc/[0-9]*; do
        if grep -qsF -- "$sb" "$p/cmdline" "$p/environ" 2>/dev/null; then
            echo "process ${p#/proc/}: $(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)"
        fi
    done
    if grep -qsF -- "$sb" /etc/postfix/main.cf; then
        echo "/etc/postfix/main.cf lists it"
    fi
}

# mask: what differs between two runs of the demo.
mask() {
    sed -E -e '/^# /d' \
        -e 's/queued as [0-9A-F]+/queued as QID/' -e 's/qid=[0-9A-F]+/qid=QID/' \
        -e 's#/tmp/aglab\.[A-Za-z0-9]+#SANDBOX#' -e 's/127\.0\.0\.1:[0-9]+/127.0.0.1:PORT/g' \
        -e 's/peer=pid:[0-9]+,uid:[0-9]+ ms=[0-9]+/peer=pid:P,uid:U ms=MS/' \
        -e 's/\(setup [0-9.]+ s, total [0-9.]+ s\)/(setup S s, total T s)/' \
        -e 's/Postfix [0-9.]+ on/Postfix V on/' -e 's/SCRAM -> .*libauthgate\.so$/SCRAM -> PLUGIN/'
}

# ---------------------------------------------------------------- 1. demo
t0=$(date +%s.%N)
"$DEMO" --build "$BUILD" >"$T/out" 2>&1
rc=$?
secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
sed 's/^/# | /' "$T/out"
if [ "$rc" = 77 ]; then
    echo "SKIP: the demo cannot run here (see above)"
    exit 77
fi
echo "# demo.sh took $secs s, stop and cleanup included"
check "demo.sh exit status" "$rc" 0
O=$T/out
check_match "banner names the Postfix version and port" "$O" \
    '^authgate demo: Postfix 3\.[0-9]+\.[0-9]+ on 127\.0\.0\.1:[0-9]+ \(submission, smtpd chrooted\)$'
check_line "step 1 title" "$O" "[1] legitimate: alice@example.org logs in and sends as herself"
check_line "step 1 AUTH" "$O" "    AUTH PLAIN   235 2.7.0 Authentication successful"
check_match "step 1 end of DATA" "$O" '^    end of DATA  250 2\.0\.0 Ok: queued as [0-9A-F]+$'
check_match "step 1 milter line" "$O" \
    '^    milter       qid=[0-9A-F]+ login="alice@example\.org" envfrom="<alice@example\.org>" from="Alice <alice@example\.org>" verdict=accept class=pass rule="self" reason="From allowed"$'
check_line "step 1 Authentication-Results" "$O" \
    "    delivered    Authentication-Results: mx.lab.test; auth=pass (PLAIN) smtp.auth=alice@example.org"
check_line "step 2 MAIL refused" "$O" \
    "    MAIL FROM    553 5.7.1 Sender address <bob@example.org> rejected: not owned by login alice@example.org"
check_match "step 2 milter line" "$O" \
    '^    milter       qid=- login="alice@example\.org" envfrom="<bob@example\.org>" from="" verdict=reject class=mismatch rule="none" '
check_line "step 3 end of DATA refused" "$O" \
    "    end of DATA  550 5.7.1 From address <bob@example.org> rejected: not owned by login alice@example.org"
check_match "step 3 milter line" "$O" \
    '^    milter       qid=[0-9A-F]+ login="alice@example\.org" envfrom="<alice@example\.org>" from="Bob <bob@example\.org>" verdict=reject class=mismatch '
check_line "step 4 AUTH refused" "$O" \
    "    AUTH PLAIN   535 5.7.8 Error: authentication failed: authentication failure"
check_match "step 4 authd line" "$O" \
    '^    authd        login="bob" realm="example\.org" service="smtp" result=NO reason="wrong password" '
check_line "step 5 sink" "$O" "[5] the smtp-sink holds 1 message(s)"
check "every step as expected" "$(grep -c '^    as expected  ' "$O")" 5
check "no step unexpected" "$(grep -c 'NOT EXPECTED' "$O")" 0
check_match "summary" "$O" '^demo: all 5 steps behaved as expected \(setup [0-9.]+ s, total [0-9.]+ s\)$'
readme=$(snippet_get readme-demo-transcript | mask)
got=$(mask <"$O")
CHECKS=$((CHECKS + 1))
if [ "$got" = "$readme" ]; then
    echo "ok - README.md's transcript is the demo's"
else
    FAILS=$((FAILS + 1))
    echo "not ok - README.md's transcript is not the demo's (masked, - README, + demo):"
    diff <(printf '%s\n' "$readme") <(printf '%s\n' "$got") | sed 's/^/#   /'
fi
sb=$(sed -n 's/^  sandbox \(\/[^ ]*\) .*/\1/p' "$O")
check_match "the transcript names its sandbox" "$O" '^  sandbox /tmp/aglab\.[A-Za-z0-9]+ \(removed when the demo ends\)$'
if [ -n "$sb" ]; then
    check "nothing left of $sb" "$(leftovers "$sb")" ""
fi

# ---------------------------------------------------------------- 2. --keep
t0=$(date +%s.%N)
"$DEMO" --build "$BUILD" --keep >"$T/keep" 2>&1
rc=$?
secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
echo "# demo.sh --keep returned after $secs s"
K=$T/keep
check "demo.sh --keep exit status" "$rc" 0
KEPT=$(sed -n 's/^The demo is still running (KEEP=1)\.  Sandbox: //p' "$K")
check_match "--keep says where it runs" "$K" '^The demo is still running \(KEEP=1\)\.  Sandbox: /tmp/aglab\.'
if [ -n "$KEPT" ]; then
    port=$(sed -n 's/^  submission  127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$K")
    check_match "--keep: the submission port listens after demo.sh returned" \
        <(ss -Hltn "sport = :$port" 2>/dev/null) "127\.0\.0\.1:$port"
    # The printed commands, as a user would paste them.
    try=$(sed -n '/^  try         swaks/,/^              gsasl/p' "$K" | sed '$d' | sed 's/^  try  *//; s/^  *//')
    bash -c "$try" >"$T/try" 2>&1
    check_match "--keep: the printed swaks command delivers" "$T/try" '^<~  250 2\.0\.0 Ok: queued as '
    gs=$(sed -n '/^              gsasl/,/-p /p' "$K" | sed 's/^  *//')
    bash -c "$gs" </dev/null >"$T/gsasl" 2>&1
    check "--keep: the printed gsasl command (SCRAM-SHA-256 from the plugin)" \
        "$(grep -c '^235 ' "$T/gsasl")" 1
    bobsales() {
        swaks --server "127.0.0.1:$port" --tls --auth PLAIN --auth-user bob@example.org \
            --auth-password Bob-s3cret --from sales@example.org --to friend@example.net 2>&1 |
            awk '/^ *(->|~>) MAIL FROM/ { m = 1; next }
                 m && /^<[-~*]+ +[0-9][0-9][0-9] / { sub(/^<[-~*]+ +/, ""); print substr($0, 1, 3); exit }'
    }
    check "--keep: bob may not send as sales@ yet" "$(bobsales)" 553
    manage=$(sed -n 's/^  manage      //p' "$K")
    bash -c "$manage" >"$T/manage" 2>&1
    check "--keep: the printed manage command works" "$?" 0
    check "--keep: the next message sees the new rule" "$(bobsales)" 250
    stop=$(sed -n 's/^  stop        //p' "$K")
    bash -c "$stop" >"$T/stop" 2>&1
    check "--keep: the printed stop command" "$?" 0
    check "--keep: nothing left after --stop" "$(leftovers "$KEPT")" ""
    KEPT=
fi

echo "# $((CHECKS - FAILS)) passed, $FAILS failed"
[ "$FAILS" = 0 ]
