#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# demo.sh - authgate for real, in a sandbox: `make demo`.
#
#   tests/demo/demo.sh [--build DIR] [--keep]
#   tests/demo/demo.sh --stop SANDBOX
#
# Runs, as root, on loopback ports picked at run time (tests/lab/lab.sh does
# the mechanics: sandbox, ports, Postfix instance, cleanup):
#   - a store made with authgatectl (docs/guide-postfix.md's commands):
#     alice@example.org (may also send as sales@example.org), bob@example.org;
#   - authgate-authd and authgate-milter, as their own users, with the
#     guide's authgate.conf;
#   - Postfix 3.7, smtpd chrooted as on Debian, a submission port with TLS
#     and SMTP AUTH through libsasl2 (the guide's smtpd.conf: PLAIN/LOGIN to
#     authgate-authd, SCRAM from the authgate plugin), the milter attached,
#     relaying to an smtp-sink;
# then sends four messages with swaks (a legitimate one, an envelope spoof,
# a header From spoof, a wrong password) and prints what happened to each:
# the SMTP replies, the milter's (or authd's) log line, and the delivered
# message's Authentication-Results.  Exit status 0 when every step behaved
# as expected, 1 when one did not, 77 when the demo cannot run here (not
# root, a component not built).
#
# Without --keep everything is stopped and the sandbox removed at exit.
# With --keep the demo stays up in a detached holder process (the lab's
# owner, so the lab's own cleanup runs when it ends) and this script prints
# how to reach it and how to stop it (--stop SANDBOX, or kill).
#
# Binaries: DIR/tools/authgatectl, DIR/plugin/authd/authgate-authd,
# DIR/milter/authgate-milter, DIR/plugin/libauthgate.so (DIR defaults to
# ./build of the source tree), or the environment variables DEMO_CTL,
# DEMO_AUTHD, DEMO_MILTER, DEMO_PLUGIN.  An installed libauthgate.so in
# libsasl2's plugin directory is used instead of the build's (two copies
# would open the store twice in one smtpd).
#
# The system accounts the Debian packages create (groups authgate-secrets
# and authgate-policy, users authgate-authd and authgate-milter) are created
# if missing, as the packages would, and left in place.
set -u

DEMO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DEMO_TOP=$(cd "$DEMO_DIR/../.." && pwd)
# shellcheck source=../docs/snippet.sh
. "$DEMO_TOP/tests/docs/snippet.sh"
# shellcheck source=../docs/guide.sh
. "$DEMO_TOP/tests/docs/guide.sh"

DEMO_BOB_PW='Bob-s3cret'
DEMO_ALICE_PW='Alice-s3cret' # the guide's; checked against it below
DEMO_WRONG_PW='not-the-password'
DEMO_RCPT=friend@example.net

demo_usage() {
    echo "usage: $0 [--build DIR] [--keep] | --stop SANDBOX" >&2
    exit 2
}

# ------------------------------------------------------------ setup

demo_setup() {
    guide_accounts
    [ "$(snippet_get postfix-store | grep -c "'$DEMO_ALICE_PW'")" = 1 ] ||
        lab_fail "the guide no longer sets alice's password to $DEMO_ALICE_PW: update demo.sh"
    guide_postfix_stack demo
    DEMO_CONF=$GUIDE_CONF
    printf '%s\n' "$DEMO_BOB_PW" | "$CTL" --config "$DEMO_CONF" user add bob@example.org \
        --password-stdin >>"$LAB/log/demo-setup.out" 2>&1 || lab_fail "authgatectl user add bob failed"
    DEMO_PORT=$(lab_get demo port)
    DEMO_CHROOT="not chrooted"
    [[ " ${GUIDE_PF[*]} " != *" --chroot "* ]] || DEMO_CHROOT=chrooted
}

# ------------------------------------------------------------ SMTP

# demo_swaks FILE SWAKS_ARG...: one session over TLS, transcript in FILE.
demo_swaks() {
    local f=$1
    shift
    guide_swaks "$f" "$DEMO_PORT" "$@"
}

# demo_newlines FILE FROM: the lines of FILE after line FROM.
demo_newlines() {
    tail -n "+$(($2 + 1))" "$1"
}

demo_lines() {
    wc -l <"$1"
}

# ------------------------------------------------------------ the steps

DEMO_PASS=0
DEMO_FAIL=0

