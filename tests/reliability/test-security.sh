#!/bin/bash
# test-security.sh - the security properties of issue 7, each asserted
# against the real programs (Postfix + plugin + authgate-authd +
# authgate-milter + authgatectl on loopback):
#   A  files the tools create have no group-write or world bits, whatever
#      the umask: the whole test runs under umask 000; the store (init),
#      a backup, export --with-secrets (text and JSON), the daemons'
#      sockets.  Only the LMDB lock files of a live store are group
#      writable (0660): LMDB readers must write their reader slot there.
#   B  the milter's user cannot open the secrets environment: with the
#      credentials of the running authgate-milter (uid, gid, groups read
#      from /proc), secrets/ cannot be read, policy/ can; the process maps
#      and holds nothing under secrets/.
#   C  no secret in argv, environment or logs: distinctive good and wrong
#      passwords go through authgatectl (standard input), AUTH PLAIN,
#      LOGIN (authd) and CRAM-MD5 (plugin) and a message; /proc/*/cmdline
#      and /proc/*/environ of every process are sampled meanwhile; every
#      log, transcript-free output and the delivered message are searched
#      for the passwords and the AUTH PLAIN payload; authgatectl refuses a
#      password on its command line.
#   D  no core dumps: authd and the milter run with RLIMIT_CORE 0 and are
#      not dumpable (/proc/PID owned by root although they run as postfix
#      and nobody); killed with SIGSEGV in a writable directory under
#      "ulimit -c unlimited", neither they nor authgatectl (holding a
#      password prompt) leave a core, where a control process does.
#   E  oversized inputs are refused with a clear error, never truncated:
#      SMTP AUTH (login, password) through authd and the plugin, an AUTH
#      line past Postfix's limit, From/Sender headers through the milter,
#      every saslauthd field, CLI arguments, import lines, config lines.
#   F  unknown login vs wrong password, as an SMTP client sees it: AUTH
#      PLAIN through Postfix, libsasl2 and authd, one connection per
#      attempt, paired rounds: the median difference within 5% of the
#      median wrong-password time (rl-auth-timing; the daemon-side
#      measure is plugin/authd/test_timing.c, authd-timing).
#      Rounds: 101 (make check), 301 (RELIAB_FULL=1); up to three
#      measurements, as the comment at F says.
set -u
umask 000
HERE=$(dirname "$0")
# shellcheck source=rl.sh
. "$HERE/rl.sh"
rl_init postfix sink swaks
rl_stack_start
S=$LAB/store
CHECKS_BEFORE=0

# ------------------------------------------------------------ A: modes
rl_ctl backup "$LAB/backup" >>"$LAB/log/ctl.out" 2>&1 || lab_fail "backup failed"
rl_ctl export --with-secrets >"$LAB/export.txt" 2>"$LAB/log/export.err"
rl_ctl --json export --with-secrets >"$LAB/export.json" 2>>"$LAB/log/export.err"
lab_expect "A: umask is 000 for the whole test" "$(umask)" 0000
lab_expect "A: the store's top directory is 0755 (both groups traverse it; it holds only secrets/ and policy/)" \
    "$(stat -c %a "$S") $(find "$S" -mindepth 1 -maxdepth 1 | sed 's|.*/||' | sort | tr '\n' ' ')" "755 policy secrets "
lab_expect "A: no world bits on anything else init and backup made" \
    "$(find "$S" "$LAB/backup" -mindepth 1 -perm /o=rwx | wc -l) $(stat -c %a "$LAB/backup")" "0 750"
