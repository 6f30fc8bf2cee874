#!/bin/sh
# run.sh - run one libFuzzer target for a fixed time (the 'fuzz' suite).
# usage: run.sh BINARY SECONDS SEED_CORPUS_DIR WORK_DIR [extra libFuzzer flags]
# New inputs go to WORK_DIR/corpus (in the build tree), never into the
# source corpus; crashes to WORK_DIR/artifacts.  Prints libFuzzer's final
# stats (exec/s, coverage) so the log carries the figures.
set -eu
bin=$1 secs=$2 seeds=$3 work=$4
shift 4
mkdir -p "$work/corpus" "$work/artifacts"
# libFuzzer exits 77 on a crash by default, which meson would call "skipped".
exec "$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
    -error_exitcode=1 -timeout_exitcode=1 \
    -artifact_prefix="$work/artifacts/" "$@" "$work/corpus" "$seeds"
