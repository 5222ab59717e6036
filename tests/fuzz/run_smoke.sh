#!/bin/sh
# Suite fuzz-smoke: runs one libFuzzer target for a bounded time, starting
# from its seed corpus.  New inputs go to a scratch directory in the build
# tree, never into the repository's corpus.
#   run_smoke.sh FUZZER CORPUS SCRATCH SECONDS
set -eu
fuzzer="$1" corpus="$2" scratch="$3" seconds="$4"
rm -rf "$scratch"
mkdir -p "$scratch/new" "$scratch/artifacts"
exec "$fuzzer" -max_total_time="$seconds" -print_final_stats=1 \
	-artifact_prefix="$scratch/artifacts/" -rss_limit_mb=4096 \
	"$scratch/new" "$corpus"
