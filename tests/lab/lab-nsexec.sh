#!/bin/bash
# lab-nsexec.sh - set up a daemon's private namespaces, then exec it.
#
# usage: unshare --mount --uts --propagation private -- \
#          lab-nsexec.sh [--hostname NAME] [--devlog SOCKET WORKDIR]
#                        [--bind SRC DST]... -- COMMAND [ARG]...
#
# Runs as root inside fresh mount and UTS namespaces made by unshare(1)
# (lab.sh's lab_daemon_start does that); every change below is private to
# COMMAND and the processes it forks, the host sees none of them:
#   --hostname NAME      sethostname(NAME): Sendmail sleeps 60 s at startup
#                        when the host name has no dot.
#   --devlog SOCKET DIR  a private /dev/log: the host /dev is bind-mounted at
#                        DIR/hostdev, a small tmpfs is mounted on /dev holding
#                        symlinks to every host /dev entry, and /dev/log
#                        points at SOCKET (a lab-syslog.pl listener).  Works
#                        whether or not the host has a /dev/log.
#   --bind SRC DST       bind-mount SRC over DST (DST must exist on the host):
#                        e.g. a test's sasldb over /etc/sasldb2, or a socket
#                        directory over /run/saslauthd.
# Exit status: that of COMMAND, or 1 with a message if a step fails.
set -euo pipefail

die() {
    echo "lab-nsexec.sh: $*" >&2
    exit 1
}

private_devlog() {
    local sock=$1 work=$2 e name
    mkdir -p "$work/hostdev"
    mount --rbind /dev "$work/hostdev" || die "cannot bind /dev"
    mount -t tmpfs -o mode=0755,size=256k lab-dev /dev || die "cannot mount tmpfs on /dev"
    for e in "$work"/hostdev/* "$work"/hostdev/.[!.]*; do
        [ -e "$e" ] || [ -L "$e" ] || continue
        name=${e##*/}
        [ "$name" = log ] && continue
        if [ -L "$e" ]; then
            cp -P "$e" "/dev/$name"
        else
            ln -s "$e" "/dev/$name"
        fi
    done
    ln -s "$sock" /dev/log
}

while [ $# -gt 0 ]; do
    case $1 in
    --hostname)
        hostname "$2" || die "cannot set host name $2"
        shift 2
        ;;
    --devlog)
        private_devlog "$2" "$3"
        shift 3
        ;;
    --bind)
        [ -e "$3" ] || die "bind target $3 does not exist"
        mount --bind "$2" "$3" || die "cannot bind $2 over $3"
        shift 3
        ;;
    --)
        shift
        break
        ;;
    *) die "unknown option $1" ;;
    esac
done
[ $# -gt 0 ] || die "no command"
exec "$@"
