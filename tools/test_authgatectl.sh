#!/bin/bash
# test_authgatectl.sh - authgatectl against real stores in temp dirs.
#
# usage: test_authgatectl.sh GROUP   (AUTHGATECTL=path/to/authgatectl,
#                                     AUTHGATECTL_MAN=path/to/authgatectl.8)
# Groups: cli init settings user verify sender domain sasldb dovecot maps
# export maint docs.  Every check asserts the exit code and, where the
# command has --json output, the JSON document (jq).  Import fixtures are
# made here with the real tools: saslpasswd2 and db_load for sasldb2 files,
# doveadm pw for Dovecot hashes, a hand-written sender-login map.
# Exit: 0 all checks passed, 1 a check failed, 77 a needed tool is missing.
set -u

GROUP=${1:?usage: test_authgatectl.sh GROUP}
A=${AUTHGATECTL:?set AUTHGATECTL}
MAN=${AUTHGATECTL_MAN:-}
FAILS=0
CHECKS=0

T=$(mktemp -d /tmp/authgatectl-test.XXXXXX)
chmod 0755 "$T"
trap 'rm -rf "$T"' EXIT
OUT=$T/out
ERR=$T/err

need() {
    for tool in "$@"; do
        if ! command -v "$tool" >/dev/null 2>&1; then
            echo "SKIP: $tool is not installed (packaging/deps.sh installs it)"
            exit 77
        fi
    done
}
need jq

fail() {
    FAILS=$((FAILS + 1))
    echo "FAIL: $*"
    echo "  stdout: $(head -c 2000 "$OUT" 2>/dev/null)"
    echo "  stderr: $(head -c 2000 "$ERR" 2>/dev/null)"
}

# run WANT_RC [--stdin TEXT] ARGS...: run authgatectl, check the exit code.
run() {
    local want=$1 input="" rc
    shift
    if [ "${1:-}" = --stdin ]; then
        input=$2
        shift 2
        printf '%s' "$input" | "$A" "$@" >"$OUT" 2>"$ERR"
    else
        "$A" "$@" </dev/null >"$OUT" 2>"$ERR"
    fi
    rc=$?
    CHECKS=$((CHECKS + 1))
    if [ "$rc" != "$want" ]; then
        fail "authgatectl $*: exit got $rc, want $want"
        return 1
    fi
    return 0
}

# jqis FILTER WANT: the last JSON output, filtered (jq -r -c), equals WANT.
jqis() {
    local got
    CHECKS=$((CHECKS + 1))
    if ! got=$(jq -r -c "$1" "$OUT" 2>&1); then
        fail "jq '$1': stdout is not JSON ($got)"
        return 1
    fi
    if [ "$got" != "$2" ]; then
        fail "jq '$1': got '$got', want '$2'"
        return 1
    fi
}

# has FILE TEXT / hasnt FILE TEXT: fixed-string search in out or err.
has() {
    CHECKS=$((CHECKS + 1))
    grep -qF -- "$2" "$1" || fail "$(basename "$1") lacks '$2'"
}
hasnt() {
    CHECKS=$((CHECKS + 1))
    ! grep -qF -- "$2" "$1" || fail "$(basename "$1") has '$2' and should not"
}

is() {
    CHECKS=$((CHECKS + 1))
    [ "$1" = "$2" ] || fail "$3: got '$1', want '$2'"
}

# A fresh store under $T/NAME with its own configuration file.
new_store() {
    local name=${1:-s}
    shift || true
    mkdir -p "$T/$name"
    printf 'store = %s\nsecrets_group = root\npolicy_group = root\n' "$T/$name/store" \
        >"$T/$name/authgate.conf"
    export AUTHGATE_CONFIG=$T/$name/authgate.conf
    S=$T/$name/store
    run 0 init "$@" || exit 1
}

mode_of() { stat -c %a "$1"; }

# ---------------------------------------------------------------- groups