# demo_verdict OK TEXT: print the step's conclusion and count it.
demo_verdict() {
    if [ "$1" = 1 ]; then
        printf '    %-12s %s\n' "as expected" "$2"
        DEMO_PASS=$((DEMO_PASS + 1))
    else
        printf '    %-12s %s\n' "NOT EXPECTED" "$2"
        DEMO_FAIL=$((DEMO_FAIL + 1))
    fi
}

demo_show() {
    printf '    %-12s %s\n' "$1" "$2"
}

# demo_milter_line FROM: the milter's decision line logged since line FROM,
# from "qid=" on.
demo_milter_line() {
    demo_newlines "$(lab_get demo-milter out)" "$1" | grep -o 'qid=.*' | tail -1
}

demo_step_legit() {
    local t=$LAB/log/step1 m auth mail eod ml ar want ok=1 cmd
    m=$(demo_lines "$(lab_get demo-milter out)")
    echo "[1] legitimate: alice@example.org logs in and sends as herself"
    # The guide's own test command, pointed at this instance.
    cmd=$(snippet_get postfix-try "mail.example.org:587=127.0.0.1:$DEMO_PORT") || lab_fail "snippet"
    bash -c "$cmd --helo client.example.net" >"$t" 2>&1
    auth=$(guide_reply "$t" AUTH)
    mail=$(guide_reply "$t" MAIL)
    eod=$(guide_reply "$t" EOD)
    ml=$(demo_milter_line "$m")
    demo_show "AUTH PLAIN" "$auth"
    demo_show "MAIL FROM" "$mail"
    demo_show "end of DATA" "$eod"
    demo_show "milter" "${ml:-(no log line)}"
    ar=$(lab_sink_find demo-sink From "Alice <alice@example.org>" 20 | grep -i '^Authentication-Results:')
    demo_show "delivered" "${ar:-(nothing reached the smtp-sink)}"
    want=$(snippet_get postfix-authres "mail.example.org=$LAB_HOST")
    [ "$(guide_code "$auth")" = 235 ] || ok=0
    [ "$(guide_code "$mail")" = 250 ] || ok=0
    [ "$(guide_code "$eod")" = 250 ] || ok=0
    [[ $ml == *verdict=accept* ]] || ok=0
    [ "$ar" = "$want" ] || ok=0
    demo_verdict "$ok" "accepted, delivered with the Authentication-Results the guide shows"
}

demo_step_envelope() {
    local t=$LAB/log/step2 m auth mail ml ok=1
    m=$(demo_lines "$(lab_get demo-milter out)")
    echo "[2] envelope spoof: alice@example.org sends MAIL FROM:<bob@example.org>"
    demo_swaks "$t" --auth PLAIN --auth-user alice@example.org --auth-password "$DEMO_ALICE_PW" \
        --from bob@example.org --to "$DEMO_RCPT" --header "Subject: envelope spoof"
    auth=$(guide_reply "$t" AUTH)
    mail=$(guide_reply "$t" MAIL)
    ml=$(demo_milter_line "$m")
    demo_show "AUTH PLAIN" "$auth"
    demo_show "MAIL FROM" "$mail"
    demo_show "milter" "${ml:-(no log line)}"
    [ "$(guide_code "$auth")" = 235 ] || ok=0
    [[ $mail == "553 5.7.1 "* ]] || ok=0
    [[ $ml == *verdict=reject* ]] || ok=0
    demo_verdict "$ok" "refused at MAIL FROM"
}

demo_step_header() {
    local t=$LAB/log/step3 m auth mail eod ml ok=1
    m=$(demo_lines "$(lab_get demo-milter out)")
    echo "[3] header spoof: alice@example.org, MAIL FROM:<alice@example.org>, From: Bob <bob@example.org>"
    demo_swaks "$t" --auth PLAIN --auth-user alice@example.org --auth-password "$DEMO_ALICE_PW" \
        --from alice@example.org --to "$DEMO_RCPT" --header "From: Bob <bob@example.org>" \
        --header "Subject: header spoof"
    auth=$(guide_reply "$t" AUTH)
    mail=$(guide_reply "$t" MAIL)
    eod=$(guide_reply "$t" EOD)
    ml=$(demo_milter_line "$m")
    demo_show "AUTH PLAIN" "$auth"
    demo_show "MAIL FROM" "$mail"
    demo_show "end of DATA" "$eod"
    demo_show "milter" "${ml:-(no log line)}"
    [ "$(guide_code "$auth")" = 235 ] || ok=0
    [ "$(guide_code "$mail")" = 250 ] || ok=0
    [[ $eod == "550 5.7.1 "* ]] || ok=0
    [[ $ml == *verdict=reject* ]] || ok=0
    demo_verdict "$ok" "refused at the end of DATA"
}

