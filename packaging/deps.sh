#!/bin/sh
# deps.sh - install (as root) or print the Debian 12 packages authgate needs
# to build, test and run its demo.  Idempotent: installs only what is missing.
#
#   packaging/deps.sh            install missing packages when root, else print the command
#   packaging/deps.sh --print    print the package list
#   packaging/deps.sh --check    exit 1 if something is missing
set -eu

# BUILD also has what `make deb` needs (debhelper, dpkg-dev; systemd for
# its pkg-config file and systemd-analyze); TEST has lintian and strace for
# `make deb` and `make install-test`.
# TEST also lists the shared libraries of the Sendmail and Exim binaries
# that tests/lab/lab.sh unpacks with dpkg -x (exim4-daemon-heavy links
# libmariadb3, libpq5, libperl5.36 ...): dpkg -x installs no dependencies.
BUILD="gcc clang make meson ninja-build pkg-config
liblmdb-dev libsasl2-dev libmilter-dev libcrypt-dev libssl-dev libidn2-dev
libunistring-dev libdb-dev libcmocka-dev libpq-dev debhelper dpkg-dev systemd"
TEST="postgresql lmdb-utils postfix sasl2-bin libsasl2-modules libsasl2-modules-db swaks
libauthen-sasl-perl gsasl miltertest dovecot-core mandoc clang-format
valgrind libclang-rt-14-dev m4 libwrap0 libspf2-2 procps iproute2 psmisc
openssl libnet-ssleay-perl libmariadb3 libpq5 libgnutls-dane0 libidn12 libldap-2.5-0
libperl5.36 libsqlite3-0 libnsl2 libpcre2-8-0 libdb5.3
jq db-util bsdutils util-linux lintian strace"

PKGS=$(echo $BUILD $TEST)

missing() {
    for p in $PKGS; do
        s=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
        case "$s" in ii*) ;; *) echo "$p" ;; esac
    done
}

case "${1:-}" in
--print) echo "$PKGS"; exit 0 ;;
--check) m=$(missing); [ -z "$m" ] && exit 0; echo "missing packages:" $m; exit 1 ;;
esac

m=$(missing)
if [ -z "$m" ]; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "authgate needs these Debian packages; as root run:" >&2
    echo "  apt-get install" $m >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Postfix asks what kind of mail server this is: none, we run our own
# throwaway instances.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
# Services these packages bring must not start on a build machine.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
echo "installing:" $m
stamp=/var/lib/apt/periodic/update-success-stamp
if [ -z "$(ls /var/lib/apt/lists/*_Packages 2>/dev/null | head -1)" ] || [ "${AUTHGATE_APT_UPDATE:-0}" = 1 ]; then
    apt-get update -q
fi
if ! apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=300 $m; then
    apt-get update -q
    apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=300 $m
fi
