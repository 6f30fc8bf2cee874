# shellcheck shell=bash source-path=SCRIPTDIR
# shellcheck disable=SC2034 # GUIDE_* globals are for the sourcing script
# guide.sh - what the demo (tests/demo/demo.sh) and the guide tests
# (tests/docs/test-guide-*.sh) share: authgate's programs, the system
# accounts, TLS, turning a guide's Postfix snippets into lab options, and
# reading SMTP replies out of swaks transcripts.  Source it after
# tests/lab/lab.sh and snippet.sh (lab_fail is used for errors).
#
#   guide_binaries BUILD   Set CTL AUTHD MILTER PLUGIN from BUILD (or from
#       DEMO_CTL DEMO_AUTHD DEMO_MILTER DEMO_PLUGIN); exit 77 naming the
#       first one missing.
#   guide_accounts         The Debian packages' groups authgate-secrets,
#       authgate-policy and users authgate-authd, authgate-milter, created
#       when missing (flock; prints what it created), checked otherwise.
#   guide_tls DIR NAME     A self-signed certificate DIR/cert.pem and key
#       DIR/key.pem for NAME and 127.0.0.1.
#   guide_plugin           Set GUIDE_SASL_PATH (an array: the lab's
#       --sasl-path option, or empty when libauthgate.so is installed in
#       libsasl2's directory) and GUIDE_PLUGIN_NOTE (which copy is used).
#   guide_master TEXT submission|mx   Append a master.cf service of a guide
#       to the array GUIDE_PF as lab_postfix_start options: its -o lines as
#       --submission-o / --mx-o, and --chroot or --no-chroot from its
#       chroot column (every service of one lab instance shares it: a
#       mismatch is an error).
#   guide_main TEXT        Append main.cf lines to GUIDE_PF as --main options.
#   guide_postfix_stack NAME [CONF_LINE]...   docs/guide-postfix.md's
#       chrooted submission service, as the guide sets it up: authgate.conf
#       (plus CONF_LINEs), the store by the guide's commands (alice, who may
#       also send as sales@; skipped when $LAB/store-NAME exists already:
#       make it with guide_conf after setting GUIDE_*), the socket directories, authgate-authd
#       NAME-authd and authgate-milter NAME-milter started from that
#       configuration, an smtp-sink NAME-sink, the guide's smtpd.conf,
#       main.cf and master.cf in a lab Postfix NAME with a throwaway TLS
#       certificate.  Sets GUIDE_STORE GUIDE_CONF GUIDE_JAIL; the
#       submission port is `lab_get NAME port`.
#   guide_conf [CONF_LINE]...   (Re)write GUIDE_CONF: the guide's
#       authgate.conf mapped into the sandbox, pid files off (the lab
#       tracks the daemons), then the lines.
#   guide_swaks FILE PORT SWAKS_ARG...   One session over STARTTLS,
#       transcript in FILE.
#   guide_reply FILE STEP  The server's last reply line to STEP (AUTH MAIL
#       RCPT DATA EOD, EOD being the end of the message) in a swaks
#       transcript; "-" when the step was not reached.
#   guide_code TEXT        Its first three characters.

guide_binaries() {
    local b=$1 v
    CTL=${DEMO_CTL:-$b/tools/authgatectl}
    AUTHD=${DEMO_AUTHD:-$b/plugin/authd/authgate-authd}
    MILTER=${DEMO_MILTER:-$b/milter/authgate-milter}
    PLUGIN=${DEMO_PLUGIN:-$b/plugin/libauthgate.so}
    for v in "$CTL" "$AUTHD" "$MILTER" "$PLUGIN"; do
        if [ ! -e "$v" ]; then
            echo "SKIP: $v is missing: build first (make), or name the build directory" >&2
            exit 77
        fi
    done
}