lab_expect "A: no group write but the live store's lock files" \
    "$(find "$S" "$LAB/backup" -perm /g=w ! -path "$S/*/lock.mdb" | wc -l)" 0
lab_expect "A: live lock files 0660, data files 0640, directories 0750" \
    "$(stat -c %a "$S/secrets/lock.mdb" "$S/policy/lock.mdb" "$S/secrets/data.mdb" "$S/policy/data.mdb" "$S/secrets" "$S/policy" | tr '\n' ' ')" \
    "660 660 640 640 750 750 "
lab_expect "A: backup files 0640, directories 0750" \
    "$(find "$LAB/backup" -mindepth 1 -printf '%m\n' | sort -u | tr '\n' ' ')" "640 750 "
lab_expect "A: export --with-secrets into a file the shell made 0666: now 0600 (text, JSON)" \
    "$(stat -c %a "$LAB/export.txt" "$LAB/export.json" | tr '\n' ' ')" "600 600 "
lab_expect_match "A: ... and authgatectl said so" "$(cat "$LAB/log/export.err")" 'made it 0600'
lab_expect "A: the exports hold secrets (the check is not vacuous)" \
    "$(grep -c '^secret ' "$LAB/export.txt" | awk '{ print ($1 > 0) }')" 1
lab_expect "A: authd's socket has its configured mode 0660, not 0777" \
    "$(stat -c %a "$RL_JAIL/authgate/authd/mux")" 660
lab_expect "A: the milter's socket has its configured mode 0666 (not more)" \
    "$(stat -c %a "$RL_JAIL/authgate/milter.sock")" 666

# ------------------------------------------------------------ B: milter user
MPID=$(rl_pid milter)
muid=$(awk '/^Uid:/ { print $2 }' "/proc/$MPID/status")
mgid=$(awk '/^Gid:/ { print $2 }' "/proc/$MPID/status")
mgroups=$(awk '/^Groups:/ { $1 = ""; print }' "/proc/$MPID/status" | xargs | tr ' ' ',')
lab_expect "B: the milter runs as nobody" "$muid" "$(id -u nobody)"
as_milter() {
    if [ -n "$mgroups" ]; then
        setpriv --reuid="$muid" --regid="$mgid" --groups="$mgroups" -- "$@"
    else
        setpriv --reuid="$muid" --regid="$mgid" --clear-groups -- "$@"
    fi
}
lab_expect_match "B: with the milter's credentials secrets/data.mdb cannot be opened" \
    "$(as_milter head -c 1 "$S/secrets/data.mdb" 2>&1 >/dev/null)" 'Permission denied'
lab_expect_match "B: ... nor secrets/ listed" "$(as_milter ls "$S/secrets" 2>&1)" 'Permission denied'
lab_expect "B: ... while policy/data.mdb can (the credentials are right)" \
    "$(as_milter head -c 16 "$S/policy/data.mdb" 2>/dev/null | wc -c)" 16
lab_expect_match "B: authgatectl with those credentials cannot open the store's secrets" \
    "$(as_milter "$RL_AUTHGATECTL" --config /dev/null --store "$S" stats 2>&1)" \
    'secrets.*permission denied|Permission denied'
lab_expect "B: the running milter maps nothing under secrets/" \
    "$(grep -c "$S/secrets" "/proc/$MPID/maps")" 0
lab_expect "B: the running milter holds no descriptor under secrets/" \
    "$(find "/proc/$MPID/fd" -mindepth 1 -printf '%l\n' 2>/dev/null | grep -c "$S/secrets")" 0
lab_expect_match "B: ... and does read policy/ (the milter really opened the store)" \
    "$(grep "$S/policy" "/proc/$MPID/maps")" 'policy/data\.mdb'

# ------------------------------------------------------------ C: argv, env, logs
PW="Sekr1t-$RANDOM-$RANDOM-Pw"
BAD="Wr0ng-$RANDOM-$RANDOM-Pw"
PAYLOAD=$(printf '\0%s\0%s' alice@example.com "$PW" | base64 -w0)
: >"$LAB/proc-hits"
# sampler: every process whose argv or environment holds a password,
# "PID COMM FILE" (swaks, the test's own SMTP client, takes the password
# in its argv: it is listed but not held against authgate).
printf '%s\n' "$PW" "$BAD" >"$LAB/pw.patterns"
chmod 0600 "$LAB/pw.patterns"
sampler() {
    while [ ! -e "$LAB/stop-sampler" ]; do
        # file name and content in one read: "/proc/PID/cmdline:ARGV..."
        # (patterns from a file: grep's own argv must not hold them)
        grep -saF -f "$LAB/pw.patterns" /proc/[0-9]*/cmdline /proc/[0-9]*/environ |
            tr '\0' ' ' | cut -c1-120 >>"$LAB/proc-hits"
        sleep 0.01
    done
}
sampler &
SAMPLER=$!
mkfifo "$LAB/pwfifo"
rl_ctl user passwd alice@example.com --password-stdin <"$LAB/pwfifo" >>"$LAB/log/ctl.out" 2>&1 &
CTL=$!
exec 7>"$LAB/pwfifo"
sleep 0.3
printf '%s\n' "$PW" >&7
exec 7>&-
wait "$CTL"
lab_expect "C: authgatectl user passwd read the password from standard input" "$?" 0
lab_expect "C: AUTH PLAIN (authd), good password" "$(rl_auth PLAIN alice@example.com "$PW")" 235
lab_expect "C: AUTH LOGIN (authd), good password" "$(rl_auth LOGIN alice@example.com "$PW")" 235
lab_expect "C: AUTH CRAM-MD5 (plugin), good password" "$(rl_auth CRAM-MD5 alice@example.com "$PW")" 235
lab_expect "C: AUTH PLAIN, wrong password" "$(rl_auth PLAIN alice@example.com "$BAD")" 535
lab_expect "C: AUTH CRAM-MD5, wrong password" "$(rl_auth CRAM-MD5 alice@example.com "$BAD")" 535
lab_expect "C: AUTH PLAIN, unknown login with the good password" "$(rl_auth PLAIN nobody@example.com "$PW")" 535
lab_expect_match "C: a message sent with AUTH PLAIN" \
    "$(rl_send PLAIN alice@example.com "$PW" alice@example.com)" '^250 '
