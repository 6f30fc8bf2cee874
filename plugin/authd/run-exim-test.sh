#!/bin/bash
# run-exim-test.sh - run test-authd-exim against the Exim 4.96 the MTA lab
# unpacks (shared cache; exits 77 when not root or the archive is
# unreachable, as every lab test does).
# usage: run-exim-test.sh LAB_SH TEST_BINARY
. "$1" || exit 1
lab_init exim
export AUTHD_EXIM="$LAB_EXIM/usr/sbin/exim4"
"$2"
rc=$?
exit $rc
