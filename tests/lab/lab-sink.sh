# shellcheck shell=bash
# lab-sink.sh - part of lab.sh (see its header): smtp-sink as the relay
# target of every MTA, one file per message, and a lookup by header.

lab_sink_start() {
    local name=$1 dir=$LAB/sink-$1 port
    mkdir -p "$dir"
    chown postfix "$dir"
    port=$(lab_free_port)
    lab__set "$name" dir "$dir"
    lab__set "$name" port "$port"
    lab_daemon_start "$name" --ready-port "$port" -- \
        smtp-sink -u postfix -d "$dir/%M." "127.0.0.1:$port" 256
}

lab_sink_count() {
    find "$(lab_get "$1" dir)" -type f | wc -l
}

# lab__sink_match DIR HEADER VALUE: print the file holding the header, once
# it has stopped growing.
lab__sink_match() {
    local f size
    f=$(grep -rliF -- "$2: $3" "$1" 2>/dev/null | head -1)
    [ -n "$f" ] || return 1
    size=$(stat -c %s "$f")
    sleep 0.2
    [ "$size" = "$(stat -c %s "$f")" ] || return 1
    echo "$f"
}

lab_sink_find() {
    local dir f
    dir=$(lab_get "$1" dir) || return 1
    lab__wait "${4:-20}" lab__sink_match "$dir" "$2" "$3" >/dev/null || return 1
    f=$(lab__sink_match "$dir" "$2" "$3") || return 1
    awk '/^\r?$/ { exit } { sub(/\r$/, ""); print }' "$f"
}
