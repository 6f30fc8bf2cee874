# shellcheck shell=bash source-path=SCRIPTDIR
# rl.sh - what the reliability tests (test-*.sh beside this file) share, on
# top of the MTA lab (tests/lab/lab.sh: sandbox, daemons, Postfix, sinks,
# cleanup).  Source it, then call rl_init.
#
# Environment (set by meson, tests/reliability/meson.build):
#   RL_AUTHGATECTL RL_MILTER RL_AUTHD RL_PLUGIN  the built programs
#   RL_BIN          the directory of the rl-* helper programs
#   AUTHGATE_PLUGIN_PATH  where rl-sasl-load finds libauthgate.so
#   RELIAB_FULL=1   the full counts of issue 7 (tests/reliability/run
#                   --full); otherwise the reduced counts of make check
#
# FUNCTIONS
#   rl_init FEATURE...     lab_init FEATURE... and the checks above (exit
#                          77 outside meson); sets RL_FULL (0 or 1)
#   rl_pick REDUCED FULL   print REDUCED, or FULL when RL_FULL=1
#   rl_figure NAME TEXT    print "FIGURE: NAME: TEXT" (run collects these)
#   rl_ctl ARG...          authgatectl with --store $RL_STORE
#   rl_conf FILE KEY=VALUE...   write an authgate.conf (a later KEY=VALUE
#                          replaces an earlier one)
#   rl_store DIR [INIT_OPTION]...   authgatectl init (as root) into DIR,
#                          groups from $RL_SECRETS_GROUP / $RL_POLICY_GROUP
#                          (default: root); sets RL_STORE
#   rl_user LOGIN PASSWORD   authgatectl user add (password on stdin)
#   rl_milter_start NAME CONF   authgate-milter -f -c CONF; waits for its
#                          socket (the conf's milter_socket, unix:)
#   rl_authd_start NAME CONF    authgate-authd -f -c CONF; waits for its
#                          socket
#   RL_WRAP=(valgrind ...)  a command both start the daemons under
#   rl_sasl_conf FILE STORE PWCHECK [SOCKET]   libsasl2 config for smtpd:
#                          auxprop authgate, mech_list PLAIN LOGIN CRAM-MD5
#                          SCRAM-SHA-256, saslauthd_path SOCKET
#   rl_proc PID            print "rss_kb fds threads" of a process
#   rl_pid NAME            the pid of a lab daemon
#   rl_wait_pids PID...    wait for background jobs (of this shell: not in
#                          a subshell); RL_FAILED gets how many failed
#
# Lookups while the store changes (test-kill-writer.sh, test-growth.sh):
#   rl_stable_users        in $RL_STORE: logins s0..s3@stable.test
#                          (password Stable-pw-N), s0 may also use
#                          @shared.test; the answers that must hold
#                          meanwhile in $LAB/sasl.cases and $LAB/milter.cases
#   rl_stable_load N       authgate-milter "milter" on $RL_STORE (socket
#                          $LAB/milter/milter.sock), then N rl-sasl-load
#                          and N rl-milter-load asking those cases in the
#                          background ($LAB/log/sasl-I.out, milter-I.out)
#                          until $RL_STOP exists; pids in RL_LOAD_PIDS
#   rl_stable_stop         create $RL_STOP, wait for them (RL_FAILED)
#   rl_load_totals         print "EXCHANGES WRONG TEMP DECISIONS WRONG
#                          TEMP+LOST", summed over their last lines

# shellcheck source=../lab/lab.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lab/lab.sh"

RL_FULL=0
RL_STORE=
RL_WRAP=()
RL_SECRETS_GROUP=${RL_SECRETS_GROUP:-root}
RL_POLICY_GROUP=${RL_POLICY_GROUP:-root}

rl_init() {
    local v
    lab_init "$@"
    for v in RL_AUTHGATECTL RL_MILTER RL_AUTHD RL_PLUGIN RL_BIN; do
        if [ -z "${!v:-}" ] || [ ! -e "${!v}" ]; then
            lab_skip "$v is not set to a built file (run through meson test or tests/reliability/run)"
        fi
    done
    [ "${RELIAB_FULL:-0}" = 1 ] && RL_FULL=1
    mkdir -p "$LAB/plugins"
    chmod 0755 "$LAB/plugins"
    cp "$RL_PLUGIN" "$LAB/plugins/libauthgate.so" && chmod 0644 "$LAB/plugins/libauthgate.so" ||
        lab_fail "cannot copy the plugin"
}

