# shellcheck shell=bash
# lab-saslauthd.sh - part of lab.sh (see its header): the real saslauthd
# (sasl2-bin) on a private socket directory, its sasldb bound over the
# compiled-in /etc/sasldb2 inside its own mount namespace.

# /run/saslauthd: the bind target for Exim's compiled-in socket directory;
# made as sasl2-bin's postinst makes it if /run was cleared since.
lab__saslauthd_rundir() {
    [ -d /run/saslauthd ] && return 0
    install -d -o root -g sasl -m 0710 /run/saslauthd 2>/dev/null ||
        install -d -o root -g root -m 0710 /run/saslauthd ||
        lab_fail "cannot create /run/saslauthd"
}

lab_saslauthd_start() {
    local name=$1 sasldb='' dir t0
    shift
    while [ $# -gt 0 ]; do
        case $1 in
        --sasldb) sasldb=$2 && shift 2 ;;
        *) lab_fail "lab_saslauthd_start: unknown option $1" ;;
        esac
    done
    [ -r "$sasldb" ] || lab_fail "lab_saslauthd_start: --sasldb FILE is required"
    t0=$(lab__now)
    dir=$LAB/sad-$name
    mkdir -p "$dir"
    chmod 0755 "$dir"
    lab__set "$name" dir "$dir"
    lab__set "$name" log "$LAB/log/$name.syslog"
    # -d: foreground and log to stderr too; -n 0: one process per request.
    lab_daemon_start "$name" --hostname "$LAB_HOST" --devlog --bind "$sasldb" /etc/sasldb2 \
        --ready-file "$dir/mux" -- saslauthd -a sasldb -m "$dir" -n 0 -d
    lab__set "$name" start_seconds "$(lab__since "$t0")"
}

lab_saslauthd_stop() {
    lab_daemon_stop "$1"
}

lab_saslauthd_log() {
    cat "$LAB/log/$1.syslog" "$(lab_get "$1" out)" 2>/dev/null
}
