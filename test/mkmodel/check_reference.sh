#!/bin/sh
# bitnet-mkmodel must write byte-identical files to shared/tools/mkmodel.py:
# the sha256 values below were recorded from mkmodel.py's output, so this
# test needs no Python. Usage: check_reference.sh BITNET_MKMODEL OUTDIR
set -u
mkmodel=$1
# cross builds: meson passes the exe_wrapper (qemu-aarch64) that runs bitnet-mkmodel
wrap=${MESON_EXE_WRAPPER:-}
dir=$2/reference
mkdir -p "$dir" || exit 1

if command -v sha256sum >/dev/null 2>&1; then
    sha256() { sha256sum "$1" | cut -d' ' -f1; }
elif command -v shasum >/dev/null 2>&1; then
    sha256() { shasum -a 256 "$1" | cut -d' ' -f1; }
else
    echo "no sha256sum or shasum: skipped"
    exit 77
fi

failed=0
n=0
# check SHA256 ARGS...: generates, compares, and keeps the file only on failure.
check() {
    want=$1
    shift
    n=$((n + 1))
    out="$dir/model-$n.gguf"
    if ! $wrap "$mkmodel" "$@" -o "$out" 2>"$out.log"; then
        echo "FAIL $*: exit status $?"; cat "$out.log"
        failed=1
        return
    fi
    got=$(sha256 "$out")
    if [ "$got" = "$want" ]; then
        echo "ok   $*"
        rm -f "$out" "$out.log"
    else
        echo "FAIL $*: sha256 $got, expected $want (kept $out)"
        failed=1
    fi
}

s1="--shape small --seed 1"
check 3889c0692e5d878b9acad946135458880f639d71a9cd003b24965a259709ca78 $s1 --type f32
check f15ed58d730ff42dbf4bc45c0b29a3fed0d70c0a8a39d50994414d9afce29bb2 $s1 --type f16
check 2b770ae70e4549605bd517aec0667f4aed6498d811da7144d148d8dc685a11f5 $s1 --type tq2_0
check 64a7458b1a1635a988d94816fe9e36c42cbae7b0432e7395b1cc45aa7ecc9853 $s1 --type tq1_0
check 1167d8c217f963020bbf3a1a38c488a39ede20b012ad1ac20f2fdc4bf7eb2d18 $s1 --type i2_s
check 4c5bf7ff85ad2ec8ff0127cd0fdc19c59221273d473b7337d28a17e7befc5a22 $s1 --type f32 --arch bitnet-b1.58
check 45c0d4b78aba0a5cdc278f966048ec3b3be4dd8a36eb2caa7294e4df1e0966d7 $s1 --type tq2_0 --arch bitnet-b1.58
check cef71066dc13c30932c8d12ccf78138449b03beee1ba54d715e8d52d11ddd7f1 $s1 --type tq1_0 --arch bitnet-b1.58

llama="--shape small --family llama --seed 2"
check a68040ffa9112059b3bc6cd2bd4110cc8448678863d5ca301e15641be68f1518 $llama --type f32
check 5c1be311697dbde556e4f39c38e4b1b6583abf53d0121ca806ac2015677e6caf $llama --type tq2_0
check a417fa17a42f1461a74f48f21a890505a06e842b60f04b48a5600a727cd0ee35 $llama --type tq1_0
check 60152fdf1ea6f20623b6b68e278a929b95a00b4a80a457b1b05baa4688716747 $llama --type i2_s

silu="--shape small --act silu --seed 2 --n-head-kv 4 --rope-theta 10000"
check 0d9fda204f013df213bc16c582991bb4f8dba634e1ad008660a63948365a6384 $silu --type f32
check c7ad52819b3b5b155e398a959524cc5d3cdfb660913be5ab2b19619110fbfc7a $silu --type tq2_0
check 20257bfaa7c57457212ba6f65b7c67cf726dcbe713b7707b9da67de91761071c $silu --type i2_s

exit $failed