t_cli() {
    export AUTHGATE_CONFIG=$T/none.conf
    run 2 && has "$ERR" "usage: authgatectl"
    run 2 --json && jqis '.ok,.exit,.error' $'false\n2\nno command given'
    run 0 --help && has "$OUT" "commands:" && has "$OUT" "130 interrupted" &&
        has "$OUT" "--version"
    for cmd in "init" "settings show" "settings set" "user add" "user passwd" "user del" \
        "user disable" "user enable" "user mechanisms" "user list" "user show" "verify" \
        "sender allow" "sender deny" "sender del" "sender list" "sender test" "domain add" \
        "domain del" "domain list" "import sasldb" "import dovecot" \
        "import sender-login-maps" "export" "backup" "check" "stats"; do
        has "$OUT" "  $cmd "
    done
    cp "$OUT" "$T/usage"
    for cmd in "init" "settings show" "settings set" "user add" "user passwd" "user del" \
        "user disable" "user enable" "user mechanisms" "user list" "user show" "verify" \
        "sender allow" "sender deny" "sender del" "sender list" "sender test" "domain add" \
        "domain del" "domain list" "import sasldb" "import dovecot" \
        "import sender-login-maps" "export" "backup" "check" "stats"; do
        # shellcheck disable=SC2086
        run 0 $cmd --help && has "$OUT" "usage: authgatectl [global options] $cmd" &&
            has "$OUT" "exit status:" && has "$OUT" "--config FILE"
        # shellcheck disable=SC2086
        run 0 help $cmd && has "$OUT" "usage: authgatectl [global options] $cmd"
    done
    run 0 --version && has "$OUT" "authgatectl "
    run 2 frobnicate && has "$ERR" 'unknown command "frobnicate"'
    run 2 user && has "$ERR" "user add LOGIN" && has "$ERR" "needs a subcommand"
    run 0 user --help && has "$OUT" "user passwd LOGIN"
    run 2 user add && has "$ERR" "missing argument"
    run 2 user add a b && has "$ERR" 'unexpected argument (not shown: passwords are read' &&
        hasnt "$ERR" '"b"'
    run 2 domain add a b && has "$ERR" 'unexpected argument "b"'
    run 2 user add a --bogus && has "$ERR" 'unknown option "--bogus"'
    run 2 user add a -x && has "$ERR" 'unknown option "-x"'
    run 2 user add a --mechanisms && has "$ERR" "needs LIST"
    run 2 user list --password-stdin
    run 2 stats --store && has "$ERR" "needs a value"
    run 2 --json user add && jqis '.ok,.exit' $'false\n2' && jqis '.error|test("missing")' true
    run 2 user add a --json --mechanisms && jqis '.exit' 2
    # configuration: explicit missing file, bad file, env, --config, --store
    run 3 --config "$T/missing.conf" stats && has "$ERR" "missing.conf"
    printf 'bogus_key = 1\n' >"$T/bad.conf"
    run 5 --config "$T/bad.conf" stats && has "$ERR" "bad.conf"
    AUTHGATE_CONFIG=$T/bad.conf run 5 stats
    new_store a
    : >"$T/empty.conf"
    AUTHGATE_CONFIG=$T/empty.conf run 0 --store "$S" stats
    AUTHGATE_CONFIG=$T/missing.conf run 3 --store "$S" stats
    run 0 --config "$T/a/authgate.conf" --json stats && jqis '.stats.users' 0
    run 0 stats --config "$T/a/authgate.conf" --json && jqis '.stats.schema' 1
    run 6 --store "$T/nonexistent" user list && has "$ERR" "nonexistent"
    run 6 --json --store "$T/nonexistent" user list && jqis '.ok,.exit' $'false\n6'
    mkdir -p "$T/foreign/secrets" "$T/foreign/policy"
    run 6 --store "$T/foreign" user list
}

t_init() {
    (umask 000 && new_store a)
    export AUTHGATE_CONFIG=$T/a/authgate.conf
    S=$T/a/store
    is "$(mode_of "$S/secrets")" 750 "secrets/ mode under umask 000"
    is "$(mode_of "$S/secrets/data.mdb")" 640 "secrets/data.mdb mode"
    is "$(mode_of "$S/secrets/lock.mdb")" 660 "secrets/lock.mdb mode"
    is "$(mode_of "$S/policy/data.mdb")" 640 "policy/data.mdb mode"
    run 4 init && has "$ERR" "$S"
    run 4 --json init && jqis '.exit' 4
    new_store b --mechanisms "cram-md5, scram-sha-256" --digest-realm example.com \
        --scram-iterations 8192 --password-hash sha512-crypt --self-send no \
        --subaddress-delimiter "-+" --local-part-case sensitive
    run 0 --json settings show
    jqis '.settings.mechanisms' "SCRAM-SHA-256 CRAM-MD5"
    jqis '.settings.digest_realm' example.com
    jqis '.settings.scram_iterations' 8192
    jqis '.settings.password_hash' sha512-crypt
    jqis '.settings.self_send' no
    jqis '.settings.local_part_case' sensitive
    printf 'store = %s\nsecrets_group = root\npolicy_group = root\n' "$T/c" >"$T/c.conf"
    export AUTHGATE_CONFIG=$T/c.conf
    run 5 init --mechanisms BOGUS && has "$ERR" "--mechanisms"
    run 5 init --scram-iterations 100 && has "$ERR" "scram-iterations"
    run 3 init --secrets-group no-such-group-here && has "$ERR" "no-such-group-here"
    CHECKS=$((CHECKS + 1))
    [ ! -e "$T/c/secrets" ] || fail "a refused init left a store behind"
    run 0 --json init --policy-group root && jqis '.store' "$T/c"
}