rl_pick() {
    if [ "$RL_FULL" = 1 ]; then echo "$2"; else echo "$1"; fi
}

rl_figure() {
    local name=$1
    shift
    echo "FIGURE: $name: $*"
}

rl_ctl() {
    "$RL_AUTHGATECTL" --config /dev/null --store "$RL_STORE" "$@"
}

rl_conf() {
    local file=$1 kv k
    local -A val=()
    local order=()
    shift
    for kv in "$@"; do
        k=${kv%%=*}
        [ -n "${val[$k]+x}" ] || order+=("$k")
        val[$k]=${kv#*=}
    done
    : >"$file"
    for k in "${order[@]}"; do
        printf '%s = %s\n' "$k" "${val[$k]}" >>"$file"
    done
}

rl_store() {
    local dir=$1
    shift
    RL_STORE=$dir
    rl_conf "$LAB/ctl.conf" "store=$dir" "secrets_group=$RL_SECRETS_GROUP" \
        "policy_group=$RL_POLICY_GROUP"
    "$RL_AUTHGATECTL" --config "$LAB/ctl.conf" init "$@" >"$LAB/log/init.out" 2>&1 ||
        lab_fail "authgatectl init: $(cat "$LAB/log/init.out")"
}

rl_user() {
    printf '%s\n' "$2" | rl_ctl user add "$1" --password-stdin >>"$LAB/log/ctl.out" 2>&1 ||
        lab_fail "authgatectl user add $1: $(tail -2 "$LAB/log/ctl.out")"
}

rl__conf_get() {
    sed -n "s/^$2 = //p" "$1" | tail -1
}

rl_milter_start() {
    local name=$1 conf=$2 sock
    sock=$(rl__conf_get "$conf" milter_socket)
    sock=${sock#unix:}
    mkdir -p "$(dirname "$sock")"
    lab__set "$name" socket "$sock"
    lab__set "$name" conf "$conf"
    lab_daemon_start "$name" --ready-file "$sock" -- ${RL_WRAP[@]+"${RL_WRAP[@]}"} \
        "$RL_MILTER" -f -c "$conf"
}

rl_authd_start() {
    local name=$1 conf=$2 sock
    sock=$(rl__conf_get "$conf" authd_socket)
    mkdir -p "$(dirname "$sock")"
    lab__set "$name" socket "$sock"
    lab__set "$name" conf "$conf"
    lab_daemon_start "$name" --ready-file "$sock" -- ${RL_WRAP[@]+"${RL_WRAP[@]}"} \
        "$RL_AUTHD" -f -c "$conf"
}

rl_sasl_conf() {
    {
        echo "pwcheck_method: $3"
        [ -z "${4:-}" ] || echo "saslauthd_path: $4"
        echo "auxprop_plugin: authgate"
        echo "authgate_store: $2"
        echo "mech_list: PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256"
        echo "log_level: 5"
    } >"$1"
}

rl_proc() {
    local pid=$1 rss thr fds
    rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
    thr=$(awk '/^Threads:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
    fds=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
    echo "${rss:-0} ${fds:-0} ${thr:-0}"
}

rl_pid() {
    lab_get "$1" pid
}

rl_wait_pids() {
    local p
    RL_FAILED=0
    for p in "$@"; do
        wait "$p" || RL_FAILED=$((RL_FAILED + 1))
    done
}

RL_STOP=
RL_LOAD_PIDS=()

rl_stable_users() {
    local i
    for i in 0 1 2 3; do
        rl_user "s$i@stable.test" "Stable-pw-$i"
    done
    rl_ctl sender allow s0@stable.test @shared.test >>"$LAB/log/ctl.out" 2>&1 ||
        lab_fail "sender allow"
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
}

rl_stable_load() {
    local i
    rl_conf "$LAB/milter.conf" "store=$RL_STORE" "milter_socket=unix:$LAB/milter/milter.sock" \
        'milter_user=""' "milter_pidfile=$LAB/run/milter.pid" "milter_socket_mode=0600" \
        "authserv_id=mx.lab.test" "milter_timeout=10"
    rl_milter_start milter "$LAB/milter.conf"
    RL_STOP=$LAB/stop
    RL_LOAD_PIDS=()
    for ((i = 1; i <= $1; i++)); do
        "$RL_BIN/rl-sasl-load" -S "$RL_STOP" "$RL_STORE" "$LAB/sasl.cases" \
            >"$LAB/log/sasl-$i.out" 2>&1 &
        RL_LOAD_PIDS+=($!)
        "$RL_BIN/rl-milter-load" -S "$RL_STOP" "unix:$LAB/milter/milter.sock" \
            "$LAB/milter.cases" >"$LAB/log/milter-$i.out" 2>&1 &
        RL_LOAD_PIDS+=($!)
    done
}

rl_stable_stop() {
    touch "$RL_STOP"
    rl_wait_pids "${RL_LOAD_PIDS[@]}"
}

rl_load_totals() {
    awk '/^sasl-load: exchanges/ { n += $3; w += $11; t += $9 }
        END { printf "%d %d %d ", n, w, t }' "$LAB"/log/sasl-*.out
    awk '/^milter-load: decisions/ { n += $3; w += $13; t += $9 + $11 }
        END { printf "%d %d %d\n", n, w, t }' "$LAB"/log/milter-*.out
}

# ------------------------------------------------------------ the stack
#
#   rl_stack_store         the store the stack uses, $LAB/store: mechanisms
#                          SCRAM-SHA-256 CRAM-MD5 (PLAIN/LOGIN go through
#                          authd), logins alice@example.com and
#                          bob@example.com ($RL_PW), alice may also use
#                          shared@example.com; example.com is local.
#                          secrets/ group postfix, policy/ group nogroup.
#   rl_stack_start [--milter-action A] [--main 'K = V']... [--sub-o K=V]...
#                          authgate-authd "authd" (user postfix, socket in
#                          the jail), authgate-milter "milter" (user nobody,
#                          socket in the jail), smtp-sink "sink", Postfix
#                          "pf" (chroot as Debian; submission with AUTH:
#                          pwcheck_method saslauthd for PLAIN/LOGIN, the
#                          authgate plugin for CRAM-MD5/SCRAM; smtpd_milters
#                          the milter; milter_default_action tempfail).
#                          Sets RL_SUB (submission port) and RL_JAIL.
#   rl_authd_conf / rl_milter_conf   (re)write their configuration files
#   rl_send MECH LOGIN PASSWORD FROM [HEADER_FROM]   one message through
#                          the submission port; prints the last reply line
#   rl_auth MECH LOGIN PASSWORD   the AUTH reply code (lab_auth)
#   rl_authd_ask LOGIN PASSWORD   rl-authd-req against the stack's authd
#   rl_stack_expect_ok LABEL   the stack answers as if nothing happened:
#                          AUTH PLAIN (authd) and CRAM-MD5 (the plugin) 235
#                          with alice's password and 535 with a wrong one;
#                          through the milter a legitimate message 250, a
#                          spoofed envelope sender 553, a spoofed From 550.
#                          Adds the 7 checks to CHECKS.

RL_PW=Rel1able-Pw-4242

rl_stack_store() {
    RL_SECRETS_GROUP=postfix RL_POLICY_GROUP=nogroup \
        rl_store "$LAB/store" --mechanisms "SCRAM-SHA-256 CRAM-MD5"
    rl_user alice@example.com "$RL_PW"
    rl_user bob@example.com "$RL_PW"
    rl_ctl sender allow alice@example.com shared@example.com >>"$LAB/log/ctl.out" 2>&1 &&
        rl_ctl domain add example.com >>"$LAB/log/ctl.out" 2>&1 ||
        lab_fail "store rules: $(tail -2 "$LAB/log/ctl.out")"
}

# shellcheck disable=SC2120 # callers may pass KEY=VALUE overrides
rl_authd_conf() {
    rl_conf "$LAB/authd.conf" "store=$LAB/store" "authd_socket=$RL_JAIL/authgate/authd/mux" \
        "authd_user=postfix" "authd_socket_group=postfix" "authd_socket_mode=0660" \
        "authd_threads=2" "authd_timeout=10" "authd_pidfile=$LAB/run/authd.pid" "$@"
}

# shellcheck disable=SC2120 # callers may pass KEY=VALUE overrides
rl_milter_conf() {
    rl_conf "$LAB/milter.conf" "store=$LAB/store" \
        "milter_socket=unix:$RL_JAIL/authgate/milter.sock" "milter_user=nobody" \
        "milter_socket_mode=0666" "milter_pidfile=$LAB/run/milter.pid" \
        "authserv_id=mx.lab.test" "milter_timeout=10" "unauthenticated_action=accept" "$@"
}

rl_stack_start() {
    local action=tempfail pfargs=()
    while [ $# -gt 0 ]; do
        case $1 in
        --milter-action) action=$2 && shift 2 ;;
        --main) pfargs+=(--main "$2") && shift 2 ;;
        --sub-o) pfargs+=(--submission-o "$2") && shift 2 ;;
        *) lab_fail "rl_stack_start: unknown option $1" ;;
        esac
    done
    RL_JAIL=$(lab_postfix_jail pf)
    mkdir -p "$RL_JAIL/authgate/authd"
    chmod 0755 "$RL_JAIL" "$RL_JAIL/authgate" "$RL_JAIL/authgate/authd"
    [ -e "$LAB/store" ] || rl_stack_store
    rl_authd_conf
    rl_milter_conf
    rl_authd_start authd "$LAB/authd.conf"
    rl_milter_start milter "$LAB/milter.conf"
    {
        echo "pwcheck_method: saslauthd"
        echo "saslauthd_path: @JAIL@/authgate/authd/mux"
        echo "auxprop_plugin: authgate"
        echo "authgate_store: $LAB/store"
        echo "mech_list: PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256"
        echo "log_level: 5"
    } >"$LAB/smtpd.conf"
    lab_sink_start sink
    lab_postfix_start pf --sasl-conf "$LAB/smtpd.conf" --sasl-path "$LAB/plugins" \
        --relay-port "$(lab_get sink port)" --milter "unix:authgate/milter.sock" \
        --milter-default-action "$action" "${pfargs[@]}"
    RL_SUB=$(lab_get pf port)
}

