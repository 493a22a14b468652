#!/bin/sh
# bitnet-perplexity -f on the bundled model: the held-out verses of
# test/train/data must score far below a unigram model of the corpus (404).
# Usage: check_perplexity.sh BITNET_PERPLEXITY MODEL TEXT
set -u
wrap=${MESON_EXE_WRAPPER:-}
out=$($wrap "$1" -m "$2" -f "$3" -c 256 --json) || { echo "bitnet-perplexity failed"; exit 1; }
echo "$out"
ppl=$(echo "$out" | sed -n 's/.*"perplexity":\([0-9.]*\).*/\1/p')
[ -n "$ppl" ] || { echo "no perplexity in the output"; exit 1; }
awk -v p="$ppl" 'BEGIN { exit !(p > 1 && p < 60) }' || { echo "perplexity $ppl not in (1, 60)"; exit 1; }
