#!/bin/sh
# bitnet-perplexity -f on the bundled model: the first 60 held-out verses of
# test/train/data (about 2000 tokens: short enough for qemu in the cross
# build) must score far below a unigram model of the corpus (404).
# Usage: check_perplexity.sh BITNET_PERPLEXITY MODEL TEXT OUTDIR
set -u
wrap=${MESON_EXE_WRAPPER:-}
text="$4/perplexity-text.txt"
head -n 60 "$3" > "$text" || exit 1
out=$($wrap "$1" -m "$2" -f "$text" -c 256 --json) || { echo "bitnet-perplexity failed"; exit 1; }
echo "$out"
ppl=$(echo "$out" | sed -n 's/.*"perplexity":\([0-9.]*\).*/\1/p')
[ -n "$ppl" ] || { echo "no perplexity in the output"; exit 1; }
awk -v p="$ppl" 'BEGIN { exit !(p > 1 && p < 60) }' || { echo "perplexity $ppl not in (1, 60)"; exit 1; }
