#!/bin/bash
# test-sasl-corrupt.sh - corrupted SASL exchanges through the real
# libsasl2 against the authgate plugin, every mechanism (issue 7, "Bad
# input"), under valgrind memcheck: 0 crashes, 0 invalid accesses, 0 leaks
# outside libsasl2's own (libsasl2.supp names the two it has, each
# reproduced without authgate), every corrupted exchange fails closed.
# rl-sasl-corrupt (saslcorrupt.c) documents the corruptions and how an
# exchange that still succeeds is judged.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
[ -x "${RL_BIN:-}/rl-sasl-corrupt" ] || { echo "SKIP: RL_BIN not set (run through meson test)" >&2; exit 77; }
command -v valgrind >/dev/null || { echo "SKIP: valgrind missing (packaging/deps.sh)" >&2; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
TMPDIR=$tmp valgrind --child-silent-after-fork=yes --keep-debuginfo=yes --leak-check=full \
    --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
    --suppressions="$HERE/libsasl2.supp" --error-exitcode=99 --log-file="$tmp/vg.log" \
    "$RL_BIN/rl-sasl-corrupt" >"$tmp/out" 2>&1
rc=$?
sed 's/^/# /' "$tmp/out"
grep -E 'ERROR SUMMARY|definitely lost|indirectly lost|suppressed:|Invalid|uninitialised' "$tmp/vg.log" | sed 's/^==[0-9]*==/# valgrind:/'
fails=0
check() {
    if [ "$2" = "$3" ]; then echo "ok - $1"; else echo "not ok - $1: got $2, want $3"; fails=$((fails + 1)); fi
}
check "rl-sasl-corrupt under valgrind exits 0 (no wrong accept, no valgrind error)" "$rc" 0
check "valgrind: ERROR SUMMARY 0 errors" "$(grep -c 'ERROR SUMMARY: 0 errors' "$tmp/vg.log")" 1
check "every mechanism ran" "$(grep -c 'client messages; exchanges' "$tmp/out")" 6
sum=$(grep '^sasl-corrupt:' "$tmp/out")
check "no corrupted exchange accepted wrongly" "$(sed -n 's/.* accepted-wrongly \([0-9]*\) .*/\1/p' <<<"$sum")" 0
echo "FIGURE: sasl-corrupt: ${sum#sasl-corrupt: } (valgrind: $(sed -n 's/^==[0-9]*== ERROR SUMMARY: \(.*\)/\1/p' "$tmp/vg.log"))"
exit $((fails > 0))
