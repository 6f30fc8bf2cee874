# shellcheck shell=bash
# lab-smtp.sh - part of lab.sh (see its header): SMTP clients that print
# the reply code a test compares (swaks; gsasl for SCRAM), keeping each
# transcript in $LAB/log/smtp.<time>.<pid>.

# lab__transcript: a fresh transcript file name (unique also for clients
# run in parallel subshells), remembered as the last one.
lab__transcript() {
    local t
    t=$LAB/log/smtp.$(date +%s%N).$BASHPID
    echo "$t" >"$LAB/log/smtp.last"
    echo "$t"
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

# lab__swaks_reply FILE: the last server reply line before QUIT in a swaks
# transcript, without swaks' direction marker ("no reply" when none came).
lab__swaks_reply() {
    awk '
        /^ *(->|~>) +QUIT/ { exit }
        /^<(-|\*\*|~) +[0-9][0-9][0-9]/ { line = $0 }
        END {
            sub(/^<(-|\*\*|~) +/, "", line)
            sub(/\r$/, "", line)
            print (line == "" ? "no reply" : line)
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

# lab__swaks FILE PORT FROM TO [SWAKS_OPTION]...: one message, the
# transcript in FILE.
lab__swaks() {
    local t=$1 port=$2 from=$3 to=$4
    shift 4
    swaks --server "127.0.0.1:$port" --helo client.lab.test --from "$from" --to "$to" \
        "$@" >"$t" 2>&1
}

lab_send() {
    local t
    t=$(lab__transcript)
    lab__swaks "$t" "$@"
    lab__swaks_code "$t"
}

lab_send_reply() {
    local t
    t=$(lab__transcript)
    lab__swaks "$t" "$@"
    lab__swaks_reply "$t"
}
