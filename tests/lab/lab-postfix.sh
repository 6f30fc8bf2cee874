# shellcheck shell=bash
# lab-postfix.sh - part of lab.sh (see its header): throwaway Postfix 3.7
# instances.  lab_postfix_start writes an instance's main.cf, master.cf and
# sasl/smtpd.conf under $LAB/pf-NAME, lists its config directory in
# /etc/postfix/main.cf's alternate_config_directories (flock), and runs
# "postfix -c DIR start"; lab_postfix_stop undoes both.  Failures end the
# test through lab_fail with the instance's maillog.

lab_postfix_jail() {
    echo "$LAB/pf-$1/queue"
}

# lab__pf_altconf add|del DIR: edit alternate_config_directories of the
# default main.cf under flock on /etc/postfix and on main.cf.  Plain text
# edits in place, keeping the inode (and postconf -h can be slow).
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
        exec 8<"$main"
        flock -w 120 8 || exit 1
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
    local name=$1 chroot=y sasl_conf='' sasl_path='' realm='' mx=0 relay_domains=lab.test
    local relay_port='' milter='' milter_action=tempfail hostname=$LAB_HOST
    local mains=() subo=() mxo=() t0 dir conf jail pfx port mx_port='' transport f o master_pid
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

# lab_postfix_procs NAME [COMMAND]: pids of the instance's master children
# (only those running COMMAND, e.g. smtpd), one per line.
lab_postfix_procs() {
    local master
    lab__alive "$1" || return 1
    master=$(lab_get "$1" pid)
    if [ -n "${2:-}" ]; then
        ps -o pid= -o comm= --ppid "$master" | awk -v c="$2" '$2 == c { print $1 }'
    else
        ps -o pid= --ppid "$master" | awk '{ print $1 }'
    fi
}
