#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# test-guide-rollout.sh - docs/guide-rollout.md's three stages in a real
# Postfix (the Postfix guide's chrooted submission service) with
# authgate-milter, switched by SIGHUP as `systemctl reload` does (suite
# 'integration').
#
# usage: test-guide-rollout.sh BUILDDIR
#
#   watch: report_only = yes: alice's message From info@ is accepted and
#     delivered; the guide's grep finds exactly one line, and it is the
#     guide's example line (queue id masked); the guide's fix commands
#     (sender allow, sender test) succeed; the next message is logged
#     without would=.
#   hold: after a reload with the hold settings, a From spoof is accepted
#     into the hold queue: the guide's postqueue -p marks it "!", the
#     guide's postsuper -H releases it and it reaches the sink.
#   refuse: after a reload with the enforce settings, the From spoof gets
#     550 5.7.1 and an envelope spoof 553 5.7.1; allowed mail passes.
# Exits 77 when not root or a component is not built.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
# shellcheck source=../lab/lab.sh
. "$TOP/tests/lab/lab.sh"
. "$HERE/snippet.sh"
. "$HERE/guide.sh"

BUILD=${1:?usage: $0 BUILDDIR}
guide_binaries "$BUILD"
lab_init postfix sink swaks
guide_accounts
PW=Alice-s3cret
guide_postfix_stack pf "$(snippet_get rollout-conf-report)"
port=$(lab_get pf port)
MLOG=$(lab_get pf-milter out)

# send LABEL SWAKS_ARG...: alice sends; prints the transcript's file name.
send() {
    local t=$LAB/log/swaks.$1
    shift
    guide_swaks "$t" "$port" --auth PLAIN --auth-user alice@example.org --auth-password "$PW" \
        --to friend@example.net "$@"
    echo "$t"
}

# reload: what `systemctl reload authgate-milter` does; wait for the log.
reload() {
    local n i
    n=$(grep -c 'configuration' "$MLOG")
    kill -HUP "$(lab_get pf-milter pid)"
    for ((i = 0; i < 100; i++)); do
        [ "$(grep -c 'configuration' "$MLOG")" -le "$n" ] || return 0
        sleep 0.1
    done
    lab_fail "the milter did not log a reload: $(tail -3 "$MLOG")"
}

# mask: queue ids in a log line.
mask() {
    sed -E 's/qid=[0-9A-F]+/qid=QID/'
}

# ---------------------------------------------------------------- watch
t=$(send info --from alice@example.org --header "From: Info <info@example.org>" --header "X-Guide: info-1")
lab_expect_match "watch: From info@ accepted" "$(guide_reply "$t" EOD)" '^250 '
lab_expect_match "watch: and delivered with Authentication-Results" \
    "$(lab_sink_find pf-sink X-Guide info-1)" '^Authentication-Results: mx\.lab\.test; auth=pass \(PLAIN\) smtp\.auth=alice@example\.org$'
found=$(snippet_run rollout-find "journalctl -u authgate-milter --since yesterday=cat $MLOG")
lab_expect "watch: the guide's grep finds one line" "$(grep -c . <<<"$found")" 1
lab_expect "watch: it is the guide's example line" "$(grep -o 'qid=.*' <<<"$found" | mask)" \
    "$(snippet_get rollout-log-line | mask)"
out=$(snippet_run rollout-fix "authgatectl=\"$CTL\" --config \"$GUIDE_CONF\"" 2>&1)
lab_expect "watch: the guide's fix commands succeed" "$?" 0
lab_expect_match "watch: sender test names the rule" "$out" 'allow info@example\.org'
n=$(wc -l <"$MLOG")
t=$(send info2 --from alice@example.org --header "From: Info <info@example.org>")
lab_expect_match "watch: after the fix, accepted" "$(guide_reply "$t" EOD)" '^250 '
lab_expect_match "watch: after the fix, logged as a pass" "$(tail -n +"$((n + 1))" "$MLOG")" \
    'from="Info <info@example\.org>" verdict=accept class=pass rule="allow info@example\.org"'

# ---------------------------------------------------------------- hold
guide_conf "$(snippet_get rollout-conf-hold)"
reload
t=$(send hold --from alice@example.org --header "From: Boss <boss@example.org>" --header "X-Guide: held")
lab_expect_match "hold: From spoof accepted into the queue" "$(guide_reply "$t" EOD)" '^250 '
qid=$(guide_reply "$t" EOD | sed -n 's/.*queued as \([0-9A-F]*\).*/\1/p')
pq=$(snippet_run rollout-held "postqueue=postqueue -c $(lab_get pf conf)" 2>&1)
lab_expect_match "hold: postqueue -p marks it held" "$pq" "^$qid!"
lab_expect "hold: not delivered" "$(lab_sink_find pf-sink X-Guide held 2 >/dev/null && echo delivered || echo held)" held
snippet_run rollout-release "postsuper=postsuper -c $(lab_get pf conf)" \
    "postqueue=postqueue -c $(lab_get pf conf)" "4B2C1A7338=$qid" >>"$LAB/log/release.out" 2>&1
lab_expect "hold: the guide's postsuper -H and postqueue -f" "$?" 0
lab_expect_match "hold: released, delivered" "$(lab_sink_find pf-sink X-Guide held 30)" '^From: Boss <boss@example\.org>$'

# ---------------------------------------------------------------- refuse
guide_conf "$(snippet_get rollout-conf-enforce)"
reload
t=$(send spoof --from alice@example.org --header "From: Boss <boss@example.org>")
lab_expect_match "refuse: From spoof" "$(guide_reply "$t" EOD)" \
    '^550 5\.7\.1 From address <boss@example\.org> rejected: not owned by login alice@example\.org$'
t=$(send envspoof --from boss@example.org)
lab_expect_match "refuse: envelope spoof" "$(guide_reply "$t" MAIL)" '^553 5\.7\.1 '
t=$(send ok --from alice@example.org --header "From: Info <info@example.org>")
lab_expect_match "refuse: allowed mail passes" "$(guide_reply "$t" EOD)" '^250 '

lab_finish