demo_step_password() {
    local t=$LAB/log/step4 a auth al ok=1
    a=$(demo_lines "$(lab_get demo-authd out)")
    echo "[4] wrong password: bob@example.org"
    demo_swaks "$t" --auth PLAIN --auth-user bob@example.org --auth-password "$DEMO_WRONG_PW" \
        --from bob@example.org --to "$DEMO_RCPT"
    auth=$(guide_reply "$t" AUTH)
    al=$(demo_newlines "$(lab_get demo-authd out)" "$a" | grep -o 'login=.*' | tail -1)
    demo_show "AUTH PLAIN" "$auth"
    demo_show "authd" "${al:-(no log line)}"
    [ "$(guide_code "$auth")" = 535 ] || ok=0
    [[ $al == *'result=NO reason="wrong password"'* ]] || ok=0
    demo_verdict "$ok" "refused with 535 (authgate-authd checked the yescrypt hash)"
}

demo_steps() {
    local n ok=1
    demo_step_legit
    demo_step_envelope
    demo_step_header
    demo_step_password
    # Postfix may still be relaying a refused message: give it a moment.
    sleep 0.5
    n=$(lab_sink_count demo-sink)
    [ "$n" = 1 ] || ok=0
    echo "[5] the smtp-sink holds $n message(s)"
    demo_verdict "$ok" "only the legitimate message was delivered"
}

demo_keep_info() {
    cat <<EOF

The demo is still running (KEEP=1).  Sandbox: $LAB
  submission  127.0.0.1:$DEMO_PORT  STARTTLS required; PLAIN LOGIN (authgate-authd) SCRAM-SHA-256 SCRAM-SHA-1 (plugin)
  smtp-sink   127.0.0.1:$(lab_get demo-sink port)  every delivered message is a file in $(lab_get demo-sink dir)/
  logins      alice@example.org / $DEMO_ALICE_PW   (may also send as sales@example.org)
              bob@example.org   / $DEMO_BOB_PW
  try         swaks --server 127.0.0.1:$DEMO_PORT --tls --auth PLAIN --auth-user alice@example.org \\
                --auth-password '$DEMO_ALICE_PW' --from alice@example.org --to $DEMO_RCPT \\
                --header 'From: Sales <sales@example.org>'
              gsasl --smtp --connect=127.0.0.1:$DEMO_PORT --x509-ca-file=$LAB/tls/cert.pem --no-cb -m SCRAM-SHA-256 \\
                -a bob@example.org -p '$DEMO_BOB_PW'
  manage      $CTL --config $DEMO_CONF sender allow bob@example.org sales@example.org
              (the next message sees the change; no reload)
  logs        $(lab_get demo log) (Postfix), $(lab_get demo-milter out), $(lab_get demo-authd out)
  stop        $DEMO_DIR/demo.sh --stop $LAB
EOF
}