printf '%s\n' "$BAD" | rl_ctl verify alice@example.com --password-stdin >/dev/null 2>&1
lab_expect "C: authgatectl verify of a wrong password: exit 1" "$?" 1
touch "$LAB/stop-sampler"
wait "$SAMPLER"
swaks_re='^/proc/[0-9]+/cmdline:/usr/bin/perl (-w )?/usr/bin/swaks '
lab_expect "C: no process but the test's swaks had a password in its argv or environment (sampled every 10 ms)" \
    "$(grep -Ev "$swaks_re" "$LAB/proc-hits" | sort -u | tr '\n' ' ')" ""
lab_expect "C: ... the sampler saw swaks' argv (it works)" \
    "$(grep -cE "$swaks_re" "$LAB/proc-hits" | awk '{ print ($1 > 0) }')" 1
rl_ctl user passwd alice@example.com "$BAD" >/dev/null 2>"$LAB/log/argv.err"
lab_expect "C: a password as an argument is a usage error (exit 2)" "$?" 2
printf '%s\n' "$PW" | rl_ctl verify alice@example.com --password-stdin >/dev/null 2>&1
lab_expect "C: ... and did not change the password" "$?" 0
# Every file the test and the daemons wrote, except swaks' own transcripts
# (the client's side of AUTH) and the password fifo.
logs=$(find "$LAB" -type f ! -path "$LAB/log/smtp.*" ! -name pwfifo ! -path "$LAB/store/*" \
    ! -path "$LAB/backup/*" ! -name 'export.*' ! -name proc-hits ! -name pw.patterns)
lab_expect "C: no password, wrong password or AUTH PLAIN payload in any log or delivered message ($(echo "$logs" | wc -l) files)" \
    "$(echo "$logs" | xargs grep -lsF -e "$PW" -e "$BAD" -e "$PAYLOAD" | tr '\n' ' ')" ""
lab_expect "C: the searched files include the daemons' and Postfix's logs" \
    "$(echo "$logs" | grep -cE '/log/(authd|milter)\.out$|/maillog$')" 3

# ------------------------------------------------------------ D: core dumps
for d in authd milter; do
    pid=$(rl_pid "$d")
    lab_expect "D: $d: RLIMIT_CORE 0" \
        "$(awk '/^Max core file size/ { print $5, $6 }' "/proc/$pid/limits")" "0 0"
    lab_expect "D: $d runs as $([ "$d" = authd ] && echo postfix || echo nobody) but /proc/$pid is root's (not dumpable)" \
        "$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status") $(stat -c %u "/proc/$pid/environ")" \
        "$(id -u "$([ "$d" = authd ] && echo postfix || echo nobody)") 0"