guide_accounts() {
    local made='' g ug u
    mkdir -p /run/lock
    exec 8>/run/lock/authgate-demo-accounts.lock
    flock -w 120 8 || lab_fail "cannot lock /run/lock/authgate-demo-accounts.lock"
    for g in authgate-secrets authgate-policy; do
        if ! getent group "$g" >/dev/null; then
            groupadd --system "$g" || lab_fail "groupadd $g failed"
            made="$made group:$g"
        fi
    done
    for ug in authgate-authd:authgate-secrets authgate-milter:authgate-policy; do
        u=${ug%%:*}
        g=${ug#*:}
        if ! getent passwd "$u" >/dev/null; then
            useradd --system --user-group --groups "$g" --no-create-home \
                --home-dir /nonexistent --shell /usr/sbin/nologin "$u" || lab_fail "useradd $u failed"
            made="$made user:$u"
        fi
        id -nG "$u" | tr ' ' '\n' | grep -qxF "$g" ||
            lab_fail "user $u exists but is not in group $g (the packages put it there)"
    done
    exec 8>&-
    [ -z "$made" ] || echo "# created system accounts (as the Debian packages do):$made"
}

guide_tls() {
    mkdir -p "$1"
    chmod 0700 "$1"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj "/CN=$2" -addext "subjectAltName=DNS:$2,IP:127.0.0.1" \
        -keyout "$1/key.pem" -out "$1/cert.pem" >"$1/openssl.out" 2>&1 ||
        lab_fail "openssl: $(cat "$1/openssl.out")"
}

guide_plugin() {
    GUIDE_SASL_PATH=()
    if [ -e "$LAB_SASL_SYSDIR/libauthgate.so" ]; then
        GUIDE_PLUGIN_NOTE="installed $LAB_SASL_SYSDIR/libauthgate.so"
        return 0
    fi
    if [ ! -e "$LAB/plugins/libauthgate.so" ]; then
        mkdir -p "$LAB/plugins"
        install -m 0644 "$PLUGIN" "$LAB/plugins/libauthgate.so" || lab_fail "cannot copy $PLUGIN"
    fi
    GUIDE_SASL_PATH=(--sasl-path "$LAB/plugins")
    GUIDE_PLUGIN_NOTE="the build's libauthgate.so"
}

guide_master() {
    local text=$1 kind=$2 line chroot opt first i
    [ -n "$text" ] || lab_fail "guide_master: no master.cf text"
    first=$(head -1 <<<"$text")
    chroot=$(awk '{ print $5 }' <<<"$first")
    case $chroot in
    y) chroot=--chroot ;;
    n) chroot=--no-chroot ;;
    *) lab_fail "guide_master: chroot column \"$chroot\" in: $first" ;;
    esac
    for ((i = 0; i < ${#GUIDE_PF[@]}; i++)); do
        case ${GUIDE_PF[i]} in
        --chroot | --no-chroot)
            [ "${GUIDE_PF[i]}" = "$chroot" ] ||
                lab_fail "guide_master: $kind wants $chroot, another service ${GUIDE_PF[i]}"
            ;;
        esac
    done
    GUIDE_PF+=("$chroot")
    case $kind in
    submission) opt=--submission-o ;;
    mx)
        opt=--mx-o
        GUIDE_PF+=(--mx)
        ;;
    *) lab_fail "guide_master: unknown kind $kind" ;;
    esac
    while read -r line; do
        case $line in
        "-o "*) GUIDE_PF+=("$opt" "${line#-o }") ;;
        "" | "$first") ;;
        *) lab_fail "guide_master: cannot use line: $line" ;;
        esac
    done <<<"$text"
}

guide_main() {
    local line
    while read -r line; do
        [ -z "$line" ] || GUIDE_PF+=(--main "$line")
    done <<<"$1"
}