# demo_main KEEP: the whole demo in this shell (KEEP=1: report readiness
# and wait for SIGTERM instead of ending).
demo_main() {
    local keep=$1 t0 setup_s rc t
    t0=$(date +%s.%N)
    # shellcheck source=../lab/lab.sh
    . "$DEMO_TOP/tests/lab/lab.sh"
    for t in openssl useradd groupadd; do
        command -v "$t" >/dev/null || {
            echo "demo: $t not found (packaging/deps.sh installs it)" >&2
            exit 77
        }
    done
    lab_init postfix sink swaks
    demo_starttime "$$" >"$LAB/state/holder.starttime"
    echo "$$" >"$LAB/state/holder.pid"
    [ "$keep" = 0 ] || echo "@@SANDBOX $LAB"
    demo_setup
    setup_s=$(demo_since "$t0")
    echo "authgate demo: Postfix $(postconf -h mail_version) on 127.0.0.1:$DEMO_PORT (submission, smtpd $DEMO_CHROOT)"
    if [ "$keep" = 1 ]; then
        echo "  sandbox $LAB (kept running: see the end)"
    else
        echo "  sandbox $LAB (removed when the demo ends)"
    fi
    echo "  AUTH through libsasl2: PLAIN/LOGIN -> authgate-authd, SCRAM -> $GUIDE_PLUGIN_NOTE"
    echo "  authgate-milter attached; mail relayed to an smtp-sink on 127.0.0.1:$(lab_get demo-sink port)"
    echo "  store: alice@example.org (may also send as sales@example.org), bob@example.org"
    echo
    demo_steps
    echo
    if [ "$DEMO_FAIL" = 0 ]; then
        rc=0
        echo "demo: all $DEMO_PASS steps behaved as expected (setup ${setup_s} s, total $(demo_since "$t0") s)"
    else
        rc=1
        echo "demo: $DEMO_FAIL of $((DEMO_PASS + DEMO_FAIL)) steps did NOT behave as expected; logs in $LAB/log, $(lab_get demo log)"
        # shellcheck disable=SC2034 # read by lab.sh's cleanup: keep the logs
        LAB_KEEP=1
    fi
    if [ "$keep" = 1 ]; then
        demo_keep_info
        echo "@@READY $rc"
        exec >>"$LAB/log/holder.out" 2>&1
        while :; do
            sleep 1
        done
    fi
    return "$rc"
}

# demo_hold OUT ARGS...: run the demo in a detached holder, print its
# report once it is up, and leave it running.
demo_keep() {
    local out pid rc
    out=$(mktemp /tmp/authgate-demo.XXXXXX) || exit 1
    setsid "$DEMO_DIR/demo.sh" --hold "$@" </dev/null >"$out" 2>&1 &
    pid=$!
    while ! grep -q '^@@READY' "$out"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            wait "$pid"
            rc=$?
            grep -v '^@@' "$out"
            rm -f "$out"
            exit "$rc"
        fi
        sleep 0.2
    done
    grep -v '^@@' "$out"
    rc=$(sed -n 's/^@@READY //p' "$out")
    rm -f "$out"
    exit "$rc"
}

# demo_starttime PID: the process start time (field 22 of /proc/PID/stat).
demo_starttime() {
    awk '{ sub(/.*\) /, ""); split($0, f, " "); print f[20] }' "/proc/$1/stat" 2>/dev/null
}

# demo_since T0: seconds since T0 (date +%s.%N), one decimal.
demo_since() {
    awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f\n", b - a }'
}

# demo_stop SANDBOX: end a kept demo (its holder's EXIT trap stops
# everything and removes the sandbox).
demo_stop() {
    local sb=$1 pid start now i
    pid=$(cat "$sb/state/holder.pid" 2>/dev/null)
    start=$(cat "$sb/state/holder.starttime" 2>/dev/null)
    if [ -z "$pid" ] || [ -z "$start" ]; then
        echo "demo: $sb is not a running demo's sandbox" >&2
        exit 1
    fi
    now=$(demo_starttime "$pid")
    if [ "$now" != "$start" ]; then
        echo "demo: the demo of $sb is no longer running" >&2
        exit 1
    fi
    kill -TERM "$pid"
    for ((i = 0; i < 600; i++)); do
        [ -d "/proc/$pid" ] || break
        sleep 0.1
    done
    if [ -d "/proc/$pid" ]; then
        echo "demo: holder $pid did not stop within 60 s" >&2
        exit 1
    fi
    echo "demo stopped; sandbox $sb removed"
}

main() {
    local build=$DEMO_TOP/build keep=0 hold=0 args=()
    while [ $# -gt 0 ]; do
        case $1 in
        --build) build=$2 && args+=(--build "$2") && shift 2 ;;
        --keep) keep=1 && shift ;;
        --hold) hold=1 && shift ;;
        --stop) [ $# -ge 2 ] || demo_usage; demo_stop "$2"; exit $? ;;
        *) demo_usage ;;
        esac
    done
    if [ "$(id -u)" != 0 ]; then
        echo "demo: run as root (it starts Postfix and authgate's daemons in a sandbox)" >&2
        exit 77
    fi
    guide_binaries "$build"
    if [ "$hold" = 1 ]; then
        demo_main 1
    elif [ "$keep" = 1 ]; then
        demo_keep "${args[@]}"
    else
        demo_main 0
    fi
}

main "$@"