t_settings() {
    new_store
    run 0 settings show
    for k in mechanisms scram_iterations password_hash digest_realm local_part_case \
        subaddress_delimiter self_send; do
        has "$OUT" "$k"
    done
    run 0 settings show scram-iterations && is "$(cat "$OUT")" 4096 "settings show KEY"
    run 0 --json settings show self_send && jqis '.self_send' yes
    run 0 settings set scram-iterations 8192 && has "$OUT" "scram_iterations = 8192"
    run 0 settings show scram_iterations && is "$(cat "$OUT")" 8192 "changed setting"
    run 0 --json settings set mechanisms "cram-md5 scram-sha-1"
    jqis '.key,.value' $'mechanisms\nSCRAM-SHA-1 CRAM-MD5'
    run 3 settings set no_such_key 1 && has "$ERR" "no_such_key"
    run 3 settings show no_such_key
    run 5 settings set scram_iterations 12 && has "$ERR" "scram_iterations"
    run 5 settings set password_hash md4
    run 2 settings set mechanisms
    run 0 settings set local_part_case sensitive
    run 0 settings set local_part_case insensitive
    run 0 --stdin pw settings show
    run 0 --stdin 'secret-1' user add alice@example.com --password-stdin
    run 5 settings set local_part_case sensitive && has "$ERR" "no users"
    run 0 settings show local_part_case && is "$(cat "$OUT")" insensitive "unchanged case"
}

t_user() {
    need setsid
    new_store
    run 0 --stdin 'S3cret-1' user add Alice@Example.COM --password-stdin &&
        has "$OUT" "created alice@example.com"
    run 4 --stdin 'x' user add alice@example.com --password-stdin && has "$ERR" "exists"
    run 5 --stdin 'x' user add 'a b@example.com' --password-stdin && has "$ERR" "invalid login"
    run 5 --stdin '' user add bob@example.com --password-stdin && has "$ERR" "empty password"
    run 5 --stdin "$(printf 'x%.0s' $(seq 512))" user add bob@example.com --password-stdin &&
        has "$ERR" "too long"
    run 3 user show bob@example.com
    # no terminal and no --password-stdin: a usage error, nothing created
    CHECKS=$((CHECKS + 1))
    setsid -w "$A" user add carol@example.com </dev/null >"$OUT" 2>"$ERR"
    is "$?" 2 "user add without a terminal"
    has "$ERR" "--password-stdin"
    # the terminal: asked twice, not echoed (script(1) gives us a pty)
    if command -v script >/dev/null 2>&1; then
        # typed slowly: the prompt flushes type-ahead (TCSAFLUSH), as getpass does
        (sleep 1; printf 'Tty-pw-1\n'; sleep 1; printf 'Tty-pw-1\n'; sleep 1) |
            script -qec "$A user add tty@example.com" /dev/null >"$T/tty.out" 2>&1
        CHECKS=$((CHECKS + 1))
        grep -q "Retype password" "$T/tty.out" || fail "no second prompt: $(cat "$T/tty.out")"
        CHECKS=$((CHECKS + 1))
        ! grep -q "Tty-pw-1" "$T/tty.out" || fail "the password was echoed"
        run 0 --stdin Tty-pw-1 verify tty@example.com --password-stdin
        (sleep 1; printf 'Tty-pw-1\n'; sleep 1; printf 'Tty-pw-2\n'; sleep 2) |
            script -qec "$A user add tty2@example.com" /dev/null >"$T/tty.out" 2>&1
        has "$T/tty.out" "do not match"
        run 3 user show tty2@example.com
        # ^C at the prompt: exit 130, echo back on, nothing created. The
        # shell script(1) starts is in the terminal's foreground group too and
        # gets the SIGINT: bash carries on after a child that exited (130)
        # rather than died of it, dash (sh, the default without $SHELL) dies.
        (sleep 1; printf 'abc\003'; sleep 2) |
            SHELL=/bin/bash script -qec "$A user add int@example.com; echo rc=\$?; stty -a" /dev/null \
                >"$T/tty.out" 2>&1
        has "$T/tty.out" "rc=130"
        CHECKS=$((CHECKS + 1))
        grep -qE '(^| )echo( |$)' "$T/tty.out" || fail "echo not restored: $(cat "$T/tty.out")"
        run 3 user show int@example.com
    fi
    run 0 --json user show alice@example.com
    jqis '.user.login,.user.disabled,.user.hash_scheme' $'alice@example.com\nfalse\nyescrypt'
    jqis '.user.secrets|join(",")' "hash,scram-sha-256,scram-sha-1"
    jqis '.user.mechanisms_override' null
    jqis '.user.created > 0' true
    run 0 user show alice@example.com && has "$OUT" "usable:      SCRAM-SHA-256 SCRAM-SHA-1"
    # passwd
    run 0 --stdin 'S3cret-2' user passwd alice@example.com --password-stdin
    run 1 --stdin 'S3cret-1' verify alice@example.com --password-stdin
    run 0 --stdin 'S3cret-2' verify alice@example.com --password-stdin
    run 3 --stdin 'x' user passwd nobody@example.com --password-stdin
    # mechanisms override, then a new password derives them
    run 0 user mechanisms alice@example.com "CRAM-MD5 DIGEST-MD5 SCRAM-SHA-256"
    run 0 --stdin 'S3cret-3' user passwd alice@example.com --password-stdin
    run 0 --json user show alice@example.com
    jqis '.user.secrets|join(",")' "hash,scram-sha-256,cram-md5,digest-md5"
    jqis '.user.mechanisms_override' "SCRAM-SHA-256 CRAM-MD5 DIGEST-MD5"
    run 0 user mechanisms alice@example.com default
    run 0 --json user show alice@example.com && jqis '.user.mechanisms_override' null
    run 5 user mechanisms alice@example.com BOGUS
    run 3 user mechanisms nobody@example.com default
    run 0 --stdin 'pw' user add --mechanisms CRAM-MD5 --disabled dis@example.com --password-stdin
    run 0 --json user show dis@example.com
    jqis '.user.disabled,(.user.secrets|join(","))' $'true\nhash,cram-md5'
    # disable / enable
    run 0 user disable alice@example.com
    run 1 --stdin 'S3cret-3' verify alice@example.com --password-stdin && has "$OUT" disabled
    run 0 user enable alice@example.com
    run 0 --stdin 'S3cret-3' verify alice@example.com --password-stdin
    run 3 user disable nobody@example.com
    run 3 user enable nobody@example.com
    # list
    run 0 --json user list
    jqis '[.users[].login]|join(",")' "alice@example.com,dis@example.com,tty@example.com"
    run 0 user list && has "$OUT" "dis@example.com" && has "$OUT" "disabled"
    # del removes the rules too
    run 0 sender allow alice@example.com @example.com
    run 0 user del alice@example.com
    run 3 user del alice@example.com
    run 3 user show alice@example.com
    run 0 --json sender list alice@example.com && jqis '.rules|length' 0
    run 5 user del 'bad login'
}