guide_conf() {
    {
        snippet_get postfix-authgate-conf "/var/lib/authgate=$GUIDE_STORE" \
            "/var/spool/postfix=$GUIDE_JAIL" "mail.example.org=$LAB_HOST" || exit 1
        echo 'authd_pidfile = ""'
        echo 'milter_pidfile = ""'
        [ $# = 0 ] || printf '%s\n' "$@"
    } >"$GUIDE_CONF.new" || lab_fail "guide_conf: no authgate.conf"
    mv "$GUIDE_CONF.new" "$GUIDE_CONF"
}

guide_postfix_stack() {
    local name=$1 out
    shift
    out=$LAB/log/$name-setup.out
    GUIDE_JAIL=$(lab_postfix_jail "$name")
    GUIDE_STORE=$LAB/store-$name
    GUIDE_CONF=$LAB/authgate-$name.conf
    mkdir -p "$GUIDE_JAIL"
    guide_conf "$@"
    if [ ! -e "$GUIDE_STORE/secrets" ]; then
        snippet_run postfix-store "authgatectl=\"$CTL\" --config \"$GUIDE_CONF\"" >>"$out" 2>&1 ||
            lab_fail "the Postfix guide's store commands failed: $(cat "$out")"
    fi
    snippet_run postfix-socket-dirs "/var/spool/postfix=$GUIDE_JAIL" >>"$out" 2>&1 ||
        lab_fail "the Postfix guide's socket directory commands failed: $(cat "$out")"
    lab_daemon_start "$name-authd" --ready-file "$GUIDE_JAIL/run/authgate/authd/mux" -- \
        "$AUTHD" -f -c "$GUIDE_CONF"
    lab_daemon_start "$name-milter" --ready-file "$GUIDE_JAIL/authgate/milter.sock" -- \
        "$MILTER" -f -c "$GUIDE_CONF"
    lab_sink_start "$name-sink"
    snippet_file postfix-smtpd-conf "$LAB/smtpd-$name.conf" "/var/lib/authgate=$GUIDE_STORE" ||
        lab_fail "no smtpd.conf"
    guide_plugin
    [ -e "$LAB/tls/cert.pem" ] || guide_tls "$LAB/tls" "$LAB_HOST"
    GUIDE_PF=()
    guide_main "$(snippet_get postfix-main-cf)"
    guide_master "$(snippet_get postfix-master-submission)" submission
    lab_postfix_start "$name" "${GUIDE_PF[@]}" --sasl-conf "$LAB/smtpd-$name.conf" \
        "${GUIDE_SASL_PATH[@]}" --relay-port "$(lab_get "$name-sink" port)" \
        --main "smtpd_tls_cert_file = $LAB/tls/cert.pem" --main "smtpd_tls_key_file = $LAB/tls/key.pem"
}

guide_swaks() {
    local f=$1 port=$2
    shift 2
    swaks --server "127.0.0.1:$port" --tls --helo client.example.net "$@" >"$f" 2>&1
}

guide_reply() {
    awk -v want="$2" '
        # client lines: " -> X" (plain) or " ~> X" (TLS)
        /^ *(->|~>) / {
            c = $0; sub(/^ *(->|~>) /, "", c)
            if (indata) { if (c == ".") { step = "EOD"; indata = 0 }; next }
            if (c ~ /^AUTH /) step = "AUTH"
            else if (c ~ /^MAIL FROM/) step = "MAIL"
            else if (c ~ /^RCPT TO/) step = "RCPT"
            else if (c ~ /^DATA/) { step = "DATA"; indata = 1 }
            else if (c ~ /^QUIT/) step = "QUIT"
            else if (c ~ /^(EHLO|HELO|STARTTLS)/) step = "OTHER"
            next
        }
        # server lines: "<-  250 ..", "<~  ..", "<** ..", "<~* .."
        /^<[-~*][-~*]? +[0-9][0-9][0-9][ -]/ {
            r = $0; sub(/^<[-~*]+ +/, "", r)
            if (substr(r, 4, 1) == "-") next
            if (step == "DATA" && substr(r, 1, 3) != "354") indata = 0
            if (step == want) got = r
        }
        END { print (got == "" ? "-" : got) }' "$1"
}

guide_code() {
    printf '%.3s' "$1"
}
