#!/bin/bash
# Full send and receive MB/s per number of cores (issue 17, item 6): a wrapper around the shared
# tools/core-scaling.sh (one mixed volume on tmpfs, a fresh encrypted archive per core count,
# the process pinned to the first N cores, the restore compared byte for byte).
# usage: npm run build && bench/core-scaling.sh [SIZE_MIB=1024] ["CORES..." = "nproc … 1"]
# $SKIFF_SHARED_TOOLS: the folder with core-scaling.sh (default ../shared/tools from the repo,
# then /work/shared/tools); $SKIFF_BENCH_DIR: the work folder (default /dev/shm/skiff-cores).
# The machine's load is printed before and after: on a shared machine the numbers move with it.
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
tools=${SKIFF_SHARED_TOOLS:-$repo/../shared/tools}
[ -f "$tools/core-scaling.sh" ] || tools=/work/shared/tools
size=${1:-1024}
cores=${2:-$(seq "$(nproc)" -1 1 | xargs)}
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
bash "$tools/core-scaling.sh" "$(command -v node)" "$repo/dist/source-agent/main.js" "${SKIFF_BENCH_DIR:-/dev/shm/skiff-cores}" "$size" "$cores"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
