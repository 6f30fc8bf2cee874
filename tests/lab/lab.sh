# shellcheck shell=bash
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
# Ports are picked at run time and reserved across tests (lab-port.pl), so
# meson may run many lab tests at once.  Call the *_start functions directly,
# not inside $(...): they exit the test on failure.
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
#       --realm R      smtpd_sasl_local_domain (default empty, as Debian)
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
# SMTP clients (transcripts kept in $LAB/log/smtp.N, the last one is shown
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
# last entry.  Edits hold flock on /etc/postfix (the directory: postconf -e
# replaces main.cf by rename, so a lock on the file itself would not
# serialize).  The Sendmail/Exim cache ($LAB_CACHE) is filled under flock on
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
            [ -n "${LAB_AUTHLOG_MILTER:-}" ] && [ -x "$LAB_AUTHLOG_MILTER" ] ||
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
    local name=$1 ns=() hostname= devlog=0 ready_port= ready_file= t0 sock pid out
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

# ------------------------------------------------------------ Postfix

lab_postfix_jail() {
    echo "$LAB/pf-$1/queue"
}

# lab__pf_altconf add|del DIR: edit alternate_config_directories of the
# default main.cf under flock on /etc/postfix.  Plain text edits in place
# (postconf -h may spend seconds resolving the host name).
lab__pf_altconf() {
    (
        local main=/etc/postfix/main.cf marker='# authgate-lab: created by tests/lab/lab.sh'
        local cur new d rest
        flock -w 120 9 || exit 1
        if [ "$1" = add ] && [ ! -e "$main" ]; then
            printf '%s\n%s\n%s\n' "$marker" \
                '# (postfix had no main.cf; this one only lists throwaway test instances)' \
                'compatibility_level = 3.6' >"$main"
        fi
        [ -e "$main" ] || exit 0
        # The current value, continuation lines included.
        cur=$(awk '
            /^alternate_config_directories[ \t]*=/ { on = 1; sub(/^[^=]*=/, ""); print; next }
            on && /^[ \t]/ { print; next }
            { on = 0 }' "$main" | tr '\n' ' ')
        new=
        for d in ${cur//,/ }; do
            [ "$d" = "$2" ] || new="$new${new:+, }$d"
        done
        [ "$1" = del ] || new="$new${new:+, }$2"
        rest=$(awk '
            /^alternate_config_directories[ \t]*=/ { on = 1; next }
            on && /^[ \t]/ { next }
            { on = 0; print }' "$main")
        if [ -z "$new" ] && head -1 "$main" | grep -qxF "$marker" &&
            ! printf '%s\n' "$rest" | grep -Evq '^[[:space:]]*(#|$)|^compatibility_level = 3\.6$'; then
            rm -f "$main"
            exit 0
        fi
        {
            printf '%s\n' "$rest"
            [ -z "$new" ] || printf 'alternate_config_directories = %s\n' "$new"
        } >"$main.lab.$$" && cat "$main.lab.$$" >"$main"
        rm -f "$main.lab.$$"
        lab__pf_backdate "$main"
    ) 9<"$LAB_PF_LOCK_DIR"
}

# lab__pf_backdate FILE...: set the mtime 10 s back.  Postfix programs
# reading a main.cf/master.cf modified within the last second or two wait
# (0.3 s at a time, up to ~2 s) for the writer to finish; these files are
# complete when written, so the wait would only slow every start and stop.
lab__pf_backdate() {
    touch -d "@$(($(date +%s) - 10))" "$@"
}

# lab__pf_subst JAILPREFIX TEXT: replace @JAIL@.
lab__pf_subst() {
    printf '%s' "${2//@JAIL@/$1}"
}

lab_postfix_start() {
    local name=$1 chroot=y sasl_conf= sasl_path= realm= mx=0 relay_domains=lab.test
    local relay_port= milter= milter_action=tempfail hostname=$LAB_HOST
    local mains=() subo=() mxo=() t0 dir conf jail pfx port mx_port= transport f o master_pid
    shift
    while [ $# -gt 0 ]; do
        case $1 in
        --chroot) chroot=y && shift ;;
        --no-chroot) chroot=n && shift ;;
        --sasl-conf) sasl_conf=$2 && shift 2 ;;
        --sasl-path) sasl_path=$2 && shift 2 ;;
        --realm) realm=$2 && shift 2 ;;
        --mx) mx=1 && shift ;;
        --relay-domains) relay_domains=$2 && shift 2 ;;
        --relay-port) relay_port=$2 && shift 2 ;;
        --milter) milter=$2 && shift 2 ;;
        --milter-default-action) milter_action=$2 && shift 2 ;;
        --milter-macros) mains+=("milter_${2%%=*}_macros = ${2#*=}") && shift 2 ;;
        --main) mains+=("$2") && shift 2 ;;
        --submission-o) subo+=("$2") && shift 2 ;;
        --mx-o) mxo+=("$2") && shift 2 ;;
        --hostname) hostname=$2 && shift 2 ;;
        *) lab_fail "lab_postfix_start: unknown option $1" ;;
        esac
    done
    t0=$(lab__now)
    dir=$LAB/pf-$name
    conf=$dir/conf
    jail=$dir/queue
    pfx=
    [ "$chroot" = y ] || pfx=$jail
    mkdir -p "$conf/sasl" "$jail" "$dir/data"
    chmod 0755 "$dir" "$conf" "$jail"
    chown postfix "$dir/data"
    port=$(lab_free_port)
    [ "$mx" = 0 ] || mx_port=$(lab_free_port)
    if [ -n "$relay_port" ]; then
        transport="smtp:[127.0.0.1]:$relay_port"
    else
        transport="discard:lab has no relay"
    fi

    {
        echo "# throwaway instance $name, written by tests/lab/lab.sh"
        echo "compatibility_level = 3.6"
        echo "queue_directory = $jail"
        echo "data_directory = $dir/data"
        echo "myhostname = $hostname"
        echo "mydomain = ${hostname#*.}"
        echo "myorigin = \$myhostname"
        echo "mydestination ="
        echo "local_recipient_maps ="
        echo "alias_maps ="
        echo "alias_database ="
        echo "relay_domains = $relay_domains"
        echo "mynetworks = 127.0.0.0/8"
        echo "inet_interfaces = 127.0.0.1"
        echo "inet_protocols = ipv4"
        echo "smtpd_banner = \$myhostname ESMTP lab-$name"
        echo "biff = no"
        echo "maillog_file = $dir/maillog"
        echo "maillog_file_prefixes = $dir"
        echo "default_transport = $transport"
        echo "relay_transport = $transport"
        echo "smtp_dns_support_level = disabled"
        echo "smtp_tls_security_level = none"
        echo "smtpd_tls_security_level = none"
        echo "smtpd_peername_lookup = no"
        echo "smtpd_sasl_auth_enable = no"
        if [ -n "$sasl_conf" ]; then
            echo "smtpd_sasl_type = cyrus"
            echo "smtpd_sasl_path = smtpd"
            echo "smtpd_sasl_security_options = noanonymous"
            echo "smtpd_sasl_local_domain = $realm"
        fi
        if [ -n "$sasl_path" ]; then
            echo "import_environment = $(postconf -d -h import_environment) SASL_PATH=$sasl_path:$LAB_SASL_SYSDIR"
        fi
        echo "milter_default_action = $milter_action"
        echo "milter_protocol = 6"
        for o in "${mains[@]}"; do
            lab__pf_subst "$pfx" "$o"
            echo
        done
    } >"$conf/main.cf"
    if [ -n "$sasl_conf" ]; then
        [ -r "$sasl_conf" ] || lab_fail "lab_postfix_start: cannot read $sasl_conf"
        lab__pf_subst "$pfx" "$(cat "$sasl_conf")" >"$conf/sasl/smtpd.conf"
        echo >>"$conf/sasl/smtpd.conf"
    fi

    {
        echo "# throwaway instance $name, written by tests/lab/lab.sh; chroot=$chroot"
        echo "127.0.0.1:$port inet n - $chroot - - smtpd"
        echo "  -o syslog_name=postfix-$name/submission"
        [ -z "$sasl_conf" ] || echo "  -o smtpd_sasl_auth_enable=yes"
        echo "  -o { smtpd_relay_restrictions = permit_sasl_authenticated, reject }"
        [ -z "$milter" ] || echo "  -o { smtpd_milters = $(lab__pf_subst "$pfx" "$milter") }"
        for o in "${subo[@]}"; do
            echo "  -o { ${o%%=*} = $(lab__pf_subst "$pfx" "${o#*=}") }"
        done
        if [ "$mx" = 1 ]; then
            echo "127.0.0.1:$mx_port inet n - $chroot - - smtpd"
            echo "  -o syslog_name=postfix-$name/mx"
            echo "  -o smtpd_sasl_auth_enable=no"
            echo "  -o { smtpd_relay_restrictions = permit_auth_destination, reject }"
            [ -z "$milter" ] || echo "  -o { smtpd_milters = $(lab__pf_subst "$pfx" "$milter") }"
            for o in "${mxo[@]}"; do
                echo "  -o { ${o%%=*} = $(lab__pf_subst "$pfx" "${o#*=}") }"
            done
        fi
        # Debian 12's master.cf services, chroot column as Debian has it.
        sed "s/ CH / $chroot /" <<'MASTER'
pickup     unix  n - CH 60    1 pickup
cleanup    unix  n - CH -     0 cleanup
qmgr       unix  n - n  300   1 qmgr
tlsmgr     unix  - - CH 1000? 1 tlsmgr
rewrite    unix  - - CH -     - trivial-rewrite
bounce     unix  - - CH -     0 bounce
defer      unix  - - CH -     0 bounce
trace      unix  - - CH -     0 bounce
verify     unix  - - CH -     1 verify
flush      unix  n - CH 1000? 0 flush
proxymap   unix  - - n  -     - proxymap
proxywrite unix  - - n  -     1 proxymap
smtp       unix  - - CH -     - smtp
relay      unix  - - CH -     - smtp
showq      unix  n - CH -     - showq
error      unix  - - CH -     - error
retry      unix  - - CH -     - error
discard    unix  - - CH -     - discard
local      unix  - n n  -     - local
virtual    unix  - n n  -     - virtual
lmtp       unix  - - CH -     - lmtp
anvil      unix  - - CH -     1 anvil
scache     unix  - - CH -     1 scache
postlog    unix-dgram n - n - 1 postlogd
MASTER
    } >"$conf/master.cf"

    if [ "$chroot" = y ]; then
        # What Debian's configure-instance.sh copies into the jail.
        mkdir -p "$jail/etc"
        for f in localtime services resolv.conf hosts host.conf nsswitch.conf; do
            [ -f "/etc/$f" ] && cp -L "/etc/$f" "$jail/etc/$f" && chmod a+rX "$jail/etc/$f"
        done
    fi

    lab__set "$name" conf "$conf"
    lab__set "$name" jail "$jail"
    lab__set "$name" log "$dir/maillog"
    lab__set "$name" port "$port"
    [ -z "$mx_port" ] || lab__set "$name" mx_port "$mx_port"
    lab__set "$name" out "$LAB/log/$name.out"

    lab__pf_backdate "$conf/main.cf" "$conf/master.cf"
    lab__pf_altconf add "$conf" || lab_fail "cannot add $conf to alternate_config_directories"
    lab__on_cleanup postfix "$name"
    postfix -c "$conf" start >>"$LAB/log/$name.out" 2>&1 ||
        lab_fail "postfix $name did not start: $(cat "$LAB/log/$name.out" "$dir/maillog" 2>/dev/null)"
    lab_wait_file "$jail/pid/master.pid" 30 || lab_fail "postfix $name: no master.pid"
    master_pid=$(awk 'NR == 1 { print $1 }' "$jail/pid/master.pid")
    lab__record "$name" "$master_pid" || lab_fail "postfix $name: master died: $(cat "$dir/maillog")"
    lab__wait 30 lab__ready_port "$name" "$port" ||
        lab_fail "postfix $name not listening on $port: $(cat "$dir/maillog")"
    if [ -n "$mx_port" ]; then
        lab__wait 30 lab__ready_port "$name" "$mx_port" ||
            lab_fail "postfix $name not listening on $mx_port: $(cat "$dir/maillog")"
    fi
    lab__set "$name" start_seconds "$(lab__since "$t0")"
}

lab_postfix_stop() {
    local name=$1 t0 conf
    conf=$(lab_get "$name" conf) || return 0
    if lab__alive "$name"; then
        t0=$(lab__now)
        postfix -c "$conf" stop >>"$LAB/log/$name.out" 2>&1
        lab__wait 10 lab__dead "$name" || lab__signal "$name" KILL
        lab__set "$name" stop_seconds "$(lab__since "$t0")"
    fi
    if [ ! -e "$LAB/state/$name.altconf_removed" ]; then
        lab__pf_altconf del "$conf" || echo "# could not remove $conf from alternate_config_directories" >&2
        : >"$LAB/state/$name.altconf_removed"
    fi
}

lab_postfix_log() {
    cat "$(lab_get "$1" log)" 2>/dev/null
}

# ------------------------------------------------------------ smtp-sink

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

# ------------------------------------------------------------ probe milter

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

# ------------------------------------------------------------ SMTP clients

# lab__transcript: a fresh transcript file name, remembered as the last one.
lab__transcript() {
    local n
    n=$(find "$LAB/log" -maxdepth 1 -name 'smtp.*' ! -name smtp.last | wc -l)
    echo "$LAB/log/smtp.$((n + 1))"
    echo "$LAB/log/smtp.$((n + 1))" >"$LAB/log/smtp.last"
}

# lab__swaks_code FILE [auth]: the last reply code before QUIT in a swaks
# transcript; with "auth", the last reply after the AUTH command ("none"
# when AUTH was not sent).
lab__swaks_code() {
    awk -v want="${2:-}" '
        /^ *(->|~>) +QUIT/ { exit }
        /^ *(->|~>) +AUTH/ { authsent = 1; code = "" }
        /^<(-|\*\*|~) +[0-9][0-9][0-9]/ { code = substr($2, 1, 3) }
        END {
            if (want == "auth" && !authsent) print "none"
            else print (code == "" ? "000" : code)
        }' "$1"
}

lab_auth() {
    local mech=$1 port=$2 user=$3 pass=$4 t
    t=$(lab__transcript)
    case $mech in
    SCRAM-* | GS2-*)
        # gsasl --verbose prints both sides; the last reply line after AUTH
        # and before QUIT is the answer.
        gsasl --smtp --connect="127.0.0.1:$port" --no-starttls --verbose \
            -m "$mech" -a "$user" -p "$pass" </dev/null >"$t" 2>&1
        awk '
            /^QUIT/ { exit }
            /^AUTH / { authsent = 1 }
            authsent && /^[2345][0-9][0-9][ -]/ { code = substr($0, 1, 3) }
            END { print (!authsent ? "none" : (code == "" ? "000" : code)) }' "$t"
        ;;
    *)
        swaks --server "127.0.0.1:$port" --helo client.lab.test --quit-after AUTH \
            --auth "$mech" --auth-user "$user" --auth-password "$pass" >"$t" 2>&1
        lab__swaks_code "$t" auth
        ;;
    esac
}

