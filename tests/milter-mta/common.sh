# shellcheck shell=bash
# common.sh - what test-postfix.sh and test-sendmail.sh share: the store,
# authgate-milter under the lab, SMTP dialogues that print the exact final
# reply, and reading the delivered header block.
#
# Source after tests/lab/lab.sh and lab_init.  Environment (set by meson):
# AUTHGATE_MILTER, AUTHGATE_PLUGIN (libauthgate.so), MILTER_MTA_STORE,
# MILTER_MTA_PROBE.
#
# FUNCTIONS
#   mm_init               Check the environment (exit 77 when run outside
#                         meson); make $LAB/plugins holding libauthgate.so.
#   mm_store DIR [-s GROUP]   The test store: mechanisms PLAIN CRAM-MD5,
#                         logins alice@example.com and carol@example.org
#                         (password $MM_PW), alice may also use
#                         shared@example.com and info@xn--bcher-kva.example,
#                         carol everything @example.net; example.com is a
#                         local domain.
#   mm_sasl_conf FILE STORE   libsasl config: auxprop authgate, the store.
#   mm_milter_conf FILE STORE SOCKET [LINE]...   authgate.conf for the
#                         milter (authserv_id $MM_AUTHSERV, socket 0666).
#   mm_milter_start NAME CONF   authgate-milter -f -c CONF under the lab;
#                         waits for its UNIX socket.
#   mm_probe_start NAME SOCKET   The {auth_author} probe milter on the UNIX
#                         socket path SOCKET; its records: mm_milter_log NAME.
#   mm_milter_reload NAME STORE [LINE]...   Rewrite NAME's configuration
#                         (as mm_milter_conf, same socket), SIGHUP, wait
#                         until it logs the reload.
#   mm_send PORT FROM TO DATAFILE [SWAKS OPTION]...   One message with swaks;
#                         prints the last reply line before QUIT, e.g.
#                         "550 5.7.1 From address <...> rejected: ...".
#   mm_msg FILE ID [HEADER]...   Write a message: the HEADERs in order, then
#                         X-Lab-Id: ID, Subject, Date, Message-ID, a body.
#   mm_raw PORT LINE...   A raw SMTP dialogue (bash /dev/tcp): sends EHLO,
#                         then each LINE, reading one reply per line ("."
#                         ends DATA); prints the last reply before QUIT.
#   mm_headers SINK ID    The delivered header block of message ID, folded
#                         lines joined (smtp-sink's X-* envelope lines
#                         dropped).
#   mm_field_names SINK ID   The field names of that block, one per line.
#   mm_count_field TEXT NAME   How many fields called NAME TEXT holds.
#   mm_after TEXT ERE     The field right after the first one matching ERE.
#   mm_milter_log NAME    The milter's output (its decision lines).

MM_PW=Sesame-8472-open
MM_AUTHSERV=mx.lab.test

mm_init() {
    local v
    for v in AUTHGATE_MILTER AUTHGATE_PLUGIN MILTER_MTA_STORE MILTER_MTA_PROBE; do
        if [ -z "${!v:-}" ] || [ ! -e "${!v}" ]; then
            lab_skip "$v is not set to a built file (run through meson test)"
        fi
    done
    mkdir -p "$LAB/plugins"
    ln -s "$AUTHGATE_PLUGIN" "$LAB/plugins/libauthgate.so"
}

