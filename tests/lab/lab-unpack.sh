# shellcheck shell=bash
# lab-unpack.sh - part of lab.sh (see its header): Sendmail and Exim
# unpacked once per machine with apt-get download + dpkg -x into $LAB_CACHE
# (they conflict with the installed postfix package), the libraries they
# need, and Exim's system user.

# lab__unpack NAME PACKAGE...: print the cache tree holding PACKAGEs
# unpacked with dpkg -x; download and unpack them first if needed.
lab__unpack() {
    local name=$1 tree=$LAB_CACHE/$1 tmp d
    shift
    mkdir -p "$LAB_CACHE" || lab_fail "cannot create $LAB_CACHE"
    (
        flock -w 600 9 || lab_fail "timeout waiting for $LAB_CACHE/.lock"
        [ -f "$tree/.complete" ] && exit 0
        tmp=$(mktemp -d "$LAB_CACHE/.$name.XXXXXX") || exit 1
        mkdir "$tmp/debs" "$tmp/root"
        # apt-get download drops root for _apt when the directory allows.
        chown _apt "$tmp/debs" 2>/dev/null
        chmod 0755 "$tmp"
        if ! (cd "$tmp/debs" && apt-get download -q "$@") >"$tmp/download.log" 2>&1; then
            apt-get update -q >>"$tmp/download.log" 2>&1
            if ! (cd "$tmp/debs" && apt-get download -q "$@") >>"$tmp/download.log" 2>&1; then
                sed 's/^/# /' "$tmp/download.log" >&2
                rm -rf "$tmp"
                lab_skip "cannot download $* from the Debian archive"
            fi
        fi
        for d in "$tmp"/debs/*.deb; do
            dpkg -x "$d" "$tmp/root" || lab_fail "dpkg -x $d failed"
        done
        # dpkg -x keeps exim4's setuid-root and sendmail's setgid bits: a
        # copy outside dpkg never gets security updates, so drop them (the
        # lab starts both as root; Exim runs with deliver_drop_privilege).
        find "$tmp/root" -type f -perm /6000 -exec chmod ug-s {} +
        (cd "$tmp/debs" && ls -1 ./*.deb) >"$tmp/root/.complete"
        rm -rf "$tree"
        mv "$tmp/root" "$tree" || lab_fail "cannot move the unpacked tree to $tree"
        rm -rf "$tmp"
    ) 9>>"$LAB_CACHE/.lock" || exit $?
    echo "$tree"
}

# lab__check_ldd BINARY: skip the test when a shared library is missing.
lab__check_ldd() {
    local missing
    missing=$(ldd "$1" 2>&1 | awk '/not found/ { print $1 }' | tr '\n' ' ')
    [ -z "$missing" ] || lab_skip "$1 needs missing libraries: $missing(packaging/deps.sh installs them)"
}

lab__exim_user() {
    getent passwd Debian-exim >/dev/null && return 0
    (
        flock -w 120 9 || exit 1
        getent passwd Debian-exim >/dev/null && exit 0
        useradd --system --user-group --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin Debian-exim
    ) 9>>"$LAB_CACHE/.lock" || lab_fail "cannot create the system user Debian-exim"
}