lab_send() {
    local port=$1 from=$2 to=$3 t
    shift 3
    t=$(lab__transcript)
    swaks --server "127.0.0.1:$port" --helo client.lab.test --from "$from" --to "$to" \
        "$@" >"$t" 2>&1
    lab__swaks_code "$t"
}

# ------------------------------------------------------------ unpacked MTAs

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

# ------------------------------------------------------------ Sendmail

lab_sendmail_start() {
    local name=$1 sasl_conf= sasl_path= mechs="PLAIN CRAM-MD5" milter= relay_port=
    local realm= hostname=$LAB_HOST mcs=() cfs=() dir port l t0
    shift
    while [ $# -gt 0 ]; do
        case $1 in
        --sasl-conf) sasl_conf=$2 && shift 2 ;;
        --sasl-path) sasl_path=$2 && shift 2 ;;
        --mechs) mechs=$2 && shift 2 ;;
        --milter) milter=$2 && shift 2 ;;
        --relay-port) relay_port=$2 && shift 2 ;;
        --realm) realm=$2 && shift 2 ;;
        --hostname) hostname=$2 && shift 2 ;;
        --mc) mcs+=("$2") && shift 2 ;;
        --cf) cfs+=("$2") && shift 2 ;;
        *) lab_fail "lab_sendmail_start: unknown option $1" ;;
        esac
    done
    [ -n "$LAB_SM" ] || lab_fail "lab_sendmail_start: call lab_init with the sendmail feature"
    [ -n "$realm" ] || realm=$hostname
    t0=$(lab__now)
    dir=$LAB/sm-$name
    mkdir -p "$dir/mqueue" "$dir/sasl"
    chmod 0755 "$dir"
    chmod 0700 "$dir/mqueue"
    : >"$dir/aliases"
    : >"$dir/statistics"
    printf 'hosts\tfiles\naliases\tfiles\n' >"$dir/service.switch"
    [ -z "$sasl_conf" ] || cp "$sasl_conf" "$dir/sasl/Sendmail.conf" ||
        lab_fail "lab_sendmail_start: cannot read $sasl_conf"
    port=$(lab_free_port)
    {
        echo "divert(0)dnl"
        echo "VERSIONID(\`authgate-lab $name')dnl"
        echo "OSTYPE(\`linux')dnl"
        echo "define(\`confDOMAIN_NAME', \`$hostname')dnl"
        echo "define(\`confDONT_PROBE_INTERFACES', \`True')dnl"
        echo "define(\`confSERVICE_SWITCH_FILE', \`$dir/service.switch')dnl"
        echo "define(\`confDONT_BLAME_SENDMAIL', \`TrustStickyBit')dnl"
        echo "FEATURE(\`accept_unresolvable_domains')dnl"
        echo "define(\`QUEUE_DIR', \`$dir/mqueue')dnl"
        echo "define(\`confPID_FILE', \`$dir/sendmail.pid')dnl"
        echo "define(\`STATUS_FILE', \`$dir/statistics')dnl"
        echo "define(\`ALIAS_FILE', \`$dir/aliases')dnl"
        echo "define(\`HELP_FILE', \`$LAB_SM/etc/mail/helpfile')dnl"
        echo "define(\`confCW_FILE', \`-o $dir/local-host-names')dnl"
        echo "define(\`confLOG_LEVEL', \`20')dnl"
        echo "define(\`confMILTER_LOG_LEVEL', \`20')dnl"
        echo "define(\`confAUTH_MECHANISMS', \`$mechs')dnl"
        echo "TRUST_AUTH_MECH(\`$mechs')dnl"
        echo "define(\`confAUTH_REALM', \`$realm')dnl"
        if [ -n "$relay_port" ]; then
            echo "define(\`SMART_HOST', \`relay:[127.0.0.1]')dnl"
            echo "define(\`RELAY_MAILER_ARGS', \`TCP \$h $relay_port')dnl"
        else
            echo "define(\`confDELIVERY_MODE', \`queueonly')dnl"
        fi
        echo "FEATURE(\`no_default_msa')dnl"
        echo "DAEMON_OPTIONS(\`Family=inet, Addr=127.0.0.1, Port=$port, Name=MTA-$name, M=E')dnl"
        [ -z "$milter" ] ||
            echo "INPUT_MAIL_FILTER(\`lab', \`S=$milter, F=T, T=S:10s;R:10s;E:30s')dnl"
        for l in "${mcs[@]}"; do
            echo "$l"
        done
        echo "MAILER(\`smtp')dnl"
        echo "LOCAL_CONFIG"
        echo "ESASL_CONF_PATH=$dir/sasl"
        [ -z "$sasl_path" ] || echo "ESASL_PATH=$sasl_path:$LAB_SASL_SYSDIR"
        for l in "${cfs[@]}"; do
            echo "$l"
        done
    } >"$dir/sendmail.mc"
    m4 -D_CF_DIR_="$LAB_SM/usr/share/sendmail/cf/" "$LAB_SM/usr/share/sendmail/cf/m4/cf.m4" \
        "$dir/sendmail.mc" >"$dir/sendmail.cf" 2>"$dir/m4.err" ||
        lab_fail "m4 failed for sendmail $name: $(cat "$dir/m4.err")"
    lab__set "$name" dir "$dir"
    lab__set "$name" port "$port"
    lab__set "$name" log "$LAB/log/$name.syslog"
    # -bD: the daemon in the foreground, so its pid is ours from the start.
    lab_daemon_start "$name" --hostname "$hostname" --devlog --ready-port "$port" -- \
        "$LAB_SM/usr/libexec/sendmail/sendmail" -C "$dir/sendmail.cf" -bD -q30m
    lab__set "$name" start_seconds "$(lab__since "$t0")"
}