rl_send() {
    local mech=$1 login=$2 pw=$3 from=$4 hfrom=${5:-$4}
    lab_send_reply "$RL_SUB" "$from" rcpt@example.test --header "From: $hfrom" \
        --header "X-Lab-Id: $(lab_id)" --auth "$mech" --auth-user "$login" \
        --auth-password "$pw" --timeout 60
}

rl_auth() {
    lab_auth "$1" "$RL_SUB" "$2" "$3"
}

rl_authd_ask() {
    printf '%s\n' "$2" | "$RL_BIN/rl-authd-req" -t "${3:-20000}" "$RL_JAIL/authgate/authd/mux" \
        "$1" smtp ""
}

rl_stack_expect_ok() {
    local label=$1 a=alice@example.com
    lab_expect "$label: AUTH PLAIN (authd), good password" "$(rl_auth PLAIN $a "$RL_PW")" 235
    lab_expect "$label: AUTH CRAM-MD5 (plugin), good password" "$(rl_auth CRAM-MD5 $a "$RL_PW")" 235
    lab_expect "$label: AUTH PLAIN (authd), wrong password" "$(rl_auth PLAIN $a wrong-Pw-1)" 535
    lab_expect "$label: AUTH CRAM-MD5 (plugin), wrong password" "$(rl_auth CRAM-MD5 $a bad-pw-1)" 535
    lab_expect_match "$label: legitimate message (milter)" \
        "$(rl_send CRAM-MD5 $a "$RL_PW" $a)" '^250 2\.0\.0 Ok: queued'
    lab_expect_match "$label: spoofed envelope sender (milter)" \
        "$(rl_send CRAM-MD5 $a "$RL_PW" ceo@example.com)" '^553 5\.7\.1 '
    lab_expect_match "$label: spoofed From (milter)" \
        "$(rl_send CRAM-MD5 $a "$RL_PW" $a ceo@example.com)" '^550 5\.7\.1 '
    CHECKS=$((CHECKS + 7))
}
