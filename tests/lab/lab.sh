# shellcheck shell=bash source-path=SCRIPTDIR
# lab.sh - throwaway Postfix, Sendmail and Exim instances on loopback for
# authgate's integration tests.
#
# Source it from a bash test, call lab_init, start what the test needs, run
# checks, call lab_finish:
#
#   . "$(dirname "$0")/../lab/lab.sh"     # or wherever tests/lab is
#   lab_init postfix swaks
#   lab_sink_start sink
#   lab_postfix_start pf --no-chroot --sasl-conf "$LAB/smtpd.conf" \
#       --relay-port "$(lab_get sink port)"
#   lab_expect "PLAIN right password" "$(lab_auth PLAIN "$(lab_get pf port)" u pw)" 235
#   lab_finish
#
# Everything a test starts lives in one sandbox ($LAB, a fresh mktemp -d)
# and is stopped by an EXIT trap, by recorded pid (checked against the
# process start time, so a recycled pid is never signalled), never by name.
# If the test is killed before its trap finishes (meson sends SIGKILL 0.5 s
# after SIGTERM on a timeout), a detached watchdog started by lab_init does
# the same cleanup and keeps the sandbox for inspection.  Daemons are
# detached from the test shell (new session, not its children), so a bare
# `wait` in a test waits only for the test's own jobs.
# Ports are picked at run time and reserved across tests (lab-port.pl), so
# meson may run many lab tests at once.  Call the *_start functions directly,
# not inside $(...): they exit the test on failure.  lab_init owns the EXIT,
# INT and TERM traps.  Tests may use set -u, not set -e: checks go through
# lab_expect, which counts failures instead of exiting.
#
# FILES: lab.sh (this header documents every file's functions; core),
# lab-postfix.sh, lab-sink.sh, lab-milter.sh, lab-smtp.sh, lab-unpack.sh,
# lab-sendmail.sh, lab-exim.sh, lab-saslauthd.sh (sourced by lab.sh),
# lab-port.pl (port reservations), lab-syslog.pl (a per-daemon syslog
# listener), lab-nsexec.sh (namespace setup), authlog-milter.c (probe).
#
# GLOBALS (set by lab_init; read-only for tests)
#   LAB        the sandbox directory (0755: postfix and Debian-exim traverse it)
#   LAB_DIR    the directory holding lab.sh and its helpers
#   LAB_HOST   host name the MTAs use and SASL realm default (mx.lab.test)
#   LAB_SASL_SYSDIR  the system's libsasl2 plugin directory
#   LAB_SM, LAB_EXIM unpacked Sendmail / Exim trees (after lab_init sendmail/exim)
# Environment read: LAB_KEEP=1 keeps the sandbox after the test (processes
#   are stopped anyway); LAB_CACHE (default /var/cache/authgate-lab);
#   LAB_AUTHLOG_MILTER (path of the probe milter, set by meson).
#
# FUNCTIONS (arguments; what they print; exit status)
# Setup and results
#   lab_init [FEATURE]...   Make the sandbox and the cleanup trap.  FEATUREs:
#       postfix sink swaks gsasl saslauthd milter sendmail exim.  Exits 77
#       (meson: skipped) with a reason when not root or something a feature
#       needs is missing; sendmail/exim unpack the Debian packages into the
#       shared cache on first use (apt-get download + dpkg -x, under flock)
#       and print how long that took.  Prints nothing else.
#   lab_skip REASON         Print "SKIP: REASON" to stderr, exit 77.
#   lab_fail MESSAGE        Print "FAIL: MESSAGE" to stderr, exit 1.
#   lab_expect NAME GOT WANT   Print "ok - NAME" or "not ok - NAME: got GOT,
#       want WANT" (plus the last SMTP transcript); count the failure.
#   lab_expect_match NAME TEXT ERE   Like lab_expect: TEXT must match the
#       extended regex ERE (grep -E, any line).
#   lab_finish              Print the tally; exit 1 if any lab_expect failed,
#       else 0.
#   lab_get NAME KEY        Print a recorded value of a started thing, e.g.
#       port, mx_port, jail, conf, dir, log, socket, pid, start_seconds,
#       stop_seconds.  Exit status 1 if unknown.
#   lab_free_port           Print a free TCP port on 127.0.0.1, reserved for
#       this test until it ends (perl; no python needed).
#   lab_wait_listen PORT [SECONDS]   Wait until something listens on
#       127.0.0.1:PORT (read from /proc/net/tcp: no connection is made).
#   lab_wait_file PATH [SECONDS]     Wait until PATH exists.
#   lab_wait_log FILE ERE [SECONDS]  Wait until a line of FILE matches ERE.
#   lab_id                  Print a unique token for an X-Lab-Id header.
# Processes
#   lab_daemon_start NAME [OPTIONS] -- COMMAND [ARG]...   Start COMMAND in
#       the foreground of its own session (setsid), stdout+stderr appended to
#       $LAB/log/NAME.out, and register it for cleanup.  OPTIONS:
#       --hostname H   own UTS namespace with host name H
#       --devlog       own mount namespace whose /dev/log is a private
#                      listener; syslog lines go to $LAB/log/NAME.syslog
#       --bind SRC DST bind-mount SRC over DST inside its mount namespace
#       --ready-port P wait until 127.0.0.1:P listens
#       --ready-file F wait until F exists
#       Records pid, out, syslog, start_seconds.  Exits the test on failure.
#   lab_daemon_stop NAME    SIGTERM its process group, SIGKILL after 10 s;
#       records stop_seconds.  No-op when not running.
# Postfix 3.7
#   lab_postfix_start NAME [OPTIONS]   A throwaway instance: config
#       $LAB/pf-NAME/conf, queue (= chroot jail) $LAB/pf-NAME/queue, data
#       directory, maillog_file $LAB/pf-NAME/maillog.  OPTIONS:
#       --chroot | --no-chroot   chroot the services Debian chroots (default
#                      --chroot, like Debian's master.cf).  The jail is this
#                      instance's queue_directory, not /var/spool/postfix.
#       --sasl-conf FILE   content of conf/sasl/smtpd.conf; enables
#                      smtpd_sasl_type = cyrus on the submission port
#       --sasl-path DIR    plugin directory put before LAB_SASL_SYSDIR via
#                      import_environment SASL_PATH=DIR:LAB_SASL_SYSDIR
#       --realm R      smtpd_sasl_local_domain (default empty, as Debian;
#                      libsasl then takes myhostname as the realm, so a
#                      sasldb made with saslpasswd2 -u LAB_HOST matches)
#       --mx           also an MX-style port (no AUTH; accepts mail for
#                      --relay-domains only); its port is mx_port
#       --relay-domains LIST   (default lab.test)
#       --relay-port P relay everything to [127.0.0.1]:P (an smtp-sink);
#                      without it mail is discarded after acceptance
#       --milter SPEC  smtpd_milters on both ports (e.g. unix:milter/x.sock,
#                      relative to the queue directory, which works with and
#                      without chroot, or inet:127.0.0.1:PORT)
#       --milter-default-action A   (default tempfail)
#       --milter-macros STAGE=MACROS   milter_STAGE_macros (repeatable; e.g.
#                      mail='i {auth_type} {auth_authen}'); Postfix 3.7's
#                      default for MAIL already has {auth_type} {auth_authen}
#                      {auth_author}
#       --main 'KEY = VALUE'        extra main.cf line (repeatable)
#       --submission-o KEY=VALUE    extra -o for the submission port (repeat.)
#       --mx-o KEY=VALUE            extra -o for the MX port (repeatable)
#       --hostname H   myhostname (default LAB_HOST)
#       "@JAIL@" in the SASL conf, --milter, --main and -o values becomes the
#       jail as smtpd sees it: "" with chroot, the jail's path without, so
#       "sasldb_path: @JAIL@/etc/sasldb2" names $(lab_postfix_jail NAME)/etc/
#       sasldb2 both ways.  Files smtpd opens after start (sasldb, stores,
#       sockets) must be inside the jail when chrooted: smtpd reads
#       smtpd.conf and dlopens the plugins as root before chroot, but opens
#       the sasldb and connects to sockets after it.
#       Records port (submission), mx_port, conf, jail, log, pid.
#   lab_postfix_jail NAME   Print the jail (queue directory) path; usable
#       before lab_postfix_start to put files into it.
#   lab_postfix_stop NAME   postfix stop, wait for master; records stop_seconds.
#   lab_postfix_log NAME    Print the instance's maillog.
#   lab_postfix_procs NAME [COMMAND]   Print the pids of the master's
#       children (running COMMAND, e.g. smtpd), one per line.
# smtp-sink
#   lab_sink_start NAME     smtp-sink -u postfix -d $LAB/sink-NAME/%M. on a
#       free port; records port, dir.  (smtp-sink's -c counter is useless
#       here: it is buffered until exit.)
#   lab_sink_find NAME HEADER VALUE [SECONDS]   Wait (default 20 s) for the
#       message with "HEADER: VALUE" and print its header block (smtp-sink's
#       X-Client-Addr/X-Mail-Args/X-Rcpt-Args envelope lines, then the
#       message's headers).  Exit status 1, printing nothing, if none came.
#   lab_sink_count NAME     Print the number of messages received.
# Probe milter (authlog-milter.c)
#   lab_authlog_milter_start NAME SPEC   Start it listening on SPEC
#       (unix:/path or inet:PORT@127.0.0.1); records socket (SPEC) and log
#       (its records: "mail_from=... auth_type=... auth_authen=...").
# Sendmail 8.17 (unpacked)
#   lab_sendmail_start NAME [OPTIONS]   A daemon (-bD) on a free port with its
#       own UTS namespace (host name with a dot: no 60 s sleep) and private
#       /dev/log (Sendmail and libsasl log only to syslog).  OPTIONS:
#       --sasl-conf FILE  content of Sendmail.conf (found via cf line
#                  ESASL_CONF_PATH=$LAB/sm-NAME/sasl)
#       --sasl-path DIR   cf line ESASL_PATH=DIR:LAB_SASL_SYSDIR
#       --mechs "M1 M2"   confAUTH_MECHANISMS and TRUST_AUTH_MECH
#                  (default "PLAIN CRAM-MD5")
#       --milter SPEC     INPUT_MAIL_FILTER S=SPEC with F=T (tempfail when
#                  the filter is down, the setting authgate's docs require)
#       --relay-port P    SMART_HOST relay:[127.0.0.1] port P, else queue only
#       --realm R  confAUTH_REALM (default LAB_HOST)   --hostname H
#       --mc 'M4 LINE'    extra line before MAILER() (repeatable)
#       --cf 'CF LINE'    extra LOCAL_CONFIG line (repeatable)
#       Records port, dir, log (syslog lines), pid.
#   lab_sendmail_stop NAME   lab_sendmail_log NAME (prints the syslog lines)
# Exim 4.96 heavy (unpacked)
#   lab_exim_start NAME [OPTIONS]   A daemon (-bdf) on a free port, own UTS
#       and mount namespaces (private /dev/log for libsasl).  OPTIONS:
#       --sasl-conf FILE  content of exim.conf for libsasl (via
#                  add_environment SASL_CONF_PATH=$LAB/ex-NAME/sasl)
#       --sasl-path DIR   add_environment SASL_PATH=DIR:LAB_SASL_SYSDIR
#       --mechs "M1 M2"   one cyrus_sasl authenticator each
#                  (default "PLAIN CRAM-MD5"; "" for none)
#       --saslauthd DIR   plaintext authenticators whose server_condition is
#                  ${if saslauthd{{user}{password}{smtp}{REALM}}}.  Exim's
#                  socket path is compiled in (/var/run/saslauthd/mux), so
#                  DIR (holding the socket "mux", e.g. lab_get X dir of a
#                  lab_saslauthd_start, or authgate-authd's socket dir) is
#                  bind-mounted over /run/saslauthd in Exim's namespace only.
#       --saslauthd-mechs "PLAIN LOGIN"  (default "PLAIN"; must not repeat a
#                  --mechs entry)   --saslauthd-realm R (default empty)
#       --relay-port P    deliver everything to [127.0.0.1]:P, else blackhole
#       --acl-rcpt TEXT / --acl-data TEXT  replace the ACL bodies (defaults:
#                  rcpt accepts authenticated, denies the rest; data adds
#                  "X-Lab-Auth-Id: $authenticated_id")
#       --acl-mail TEXT   an acl_smtp_mail ACL with this body (default: none,
#                  MAIL is accepted)
#       --authenticators TEXT  authenticator definitions put first in the
#                  authenticators section (e.g. a guide's text); combine
#                  with --mechs "" to have no generated ones
#       --main 'LINE'     extra main-section line (repeatable)
#       --hostname H      primary_hostname (default LAB_HOST)
#       Records port, dir, log (mainlog), syslog, pid.
#   lab_exim_stop NAME   lab_exim_log NAME [main|reject|panic|syslog]
# saslauthd (sasl2-bin)
#   lab_saslauthd_start NAME --sasldb FILE   saslauthd -a sasldb -m DIR -d,
#       with FILE bind-mounted over /etc/sasldb2 (its compiled-in path) in
#       its own namespace, host name LAB_HOST (the realm it uses when the
#       client sends none).  Records dir (the -m directory, socket dir/mux).
#   lab_saslauthd_stop NAME   lab_saslauthd_log NAME
# SMTP clients (transcripts kept in $LAB/log/smtp.*, the last one is shown
# by a failing lab_expect)
#   lab_auth MECH PORT USER PASSWORD   Print the final reply code to AUTH:
#       235, 535, 454 ...; "none" when MECH was not offered (AUTH not sent);
#       "000" when no SMTP reply came.  SCRAM-* and GS2-* go through gsasl,
#       the rest through swaks.
#   lab_send PORT FROM TO [SWAKS_OPTION]...   Send one message with swaks
#       (add e.g. --auth PLAIN --auth-user U --auth-password P,
#       --add-header "X-Lab-Id: $(lab_id)") and print the last reply code
#       before QUIT: 250 when the message was accepted, else the code of the
#       step that failed; "000" when no SMTP reply came.
#   lab_send_reply PORT FROM TO [SWAKS_OPTION]...   The same, printing the
#       whole last reply line before QUIT without swaks' marker, e.g.
#       "550 5.7.1 From address <...> rejected: ..."; "no reply" when none
#       came.
#
# SYSLOG.  Sendmail and libsasl (inside Sendmail, Exim and saslauthd) log
# only through syslog(3), to /dev/log.  These machines have no syslog daemon,
# and one shared /dev/log listener would mix parallel tests and need a
# system file.  So each such daemon runs in its own mount namespace
# (unshare(1), lab-nsexec.sh) where /dev is a tiny tmpfs of symlinks to the
# host's /dev entries and /dev/log is the socket of a lab-syslog.pl listener
# writing $LAB/log/NAME.syslog.  Nothing outside that namespace changes.
# Postfix needs none of it: maillog_file (postlogd) gets its own and
# libsasl's lines (Postfix installs a log callback).
#
# SHARED STATE.  /etc/postfix/main.cf gets this instance's config directory
# in alternate_config_directories (needed by non-root postqueue/postdrop;
# "postfix -c DIR start" as root works without it) and loses it at stop; if
# main.cf was absent, a minimal one is created and removed again with the
# last entry.  Edits are made in place (same inode) holding flock on the
# directory /etc/postfix and on main.cf itself, so writers using either
# convention are serialized with us (postconf -e replaces main.cf by rename:
# a writer using it must lock the directory).  The edited file's mtime is set
# 10 s back: Postfix commands re-read a main.cf changed within ~2 s, in
# 0.3 s steps (util/load_file.c), which made every start and stop ~2 s
# slower.  The Sendmail/Exim cache ($LAB_CACHE) is filled under flock on
# $LAB_CACHE/.lock.  Port reservations live in /run/authgate-lab/ports.
# The system user Debian-exim is created (under flock) if missing, and
# /run/saslauthd (root:sasl 0710, as sasl2-bin's postinst makes it) if
# missing: both are what the Debian packages would create.

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_HOST=mx.lab.test
LAB_CACHE=${LAB_CACHE:-/var/cache/authgate-lab}
LAB_PORTS_DIR=/run/authgate-lab/ports
LAB_PF_LOCK_DIR=/etc/postfix
LAB=
LAB_SM=
LAB_EXIM=
LAB_SASL_SYSDIR=

