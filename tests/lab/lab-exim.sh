# shellcheck shell=bash
# lab-exim.sh - part of lab.sh (see its header): Exim 4.96 (heavy) daemons
# from the unpacked tree with cyrus_sasl and saslauthd-condition
# authenticators, in their own namespaces (private /dev/log; a saslauthd
# socket directory bound over the compiled-in /run/saslauthd).

lab__exim_conf() {
    local dir=$1 port=$2 hostname=$3 relay_port=$4 sasl_env=$5 mechs=$6 sad=$7 sad_mechs=$8
    local sad_realm=$9 acl_rcpt=${10} acl_data=${11} extra_main=${12} acl_mail=${13} auths=${14} m
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
${acl_mail:+acl_smtp_mail = acl_mail}
$extra_main

begin acl
acl_rcpt:
$acl_rcpt
${acl_mail:+
acl_mail:
$acl_mail
}

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
    [ -z "$auths" ] || printf '%s\n' "$auths"
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
    local name=$1 sasl_conf='' sasl_path='' mechs="PLAIN CRAM-MD5" sad='' sad_mechs=PLAIN sad_realm=''
    local relay_port='' hostname=$LAB_HOST extra_main='' acl_mail='' auths='' dir port sasl_env t0
    local binds=()
    local acl_rcpt='  accept authenticated = *
  deny message = 5.7.1 relay not permitted, authenticate first'
    # shellcheck disable=SC2016 # an Exim variable, expanded by Exim
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
        --acl-mail) acl_mail=$2 && shift 2 ;;
        --authenticators) auths=$2 && shift 2 ;;
        --main) extra_main="$extra_main$2"$'\n' && shift 2 ;;
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
        "$sad_mechs" "$sad_realm" "$acl_rcpt" "$acl_data" "$extra_main" "$acl_mail" "$auths" \
        >"$dir/exim.conf"
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
