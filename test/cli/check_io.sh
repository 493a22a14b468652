#!/bin/sh
# The tools in hostile surroundings: output that cannot be written (a full
# disk: /dev/full), standard descriptors closed at start, a FIFO or a device
# given as the model, a garbage BITNET_CPU_LEVEL. Each must end with a clear
# message and a nonzero status, never hang, never report success.
# Usage: check_io.sh BITNET_CLI BITNET_LOGITS BITNET_INFO BITNET_MKMODEL OUTDIR
set -u
cli=$1
logits=$2
info=$3
mkmodel=$4
dir=$5/io-test.$$
wrap=${MESON_EXE_WRAPPER:-}
mkdir -p "$dir" || exit 1
trap 'rm -rf "$dir"' EXIT
. "$(dirname "$0")/common.sh"

model=$dir/small.gguf
$wrap "$mkmodel" --shape small --type i2_s -o "$model" >/dev/null 2>&1 || { echo "cannot make a model"; exit 1; }

# expect STATUS MESSAGE_PART NAME: the status and stderr of the last command,
# saved by the caller in $dir/err and $st.
expect() {
    if [ "$st" -ne "$1" ]; then
        fail "$3: exit status $st, expected $1"; cat "$dir/err"
    elif ! grep -q -e "$2" "$dir/err"; then
        fail "$3: stderr lacks '$2'"; cat "$dir/err"
    else
        ok "$3 -> $st"
    fi
}

# ---- write errors -----------------------------------------------------------------
if [ -w /dev/full ]; then
    $wrap "$cli" -m "$model" -t 1 -p "Once upon a time" -n 8 >/dev/full 2>"$dir/err"; st=$?
    expect 1 "cannot write the output: No space left on device" "bitnet-cli >/dev/full"
    $wrap "$cli" --help >/dev/full 2>"$dir/err"; st=$?
    expect 1 "cannot write the output" "bitnet-cli --help >/dev/full"
    $wrap "$info" "$model" >/dev/full 2>"$dir/err"; st=$?
    expect 1 "cannot write the output" "bitnet-info >/dev/full"
    $wrap "$logits" -m "$model" -t 1 --tokens 1,2,3 >/dev/full 2>"$dir/err"; st=$?
    expect 1 "cannot write the output" "bitnet-logits >/dev/full"
    $wrap "$logits" -m "$model" -t 1 --tokens 1,2,3 --raw /dev/full >/dev/null 2>"$dir/err"; st=$?
    expect 1 "cannot write /dev/full: No space left on device" "bitnet-logits --raw /dev/full"
else
    echo "skip write errors: no /dev/full"
fi

# ---- closed standard descriptors ------------------------------------------------------
# With fd 0 closed, the model file would open as fd 0 and be read as the
# conversation; the tools open /dev/null there first.
$wrap "$cli" -m "$model" -t 1 --chat -n 4 <&- >"$dir/out" 2>"$dir/err"; st=$?
if [ "$st" -eq 0 ] && [ ! -s "$dir/out" ] && grep -q "prompt 0 tokens" "$dir/err"; then
    ok "bitnet-cli --chat <&-: no conversation, no text"
else
    fail "bitnet-cli --chat <&- (status $st)"; head -c 300 "$dir/out"; cat "$dir/err"
fi
$wrap "$cli" -m "$model" -t 1 -p "Once upon a time" -n 4 >&- 2>"$dir/err"; st=$?
expect 0 "generated" "bitnet-cli >&- (the text goes nowhere, the summary still comes)"

# ---- special files as the model ----------------------------------------------------------
# a FIFO with no writer: opening it must not wait (timeout turns a hang into 124)
mkfifo "$dir/fifo.gguf"
timeout 20 $wrap "$cli" -m "$dir/fifo.gguf" -p hi </dev/null >/dev/null 2>"$dir/err"; st=$?
expect 1 "not a regular file (a FIFO)" "bitnet-cli -m FIFO"
timeout 20 $wrap "$info" "$dir/fifo.gguf" >/dev/null 2>"$dir/err"; st=$?
expect 1 "not a regular file" "bitnet-info FIFO"
timeout 20 $wrap "$cli" -m /dev/zero -p hi >/dev/null 2>"$dir/err"; st=$?
expect 1 "not a regular file (a character device)" "bitnet-cli -m /dev/zero"
timeout 20 $wrap "$cli" -m "$dir" -p hi >/dev/null 2>"$dir/err"; st=$?
expect 1 "not a regular file (a directory)" "bitnet-cli -m DIRECTORY"

# ---- environment -----------------------------------------------------------------------------
BITNET_CPU_LEVEL=fastest $wrap "$cli" -m "$model" -p hi -n 1 >/dev/null 2>"$dir/err"; st=$?
expect 1 "BITNET_CPU_LEVEL 'fastest'" "BITNET_CPU_LEVEL=fastest"

exit $failed
