# shellcheck shell=bash source-path=SCRIPTDIR
# mta.sh - shared setup of the MTA integration tests (tests/mta/test-*.sh):
# the authgate plugin and store inside real Postfix, Sendmail and Exim
# instances of the MTA lab (tests/lab/lab.sh, whose header documents the
# lab_* functions used here).
#
# Source it from a test, then:
#   mta_init FEATURE...          lab_init FEATURE... plus the checks below;
#                                makes the plugin directory $MTA_PLUGINS
#   mta_store DIR GROUP [MAPSIZE]  a store with the test logins (see below),
#                                its LMDB map MAPSIZE bytes (default 256 KiB,
#                                so that mta_grow soon outgrows it)
#   mta_grow LABEL DIR           add 3000 logins bulk<i>@lab.test (password
#                                $MTA_PW) so that the map must grow while
#                                the MTAs read; a lab_expect that it grew
#   mta_passwd DIR LOGIN PW      set a password (another process, as
#                                authgatectl will)
#   mta_sasl_conf FILE STORE PWCHECK [EXTRA_LINE]...  an application's
#                                libsasl2 configuration using the plugin
#   mta_authd_start NAME --store DIR --socket PATH --user U [--group G]
#                                authgate-authd in the foreground
#   mta_check LABEL PORT LOGIN PASSWORD WANT MECH...   one lab_expect per
#                                mechanism: the AUTH reply code must be WANT
#   mta_timing LABEL NAME        print how long NAME took to start
#
# Environment (set by tests/mta/meson.build): MTA_STORE (the mta-store
# helper), MTA_PLUGIN (the built libauthgate.so), MTA_AUTHD (the built
# authgate-authd; unset when meson finds no authd_exe in plugin/authd).  Exits 77 when one of
# the first two is missing (run through meson test).
#
# The plugin directory $MTA_PLUGINS holds a copy of libauthgate.so only; the
# lab puts the system plugin directory after it (SASL_PATH=DIR:SYSDIR), so
# libsasl2 loads the plugin beside the stock mechanism plugins exactly as an
# installed libauthgate.so would be.  A copy rather than the build tree:
# Exim dlopens plugins as Debian-exim at every AUTH command.
#
# The store (mta_store): mechanisms "SCRAM-SHA-256 SCRAM-SHA-1 CRAM-MD5
# DIGEST-MD5 PLAIN" (legacy secrets, so that every mechanism can be tried),
# digest_realm LAB_HOST (the realm DIGEST-MD5 offers: each MTA's host name),
# and the logins
#   alice@lab.test  $MTA_PW      every secret
#   carol@lab.test  $MTA_PW      every secret, disabled
#   dora@lab.test   $MTA_PW      SCRAM-SHA-256 only (no legacy secret: PLAIN
#                                and LOGIN can only pass through authd)
# Logins are full addresses, which no MTA completes with a realm.

# shellcheck source=../lab/lab.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lab/lab.sh"

# shellcheck disable=SC2034 # MTA_PW, MTA_BAD: for the tests sourcing this
MTA_PW=Al1ce-S3cret
# shellcheck disable=SC2034
MTA_BAD=wrong-Passw0rd
MTA_MECHS="SCRAM-SHA-256 SCRAM-SHA-1 CRAM-MD5 DIGEST-MD5 PLAIN"
MTA_PLUGINS=

mta_init() {
    lab_init "$@"
    lab__need mdb_stat
    [ -x "${MTA_STORE:-}" ] || lab_skip "MTA_STORE does not name the built mta-store helper (run through meson test)"
    [ -r "${MTA_PLUGIN:-}" ] || lab_skip "MTA_PLUGIN does not name the built libauthgate.so (run through meson test)"
    # A second copy of the plugin on the path would be a second instance
    # opening the same store in one process, which LMDB forbids.
    [ ! -e "$LAB_SASL_SYSDIR/libauthgate.so" ] ||
        lab_skip "libauthgate.so is installed in $LAB_SASL_SYSDIR: the build's copy would be loaded beside it"
    MTA_PLUGINS=$LAB/plugins
    mkdir -p "$MTA_PLUGINS"
    chmod 0755 "$MTA_PLUGINS"
    if ! cp "$MTA_PLUGIN" "$MTA_PLUGINS/libauthgate.so" ||
        ! chmod 0644 "$MTA_PLUGINS/libauthgate.so"; then
        lab_fail "cannot copy $MTA_PLUGIN to $MTA_PLUGINS"
    fi
}

