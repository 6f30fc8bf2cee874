#!/bin/bash
# install-test.sh - build authgate's Debian packages, install them on this
# machine, run Postfix against the installed files, purge them, and check
# that only what purge is documented to keep is left (make install-test;
# .ci/run).  Root only: it changes the machine's package set.
#
# usage: packaging/install-test.sh [--no-build] [DEBDIR]   (default build-deb)
#
# Two cycles:
#   1. dpkg -i with the debconf answers preseeded (postfix in the groups
#      authgate-secrets, authgate-authd, authgate-milter, authgate-query;
#      Debian-exim in those it is offered); checks files,
#      conffile, users, groups, modes, unit enablement, `systemd-analyze
#      verify` of the installed units (and prints `systemd-analyze
#      security`); tests/install-lab.sh makes a store and runs Postfix
#      against the installed plugin and daemons; tests/install-sync.sh
#      runs the installed authgate-sync as its unit would against a real
#      PostgreSQL and sees a change arrive; a reinstall keeps a changed
#      conffile and changes nothing else; dpkg -r keeps configuration,
#      store and users; dpkg --purge with the default answer keeps the
#      store and removes everything else.
#   2. apt-get install (debconf defaults: postfix in no group) finds the
#      kept store usable; purge with "delete the store" answered yes
#      removes it.
# Left at the end, as README.Debian documents: the system users
# authgate-authd, authgate-milter and authgate-query, the groups of the same
# names, authgate-secrets and authgate-policy (postfix in none).
#
# Other tests may run on this machine meanwhile: everything after the build
# runs in a private mount namespace whose libsasl2 plugin directory is a
# private copy, so the installed libauthgate.so is seen only by this test's
# processes.  (It would otherwise be loaded by every other test's SASL
# server as well: a test that adds its own build of the plugin through
# SASL_PATH=build:sysdir gets the build copy, the installed one staying
# inert (authgate(7)), but a test that reads only the system directory
# would silently use the installed plugin.)  One run at a time (flock).
# Refuses to run when authgate is installed or a store exists.
#
# Output: "ok - ..." / "not ok - ...: got X, want Y" lines, timings, a
# tally.  Exit 0 when every check passed, 1 otherwise, 77 (skipped) when
# not root or a tool is missing.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
PKGS=(authgate-tools libsasl2-modules-authgate authgate-authd authgate-milter authgate-query authgate-sync)
LOCK=/run/lock/authgate-install-test.lock
STORE=/var/lib/authgate
export DEBIAN_FRONTEND=noninteractive

# shellcheck source=tests/tally.sh
. "$top/packaging/tests/tally.sh"

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

skip() {
    echo "SKIP: $*" >&2
    exit 77
}

# installed_daemons: pids of processes running the installed daemons
# (none ran before the test: it refuses to start otherwise).
installed_daemons() {
    local e
    for e in /proc/[0-9]*/exe; do
        case $(readlink "$e" 2>/dev/null) in
        /usr/sbin/authgate-authd* | /usr/sbin/authgate-milter* | /usr/sbin/authgate-query* | \
            /usr/sbin/authgate-sync*)
            e=${e%/exe} && echo "${e#/proc/}"
            ;;
        esac
    done
}