t_verify() {
    new_store
    run 0 --stdin 'Pa55-word' user add bob --password-stdin
    run 0 --stdin 'Pa55-word' verify BOB --password-stdin && has "$OUT" "bob: match"
    run 0 --stdin $'Pa55-word\n' --json verify bob --password-stdin
    jqis '.match,.result,.ok' $'true\nmatch\ntrue'
    run 1 --stdin 'wrong' --json verify bob --password-stdin
    jqis '.match,.result,.ok,.exit' $'false\nmismatch\nfalse\n1'
    run 1 --stdin 'Pa55-word' verify nobody --password-stdin && has "$OUT" unknown
    run 0 user disable bob
    run 1 --stdin 'Pa55-word' verify bob --password-stdin && has "$OUT" disabled
    run 5 --stdin 'x' verify 'a@@b' --password-stdin
    run 5 --stdin '' verify bob --password-stdin
}

t_sender() {
    new_store
    run 0 --stdin pw user add alice@example.com --password-stdin
    run 0 --stdin pw user add bob --password-stdin
    run 0 sender allow bob @example.com && has "$OUT" "bob: allow @example.com"
    run 0 sender deny bob ceo@Example.COM
    run 0 sender allow bob 'sales+eu@example.com'
    run 0 --json sender test bob info@example.com
    jqis '.allowed,.rule.action,.rule.pattern' $'true\nallow\n@example.com'
    run 1 --json sender test bob ceo@example.com
    jqis '.allowed,.rule.action,.rule.pattern' $'false\ndeny\nceo@example.com'
    run 1 sender test bob ceo+x@example.com && has "$OUT" "rule deny ceo@example.com"
    run 1 sender test bob x@example.org && has "$OUT" "default deny"
    run 0 sender test bob sales@example.com
    # self_send
    run 0 --json sender test alice@example.com alice+tag@example.com
    jqis '.allowed,.implicit_self,.rule' $'true\ntrue\nnull'
    run 0 settings set self_send no
    run 1 sender test alice@example.com alice@example.com
    run 0 settings set self_send yes
    run 0 sender deny alice@example.com alice@example.com
    run 1 sender test alice@example.com alice@example.com
    # "*"
    run 0 sender allow alice@example.com '*'
    run 0 sender test alice@example.com anyone@anywhere.example
    # list
    run 0 --json sender list bob
    jqis '[.rules[]|.action+" "+.pattern]|sort|join(",")' \
        "allow @example.com,allow sales@example.com,deny ceo@example.com"
    run 0 sender list && has "$OUT" "alice@example.com allow *"
    # del
    run 0 sender del bob ceo@example.com
    run 0 sender test bob ceo@example.com
    run 3 sender del bob ceo@example.com && has "$ERR" "no rule"
    # bad input
    run 5 sender allow bob 'not an address' && has "$ERR" "invalid pattern"
    run 5 sender allow 'a b' @example.com
    run 5 sender test bob 'x@@y'
    run 2 sender allow bob
    # a login without password: stored, with a warning
    run 0 sender allow carol@example.com @example.com && has "$ERR" "no password"
    run 0 --json sender list carol@example.com && jqis '.rules|length' 1
}