done
CRASH=$LAB/crash
mkdir -p "$CRASH"
chmod 1777 "$CRASH"
if [ "$(cat /proc/sys/kernel/core_pattern)" = core ]; then
    (cd "$CRASH" && ulimit -c unlimited && exec sleep 60) &
    ctl_pid=$!
    sleep 0.3
    kill -SEGV "$ctl_pid"
    wait "$ctl_pid" 2>/dev/null
    sleep 0.5
    if [ -n "$(find "$CRASH" -name 'core*' -print -quit)" ]; then
        lab_expect "D: control: a plain process killed by SIGSEGV here leaves a core" yes yes
        rm -f "$CRASH"/core*
        rl_conf "$CRASH/authd.conf" "store=$S" "authd_socket=$CRASH/authd.sock" "authd_user=postfix" \
            "authd_pidfile=$CRASH/authd.pid"
        rl_conf "$CRASH/milter.conf" "store=$S" "milter_socket=unix:$CRASH/milter.sock" \
            "milter_user=nobody" "milter_pidfile=$CRASH/milter.pid" "authserv_id=mx.lab.test"
        (cd "$CRASH" && ulimit -c unlimited && exec "$RL_AUTHD" -f -c "$CRASH/authd.conf") \
            >"$LAB/log/crash-authd.out" 2>&1 &
        a_pid=$!
        (cd "$CRASH" && ulimit -c unlimited && exec "$RL_MILTER" -f -c "$CRASH/milter.conf") \
            >"$LAB/log/crash-milter.out" 2>&1 &
        m_pid=$!
        mkfifo "$CRASH/fifo"
        (cd "$CRASH" && ulimit -c unlimited && exec "$RL_AUTHGATECTL" --config /dev/null --store "$S" \
            user passwd bob@example.com --password-stdin <"$CRASH/fifo") >/dev/null 2>&1 &
        c_pid=$!
        exec 8>"$CRASH/fifo"
        printf 'half-a-pass' >&8 # no newline: it waits holding part of a password
        lab_wait_file "$CRASH/authd.sock" 10
        lab_wait_file "$CRASH/milter.sock" 10
        sleep 0.5
        for p in "$a_pid" "$m_pid" "$c_pid"; do
            kill -SEGV "$p" 2>/dev/null
        done
        for p in "$a_pid" "$m_pid" "$c_pid"; do
            wait "$p" 2>/dev/null
        done
        exec 8>&-
        sleep 0.5
        lab_expect "D: authd, the milter and authgatectl killed by SIGSEGV: no core file" \
            "$(find "$CRASH" -name 'core*' | wc -l)" 0
        rm -f "$CRASH"/*.sock
    else
        echo "# D: this machine writes no core for a plain process either (core_pattern $(cat /proc/sys/kernel/core_pattern)): crash checks skipped, the limits above stand"
    fi
else
    echo "# D: core_pattern is not \"core\": crash checks skipped, the limits above stand"
fi

# ------------------------------------------------------------ E: oversized
L412=$(head -c 400 /dev/zero | tr '\0' a)@example.com
P600=$(head -c 600 /dev/zero | tr '\0' p)
BIG=$(head -c 20000 /dev/zero | tr '\0' x)
SOCK=$RL_JAIL/authgate/authd/mux
authd_log() { tail -"${1:-3}" "$LAB/log/authd.out"; }
lab_expect "E: SMTP AUTH PLAIN with a 412-octet login: 535" "$(rl_auth PLAIN "$L412" "$RL_PW")" 535
lab_expect_match "E: ... authd says: login field longer than its maximum" "$(authd_log)" \
    'result=NO reason="malformed request: login: field longer than its maximum"'
lab_expect "E: SMTP AUTH PLAIN with a 600-octet password: 535" "$(rl_auth PLAIN alice@example.com "$P600")" 535
lab_expect_match "E: ... authd says: password field longer than its maximum" "$(authd_log)" \
    'reason="malformed request: password: field longer than its maximum"'
lab_expect "E: SMTP AUTH CRAM-MD5 with a 412-octet login: 535" "$(rl_auth CRAM-MD5 "$L412" "$RL_PW")" 535
lab_expect_match "E: ... the plugin says: refused, input too long" \
    "$(tail -20 "$(lab_get pf log)" | grep 'authgate: login')" '\(412 octets\) refused: input too long'
# raw_auth_line: EHLO, then an AUTH PLAIN line of 4,000 base64 octets
# (Postfix's line_length_limit is 2048); prints the reply to it.
raw_auth_line() {
    local line reply=''
    exec 6<>"/dev/tcp/127.0.0.1/$RL_SUB" || return 1
    read -r -t 10 line <&6
    printf 'EHLO client.lab.test\r\n' >&6
    while read -r -t 10 line <&6 && [[ $line =~ ^250- ]]; do :; done
    printf 'AUTH PLAIN %s\r\n' "$(head -c 3000 /dev/zero | tr '\0' A | base64 -w0)" >&6
    read -r -t 10 reply <&6
    printf 'QUIT\r\n' >&6
    exec 6>&-
    printf '%s\n' "${reply%$'\r'}"
}
r=$(raw_auth_line)
lab_expect_match "E: an AUTH line past Postfix's line_length_limit: refused, not 235 (got ${r:0:60})" \
    "$r" '^[45][0-9][0-9] '
lab_expect_match "E: a 20,000-octet From header: 550 5.7.1, From header field too long" \
    "$(rl_send CRAM-MD5 alice@example.com "$PW" alice@example.com "Alice $BIG <alice@example.com>")" \
    '^550 5\.7\.1 .*From header field too long'
lab_expect_match "E: ... the milter's log says why" "$(tail -2 "$LAB/log/milter.out")" 'reason="From field too long"'
t=$(lab__transcript)
swaks --server "127.0.0.1:$RL_SUB" --helo client.lab.test --from alice@example.com \
    --to rcpt@example.test --header "Sender: Desk $BIG <alice@example.com>" \
    --auth CRAM-MD5 --auth-user alice@example.com --auth-password "$PW" >"$t" 2>&1
lab_expect_match "E: a 20,000-octet Sender header: 550 5.7.1, Sender too long" \
    "$(grep -E '^<[-*~]* +550' "$t")" '550 5\.7\.1 .*Sender .*too long'
for f in "L 321 login" "P 512 password" "S 65 service" "R 256 realm" "L 65535 login"; do
    set -- $f
    a=$(printf 'x\n' | "$RL_BIN/rl-authd-req" "-$1" "$2" "$SOCK" alice@example.com smtp "")
    lab_expect "E: authd, $3 of $2 octets: NO" "${a%% ms=*}" "NO authentication failed"
    lab_expect_match "E: ... logged: $3 field longer than its maximum" "$(authd_log 1)" \
        "malformed request: $3: field longer than its maximum"
done
# The longest address a login can be: 64-octet local part, 253-octet domain.
rep() { head -c "$2" /dev/zero | tr '\0' "$1"; }
L318=$(rep a 64)@$(rep b 63).$(rep c 63).$(rep d 63).$(rep e 61)
a=$(printf 'x\n' | "$RL_BIN/rl-authd-req" "$SOCK" "$L318" smtp "")
lab_expect_match "E: authd, a login of 318 octets (the longest address) is read and checked: unknown" \
    "$(authd_log 1)" 'result=NO reason="unknown login"'
a=$(printf 'x\n' | "$RL_BIN/rl-authd-req" -L 320 "$SOCK" a smtp "")
lab_expect_match "E: authd, a bare login of 320 octets passes the protocol limit, then: login too long" \
    "$(authd_log 1)" 'result=NO reason="login too long"'
cli() { # cli LABEL ERE ARG...: authgatectl exits 5 with a message matching ERE
    local label=$1 ere=$2 out rc
    shift 2
    out=$(printf 'pw-1234567\n' | rl_ctl "$@" 2>&1)
    rc=$?
    lab_expect "E: authgatectl $label: exit 5" "$rc" 5
    lab_expect_match "E: ... says: $ere" "$out" "$ere"
}
A5K=$(head -c 5000 /dev/zero | tr '\0' a)
cli "user add, 5,000-octet login" 'invalid login "a+\.\.\.": input too long' user add "$A5K@example.com" --password-stdin
cli "sender allow, 5,000-octet pattern" 'invalid pattern "a+\.\.\.": input too long' sender allow alice@example.com "$A5K"
cli "settings set digest_realm, 300 octets" 'digest_realm "a+\.\.\.": value longer than 255 octets' settings set digest_realm "$(head -c 300 /dev/zero | tr '\0' a)"
cli "domain add, 300 octets" 'invalid domain "a+\.\.\.":' domain add "$(head -c 300 /dev/zero | tr '\0' a)"
out=$(printf '%s\n' "$P600" | rl_ctl user passwd bob@example.com --password-stdin 2>&1)
lab_expect "E: authgatectl user passwd, 600-octet password: exit 5" "$?" 5
lab_expect_match "E: ... says: too long (limit 511 octets)" "$out" 'limit 511 octets'
out=$("$RL_AUTHGATECTL" --config /dev/null --store "/tmp/$A5K" stats 2>&1)
lab_expect_match "E: authgatectl --store of 5,004 octets: refused, the reason not cut off" "$out" 'path too long$'
lab_expect "E: no login of a's was stored" "$(rl_ctl user list | grep -c aaaa)" 0
printf '%s@example.org:{PLAIN}pw-1\nfine@example.org:{PLAIN}pw-2\n' "$BIG" >"$LAB/big.pw"
out=$(rl_ctl import dovecot "$LAB/big.pw" 2>&1)
lab_expect_match "E: import dovecot, a 20,000-octet line: refused, naming file and line" "$out" \
    "$LAB/big.pw:1: error: line longer than 8192 octets"
lab_expect "E: ... the other line imported, the long one not (truncated) at all" \
    "$(rl_ctl user list | grep -c '@example.org')" 1
printf '%s@example.org alice@example.com\n' "$BIG" >"$LAB/big.map"
out=$(rl_ctl import sender-login-maps "$LAB/big.map" 2>&1)
lab_expect_match "E: import sender-login-maps, a 20,000-octet key: refused, naming the line" "$out" \
    "$LAB/big.map:1: error: invalid key \"x+\.\.\.\": input too long"
printf 'store = %s\nauthserv_id = %s\n' "$S" "$A5K" >"$LAB/big.conf"
lab_expect_match "E: authgatectl, a 5,000-octet config line: refused, naming file and line" \
    "$("$RL_AUTHGATECTL" --config "$LAB/big.conf" stats 2>&1)" "$LAB/big.conf:2: line longer than 4096 characters"
lab_expect_match "E: authgate-milter -t, the same file: refused" \
    "$("$RL_MILTER" -t -c "$LAB/big.conf" 2>&1)" "$LAB/big.conf:2: line longer than 4096 characters"
lab_expect_match "E: authgate-authd -t, the same file: refused" \
    "$("$RL_AUTHD" -t -c "$LAB/big.conf" 2>&1)" "$LAB/big.conf:2: line longer than 4096 characters"
# ------------------------------------------------------------ F: timing
# Over SMTP a round trip carries Postfix's and the client's scheduling too:
# on a loaded 2-CPU machine the paired median can stray past 5% by chance.
# A leak cannot: an unknown login that skipped the hash would answer some
# 40% sooner (one yescrypt of a ~30 ms exchange), in every measurement.  So
# up to three measurements; it passes when one is within 5%, and prints all.
for attempt in 1 2 3; do
    out=$("$RL_BIN/rl-auth-timing" -p "$RL_SUB" -l alice@example.com -u nobody@example.com \
        -n "$(rl_pick 101 301)" 2>&1)
    tim=$?
    echo "$out" | sed "s/^/# measurement $attempt: /"
    [ "$tim" = 0 ] && break
done
lab_expect "F: SMTP AUTH, unknown login vs wrong password: paired median difference within 5% (measurement $attempt of at most 3)" "$tim" 0
rl_figure security-timing "$(echo "$out" | sed -n 's/^auth-timing: //p' | tr '\n' ';')"

n=$(($(wc -l <"$LAB/state/.passes") - CHECKS_BEFORE))
rl_figure security "$n checks: modes under umask 000, milter user vs secrets/, passwords in argv/environ/logs, core dumps, oversized inputs"
lab_finish