# ------------------------------------------------------------ outer part
if [ "${1:-}" != --inner ]; then
    build=1
    if [ "${1:-}" = --no-build ]; then
        build=0
        shift
    fi
    debdir=${1:-build-deb}
    case $debdir in /*) ;; *) debdir=$top/$debdir ;; esac
    [ "$(id -u)" = 0 ] || skip "needs root (installs and purges packages)"
    for t in dpkg dpkg-query apt-get debconf-set-selections systemd-analyze strace setpriv \
        unshare mount flock postfix swaks gsasl saslpasswd2 zcat; do
        command -v "$t" >/dev/null 2>&1 || skip "$t not found (packaging/deps.sh installs it)"
    done
    exec 9>"$LOCK"
    flock -w 3600 9 || {
        echo "install-test: another install test holds $LOCK" >&2
        exit 1
    }
    for p in "${PKGS[@]}"; do
        s=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
        case $s in "" | "un "*) ;; *)
            echo "install-test: $p is on this machine ($s): it needs a machine without authgate" >&2
            exit 1
            ;;
        esac
    done
    if [ -n "$(ls -A "$STORE" 2>/dev/null)" ] || [ -e /etc/authgate ] || [ -e /run/authgate ]; then
        echo "install-test: $STORE, /etc/authgate or /run/authgate exists: it needs a machine without authgate" >&2
        exit 1
    fi
    if [ -n "$(installed_daemons)" ]; then
        echo "install-test: /usr/sbin/authgate-* processes are running: it needs a machine without authgate" >&2
        exit 1
    fi
    t0=$(now)
    if [ $build = 1 ]; then
        "$top/packaging/build-deb.sh" "$debdir" || {
            echo "not ok - make deb failed"
            exit 1
        }
        echo "# build (dpkg-buildpackage, unit suite, lintian): $(since "$t0") s"
    fi
    export INSTALL_TEST_T0=$t0
    exec unshare --mount --propagation private -- "$top/packaging/install-test.sh" --inner "$debdir"
fi

# ------------------------------------------------------------ inner part
debdir=$2
arch=$(dpkg --print-architecture)
version=$(dpkg-parsechangelog -l "$top/packaging/debian/changelog" -S Version)
debs=()
for p in "${PKGS[@]}"; do
    debs+=("$debdir/${p}_${version}_$arch.deb")
    [ -f "${debs[-1]}" ] || {
        echo "install-test: ${debs[-1]} missing (make deb)" >&2
        exit 1
    }
done
sasldir=$(pkg-config --variable=libdir libsasl2)/sasl2
[ -d "$sasldir" ] || sasldir=/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)/sasl2

# The private plugin directory (see the header).
private=$(mktemp -d /tmp/authgate-install-test.XXXXXX)
cp -a "$sasldir/." "$private/"
mount --bind "$private" "$sasldir" || {
    echo "install-test: cannot bind a private copy over $sasldir" >&2
    exit 1
}

# Paths named *authgate* before the test: anything new must be gone at the
# end (other tests' /run/authgate-lab and the like existed before or are
# not ours; they are compared by name, not content).
authgate_paths() {
    find /etc /usr /lib /var/lib /var/cache/debconf /run -xdev -name '*authgate*' \
        -not -path '/run/authgate-lab*' -not -path '/var/cache/authgate-lab*' 2>/dev/null |
        grep -v "^$private" | sort
}
authgate_paths >"$private.before"

# dpkg takes no lock timeout: retry while apt/dpkg elsewhere holds it.
dpkg_retry() {
    local i out rc
    for ((i = 0; i < 120; i++)); do
        out=$(dpkg "$@" 2>&1)
        rc=$?
        if [ $rc -ne 0 ] && grep -q "lock" <<<"$out" && grep -qi "locked\|unable to acquire" <<<"$out"; then
            sleep 5
            continue
        fi
        break
    done
    printf '%s\n' "$out" >>"$private.dpkg.log"
    return $rc
}

status_of() {
    local s
    s=$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null | tr -d ' ')
    echo "${s:-un}"
}
groups_of() { id -nG "$1" 2>/dev/null | tr ' ' '\n' | sort | tr '\n' ' '; }
exists() { [ -e "$1" ] || [ -L "$1" ] && echo present || echo absent; }

stop_daemons() {
    local pids
    pids=$(installed_daemons)
    [ -z "$pids" ] || kill -TERM $pids 2>/dev/null
}

cleanup() {
    local p left=()
    stop_daemons
    for p in "${PKGS[@]}"; do
        case $(status_of "$p") in "" | un) ;; *) left+=("$p") ;; esac
    done
    if [ ${#left[@]} -gt 0 ]; then
        echo "# cleanup: purging ${left[*]} and the test's store" >&2
        echo "authgate-tools authgate-tools/purge-store boolean true" | debconf-set-selections
        dpkg_retry --purge "${left[@]}" || cat "$private.dpkg.log" >&2
    fi
    umount "$sasldir" 2>/dev/null
    rm -rf "$private" "$private.before" "$private.dpkg.log"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Exim's user, as tests/lab makes it (same lock), before the packages
# look for it.
if ! getent passwd Debian-exim >/dev/null; then
    mkdir -p /var/cache/authgate-lab
    (
        flock -w 120 9
        getent passwd Debian-exim >/dev/null ||
            useradd --system --user-group --no-create-home --home-dir /nonexistent \
                --shell /usr/sbin/nologin Debian-exim
    ) 9>>/var/cache/authgate-lab/.lock
fi

# ---------------------------------------------------------------- cycle 1
echo "# cycle 1: dpkg -i, debconf answers preseeded"
debconf-set-selections <<'EOF'
libsasl2-modules-authgate libsasl2-modules-authgate/secrets-readers multiselect postfix, Debian-exim
authgate-authd authgate-authd/socket-users multiselect postfix, Debian-exim
authgate-milter authgate-milter/postfix-access boolean true
authgate-query authgate-query/socket-users multiselect postfix, Debian-exim
EOF
t1=$(now)
if ! dpkg_retry -i "${debs[@]}"; then
    # Dependencies dpkg cannot fetch: apt-get -f brings them and finishes
    # the configuration.
    echo "# dpkg -i left dependencies open: apt-get -f install" >&2
    apt-get -f install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 \
        >>"$private.dpkg.log" 2>&1
fi
expect "dpkg -i (then apt-get -f install if needed)" "$?" 0
echo "# install: $(since "$t1") s"
for p in "${PKGS[@]}"; do expect "$p installed" "$(status_of "$p")" ii; done

for f in /usr/sbin/authgatectl /usr/sbin/authgate-authd /usr/sbin/authgate-milter /usr/sbin/authgate-query \
    /usr/sbin/authgate-sync "$sasldir/libauthgate.so" /etc/authgate/authgate.conf \
    /usr/lib/tmpfiles.d/authgate.conf /lib/systemd/system/authgate-authd.service \
    /lib/systemd/system/authgate-milter.service /lib/systemd/system/authgate-query.service \
    /lib/systemd/system/authgate-sync.service /usr/share/man/man8/authgate-sync.8.gz \
    /usr/share/man/man8/authgate-query.8.gz \
    /usr/share/man/man5/authgate.conf.5.gz /usr/share/man/man7/authgate.7.gz \
    /usr/share/man/man8/authgatectl.8.gz /usr/share/man/man8/authgate-authd.8.gz \
    /usr/share/man/man8/authgate-milter.8.gz /usr/share/doc/authgate-tools/README.Debian.gz; do
    expect "installed: $f" "$(exists "$f")" present
done
expect "the plugin's libraries resolve" "$(ldd "$sasldir/libauthgate.so" | grep -c 'not found')" 0
expect "authgate.conf is a conffile" \
    "$(dpkg-query -W -f='${Conffiles}\n' authgate-tools | awk '{ print $1 }' | grep -x /etc/authgate/authgate.conf)" \
    /etc/authgate/authgate.conf
expect "authgate.conf is packaging/authgate.conf" \
    "$(cmp -s /etc/authgate/authgate.conf "$top/packaging/authgate.conf" && echo same || echo differs)" same
expect "authgate-authd -t accepts the shipped configuration" "$(authgate-authd -t >/dev/null 2>&1; echo $?)" 0

for u in authgate-authd authgate-milter authgate-query; do
    expect "$u: system user, no home, no shell" \
        "$(getent passwd "$u" | awk -F: '{ print ($3 < 1000 ? "system" : $3), $6, $7 }')" \
        "system /nonexistent /usr/sbin/nologin"
done
expect "authgate-authd's groups" "$(groups_of authgate-authd)" "authgate-authd authgate-secrets "
expect "authgate-milter's groups" "$(groups_of authgate-milter)" "authgate-milter authgate-policy "
expect "authgate-query's groups" "$(groups_of authgate-query)" "authgate-policy authgate-query "
for g in authgate-secrets authgate-policy; do
    expect "$g: system group" "$(getent group "$g" | awk -F: '{ print ($3 < 1000 ? "system" : $3) }')" system
done
expect "postfix joined the groups debconf named" \
    "$(groups_of postfix | tr ' ' '\n' | grep '^authgate-' | tr '\n' ' ')" \
    "authgate-authd authgate-milter authgate-query authgate-secrets "
expect "Debian-exim joined the groups debconf named" \
    "$(groups_of Debian-exim | tr ' ' '\n' | grep '^authgate-' | tr '\n' ' ')" \
    "authgate-authd authgate-query authgate-secrets "
expect "$STORE: made, empty" "$(mode_of $STORE) $(ls -A $STORE | wc -l)" "755 root root 0"
expect "/run/authgate (tmpfiles.d)" "$(mode_of /run/authgate)" "755 root root"
for d in authd milter query; do
    expect "authgate-$d.service enabled" \
        "$(readlink "/etc/systemd/system/multi-user.target.wants/authgate-$d.service")" \
        "/lib/systemd/system/authgate-$d.service"
done
for d in authd milter query sync; do
    out=$(systemd-analyze verify "/lib/systemd/system/authgate-$d.service" 2>&1)
    expect "systemd-analyze verify authgate-$d.service (installed)" "$?:$out" "0:"
    systemd-analyze security --offline=yes "/lib/systemd/system/authgate-$d.service" 2>&1 |
        grep 'Overall exposure' | sed 's/^/# /'
done

echo "# Postfix against the installed packages (tests/install-lab.sh)"
t2=$(now)
bash "$top/packaging/tests/install-lab.sh" "$top/tests/lab"
expect "Postfix integration against the installed files" "$?" 0
echo "# Postfix integration: $(since "$t2") s"
stop_daemons

echo "# authgate-sync against PostgreSQL (tests/install-sync.sh)"
t2=$(now)
bash "$top/packaging/tests/install-sync.sh" "$top"
expect "authgate-sync against PostgreSQL, as its unit runs it" "$?" 0
echo "# authgate-sync: $(since "$t2") s"

# A reinstall of the same version: the changed conffile stays, nothing
# else changes (the questions now start from the groups as they are).
echo "authd_threads = 2" >>/etc/authgate/authgate.conf
dpkg_retry -i "${debs[@]}"
expect "reinstall" "$?" 0
expect "reinstall keeps the changed conffile" "$(tail -1 /etc/authgate/authgate.conf)" "authd_threads = 2"
expect "reinstall keeps postfix's groups" \
    "$(groups_of postfix | tr ' ' '\n' | grep -c '^authgate-')" 4
expect "reinstall keeps the store" "$(authgatectl user list 2>/dev/null | grep -c alice@lab.test)" 1

dpkg_retry -r "${PKGS[@]}"
expect "dpkg -r" "$?" 0
for p in "${PKGS[@]}"; do expect "$p removed, configuration kept" "$(status_of "$p")" rc; done
expect "remove keeps authgate.conf" "$(exists /etc/authgate/authgate.conf)" present
expect "remove keeps the store" "$(exists $STORE/secrets/data.mdb)" present
expect "remove deletes the plugin" "$(exists "$sasldir/libauthgate.so")" absent
expect "remove deletes the daemons" \
    "$(exists /usr/sbin/authgate-authd) $(exists /usr/sbin/authgate-milter) $(exists /usr/sbin/authgate-query) $(exists /usr/sbin/authgate-sync)" \
    "absent absent absent absent"

t3=$(now)
dpkg_retry --purge "${PKGS[@]}"
expect "dpkg --purge (debconf default: keep the store)" "$?" 0
echo "# purge: $(since "$t3") s"
for p in "${PKGS[@]}"; do expect "$p purged" "$(status_of "$p")" un; done
expect "purge kept the store (default answer)" "$(exists $STORE/secrets/data.mdb)" present
expect "purge deleted /etc/authgate" "$(exists /etc/authgate)" absent
expect "purge deleted /run/authgate" "$(exists /run/authgate)" absent
expect "purge took postfix and Debian-exim out of every authgate group" \
    "$(groups_of postfix | tr ' ' '\n' | grep -c '^authgate-') $(groups_of Debian-exim | tr ' ' '\n' | grep -c '^authgate-')" \
    "0 0"
expect "purge left no debconf question" \
    "$(grep -c '^Name: \(authgate-\|libsasl2-modules-authgate/\)' /var/cache/debconf/config.dat)" 0
expect "purge left nothing else named authgate" \
    "$(authgate_paths | comm -13 "$private.before" - | grep -v "^$STORE" | tr '\n' ' ')" ""

# ---------------------------------------------------------------- cycle 2
echo "# cycle 2: apt-get install, debconf defaults, the kept store"
apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 "${debs[@]}" \
    >>"$private.dpkg.log" 2>&1
expect "apt-get install" "$?" 0
for p in "${PKGS[@]}"; do expect "$p installed again" "$(status_of "$p")" ii; done
expect "debconf defaults: postfix in no authgate group" \
    "$(groups_of postfix | tr ' ' '\n' | grep -c '^authgate-')" 0
expect "the kept store is used again" \
    "$(printf '%s\n' 'Al1ce-s3cret pw' | authgatectl verify alice@lab.test --password-stdin >/dev/null 2>&1; echo $?)" 0
echo "authgate-tools authgate-tools/purge-store boolean true" | debconf-set-selections
dpkg_retry --purge "${PKGS[@]}"
expect "dpkg --purge (answer: delete the store)" "$?" 0
expect "purge deleted the store" "$(exists $STORE)" absent
expect "purge left nothing named authgate" \
    "$(authgate_paths | comm -13 "$private.before" - | tr '\n' ' ')" ""
expect "users kept (documented)" \
    "$(getent passwd authgate-authd authgate-milter authgate-query | cut -d: -f1 | tr '\n' ' ')" \
    "authgate-authd authgate-milter authgate-query "
expect "groups kept (documented), no mail server user in them" \
    "$(getent group authgate-authd authgate-milter authgate-query authgate-secrets authgate-policy |
        awk -F: '{ printf "%s:%s ", $1, $4 }')" \
    "authgate-authd: authgate-milter: authgate-query: authgate-secrets:authgate-authd authgate-policy:authgate-milter,authgate-query "

echo "# total: $(since "$INSTALL_TEST_T0") s"
tally ""
