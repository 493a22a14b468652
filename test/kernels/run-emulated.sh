#!/usr/bin/env bash
# Runs the kernel tests under emulated x86-64 CPU models (qemu-user), to
# prove that run-time dispatch never executes an instruction above what the
# CPU reports.
#
#   test/kernels/run-emulated.sh BUILD_DIR
#
# What qemu-x86_64 7.2 (Debian's qemu-user) can prove (doc in DESIGN.md):
# it reports the model's CPUID (minus what TCG lacks: never AVX-512) and
# raises SIGILL on every AVX-512 instruction, but executes AVX2 whatever the
# model. So:
#   - Haswell (AVX2, no AVX-512): checkasm and the reference-logits test
#     must pass with level avx2 detected: no AVX-512 instruction leaks;
#   - Westmere (SSE4.2, no AVX) and SandyBridge (AVX, no AVX2): CPUID-based
#     selection must pick the scalar level (shown by the names checkasm
#     prints; a stray AVX2 instruction would not trap here);
#   - negative control: `checkasm --probe-avx512`, which calls an AVX-512
#     kernel directly, must die of SIGILL, or the runs above prove nothing.
# checkasm runs with --quick (the full run is native); the reference-logits
# test (which writes its models into BUILD_DIR/test/model) runs in full under
# Haswell and Westmere, the two in parallel (EMU_JOBS, default 2).
# Fails if a run fails or crashes, or if the detected level is not the
# expected one.
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
build=$1
qemu=${QEMU:-qemu-x86_64}
jobs=${EMU_JOBS:-2}
checkasm=$build/test/kernels/checkasm
logits=$build/test/model/test_reference_logits

if [ "$(uname -m)" != x86_64 ]; then
    echo "run-emulated: not an x86-64 host, nothing to do"
    exit 0
fi
if ! command -v "$qemu" > /dev/null; then
    echo "run-emulated: $qemu not found (Debian: apt-get install qemu-user)" >&2
    exit 1
fi
for f in "$checkasm" "$logits"; do
    if [ ! -x "$f" ]; then
        echo "run-emulated: $f is missing: build $build first" >&2
        exit 1
    fi
done

logdir=$(mktemp -d "${TMPDIR:-/tmp}/bitnet-emu.XXXXXX")
trap 'rm -rf "$logdir"' EXIT
"$qemu" --version | head -n 1

# qemu's notes about CPUID bits TCG does not implement are noise here
filter() {
    grep -v "TCG doesn't support requested feature" || true
}

# run NAME MODEL CMD...: runs CMD under the model, log in $logdir/NAME.log;
# prints one line with the status and the time.
run() {
    local name=$1 model=$2 rc=0 t0=$SECONDS
    shift 2
    # in a subshell (not exec'd: `; exit`) whose stderr is dropped: bash's
    # own "Illegal instruction" note for the probe (qemu's is in the log)
    (env -u BITNET_CPU_LEVEL "$qemu" -cpu "$model" "$@" > "$logdir/$name.log" 2>&1; exit $?) 2> /dev/null || rc=$?
    filter < "$logdir/$name.log" > "$logdir/$name.out"
    printf '  %-34s exit %3d  %4d s\n' "$name" "$rc" $((SECONDS - t0))
    return "$rc"
}

failed=0
fail() {
    echo "run-emulated: FAILED: $*" >&2
    failed=1
}

# check_level NAME LEVEL: checkasm's log says it detected and chose LEVEL
check_level() {
    local log=$logdir/$1.out
    if ! grep -qx "detected level: $2 ([0-9])" "$log" || ! grep -q "^default kernels: $2 " "$log"; then
        fail "$1: expected level $2, got: $(grep -E '^(detected level|default kernels):' "$log" | tr '\n' ' ')"
    fi
}

show() {
    sed 's/^/    /' "$logdir/$1.out"
}

echo "emulated CPU levels:"

# 0. negative control: AVX-512 must trap (exit status 128 + SIGILL)
rc=0
run probe-avx512-Haswell Haswell "$checkasm" --probe-avx512 || rc=$?
grep -E '^qemu: uncaught target signal' "$logdir/probe-avx512-Haswell.out" | sed 's/^/    /' || true
if [ "$rc" -ne 132 ]; then
    show probe-avx512-Haswell
    fail "an AVX-512 kernel did not die of SIGILL under $qemu (exit $rc): the emulated runs prove nothing"
fi

# 1. the reference-logits test (the long part): in the background, the two
#    models at once when EMU_JOBS >= 2, while checkasm runs
logits_models=(Haswell Westmere)
run_logits() {
    local rc=0
    run "reference-logits-$1" "$1" "$logits" > "$logdir/line-$1" || rc=$?
    echo "$rc" > "$logdir/rc-$1"
}
pids=()
for model in "${logits_models[@]}"; do
    if [ "$jobs" -ge 2 ]; then
        run_logits "$model" &
        pids+=($!)
    else
        run_logits "$model"
    fi
done

# 2. checkasm under each model
for spec in Haswell:avx2 Westmere:scalar SandyBridge:scalar Nehalem:scalar; do
    model=${spec%%:*}
    level=${spec#*:}
    if run "checkasm-$model" "$model" "$checkasm" --quick; then
        check_level "checkasm-$model" "$level"
        grep -E '^(detected level|default kernels|checkasm):' "$logdir/checkasm-$model.out" | sed 's/^/    /'
    else
        show "checkasm-$model"
        fail "checkasm under -cpu $model"
    fi
done

for pid in "${pids[@]}"; do
    wait "$pid"
done
for model in "${logits_models[@]}"; do
    cat "$logdir/line-$model"
    if [ "$(cat "$logdir/rc-$model")" -ne 0 ]; then
        show "reference-logits-$model"
        fail "reference-logits under -cpu $model"
    else
        grep -E '^\[  (PASSED|FAILED)' "$logdir/reference-logits-$model.out" | sed 's/^/    /'
    fi
done

if [ "$failed" -ne 0 ]; then
    exit 1
fi
echo "run-emulated: OK"