lab_sendmail_stop() {
    lab_daemon_stop "$1"
}

lab_sendmail_log() {
    cat "$(lab_get "$1" log)" 2>/dev/null
}

# ------------------------------------------------------------ Exim

lab__exim_conf() {
    local dir=$1 port=$2 hostname=$3 relay_port=$4 sasl_env=$5 mechs=$6 sad=$7 sad_mechs=$8
    local sad_realm=$9 acl_rcpt=${10} acl_data=${11} mains=${12} m
    cat <<EOF1
# written by tests/lab/lab.sh
exim_path = $LAB_EXIM/usr/sbin/exim4
primary_hostname = $hostname
qualify_domain = $hostname
spool_directory = $dir/spool
log_file_path = $dir/log/%slog
pid_file_path = $dir/exim.pid
daemon_smtp_ports = $port
local_interfaces = 127.0.0.1
keep_environment =
add_environment = <; $sasl_env
deliver_drop_privilege = true
tls_advertise_hosts =
host_lookup =
rfc1413_hosts =
log_selector = +smtp_connection +received_recipients
acl_smtp_rcpt = acl_rcpt
acl_smtp_data = acl_data
$mains

begin acl
acl_rcpt:
$acl_rcpt

acl_data:
$acl_data

begin routers
EOF1
    if [ -n "$relay_port" ]; then
        cat <<EOF1
to_sink:
  driver = manualroute
  route_list = * 127.0.0.1
  self = send
  transport = to_sink_smtp
  no_more

begin transports
to_sink_smtp:
  driver = smtp
  port = $relay_port
  allow_localhost
  hosts_avoid_tls = *
EOF1
    else
        cat <<'EOF1'
blackhole:
  driver = redirect
  data = :blackhole:
  no_more

begin transports
EOF1
    fi
    echo
    echo "begin authenticators"
    for m in $mechs; do
        cat <<EOF1
cyrus_${m//-/_}:
  driver = cyrus_sasl
  public_name = $m
  server_set_id = \$auth1
EOF1
    done
    [ -n "$sad" ] || return 0
    for m in $sad_mechs; do
        case $m in
        PLAIN)
            cat <<EOF1
saslauthd_plain:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = \${if saslauthd{{\$auth2}{\$auth3}{smtp}{$sad_realm}}}
  server_set_id = \$auth2
EOF1
            ;;
        LOGIN)
            cat <<EOF1