# ---------------------------------------------------------------- basics

lab_skip() {
    echo "SKIP: $*" >&2
    exit 77
}

lab_fail() {
    echo "FAIL: $*" >&2
    exit 1
}

lab__need() {
    local t
    for t in "$@"; do
        command -v "$t" >/dev/null 2>&1 || lab_skip "$t not found (packaging/deps.sh installs it)"
    done
}

lab__now() {
    date +%s.%N
}

# lab__since T0: seconds since T0 with two decimals.
lab__since() {
    awk -v a="$1" -v b="$(lab__now)" 'BEGIN { printf "%.2f\n", b - a }'
}

lab__set() {
    printf '%s\n' "$3" >"$LAB/state/$1.$2"
}

lab_get() {
    [ -f "$LAB/state/$1.$2" ] || return 1
    cat "$LAB/state/$1.$2"
}

lab__on_cleanup() {
    printf '%s\n' "$*" >>"$LAB/cleanup"
}

lab_id() {
    printf 'lab-%s-%s-%s\n' "$$" "$(date +%s%N)" "$RANDOM"
}

# lab__sasl_sysdir: the system libsasl2 plugin directory.
lab__sasl_sysdir() {
    local d
    d=$(pkg-config --variable=libdir libsasl2 2>/dev/null)
    if [ -n "$d" ] && [ -d "$d/sasl2" ]; then
        echo "$d/sasl2"
        return 0
    fi
    for d in /usr/lib/*/sasl2 /usr/lib/sasl2; do
        if [ -e "$d/libsasldb.so" ] || [ -e "$d/libplain.so" ]; then
            echo "$d"
            return 0
        fi
    done
    return 1
}

lab_init() {
    local feature t0
    [ "$(id -u)" = 0 ] || lab_skip "needs root (starts MTAs, uses namespaces and system users)"
    lab__need perl flock unshare mount setsid awk tac mktemp
    for feature in "$@"; do
        case $feature in
        postfix) lab__need postfix postconf ;;
        sink) lab__need smtp-sink ;;
        swaks) lab__need swaks ;;
        gsasl) lab__need gsasl ;;
        saslauthd)
            lab__need saslauthd
            [ -e /etc/sasldb2 ] || lab_skip "/etc/sasldb2 missing (sasl2-bin's postinst creates it; saslauthd -a sasldb has that path compiled in)"
            ;;
        milter)
            [ -x "${LAB_AUTHLOG_MILTER:-}" ] ||
                lab_skip "LAB_AUTHLOG_MILTER is not set to the built authlog-milter (run through meson test)"
            ;;
        sendmail) lab__need apt-get dpkg m4 ldd ;;
        exim) lab__need apt-get dpkg ldd useradd ;;
        *) lab_fail "lab_init: unknown feature $feature" ;;
        esac
    done
    LAB_SASL_SYSDIR=$(lab__sasl_sysdir) || lab_skip "no libsasl2 plugin directory (libsasl2-modules)"
    case " $* " in
    *" sendmail "* | *" exim "* | *" saslauthd "*)
        # These run in private mount+UTS namespaces (host name, /dev/log,
        # compiled-in paths); a container without CAP_SYS_ADMIN cannot.
        unshare --mount --uts --propagation private -- mount -t tmpfs lab-probe /mnt \
            >/dev/null 2>&1 || lab_skip "cannot create mount/UTS namespaces (unshare -m -u; a container without CAP_SYS_ADMIN?)"
        ;;
    esac

    LAB=$(mktemp -d /tmp/aglab.XXXXXX) || lab_fail "mktemp -d failed"
    chmod 0755 "$LAB"
    mkdir -p "$LAB/state" "$LAB/log" "$LAB/run"
    : >"$LAB/cleanup"
    : >"$LAB/state/.fails"
    : >"$LAB/state/.passes"
    trap 'lab__on_exit' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    lab__watchdog_start

    for feature in "$@"; do
        case $feature in
        sendmail)
            t0=$(lab__now)
            LAB_SM=$(lab__unpack sendmail sendmail-bin sendmail-base sendmail-cf) || exit $?
            lab__check_ldd "$LAB_SM/usr/libexec/sendmail/sendmail"
            echo "# sendmail tree ready in $(lab__since "$t0") s ($LAB_SM)"
            ;;
        exim)
            t0=$(lab__now)
            LAB_EXIM=$(lab__unpack exim exim4-daemon-heavy exim4-base exim4-config) || exit $?
            lab__check_ldd "$LAB_EXIM/usr/sbin/exim4"
            lab__exim_user
            echo "# exim tree ready in $(lab__since "$t0") s ($LAB_EXIM)"
            ;;
        esac
    done
}

lab__on_exit() {
    local rc=$?
    trap - EXIT INT TERM
    lab__cleanup
    exit "$rc"
}

# lab__cleanup: stop everything recorded in $LAB/cleanup, newest first,
# release the ports, remove the sandbox (unless LAB_KEEP=1).  Idempotent and
# serialized: the test's EXIT trap and the watchdog may both call it.
lab__cleanup() {
    local kind name
    [ -n "$LAB" ] && [ -f "$LAB/cleanup" ] || return 0
    (
        set +e
        flock 9
        [ -e "$LAB/state/.cleaned" ] && exit 0
        while read -r kind name; do
            case $kind in
            proc) lab_daemon_stop "$name" ;;
            postfix) lab_postfix_stop "$name" ;;
            port) rm -f "$LAB_PORTS_DIR/$name/owner" && rmdir "$LAB_PORTS_DIR/$name" ;;
            esac
        done < <(tac "$LAB/cleanup")
        : >"$LAB/state/.cleaned"
    ) 9>>"$LAB/state/.cleanup.lock"
    if [ "${LAB_KEEP:-0}" = 1 ]; then
        echo "# LAB_KEEP=1: sandbox kept in $LAB" >&2
    else
        rm -rf "$LAB"
    fi
}

# lab__watchdog_start: a detached process (own session, no inherited
# output) that runs lab__cleanup if the test dies without its EXIT trap:
# meson sends SIGKILL 0.5 s after SIGTERM on a timeout, and stopping the
# MTAs takes longer than that.  It ends by itself once the sandbox is gone
# or cleaned.
lab__watchdog_start() {
    local start
    start=$(lab__starttime "$$")
    # shellcheck disable=SC2016 # expanded by the child bash
    lab__detach /dev/null bash -c '. "$1" && lab__watchdog "$2" "$3" "$4"' lab-watchdog \
        "$LAB_DIR/lab.sh" "$LAB" "$$" "$start" >/dev/null
}

lab__watchdog() {
    LAB=$1
    while [ -d "$LAB" ] && [ ! -e "$LAB/state/.cleaned" ] &&
        [ "$(lab__starttime "$2")" = "$3" ]; do
        sleep 1
    done
    [ -d "$LAB" ] && [ ! -e "$LAB/state/.cleaned" ] || return 0
    echo "# the test (pid $2) died without cleaning up: watchdog cleans $LAB" >>"$LAB/log/watchdog.out"
    LAB_KEEP=1
    lab__cleanup
}

# ------------------------------------------------------------ results

lab__show_transcript() {
    if [ -f "$LAB/log/smtp.last" ]; then
        echo "#   last SMTP transcript ($(cat "$LAB/log/smtp.last")):"
        sed 's/^/#     /' "$(cat "$LAB/log/smtp.last")"
    fi
}

lab_expect() {
    if [ "$2" = "$3" ]; then
        echo "ok - $1"
        echo x >>"$LAB/state/.passes"
    else
        echo "not ok - $1: got ${2:-<nothing>}, want $3"
        lab__show_transcript
        echo x >>"$LAB/state/.fails"
    fi
}

lab_expect_match() {
    if printf '%s\n' "$2" | grep -Eq -- "$3"; then
        echo "ok - $1"
        echo x >>"$LAB/state/.passes"
    else
        echo "not ok - $1: got:"
        printf '%s\n' "${2:-<nothing>}" | sed 's/^/#     /'
        echo "#   want a line matching: $3"
        echo x >>"$LAB/state/.fails"
    fi
}

lab_finish() {
    local pass fail
    pass=$(wc -l <"$LAB/state/.passes")
    fail=$(wc -l <"$LAB/state/.fails")
    echo "# $pass passed, $fail failed"
    [ "$fail" = 0 ] || exit 1
    [ "$pass" -gt 0 ] || lab_fail "no check ran"
    exit 0
}

# ------------------------------------------------------------ ports, waits

lab_free_port() {
    local port
    mkdir -p "$LAB_PORTS_DIR" || lab_fail "cannot create $LAB_PORTS_DIR"
    port=$(perl "$LAB_DIR/lab-port.pl" "$LAB_PORTS_DIR" "$$") || lab_fail "no free port"
    lab__on_cleanup port "$port"
    echo "$port"
}

lab__listening() {
    local hex
    hex=$(printf '%04X' "$1")
    awk -v h=":$hex" '
        FNR > 1 && $4 == "0A" && substr($2, length($2) - 4) == h &&
        ($2 ~ /^0100007F:/ || $2 ~ /^00000000:/ || $2 ~ /^0+:/) { f = 1 }
        END { exit !f }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# lab__wait SECONDS PROBE...: run PROBE every 50 ms until it succeeds
# (status 0); give up after SECONDS or at once when PROBE returns 2.
lab__wait() {
    local deadline rc
    deadline=$(($(date +%s%N) + ${1%.*} * 1000000000))
    shift
    while :; do
        "$@" && return 0
        rc=$?
        [ "$rc" != 2 ] || return 1
        [ "$(date +%s%N)" -lt "$deadline" ] || return 1
        sleep 0.05
    done
}

lab_wait_listen() {
    lab__wait "${2:-30}" lab__listening "$1"
}

lab_wait_file() {
    lab__wait "${2:-30}" test -e "$1"
}

lab__grep() {
    grep -Eq -- "$1" "$2" 2>/dev/null || return 1
}

lab_wait_log() {
    lab__wait "${3:-30}" lab__grep "$2" "$1"
}

# ------------------------------------------------------------ processes

# lab__starttime PID: the process start time (field 22 of /proc/PID/stat);
# status 1 if PID is gone or a zombie.
lab__starttime() {
    local line rest
    read -r line 2>/dev/null <"/proc/$1/stat" || return 1
    rest=${line##*) }
    # shellcheck disable=SC2086
    set -- $rest
    [ "$1" != Z ] || return 1
    echo "${20}"
}

# lab__alive NAME: is the recorded process of NAME still the one we started?
lab__alive() {
    local pid start now
    pid=$(lab_get "$1" pid) || return 1
    start=$(lab_get "$1" starttime) || return 1
    now=$(lab__starttime "$pid") || return 1
    [ "$now" = "$start" ]
}

# lab__record NAME PID: remember PID as NAME's process.
lab__record() {
    local start
    start=$(lab__starttime "$2") || return 1
    lab__set "$1" pid "$2"
    lab__set "$1" starttime "$start"
}

lab__pgid() {
    local line rest
    read -r line 2>/dev/null <"/proc/$1/stat" || return 1
    rest=${line##*) }
    # shellcheck disable=SC2086
    set -- $rest
    echo "$3"
}

# lab__signal NAME SIG: signal NAME's process group when it leads one
# (every lab daemon runs under setsid), else the process.
lab__signal() {
    local pid
    lab__alive "$1" || return 0
    pid=$(lab_get "$1" pid)
    if [ "$(lab__pgid "$pid")" = "$pid" ]; then
        kill -s "$2" -- "-$pid" 2>/dev/null
    else
        kill -s "$2" "$pid" 2>/dev/null
    fi
}

# lab__detach OUT COMMAND...: start COMMAND in a new session with stdin
# /dev/null and stdout+stderr appended to OUT; print its pid.  The
# intermediate subshell exits at once, so COMMAND is not a child of the test
# shell: a bare `wait` in a test does not wait for lab daemons.
lab__detach() {
    local out=$1
    shift
    (
        setsid "$@" </dev/null >>"$out" 2>&1 &
        echo $!
    )
}

# lab__syslog_start NAME: a private syslog listener for NAME; prints the
# socket path.
lab__syslog_start() {
    local sock=$LAB/run/$1.devlog log=$LAB/log/$1.syslog pid
    : >"$log"
    pid=$(lab__detach "$LAB/log/$1-syslog.out" perl "$LAB_DIR/lab-syslog.pl" "$sock" "$log")
    lab__record "$1-syslog" "$pid" || lab_fail "syslog listener for $1 died at once"
    lab__on_cleanup proc "$1-syslog"
    lab_wait_file "$sock" 10 || lab_fail "syslog listener for $1 did not start: $(cat "$LAB/log/$1-syslog.out")"
    lab__set "$1" syslog "$log"
    echo "$sock"
}

lab_daemon_start() {
    local name=$1 ns=() hostname='' devlog=0 ready_port='' ready_file='' t0 sock pid out
    shift
    while [ $# -gt 0 ]; do
        case $1 in
        --hostname) hostname=$2 && shift 2 ;;
        --devlog) devlog=1 && shift ;;
        --bind) ns+=(--bind "$2" "$3") && shift 3 ;;
        --ready-port) ready_port=$2 && shift 2 ;;
        --ready-file) ready_file=$2 && shift 2 ;;
        --) shift && break ;;
        *) lab_fail "lab_daemon_start: unknown option $1" ;;
        esac
    done
    [ $# -gt 0 ] || lab_fail "lab_daemon_start $name: no command"
    t0=$(lab__now)
    out=$LAB/log/$name.out
    : >>"$out"
    lab__set "$name" out "$out"
    if [ "$devlog" = 1 ]; then
        sock=$(lab__syslog_start "$name") || exit 1
        mkdir -p "$LAB/ns/$name"
        ns+=(--devlog "$sock" "$LAB/ns/$name")
    fi
    [ -z "$hostname" ] || ns=(--hostname "$hostname" "${ns[@]}")
    if [ ${#ns[@]} -gt 0 ]; then
        set -- unshare --mount --uts --propagation private -- \
            "$LAB_DIR/lab-nsexec.sh" "${ns[@]}" -- "$@"
    fi
    pid=$(lab__detach "$out" "$@")
    lab__record "$name" "$pid" || lab_fail "$name exited at once: $(cat "$out")"
    lab__on_cleanup proc "$name"
    if [ -n "$ready_port" ]; then
        lab__wait 60 lab__ready_port "$name" "$ready_port" ||
            lab_fail "$name is not listening on port $ready_port: $(tail -20 "$out")"
    fi
    if [ -n "$ready_file" ]; then
        lab__wait 60 lab__ready_file "$name" "$ready_file" ||
            lab_fail "$name did not create $ready_file: $(tail -20 "$out")"
    fi
    lab__alive "$name" || lab_fail "$name died: $(tail -20 "$out")"
    lab__set "$name" start_seconds "$(lab__since "$t0")"
}

# Readiness probes: 0 ready, 1 not yet, 2 the daemon died (give up).
lab__ready_port() {
    lab__listening "$2" && return 0
    lab__alive "$1" || return 2
    return 1
}

lab__ready_file() {
    [ -e "$2" ] && return 0
    lab__alive "$1" || return 2
    return 1
}

lab_daemon_stop() {
    local name=$1 t0 i
    lab__alive "$name" || return 0
    t0=$(lab__now)
    lab__signal "$name" TERM
    for ((i = 0; i < 200; i++)); do
        lab__alive "$name" || break
        sleep 0.05
    done
    if lab__alive "$name"; then
        echo "# $name ignored SIGTERM for 10 s: SIGKILL" >&2
        lab__signal "$name" KILL
        lab__wait 5 lab__dead "$name"
    fi
    lab__set "$name" stop_seconds "$(lab__since "$t0")"
}

lab__dead() {
    ! lab__alive "$1"
}

# ------------------------------------------------------------ the parts

# shellcheck source=lab-postfix.sh
. "$LAB_DIR/lab-postfix.sh"
# shellcheck source=lab-sink.sh
. "$LAB_DIR/lab-sink.sh"
# shellcheck source=lab-milter.sh
. "$LAB_DIR/lab-milter.sh"
# shellcheck source=lab-smtp.sh
. "$LAB_DIR/lab-smtp.sh"
# shellcheck source=lab-unpack.sh
. "$LAB_DIR/lab-unpack.sh"
# shellcheck source=lab-sendmail.sh
. "$LAB_DIR/lab-sendmail.sh"
# shellcheck source=lab-exim.sh
. "$LAB_DIR/lab-exim.sh"
# shellcheck source=lab-saslauthd.sh
. "$LAB_DIR/lab-saslauthd.sh"
