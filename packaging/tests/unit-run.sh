#!/bin/bash
# unit-run.sh - start a daemon the way its installed systemd unit does, on a
# machine whose PID 1 is not systemd, and stay in the foreground until it
# exits (a stand-in for the service manager, for packaging/install-test.sh).
#
# usage: unit-run.sh [--strace FILE] UNIT_FILE
#
# Reads the unit's [Service] section, with its drop-ins
# (/etc/systemd/system/UNIT.d/*.conf, then /run/..., /lib/...; in file name
# order: a list setting such as ReadWritePaths= grows, an empty assignment
# empties it, other settings take the last value), and, like systemd:
#   RuntimeDirectory=, RuntimeDirectoryMode=  made (root-owned) before the
#                start, removed after the daemon exits
#   UMask=, LimitCORE=                        applied
#   CapabilityBoundingSet=, NoNewPrivileges=  applied with setpriv(1)
#   ProtectSystem=strict, ReadWritePaths=, InaccessiblePaths=   applied in a
#                private mount namespace: every mount read-only except the
#                API file systems (/proc, /sys, /dev) and ReadWritePaths
#                (a "-" prefix: skipped when missing) and the
#                RuntimeDirectory (writable, as systemd makes it); InaccessiblePaths
#                covered by an empty mode-000 tmpfs
#   ExecStart=   run; Type=forking: it must exit 0 (the daemon is ready),
#                then PIDFile= names the main process; Type=exec (or
#                simple): the command is the main process, started once
#                it runs (still alive half a second later)
# then forwards SIGTERM and SIGINT (stop) and SIGHUP (ExecReload= kill -HUP
# $MAINPID) to the main process and returns once it is gone (SIGKILL after
# TimeoutStopSec=, default 90 s), after running ExecStopPost= (in the same
# sandbox; a "-" prefix ignores its failure).
#
# Not applied (no systemd here): SystemCallFilter=, RestrictAddressFamilies=
# and MemoryDenyWriteExecute= (--strace FILE records every system call of
# the daemon for install-test.sh to compare with them), PrivateTmp=,
# ProtectHome= (they only hide directories the daemons never use),
# PrivateDevices=, PrivateNetwork=, PrivateIPC=, ProtectKernel*=,
# ProtectProc=, ProcSubset=, Restrict*=, LockPersonality=, IPAddressDeny=.
#
# With --strace the start command's exit status is not known: the start
# counts as successful when it exited and PIDFile= names a live process.
#
# Exit status: 0 after the daemon exited on a signal we forwarded (for
# Type=exec: with status 0), 1 if it failed to start or died by itself, 2
# for a usage error or a unit this stand-in cannot run.  Diagnostics on
# standard error, "unit-run: ...".
set -u

die() {
    echo "unit-run: $*" >&2
    exit "${2:-1}"
}

strace_out=''
if [ "${1:-}" = --strace ]; then
    strace_out=$2
    shift 2
