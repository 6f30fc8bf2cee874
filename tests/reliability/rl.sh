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
#   rl_conf FILE KEY=VALUE...   write an authgate.conf
#   rl_store DIR [INIT_OPTION]...   authgatectl init (as root) into DIR,
#                          groups from $RL_SECRETS_GROUP / $RL_POLICY_GROUP
#                          (default: root); sets RL_STORE
#   rl_user LOGIN PASSWORD   authgatectl user add (password on stdin)
#   rl_milter_start NAME CONF   authgate-milter -f -c CONF; waits for its
#                          socket (the conf's milter_socket, unix:)
#   rl_authd_start NAME CONF    authgate-authd -f -c CONF; waits for its
#                          socket
#   rl_sasl_conf FILE STORE PWCHECK [SOCKET]   libsasl2 config for smtpd:
#                          auxprop authgate, mech_list PLAIN LOGIN CRAM-MD5
#                          SCRAM-SHA-256, saslauthd_path SOCKET
#   rl_proc PID            print "rss_kb fds threads" of a process
#   rl_pid NAME            the pid of a lab daemon
#   rl_wait_pids PID...    wait for background jobs (of this shell: not in
#                          a subshell); RL_FAILED gets how many failed

# shellcheck source=../lab/lab.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lab/lab.sh"

RL_FULL=0
RL_STORE=
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
    local file=$1 kv
    shift
    : >"$file"
    for kv in "$@"; do
        printf '%s = %s\n' "${kv%%=*}" "${kv#*=}" >>"$file"
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
    lab_daemon_start "$name" --ready-file "$sock" -- "$RL_MILTER" -f -c "$conf"
}

rl_authd_start() {
    local name=$1 conf=$2 sock
    sock=$(rl__conf_get "$conf" authd_socket)
    mkdir -p "$(dirname "$sock")"
    lab__set "$name" socket "$sock"
    lab__set "$name" conf "$conf"
    lab_daemon_start "$name" --ready-file "$sock" -- "$RL_AUTHD" -f -c "$conf"
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
