#!/bin/sh
# The 2B4T-shape benchmark from a clean clone: makes the synthetic model (1.19 GB,
# once; ~15 s) with bitnet-mkmodel, then runs bitnet-bench on it.
# Usage: run-bench.sh BITNET_MKMODEL BITNET_BENCH OUTDIR [bitnet-bench options]
# Run: meson test -C build --setup full --suite bench --verbose
set -eu
mkmodel=$1 bench=$2 dir=$3
shift 3
wrap=${MESON_EXE_WRAPPER:-}
mkdir -p "$dir"
model="$dir/2b4t-i2_s.gguf"
if [ ! -s "$model" ]; then
    $wrap "$mkmodel" --shape 2b4t --seed 1 --type i2_s -o "$model.tmp"
    mv "$model.tmp" "$model"
fi
$wrap "$bench" -m "$model" "$@"
