#!/bin/bash
# fuzz-campaign.sh - long libFuzzer campaigns of every fuzz target (issue
# 7, "Bad input"): each target runs for SECONDS on a copy of its committed
# corpus, then the corpus is minimized (libFuzzer -merge=1) and the
# figures printed: executions, exec/s, coverage (cov: edges, ft:
# features), corpus size before and after.  A crash or timeout input is
# kept as a regression input in tests/fuzz/corpus/<target>/ (named
# crash-..., replayed by the unit suite from then on) and fails the run.
#
# usage: fuzz-campaign.sh [-s SECONDS] [-j PARALLEL] [-u] BUILD_FUZZ_DIR [TARGET]...
#   BUILD_FUZZ_DIR  a build directory made with CC=clang and
#                   -Dfuzzing=true (make fuzz makes build-fuzz)
#   -s SECONDS      per target (default 600, the issue's 10 minutes)
#   -j PARALLEL     targets at once (default: the number of CPUs)
#   -u              replace tests/fuzz/corpus/<target>/ by the minimized
#                   corpus (seeds that were there are kept in it, merged)
#   TARGET          fuzz target names (default: every fuzz-* binary)
# Work files go to BUILD_FUZZ_DIR/campaign/<target>/.  Prints one
# "FIGURE: fuzz-<target>: ..." line per target.  Exit 1 if any target
# crashed, leaked, timed out or did not run.
set -u
secs=600 par=$(nproc) update=0
while getopts s:j:u o; do
    case $o in
    s) secs=$OPTARG ;;
    j) par=$OPTARG ;;
    u) update=1 ;;
    *) exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "usage: fuzz-campaign.sh [-s SECONDS] [-j N] [-u] BUILD_FUZZ_DIR [TARGET]..." >&2; exit 2; }
build=$(cd "$1" && pwd) || exit 2
shift
src=$(cd "$(dirname "$0")/../.." && pwd)
corpora=$src/tests/fuzz/corpus
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for b in "$build"/tests/fuzz-*; do
        [ -x "$b" ] && [ -f "$b" ] && targets+=("${b##*/fuzz-}")
    done
fi
[ ${#targets[@]} -gt 0 ] || { echo "no fuzz-* binaries in $build/tests (CC=clang meson setup ... -Dfuzzing=true)" >&2; exit 2; }

# campaign TARGET: one target, start to end; writes work/result.
campaign() {
    local t=$1 bin=$build/tests/fuzz-$1 work=$build/campaign/$1 args=() maxlen
    rm -rf "$work"
    mkdir -p "$work/corpus" "$work/artifacts" "$work/min"
    cp "$corpora/$t"/* "$work/corpus/" 2>/dev/null
    local before
    before=$(find "$work/corpus" -type f | wc -l)
    # the target's own flags (max_len) from meson's test definition
    maxlen=$(python3 - "$build" "$t" 2>/dev/null <<'PY'
import json, sys
for t in json.load(open(sys.argv[1] + '/meson-info/intro-tests.json')):
    if t['name'] == 'fuzz-' + sys.argv[2]:
        for a in t['cmd']:
            if a.startswith('-max_len='):
                print(a[9:])
PY
)
    [ -n "$maxlen" ] && args+=("-max_len=$maxlen")
    "$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        -error_exitcode=1 -timeout_exitcode=1 -artifact_prefix="$work/artifacts/" \
        "${args[@]}" "$work/corpus" >"$work/log" 2>&1
    echo $? >"$work/rc"
    "$bin" -merge=1 "${args[@]}" "$work/min" "$work/corpus" "$corpora/$t" >"$work/merge.log" 2>&1
    local after runs eps cov ft
    after=$(find "$work/min" -type f | wc -l)
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
    eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log")
    cov=$(grep -oE 'cov: [0-9]+' "$work/log" | tail -1 | cut -d' ' -f2)
    ft=$(grep -oE 'ft: [0-9]+' "$work/log" | tail -1 | cut -d' ' -f2)
    printf '%s runs %s exec/s %s cov %s ft %s corpus %s -> %s (minimized) crashes %s rc %s\n' \
        "$t" "${runs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" "$before" "$after" \
        "$(find "$work/artifacts" -type f | wc -l)" "$(cat "$work/rc")" >"$work/result"
}

running=0
for t in "${targets[@]}"; do
    [ -x "$build/tests/fuzz-$t" ] || { echo "FAIL: no fuzz-$t in $build/tests" >&2; continue; }
    [ -d "$corpora/$t" ] || { echo "FAIL: no seed corpus $corpora/$t" >&2; continue; }
    echo "# fuzzing $t for $secs s"
    campaign "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$par" ]; then
        wait -n
        running=$((running - 1))
    fi
done
wait

bad=0
for t in "${targets[@]}"; do
    work=$build/campaign/$t
    if [ ! -f "$work/result" ]; then
        echo "not ok - fuzz-$t did not run"
        bad=1
        continue
    fi
    read -r _ _ runs _ eps _ cov _ ft _ before _ after _ _ crashes _ rc <"$work/result"
    echo "FIGURE: fuzz-$t: $secs s, $runs runs, $eps exec/s, cov $cov, ft $ft, corpus $before -> $after after -merge=1, crashes/timeouts/leaks $crashes"
    if [ "$rc" != 0 ] || [ "$crashes" != 0 ]; then
        echo "not ok - fuzz-$t: libFuzzer exit $rc, $crashes artifacts (see $work/log)"
        for a in "$work"/artifacts/*; do
            [ -f "$a" ] || continue
            cp "$a" "$corpora/$t/crash-$(sha1sum "$a" | cut -c1-12)"
            echo "#   kept $(basename "$a") as tests/fuzz/corpus/$t/crash-$(sha1sum "$a" | cut -c1-12)"
        done
        bad=1
    else
        echo "ok - fuzz-$t: $runs runs, no crash"
    fi
    if [ "$update" = 1 ] && [ "$(find "$work/min" -type f | wc -l)" -gt 0 ]; then
        # Hand-named seeds and crash reproducers stay; files named by
        # their SHA-1 (an earlier merge) are replaced by this merge, less
        # those whose content a named seed already has.
        find "$corpora/$t" -type f -regextype posix-extended -regex '.*/[0-9a-f]{40}' -delete
        have=$(sha1sum "$corpora/$t"/* 2>/dev/null | cut -c1-40)
        for f in "$work"/min/*; do
            grep -qx "$(sha1sum "$f" | cut -c1-40)" <<<"$have" || cp "$f" "$corpora/$t/"
        done
        echo "#   tests/fuzz/corpus/$t: $(find "$corpora/$t" -type f | wc -l) files"
    fi
done
exit "$bad"
