#!/bin/sh
# bitnet-mkmodel's exit statuses: 2 for a malformed command line, 1 for an
# option combination the generator refuses (as mkmodel.py), and no file left
# behind. Usage: check_usage.sh BITNET_MKMODEL OUTDIR
set -u
mkmodel=$1
# cross builds: meson passes the exe_wrapper (qemu-aarch64) that runs bitnet-mkmodel
wrap=${MESON_EXE_WRAPPER:-}
out=$2/usage-test.gguf
rm -f "$out"
failed=0

# expect STATUS MESSAGE_PART ARGS...
expect() {
    want=$1 part=$2
    shift 2
    msg=$($wrap "$mkmodel" "$@" 2>&1 >/dev/null)
    got=$?
    if [ "$got" -ne "$want" ]; then
        echo "FAIL $*: exit status $got, expected $want"; echo "$msg"
        failed=1
    elif ! printf '%s\n' "$msg" | grep -q -e "$part"; then
        echo "FAIL $*: message lacks '$part':"; echo "$msg"
        failed=1
    else
        echo "ok   $* -> $got"
    fi
}

expect 1 "n_ff = 1152" --type tq2_0 --n-ff 1152 -o "$out"
expect 1 "n_embd 250 is not a multiple" --n-embd 250 -o "$out"
expect 1 "sizes must be positive" --n-layer 0 -o "$out"
expect 1 "--act relu2" --family llama --act relu2 -o "$out"
expect 1 "published" --published-keys --type f32 -o "$out"
expect 1 "llama3-npm" --vocab llama3-npm:x.tgz -o "$out"
expect 1 "unknown --vocab" --vocab nothing -o "$out"
expect 2 "invalid choice" --type q4_0 -o "$out"
expect 2 "invalid int value" --seed x -o "$out"
expect 2 "required" --type f32
expect 2 "unrecognized" --no-such-option -o "$out"
expect 0 "" --help
expect 0 "" --version
if [ -e "$out" ]; then
    echo "FAIL: a refused command left $out"
    failed=1
fi
exit $failed