t_domain() {
    new_store
    run 0 domain add Example.COM && has "$OUT" "added example.com"
    run 0 --json domain add bücher.example && jqis '.domain' "xn--bcher-kva.example"
    run 4 domain add example.com
    run 0 --json domain list && jqis '.domains|join(",")' "example.com,xn--bcher-kva.example"
    run 0 domain list && is "$(head -1 "$OUT")" example.com "domain list"
    run 5 domain add 'bad domain' && has "$ERR" "invalid domain"
    run 0 domain del example.com
    run 3 domain del example.com
    run 0 --json domain list && jqis '.domains|length' 1
}

t_sasldb() {
    need saslpasswd2 db_load
    new_store
    local db=$T/sasldb2 host
    host=$(hostname)
    printf 'pw-alice' | saslpasswd2 -p -f "$db" -u example.com -c alice
    printf 'pw-bob' | saslpasswd2 -p -f "$db" -u example.com -c bob
    printf 'pw-carol' | saslpasswd2 -p -f "$db" -c carol # realm = host name
    run 0 --json import sasldb "$db"
    jqis '.imported,.from_cleartext,.from_hash,.rejected,.committed' $'3\n3\n0\n0\ntrue'
    jqis '.hash_only|length' 0
    has "$ERR" "--bare-realm $host"
    run 0 --stdin pw-alice verify alice@example.com --password-stdin
    run 0 --stdin pw-carol verify "carol@$host" --password-stdin
    run 1 --stdin pw-bob verify bob --password-stdin
    run 0 --json user show bob@example.com && jqis '.user.secrets|join(",")' \
        "hash,scram-sha-256,scram-sha-1"
    # again: every login exists
    run 5 import sasldb "$db" && has "$ERR" "$db:" && has "$ERR" "exists already"
    run 0 --json import sasldb --skip-existing "$db" && jqis '.skipped,.imported' $'3\n0'
    printf 'pw-alice-2' | saslpasswd2 -p -f "$db" -u example.com alice
    run 0 --json import sasldb --replace --jobs 1 "$db" && jqis '.imported' 3
    run 0 --stdin pw-alice-2 verify alice@example.com --password-stdin
    run 2 import sasldb --replace --skip-existing "$db"
    # --bare-realm: the host-name realm becomes bare logins
    new_store b
    run 0 --json import sasldb --bare-realm "nothing.example,$host" "$db"
    jqis '.imported' 3
    run 0 --stdin pw-carol verify carol --password-stdin
    run 3 user show "carol@$host"
    # a crafted file: an ignored property, an empty password, a bad key
    {
        printf 'VERSION=3\nformat=print\ntype=hash\nHEADER=END\n'
        printf ' dave\\00example.com\\00userPassword\n pw-dave\n'
        printf ' dave\\00example.com\\00cmusaslsecretOTP\n otp\n'
        printf ' erin\\00example.com\\00userPassword\n \n'
        printf ' nokey\n x\n'
        printf ' a b\\00example.com\\00userPassword\n pw\n'
        printf 'DATA=END\n'
    } | db_load "$T/crafted"
    new_store c
    run 5 --json import sasldb "$T/crafted"
    jqis '.imported,.rejected,.warnings,.committed' $'1\n3\n1\ntrue'
    jqis '[.problems[]|select(.severity=="error")]|length' 3
    jqis '[.problems[]|select(.login=="erin@example.com")][0].message|test("empty")' true
    run 0 --stdin pw-dave verify dave@example.com --password-stdin
    # --all-or-nothing: the good record is not committed either
    new_store d
    run 5 --json import sasldb --all-or-nothing "$T/crafted"
    jqis '.committed,.imported' $'false\n0'
    run 3 user show dave@example.com
    # --dry-run writes nothing
    run 0 --json import sasldb --dry-run "$db" && jqis '.imported,.dry_run' $'3\ntrue'
    run 0 --json user list && jqis '.users|length' 0
    # input errors
    run 3 import sasldb "$T/no-such-file"
    printf 'not a database\n' >"$T/text"
    run 5 import sasldb "$T/text" && has "$ERR" "Berkeley DB"
    run 2 import sasldb "$db" --jobs 0
}

