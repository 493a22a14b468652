#!/bin/sh
# Upstream llama.cpp loads a mixed-precision file of bitnet-mkmodel (arch
# bitnet: TQ2_0 and TQ1_0 ternary linears, Q8_0, Q4_0 and F16 ones, F16
# embedding) and gives the logits libbitnet gives, within the activation
# rounding (llama_cpp_compare.mjs). Upstream is the prebuilt CPU binary of the
# npm package node-llama-cpp (pinned), installed once into WORKDIR; without
# node, npm, the registry or a prebuilt binary for this machine the test is
# skipped (exit status 77).
#   llama-cpp-test.sh BITNET_MKMODEL BITNET_LOGITS WORKDIR
set -u
mkmodel=$1 logits=$2 work=$3
# 3.22.1 carries llama.cpp release v0.5.0 (commit 0ad4a86); 3.21.1 (v0.4.0,
# commit 5b4ebc5) gives the same numbers. Only the Linux packages of 3.22.1
# are on the registry, which is enough without a lock file.
NLC_VER=3.22.1
here=$(cd "$(dirname "$0")" && pwd)

case $(uname -s)-$(uname -m) in
    Linux-x86_64) platform=linux-x64 ;;
    Linux-aarch64) platform=linux-arm64 ;;
    *) echo "SKIP: no prebuilt node-llama-cpp binary for $(uname -s) $(uname -m)" >&2; exit 77 ;;
esac
mkdir -p "$work" || exit 1
# only this platform's CPU binary, not the CUDA and Vulkan ones (0.7 GB)
BN_NPM_FLAGS=--omit=optional sh "$here/../util/npm-install.sh" "$work/npm" \
    "node-llama-cpp@$NLC_VER" "@node-llama-cpp/$platform@$NLC_VER" || exit $?

# The precision plan: every type upstream knows for a linear (not I2_S).
model=$work/mixed.gguf
"$mkmodel" --act silu --type tq2_0 --embd-type f16 \
    --plan attn_k=tq1_0,attn_v=f16,attn_output=q8_0,ffn_down=q4_0 -o "$model" || exit 1
timeout 120 node "$here/llama_cpp_compare.mjs" "$work/npm" "$model" "$logits" "$work"
status=$?
[ $status -eq 0 ] || exit $status

# Control: the same weights with the relu^2 FFN of BitNet b1.58 2B4T (arch
# bitnet, bitnet.hidden_activation = relu2, as mkmodel writes by default for
# TQ types). Upstream loads the file but ignores the key and computes SiLU,
# so the comparison must find them apart: it proves the check can fail.
control=$work/relu2.gguf
"$mkmodel" --type tq2_0 --embd-type f16 \
    --plan attn_k=tq1_0,attn_v=f16,attn_output=q8_0,ffn_down=q4_0 -o "$control" || exit 1
timeout 120 node "$here/llama_cpp_compare.mjs" "$work/npm" "$control" "$logits" "$work" differ
