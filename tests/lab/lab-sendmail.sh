# shellcheck shell=bash
# lab-sendmail.sh - part of lab.sh (see its header): Sendmail 8.17 daemons
# from the unpacked tree, configured by m4 from a generated sendmail.mc, in
# their own UTS namespace (a dotted host name, or Sendmail sleeps 60 s) with
# a private /dev/log.

lab_sendmail_start() {
    local name=$1 sasl_conf='' sasl_path='' mechs="PLAIN CRAM-MD5" milter='' relay_port=''
    local realm='' hostname=$LAB_HOST mcs=() cfs=() dir port l t0
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
        # Load average: Sendmail refuses connections (and does not even
        # listen) above RefuseLA, 12 per CPU by default; a reliability test's
        # thousand reader processes beside it pass that on 2 CPUs.
        echo "define(\`confREFUSE_LA', \`10000')dnl"
        echo "define(\`confQUEUE_LA', \`10000')dnl"
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
