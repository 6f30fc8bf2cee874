# shellcheck shell=bash
# lab-milter.sh - part of lab.sh (see its header): the probe milter
# authlog-milter (built by meson, path in LAB_AUTHLOG_MILTER).

lab_authlog_milter_start() {
    local name=$1 spec=$2 path
    [ -n "${LAB_AUTHLOG_MILTER:-}" ] || lab_fail "LAB_AUTHLOG_MILTER is not set"
    lab__set "$name" socket "$spec"
    lab__set "$name" log "$LAB/log/$name.out"
    case $spec in
    unix:* | local:*)
        path=${spec#*:}
        mkdir -p "$(dirname "$path")"
        lab_daemon_start "$name" --ready-file "$path" -- "$LAB_AUTHLOG_MILTER" "$spec"
        ;;
    inet:*)
        path=${spec#inet:}
        lab_daemon_start "$name" --ready-port "${path%@*}" -- "$LAB_AUTHLOG_MILTER" "$spec"
        ;;
    *) lab_fail "lab_authlog_milter_start: unsupported socket $spec" ;;
    esac
}