saslauthd_login:
  driver = plaintext
  public_name = LOGIN
  server_prompts = Username:: : Password::
  server_condition = \${if saslauthd{{\$auth1}{\$auth2}{smtp}{$sad_realm}}}
  server_set_id = \$auth1
EOF1
            ;;
        *) lab_fail "lab_exim_start: saslauthd supports PLAIN and LOGIN, not $m" ;;
        esac
    done
}

lab_exim_start() {
    local name=$1 sasl_conf= sasl_path= mechs="PLAIN CRAM-MD5" sad= sad_mechs=PLAIN sad_realm=
    local relay_port= hostname=$LAB_HOST mains= dir port sasl_env t0 binds=()
    local acl_rcpt='  accept authenticated = *
  deny message = 5.7.1 relay not permitted, authenticate first'
    local acl_data='  accept add_header = X-Lab-Auth-Id: $authenticated_id'
    shift
    while [ $# -gt 0 ]; do
        case $1 in
        --sasl-conf) sasl_conf=$2 && shift 2 ;;
        --sasl-path) sasl_path=$2 && shift 2 ;;
        --mechs) mechs=$2 && shift 2 ;;
        --saslauthd) sad=$2 && shift 2 ;;
        --saslauthd-mechs) sad_mechs=$2 && shift 2 ;;
        --saslauthd-realm) sad_realm=$2 && shift 2 ;;
        --relay-port) relay_port=$2 && shift 2 ;;
        --acl-rcpt) acl_rcpt=$2 && shift 2 ;;
        --acl-data) acl_data=$2 && shift 2 ;;
        --main) mains="$mains$2"$'\n' && shift 2 ;;
        --hostname) hostname=$2 && shift 2 ;;
        *) lab_fail "lab_exim_start: unknown option $1" ;;
        esac
    done
    [ -n "$LAB_EXIM" ] || lab_fail "lab_exim_start: call lab_init with the exim feature"
    t0=$(lab__now)
    dir=$LAB/ex-$name
    mkdir -p "$dir/spool" "$dir/log" "$dir/sasl"
    chmod 0755 "$dir" "$dir/sasl"
    chown -R Debian-exim: "$dir/spool" "$dir/log"
    if [ -n "$sasl_conf" ]; then
        cp "$sasl_conf" "$dir/sasl/exim.conf" || lab_fail "lab_exim_start: cannot read $sasl_conf"
        chmod 0644 "$dir/sasl/exim.conf"
    fi
    sasl_env="SASL_CONF_PATH=$dir/sasl"
    [ -z "$sasl_path" ] || sasl_env="$sasl_env; SASL_PATH=$sasl_path:$LAB_SASL_SYSDIR"
    if [ -n "$sad" ]; then
        [ -d "$sad" ] || lab_fail "lab_exim_start: no saslauthd directory $sad"
        lab__saslauthd_rundir
        binds=(--bind "$sad" /run/saslauthd)
    fi
    port=$(lab_free_port)
    lab__exim_conf "$dir" "$port" "$hostname" "$relay_port" "$sasl_env" "$mechs" "$sad" \
        "$sad_mechs" "$sad_realm" "$acl_rcpt" "$acl_data" "$mains" >"$dir/exim.conf"
    lab__set "$name" dir "$dir"
    lab__set "$name" port "$port"
    lab__set "$name" log "$dir/log/mainlog"
    "$LAB_EXIM/usr/sbin/exim4" -C "$dir/exim.conf" -bV >"$dir/bV.out" 2>&1 ||
        lab_fail "exim $name rejects its configuration: $(cat "$dir/bV.out")"
    lab_daemon_start "$name" --hostname "$hostname" --devlog "${binds[@]}" --ready-port "$port" -- \
        "$LAB_EXIM/usr/sbin/exim4" -C "$dir/exim.conf" -bdf -q30m
    lab__set "$name" start_seconds "$(lab__since "$t0")"
}