t_dovecot() {
    need doveadm
    new_store
    local f=$T/users h512 hblf
    h512=$(doveadm pw -s SHA512-CRYPT -p pw-alice)
    hblf=$(doveadm pw -s BLF-CRYPT -p pw-bob)
    case "$h512$hblf" in "{SHA512-CRYPT}\$6\$"*"{BLF-CRYPT}\$2y\$"*) ;;
    *) fail "doveadm pw gave '$h512' '$hblf'" ;; esac
    cat >"$f" <<EOF
# Dovecot passwd-file
alice@example.com:$h512:1000:1000::/home/alice::
bob:$hblf
carol@example.com:{PLAIN}pw-carol::::::
dave@example.com:{PLAIN.B64}$(printf 'pw:dave' | base64)
erin@example.com:{SSHA512}c2FsdGVkaGFzaA==
frank@example.com:{PLAIN}pw-frank::::::nologin
gus@example.com:{PLAIN}pw-gus::::::allow_nets=10.0.0.0/8
hal@example.com:{CRYPT}abJnggxhB/yWI
carol@example.com:{PLAIN}again
not valid
EOF
    run 5 --json import dovecot --domain example.com "$f"
    jqis '.imported,.from_hash,.from_cleartext,.rejected,.committed' $'5\n2\n3\n5\ntrue'
    jqis '[.hash_only[]|.login+" "+.scheme]|join(",")' \
        "alice@example.com SHA512-CRYPT,bob@example.com BLF-CRYPT"
    jqis '.hash_only_lacks' "SCRAM-SHA-256 SCRAM-SHA-1"
    jqis '[.problems[]|select(.severity=="error")|.line]|join(",")' "6,8,9,10,11"
    jqis '.problems[]|select(.line==6)|.message|test("SSHA512")' true
    jqis '.problems[]|select(.line==8)|.message|test("allow_nets")' true
    jqis '.problems[]|select(.line==9)|.message|test("DES")' true
    jqis '.problems[]|select(.line==10)|.message' "duplicate: line 4 already has this login"
    for u in alice bob carol; do
        run 0 --stdin "pw-$u" verify "$u@example.com" --password-stdin
    done
    run 0 --stdin "pw:dave" verify dave@example.com --password-stdin
    run 1 --stdin "pw-frank" verify frank@example.com --password-stdin && has "$OUT" disabled
    run 3 user show erin@example.com
    # text mode names the users that cannot use SCRAM yet, and file:line
    new_store b
    run 5 import dovecot --domain example.com "$f"
    has "$OUT" "2 logins imported from crypt(3) hashes"
    has "$OUT" "  alice@example.com (SHA512-CRYPT)"
    has "$OUT" "  bob@example.com (BLF-CRYPT)"
    has "$ERR" "$f:6: error: erin@example.com: {SSHA512}"
    # hash-only users get SCRAM at their next password change
    run 0 --json user show alice@example.com && jqis '.user.secrets|join(",")' hash
    run 0 --stdin new-pw user passwd alice@example.com --password-stdin
    run 0 --json user show alice@example.com && jqis '.user.secrets|join(",")' \
        "hash,scram-sha-256,scram-sha-1"
    # standard input, --default-scheme, --all-or-nothing
    new_store c
    printf 'x@example.com:pw-x\n' >"$T/plain"
    CHECKS=$((CHECKS + 1))
    "$A" --json import dovecot --default-scheme PLAIN - <"$T/plain" >"$OUT" 2>"$ERR" ||
        fail "import dovecot - failed"
    jqis '.imported' 1
    run 0 --stdin pw-x verify x@example.com --password-stdin
    run 2 import dovecot --default-scheme ROT13 "$T/plain"
    run 5 --json import dovecot --all-or-nothing --domain example.com "$f"
    jqis '.committed,.imported' $'false\n0'
    run 3 user show alice@example.com
    run 3 import dovecot "$T/no-such-file"
    # a map too small for the import: authdb_write grows it and runs the
    # transaction again; nothing is counted or written twice
    new_store d --map-size 1
    h512=${h512#\{SHA512-CRYPT\}}
    for i in $(seq 1 20000); do echo "u$i@example.com:{SHA512-CRYPT}$h512"; done >"$T/many"
    run 0 --json import dovecot "$T/many" && jqis '.imported,.from_hash' $'20000\n20000'
    run 0 --json stats && jqis '.stats.users,(.stats.secrets_map_size > 1048576)' $'20000\ntrue'
    run 0 --stdin pw-alice verify u19999@example.com --password-stdin
}

