# shellcheck shell=bash
# tally.sh - the checks and tally of the install tests
# (packaging/install-test.sh, packaging/tests/install-sync.sh).  Source it.
#
#   expect LABEL GOT WANT   "ok - LABEL", or "not ok - LABEL: got ..., want
#                           ..."; counted in passes / fails
#   tally PREFIX            "# PREFIX passes passed, fails failed"; status
#                           0 when nothing failed
#   mode_of PATH            "MODE OWNER GROUP" of PATH (stat's message
#                           when it cannot)

passes=0
fails=0

expect() {
    if [ "$2" = "$3" ]; then
        echo "ok - $1"
        passes=$((passes + 1))
    else
        echo "not ok - $1: got \"$2\", want \"$3\""
        fails=$((fails + 1))
    fi
}

tally() {
    echo "# $1$passes passed, $fails failed"
    [ "$fails" -eq 0 ]
}

mode_of() { stat -c '%a %U %G' "$1" 2>&1; }