lab_exim_stop() {
    lab_daemon_stop "$1"
}

lab_exim_log() {
    local dir
    dir=$(lab_get "$1" dir) || return 1
    case ${2:-main} in
    syslog) cat "$LAB/log/$1.syslog" 2>/dev/null ;;
    *) cat "$dir/log/${2:-main}log" 2>/dev/null ;;
    esac
}

# ------------------------------------------------------------ saslauthd

# /run/saslauthd: the bind target for Exim's compiled-in socket directory;
# made as sasl2-bin's postinst makes it if /run was cleared since.
lab__saslauthd_rundir() {
    [ -d /run/saslauthd ] && return 0
    install -d -o root -g sasl -m 0710 /run/saslauthd 2>/dev/null ||
        install -d -o root -g root -m 0710 /run/saslauthd ||
        lab_fail "cannot create /run/saslauthd"
}

lab_saslauthd_start() {
    local name=$1 sasldb= dir t0
    shift
    while [ $# -gt 0 ]; do
        case $1 in
        --sasldb) sasldb=$2 && shift 2 ;;
        *) lab_fail "lab_saslauthd_start: unknown option $1" ;;
        esac
    done
    [ -r "$sasldb" ] || lab_fail "lab_saslauthd_start: --sasldb FILE is required"
    t0=$(lab__now)
    dir=$LAB/sad-$name
    mkdir -p "$dir"
    chmod 0755 "$dir"
    lab__set "$name" dir "$dir"
    lab__set "$name" log "$LAB/log/$name.syslog"
    # -d: foreground and log to stderr too; -n 0: one process per request.
    lab_daemon_start "$name" --hostname "$LAB_HOST" --devlog --bind "$sasldb" /etc/sasldb2 \
        --ready-file "$dir/mux" -- saslauthd -a sasldb -m "$dir" -n 0 -d
    lab__set "$name" start_seconds "$(lab__since "$t0")"
}

lab_saslauthd_stop() {
    lab_daemon_stop "$1"
}

lab_saslauthd_log() {
    cat "$LAB/log/$1.syslog" "$(lab_get "$1" out)" 2>/dev/null
}