fi
[ $# -eq 1 ] && [ -f "$1" ] || die "usage: unit-run.sh [--strace FILE] UNIT_FILE" 2
unit=$1

# The unit file and its drop-ins, in the order systemd applies them.
name=$(basename "$unit")
dropins=()
for f in $(for d in /etc/systemd/system /run/systemd/system /lib/systemd/system; do
    [ -d "$d/$name.d" ] && ls "$d/$name.d"/*.conf 2>/dev/null
done | awk -F/ '!seen[$NF]++' | sort -t/ -k6); do
    dropins+=("$f")
done

# values KEY: the values of KEY= in [Service], in order, one per line; an
# empty assignment drops the values before it.
values() {
    awk -v key="$1" '
        /^\[/ { service = ($0 == "[Service]"); next }
        service && index($0, key "=") == 1 {
            v = substr($0, length(key) + 2)
            if (v == "") { n = 0; next }
            val[++n] = v
        }
        END { for (i = 1; i <= n; i++) print val[i] }
    ' "$unit" "${dropins[@]}"
}

# value KEY DEFAULT: the last value of KEY=, or DEFAULT.
value() {
    local v
    v=$(values "$1" | tail -1)
    echo "${v:-$2}"
}

type=$(value Type simple)
case $type in forking | exec | simple) ;; *) die "Type=$type: only forking, exec and simple are supported" 2 ;; esac
read -r -a exec_start <<<"$(value ExecStart '')"
[ ${#exec_start[@]} -gt 0 ] || die "no ExecStart=" 2
case ${exec_start[0]} in [-+!@:]*) die "ExecStart prefixes are not supported" 2 ;; esac
pidfile=$(value PIDFile '')
[ -n "$pidfile" ] || [ "$type" != forking ] || die "Type=forking without PIDFile=" 2
umask_v=$(value UMask 0022)
rt_mode=$(value RuntimeDirectoryMode 0755)
protect=$(value ProtectSystem no)
nnp=$(value NoNewPrivileges no)
stop_timeout=$(value TimeoutStopSec 90)
stop_timeout=${stop_timeout%s}
read -r -a rt_dirs <<<"$(values RuntimeDirectory | tr '\n' ' ')"
read -r -a rw_paths <<<"$(values ReadWritePaths | tr '\n' ' ')"
for d in "${rt_dirs[@]}"; do rw_paths+=("/run/$d"); done
read -r -a hidden <<<"$(values InaccessiblePaths | tr '\n' ' ')"
caps=$(values CapabilityBoundingSet | tr '\n' ' ')
core=$(value LimitCORE '')

# setpriv's --bounding-set: "-all,+chown,..." from CAP_CHOWN CAP_FOWNER ...
bounding=''
if [ -n "${caps// /}" ]; then
    bounding=-all
    for c in $caps; do
        case $c in
        CAP_*) bounding="$bounding,+$(echo "${c#CAP_}" | tr 'A-Z' 'a-z')" ;;
        *) die "CapabilityBoundingSet=$caps: only a list of capabilities is supported" 2 ;;
        esac
    done
fi

for d in "${rt_dirs[@]}"; do
    install -d -m 0755 "/run/$(dirname "$d")"
    install -d -m "$rt_mode" -o root -g root "/run/$d"
done

# The sandbox: a script run by unshare in the new mount namespace, which
# then becomes the ExecStart command (through setpriv).
sandbox() {
    local p opt mp skip rw=()
    if [ "$protect" = strict ]; then
        for p in "${rw_paths[@]}"; do
            opt=0
            case $p in -*) opt=1 && p=${p#-} ;; esac
            if [ ! -e "$p" ]; then
                [ $opt = 1 ] && continue
                echo "unit-run: ReadWritePaths=$p does not exist" >&2
                return 1
            fi
            mount --bind "$p" "$p" || return 1
            rw+=("$p")
        done
        # Every other mount read-only, deepest first, API file systems kept.
        while read -r mp; do
            case $mp in /proc | /proc/* | /sys | /sys/* | /dev | /dev/* | */hostdev | */hostdev/*) continue ;; esac
            skip=0
            for p in "${rw[@]}"; do [ "$mp" = "$p" ] && skip=1; done
            [ $skip = 1 ] && continue
            mount -o remount,bind,ro "$mp" 2>/dev/null ||
                mount -o remount,ro,bind "$mp" || return 1
        done < <(awk '{ print $5 }' /proc/self/mountinfo | sort -r | uniq)
    elif [ "$protect" != no ]; then
        echo "unit-run: ProtectSystem=$protect is not supported" >&2
        return 1
    fi
    for p in "${hidden[@]}"; do
        opt=0
        case $p in -*) opt=1 && p=${p#-} ;; esac
        if [ ! -e "$p" ]; then
            [ $opt = 1 ] && continue
            echo "unit-run: InaccessiblePaths=$p does not exist" >&2
            return 1
        fi
        mount -t tmpfs -o ro,mode=000,size=4k unit-run-hidden "$p" || return 1
    done
    return 0
}

# sandboxed_cmd WORD...: the command line that runs WORD... inside the
# sandbox, NUL-separated.
sandboxed_cmd() {
    local cmd=()
    if [ -n "$bounding" ]; then
        cmd+=(setpriv --bounding-set "$bounding")
        [ "$nnp" = yes ] && cmd+=(--no-new-privs)
    elif [ "$nnp" = yes ]; then
        cmd+=(setpriv --no-new-privs)
    fi
    cmd+=("$@")
    # Arrays do not cross exec: passed as newline-separated strings.
    printf '%s\0' env RW="$(printf '%s\n' "${rw_paths[@]}")" \
        HIDDEN="$(printf '%s\n' "${hidden[@]}")" \
        unshare --mount --propagation private -- bash -c '
            mapfile -t rw_paths <<<"$RW"; mapfile -t hidden <<<"$HIDDEN"
            [ -n "${rw_paths[0]}" ] || rw_paths=()
            [ -n "${hidden[0]}" ] || hidden=()
            sandbox || exit 1
            umask "$0"
            [ -z "$1" ] || ulimit -c "$1"
            shift
            exec "$@"' "$umask_v" "${core/infinity/unlimited}" "${cmd[@]}"
}

# After the daemon: ExecStopPost= commands, then RuntimeDirectory removal.
cleanup_rt() {
    local d line words ignore
    while read -r line; do
        [ -n "$line" ] || continue
        ignore=0
        case $line in -*) ignore=1 && line=${line#-} ;; esac
        read -r -a words <<<"$line"
        mapfile -d '' -t post < <(sandboxed_cmd "${words[@]}")
        if ! "${post[@]}" && [ $ignore = 0 ]; then
            echo "unit-run: ExecStopPost=$line failed" >&2
        fi
    done < <(values ExecStopPost)
    for d in "${rt_dirs[@]}"; do rm -rf "/run/$d"; done
}

# alive PID: the process exists and is not a zombie.
alive() {
    local st
    st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d ' ' -f 1)
    [ -n "$st" ] && [ "$st" != Z ]
}

export -f sandbox
export protect
mapfile -d '' -t cmd < <(sandboxed_cmd "${exec_start[@]}")
[ -z "$pidfile" ] || rm -f "$pidfile"
# start_traced: the command under strace (outside the sandbox, which would
# make its file read-only).  The command writes its pid first (strace forks
# test processes of its own, so strace's children do not tell which one it
# is).  Sets tracer (strace's pid) and traced (the command's, or empty).
start_traced() {
    local pidof_start i=0
    pidof_start=$(mktemp)
    strace -f -qq -o "$strace_out" -- bash -c 'echo $$ >"$0"; exec "$@"' "$pidof_start" "${cmd[@]}" &
    tracer=$!
    traced=''
    while [ -z "$traced" ] && [ $i -lt 200 ] && kill -0 "$tracer" 2>/dev/null; do
        traced=$(cat "$pidof_start")
        [ -n "$traced" ] || sleep 0.05
        i=$((i + 1))
    done
    rm -f "$pidof_start"
}
if [ "$type" != forking ]; then
    # The command is the main process (through strace when asked).
    if [ -n "$strace_out" ]; then
        start_traced
        mainpid=$traced
    else
        "${cmd[@]}" &
        mainpid=$!
    fi
    sleep 0.5
    if [ -z "$mainpid" ] || ! alive "$mainpid"; then
        wait 2>/dev/null
        cleanup_rt
        die "ExecStart ${exec_start[*]} did not keep running"
    fi
    [ -z "$pidfile" ] || echo "$mainpid" >"$pidfile"
elif [ -n "$strace_out" ]; then
    # strace returns only when the daemon does; the start command's exit
    # means "ready".
    start_traced
    child=$traced
    i=0
    while [ -n "$child" ] && [ $i -lt 600 ] && kill -0 "$child" 2>/dev/null; do
        sleep 0.1
        i=$((i + 1))
    done
    status=0
    if [ -z "$child" ] || kill -0 "$child" 2>/dev/null; then
        status=124
    fi
else
    "${cmd[@]}"
    status=$?
fi
if [ "$type" = forking ]; then
    if [ "$status" != 0 ]; then
        cleanup_rt
        die "ExecStart ${exec_start[*]} exited with status $status"
    fi
    mainpid=$(cat "$pidfile" 2>/dev/null)
    if [ -z "$mainpid" ] || ! kill -0 "$mainpid" 2>/dev/null; then
        cleanup_rt
        die "PIDFile $pidfile names no live process after the start (got \"$mainpid\")"
    fi
fi
echo "unit-run: $(basename "$unit") started, main pid $mainpid" >&2

stopping=0
on_stop() {
    stopping=1
    kill -TERM "$mainpid" 2>/dev/null
}
trap on_stop TERM INT
trap 'kill -HUP "$mainpid" 2>/dev/null' HUP
deadline=''
while alive "$mainpid"; do
    if [ $stopping = 1 ]; then
        [ -n "$deadline" ] || deadline=$(($(date +%s) + stop_timeout))
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "unit-run: main pid $mainpid ignored SIGTERM for ${stop_timeout}s: SIGKILL" >&2
            kill -KILL "$mainpid" 2>/dev/null
        fi
    fi
    sleep 0.1 &
    wait $! 2>/dev/null
done
# Type=exec: the main process (or strace, which exits with its status) is
# our child, and its exit status says how it stopped.
main_status=0
if [ "$type" != forking ]; then
    wait "${tracer:-$mainpid}" 2>/dev/null
    main_status=$?
fi
wait 2>/dev/null
cleanup_rt
if [ $stopping = 1 ]; then
    if [ "$main_status" != 0 ]; then
        die "$(basename "$unit"): main pid $mainpid exited with status $main_status after SIGTERM"
    fi
    echo "unit-run: $(basename "$unit") stopped" >&2
    exit 0
fi
die "main pid $mainpid exited by itself"