# mta_need_authd: exit 77 unless authgate-authd is built.
mta_need_authd() {
    [ -x "${MTA_AUTHD:-}" ] ||
        lab_skip "authgate-authd is not built (MTA_AUTHD is unset: meson found no authd_exe in plugin/authd); these checks need it"
}

mta_passwd() {
    printf '%s\n' "$3" | "$MTA_STORE" passwd "$1" "$2" "${@:4}" || lab_fail "mta-store passwd $2 failed"
}

mta_store() {
    local dir=$1 group=$2 mapsize=${3:-262144}
    "$MTA_STORE" create "$dir" -g "$group" -m "$MTA_MECHS" -r "$LAB_HOST" -s "$mapsize" ||
        lab_fail "mta-store create $dir failed"
    mta_passwd "$dir" alice@lab.test "$MTA_PW"
    mta_passwd "$dir" carol@lab.test "$MTA_PW"
    "$MTA_STORE" disable "$dir" carol@lab.test || lab_fail "mta-store disable failed"
    mta_passwd "$dir" dora@lab.test "$MTA_PW" -m SCRAM-SHA-256
}

# mta__mapsize DIR: the secrets environment's LMDB map size.
mta__mapsize() {
    mdb_stat -e "$1/secrets" 2>/dev/null | awk '/Map size:/ { print $3 }'
}

mta_grow() {
    local label=$1 dir=$2 before after
    before=$(mta__mapsize "$dir")
    printf '%s\n' "$MTA_PW" | "$MTA_STORE" fill "$dir" bulk -n 3000 || lab_fail "mta-store fill failed"
    after=$(mta__mapsize "$dir")
    lab_expect "$label: the store's map grew ($before -> $after bytes) while the MTA ran" \
        "$([ "${after:-0}" -gt "${before:-0}" ] && echo grown)" grown
}

mta_sasl_conf() {
    local file=$1 store=$2 pwcheck=$3
    shift 3
    {
        echo "pwcheck_method: $pwcheck"
        echo "auxprop_plugin: authgate"
        echo "authgate_store: $store"
        echo "mech_list: PLAIN LOGIN CRAM-MD5 DIGEST-MD5 SCRAM-SHA-1 SCRAM-SHA-256"
        echo "log_level: 5"
        for l in "$@"; do
            echo "$l"
        done
    } >"$file"
}

mta_authd_start() {
    local name=$1 store='' socket='' user='' group='' conf
    shift
    while [ $# -gt 0 ]; do
        case $1 in
        --store) store=$2 && shift 2 ;;
        --socket) socket=$2 && shift 2 ;;
        --user) user=$2 && shift 2 ;;
        --group) group=$2 && shift 2 ;;
        *) lab_fail "mta_authd_start: unknown option $1" ;;
        esac
    done
    mta_need_authd
    conf=$LAB/$name.conf
    {
        echo "# authgate-authd for test $name"
        echo "store = $store"
        echo "authd_socket = $socket"
        echo "authd_user = $user"
        echo "authd_socket_group = ${group:-$user}"
        echo "authd_socket_mode = 0660"
        echo "authd_threads = 2"
        echo "authd_timeout = 10"
        echo "authd_pidfile = $LAB/run/$name.pid"
    } >"$conf"
    lab__set "$name" socket "$socket"
    lab_daemon_start "$name" --ready-file "$socket" -- "$MTA_AUTHD" -f -c "$conf"
}

mta_check() {
    local label=$1 port=$2 login=$3 pw=$4 want=$5 mech
    shift 5
    for mech in "$@"; do
        lab_expect "$label: $mech -> $want" "$(lab_auth "$mech" "$port" "$login" "$pw")" "$want"
    done
}

mta_timing() {
    echo "# $1 started in $(lab_get "$2" start_seconds) s"
}