t_maps() {
    new_store
    local m=$T/sender_login
    cat >"$m" <<'EOF'
# smtpd_sender_login_maps
alice@example.com      alice@example.com, alice
@example.org           bob@example.org
postmaster             alice@example.com,
# a comment inside a continued entry
                       bob@example.org
sales@example.com      carol@example.com bad@@login
alice@example.com      mallory@example.com
   trailing continuation of the line above
EOF
    # bare local parts need local domains
    run 5 --json import sender-login-maps "$m"
    jqis '.problems[]|select(.line==4)|.message|test("local domains")' true
    new_store b
    run 0 domain add example.com
    run 0 domain add example.net
    run 0 --stdin pw user add alice@example.com --password-stdin
    run 5 --json import sender-login-maps "$m"
    jqis '.entries,.rules,.rejected,.committed' $'3\n7\n2\ntrue'
    jqis '[.problems[]|select(.severity=="error")|.line]|join(",")' "7,8"
    jqis '.problems[]|select(.line==8)|.message|test("duplicate")' true
    jqis '[.problems[]|select(.severity=="warning")|.login]|unique|join(",")' "alice,bob@example.org"
    run 0 sender test alice@example.com postmaster@example.net
    run 0 sender test bob@example.org postmaster@example.com
    run 0 sender test bob@example.org anyone@example.org
    run 0 sender test alice alice@example.com
    run 1 sender test carol@example.com sales@example.com
    run 1 sender test mallory@example.com alice@example.com
    run 5 import sender-login-maps "$m" && has "$ERR" "$m:7: error: bad@@login"
    # all or nothing, dry run
    new_store c
    run 0 domain add example.com
    run 5 --json import sender-login-maps --all-or-nothing "$m"
    jqis '.committed,.rules' $'false\n0'
    run 0 --json sender list && jqis '.rules|length' 0
    printf 'a@example.com a\n' >"$T/good"
    run 0 --json import sender-login-maps --dry-run "$T/good" && jqis '.rules,.dry_run' $'1\ntrue'
    run 0 --json sender list && jqis '.rules|length' 0
    run 0 import sender-login-maps "$T/good" && has "$OUT" "imported 1 entries as 1 allow rules"
    run 0 sender test a a@example.com
    run 3 import sender-login-maps "$T/no-such-file"
}

t_export() {
    new_store
    run 0 domain add example.com
    run 0 --stdin pw-a user add alice@example.com --password-stdin
    run 0 --stdin pw-b user add --mechanisms "CRAM-MD5" bob --password-stdin
    run 0 user disable bob
    run 0 sender allow bob @example.com
    run 0 --json export
    jqis '.schema,.with_secrets' $'1\nfalse'
    jqis '.settings.mechanisms' "SCRAM-SHA-256 SCRAM-SHA-1"
    jqis '.domains|join(",")' example.com
    jqis '[.users[]|.login+":"+(.disabled|tostring)]|join(",")' "alice@example.com:false,bob:true"
    jqis '[.users[]|has("secret_values")]|any' false
    jqis '.rules[0]|.login+" "+.action+" "+.pattern' "bob allow @example.com"
    hasnt "$OUT" '$y$'
    run 0 export
    has "$OUT" 'setting mechanisms "SCRAM-SHA-256 SCRAM-SHA-1"'
    has "$OUT" "domain example.com"
    has "$OUT" "user bob disabled hash=yescrypt secrets=hash,cram-md5"
    has "$OUT" "rule bob allow @example.com"
    hasnt "$OUT" "secret "
    run 0 --json export --with-secrets
    jqis '.users[0].secret_values.hash|startswith("$y$")' true
    jqis '.users[0].secret_values["scram-sha-256"]|startswith("SCRAM-SHA-256$4096:")' true
    jqis '.users[1].secret_values["cram-md5"]|@base64d|length' 32
    run 0 export --with-secrets && has "$OUT" "secret bob cram-md5 " && has "$OUT" "WITH SECRETS"
}