mm_store() {
    local dir=$1 args=()
    shift
    [ $# -eq 0 ] || args=("$@")
    printf '%s\n' "$MM_PW" | "$MILTER_MTA_STORE" "${args[@]}" "$dir" \
        setting mechanisms "PLAIN CRAM-MD5" \
        user alice@example.com user carol@example.org \
        allow alice@example.com shared@example.com \
        allow alice@example.com info@xn--bcher-kva.example \
        allow carol@example.org @example.net \
        domain example.com >"$LAB/log/store.out" 2>&1 ||
        lab_fail "milter-mta-store failed: $(cat "$LAB/log/store.out")"
}

mm_sasl_conf() {
    printf '%s\n' 'pwcheck_method: auxprop' 'auxprop_plugin: authgate' \
        "authgate_store: $2" 'mech_list: PLAIN CRAM-MD5' 'log_level: 5' >"$1"
}

# mm__conf_lines FILE STORE SOCKET [LINE]...: the configuration text.
mm__conf_lines() {
    local l
    printf '%s\n' "store = $2" "milter_socket = unix:$3" 'milter_user = ""' \
        "milter_pidfile = $(dirname "$1")/$(basename "$1" .conf).pid" \
        'milter_socket_mode = 0666' "authserv_id = $MM_AUTHSERV" 'milter_timeout = 10'
    shift 3
    for l in "$@"; do
        printf '%s\n' "$l"
    done
}

mm_milter_conf() {
    mm__conf_lines "$@" >"$1.new" && mv "$1.new" "$1"
}

mm_milter_start() {
    local name=$1 conf=$2 sock
    sock=$(sed -n 's/^milter_socket = unix://p' "$conf")
    mkdir -p "$(dirname "$sock")"
    lab__set "$name" conf "$conf"
    lab__set "$name" socket "$sock"
    lab_daemon_start "$name" --ready-file "$sock" -- "$AUTHGATE_MILTER" -f -c "$conf"
}

mm_probe_start() {
    mkdir -p "$(dirname "$2")"
    lab_daemon_start "$1" --ready-file "$2" -- "$MILTER_MTA_PROBE" "unix:$2"
}

mm_milter_reload() {
    local name=$1 store=$2 conf sock before
    shift 2
    conf=$(lab_get "$name" conf)
    sock=$(lab_get "$name" socket)
    before=$(grep -c 'configuration .* reloaded' "$LAB/log/$name.out")
    mm__conf_lines "$conf" "$store" "$sock" "$@" >"$conf.new" && mv "$conf.new" "$conf"
    lab__signal "$name" HUP
    lab__wait 10 mm__reloaded "$LAB/log/$name.out" "$before" ||
        lab_fail "$name did not reload: $(tail -5 "$LAB/log/$name.out")"
}

mm__reloaded() {
    [ "$(grep -c 'configuration .* reloaded' "$1")" -gt "$2" ]
}

mm_milter_log() {
    cat "$LAB/log/$1.out"
}

mm_send() {
    local port=$1 from=$2 to=$3 data=$4
    shift 4
    lab_send_reply "$port" "$from" "$to" --data "@$data" --timeout 30 "$@"
}

mm_msg() {
    local file=$1 id=$2 h
    shift 2
    {
        for h in "$@"; do
            printf '%s\r\n' "$h"
        done
        printf '%s\r\n' "X-Lab-Id: $id" "Subject: authgate milter test" \
            "Date: $(date -R)" "Message-ID: <$id@client.lab.test>" "" "Test body." ""
    } >"$file"
}

# mm__reply: read one (possibly multi-line) SMTP reply from fd 3 into the
# transcript; print its last line.
mm__reply() {
    local line last=''
    while IFS= read -r -t 30 line <&3; do
        line=${line%$'\r'}
        printf '<- %s\n' "$line" >>"$MM_T"
        last=$line
        [[ $line =~ ^[0-9]{3}- ]] || break
    done
    printf '%s\n' "${last:-no reply}"
}

mm_raw() {
    local port=$1 line reply='' indata=0
    shift
    MM_T=$(lab__transcript)
    (
        exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
        reply=$(mm__reply)
        for line in "EHLO client.lab.test" "$@"; do
            printf '%s\r\n' "$line" >&3
            printf -- '-> %s\n' "$line" >>"$MM_T"
            if [ "$indata" = 1 ] && [ "$line" != . ]; then
                continue
            fi
            indata=0
            reply=$(mm__reply)
            case $reply in
            354*) indata=1 ;;
            [45]*) break ;;
            esac
        done
        printf 'QUIT\r\n' >&3
        printf -- '-> QUIT\n' >>"$MM_T"
        mm__reply >/dev/null
        printf '%s\n' "$reply"
    ) || echo "no connection"
}

mm_headers() {
    lab_sink_find "$1" X-Lab-Id "$2" | awk '
        /^X-(Client-Addr|Client-Proto|Helo-Name|Mail-Args|Rcpt-Args|Xforward-[A-Za-z-]+|Xclient-[A-Za-z-]+):/ && !body_started { next }
        /^[ \t]/ { cur = cur " " substr($0, match($0, /[^ \t]/)); next }
        { if (cur != "") print cur; cur = $0; body_started = 1 }
        END { if (cur != "") print cur }'
}

mm_field_names() {
    mm_headers "$1" "$2" | sed 's/:.*//'
}

mm_count_field() {
    printf '%s\n' "$1" | grep -ci "^$2:"
}

mm_after() {
    printf '%s\n' "$1" | awk -v ere="$2" 'hit { print; exit } $0 ~ ere { hit = 1 }'
}
