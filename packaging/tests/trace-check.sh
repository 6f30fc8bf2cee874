#!/bin/bash
# trace-check.sh - would a systemd unit's seccomp filters have let a daemon
# do what it did?  Checks a `strace -f` log (unit-run.sh --strace) against
# the unit's SystemCallFilter=, RestrictAddressFamilies= and
# MemoryDenyWriteExecute=, which cannot be applied without systemd.
#
# usage: trace-check.sh LOG DAEMON UNIT_FILE
#   LOG     strace -f -o output of the whole start (sandbox set-up included)
#   DAEMON  the ExecStart binary: only its process (from its execve on) and
#           the processes and threads it created are checked
#
# Prints "ok - ..." or "not ok - ...: got X, want Y" lines, one per rule,
# and the daemon's system calls with their counts.  Exit 1 if a rule was
# broken, 2 on a usage error (or a filter this script cannot expand).
set -u

[ $# -eq 3 ] || {
    echo "usage: trace-check.sh LOG DAEMON UNIT_FILE" >&2
    exit 2
}
log=$1 daemon=$2 unit=$3
fails=0

# svc KEY: the values of KEY= in the unit's [Service] section, space-joined.
svc() {
    awk -v key="$1" '
        /^\[/ { service = ($0 == "[Service]"); next }
        service && index($0, key "=") == 1 { printf "%s ", substr($0, length(key) + 2) }
    ' "$unit"
}

# expand SET...: the system call names of systemd filter sets (recursive).
expand() {
    local item
    for item in "$@"; do
        case $item in
        @*)
            systemd-analyze syscall-filter "$item" 2>/dev/null |
                awk 'NR > 1 && $1 !~ /^#/ && NF { print $1 }' |
                while read -r sub; do expand "$sub"; done
            ;;
        *) echo "$item" ;;
        esac
    done
}

# The daemon's lines: "PID NAME ARGS..." (resumed calls joined by name).
daemon_lines() {
    awk -v daemon="$daemon" '
        function callname(   n) {
            if ($2 == "<...") { n = $3; return n }
            n = $2; sub(/\(.*/, "", n); return n
        }
        FNR == NR {
            name = callname()
            if (index($0, "execve(\"" daemon "\"") && $NF == "0" && !(($1) in start)) start[$1] = FNR
            if (name ~ /^(clone|clone3|fork|vfork)$/ && $(NF - 1) == "=" && $NF ~ /^[0-9]+$/) {
                parent[$NF] = $1; born[$NF] = FNR
            }
            next
        }
        FNR == 1 {
            # Closure: a process created by a daemon process after its exec.
            for (changed = 1; changed; ) {
                changed = 0
                for (c in parent) {
                    p = parent[c]
                    if (!(c in start) && (p in start) && born[c] > start[p]) { start[c] = born[c]; changed = 1 }
                }
            }
        }
        ($1 in start) && FNR >= start[$1] && $2 !~ /^(\+\+\+|---)$/ { print $1, callname(), $0 }
    ' "$log" "$log"
}

lines=$(daemon_lines)
if [ -z "$lines" ]; then
    echo "not ok - $daemon: no execve of it in $log"
    exit 1
fi
used=$(awk '{ print $2 }' <<<"$lines" | sort | uniq -c | sort -rn)
echo "# system calls of $daemon (count name):"
awk '{ printf "#   %s %s\n", $1, $2 }' <<<"$used"

# SystemCallFilter= (allow lists; a "~" deny list is not supported).
filter=$(svc SystemCallFilter)
if [ -n "$filter" ]; then
    case $filter in "~"*) echo "trace-check: deny-list filters are not supported" >&2 && exit 2 ;; esac
    read -r -a sets <<<"$filter"
    allowed=$(expand "${sets[@]}" | sort -u)
    [ -n "$allowed" ] || {
        echo "trace-check: systemd-analyze syscall-filter expanded $filter to nothing" >&2
        exit 2
    }
    outside=$(awk '{ print $2 }' <<<"$used" | sort -u | comm -23 - <(echo "$allowed") | tr '\n' ' ')
    if [ -z "$outside" ]; then
        echo "ok - every system call is in SystemCallFilter=$filter"
    else
        echo "not ok - SystemCallFilter=$filter: got calls outside it: $outside, want none"
        fails=$((fails + 1))
    fi
fi

# RestrictAddressFamilies=: the first argument of every socket().
families=$(svc RestrictAddressFamilies)
if [ -n "$families" ]; then
    got=$(awk '$2 == "socket" { f = $0; sub(/.* socket\(/, "", f); sub(/,.*/, "", f); print f }' <<<"$lines" | sort -u | tr '\n' ' ')
    bad=''
    for f in $got; do
        case " $families " in *" $f "*) ;; *) bad="$bad $f" ;; esac
    done
    if [ -z "$bad" ]; then
        echo "ok - socket families ${got:-(none)}within RestrictAddressFamilies=$families"
    else
        echo "not ok - RestrictAddressFamilies=$families: got socket families$bad, want none outside"
        fails=$((fails + 1))
    fi
fi

# MemoryDenyWriteExecute=: no writable+executable mapping, no mprotect to
# executable, no executable shared memory.
if [ "$(svc MemoryDenyWriteExecute)" = "yes " ]; then
    wx=$(awk '
        ($2 == "mmap" && /PROT_WRITE/ && /PROT_EXEC/) ||
        (($2 == "mprotect" || $2 == "pkey_mprotect") && /PROT_EXEC/) ||
        ($2 == "shmat" && /SHM_EXEC/) { print }' <<<"$lines" | head -3)
    if [ -z "$wx" ]; then
        echo "ok - no W+X mapping, no mprotect(PROT_EXEC) (MemoryDenyWriteExecute=yes)"
    else
        echo "not ok - MemoryDenyWriteExecute=yes: got $wx, want none"
        fails=$((fails + 1))
    fi
fi
[ $fails -eq 0 ]