t_maint() {
    need setpriv
    new_store
    run 0 --stdin pw user add alice@example.com --password-stdin
    run 0 domain add example.com
    # backup: a store that opens, modes fixed whatever the umask
    CHECKS=$((CHECKS + 1))
    (umask 000 && "$A" backup "$T/bk" >"$OUT" 2>"$ERR") || fail "backup failed"
    is "$(mode_of "$T/bk/secrets/data.mdb")" 640 "backup data.mdb mode"
    is "$(mode_of "$T/bk/secrets")" 750 "backup secrets/ mode"
    run 0 --json --store "$T/bk" user list && jqis '.users[0].login' alice@example.com
    run 0 --stdin pw --store "$T/bk" verify alice@example.com --password-stdin
    run 4 backup "$T/bk"
    run 0 --json backup "$T/bk2" && jqis '.backup' "$T/bk2"
    # stats
    run 0 --json stats
    jqis '.stats.users,.stats.domains,.stats.rules,.stats.schema' $'1\n1\n0\n1'
    run 0 stats && has "$OUT" "users:           1 (0 disabled)"
    # check: clean, then a warning (orphan rule), then an error (mode)
    run 0 --json check && jqis '.errors,.warnings' $'0\n0'
    run 0 sender allow ghost@example.com @example.com
    run 0 --json check && jqis '.warnings,(.problems[0].message|test("ghost"))' $'1\ntrue'
    run 0 check && has "$OUT" "warning: login ghost@example.com"
    chmod o+r "$S/secrets/data.mdb"
    run 1 --json check && jqis '.errors>0,.ok,.exit' $'true\nfalse\n1'
    run 1 check && has "$OUT" "error: "
    chmod o-r "$S/secrets/data.mdb"
    # permission denied for an unprivileged user
    CHECKS=$((CHECKS + 1))
    setpriv --reuid=nobody --regid=nogroup --clear-groups "$A" --store "$S" user list \
        >"$OUT" 2>"$ERR"
    is "$?" 7 "user list as nobody"
    CHECKS=$((CHECKS + 1))
    setpriv --reuid=nobody --regid=nogroup --clear-groups "$A" --store "$S" --json \
        domain add example.org >"$OUT" 2>"$ERR"
    is "$?" 7 "domain add as nobody"
    jqis '.exit' 7
}

t_docs() {
    need mandoc
    [ -n "$MAN" ] || {
        echo "SKIP: AUTHGATECTL_MAN not set"
        exit 77
    }
    CHECKS=$((CHECKS + 1))
    mandoc -T lint -W warning "$MAN" >"$OUT" 2>&1 || fail "mandoc -T lint: $(cat "$OUT")"
    mandoc -T utf8 "$MAN" | col -b >"$T/man.txt"
    export AUTHGATE_CONFIG=$T/none.conf
    "$A" --help >"$T/usage"
    # every command, every option of every command, every exit code, every setting
    # (Loops read from process substitutions, not pipes: a check inside a
    # piped loop would run in a subshell and its count would be lost.)
    while read -r cmd; do
        [ -n "$cmd" ] || continue
        has "$T/man.txt" "$cmd"
        # shellcheck disable=SC2086
        "$A" $cmd --help >"$T/help" 2>&1
        while read -r opt; do
            has "$T/man.txt" "$opt"
        done < <(sed -n 's/^  \(--[a-z-]*\).*/\1/p' "$T/help")
    done < <(sed -n 's/^  \([a-z][a-z -]*[a-z]\)  .*/\1/p' "$T/usage" | sed 's/ [A-Z[].*//')
    for code in 0 1 2 3 4 5 6 7 130; do
        CHECKS=$((CHECKS + 1))
        grep -qE "^ +$code[[:space:]]" "$T/man.txt" || fail "exit status $code not in the man page"
    done
    new_store
    "$A" --json settings show >"$OUT"
    "$A" settings set --help >"$T/sethelp"
    for k in $(jq -r '.settings|keys[]' "$OUT"); do
        has "$T/man.txt" "$k"
        has "$T/sethelp" "$k"
    done
}

case "$GROUP" in
cli | init | settings | user | verify | sender | domain | sasldb | dovecot | maps | export | maint | docs)
    "t_$GROUP"
    ;;
*)
    echo "unknown group $GROUP"
    exit 2
    ;;
esac
echo "$GROUP: $CHECKS checks, $FAILS failed"
[ "$FAILS" = 0 ]
