#!/bin/sh
# A static library exposes every global of every object to the program that
# links it, hidden or not: all of ours must carry the bn_ prefix so that they
# cannot collide with the program's own names.
#
# usage: check-static.sh NM LIBBITNET_A
set -eu

if [ $# -ne 2 ]; then
    echo "usage: $0 NM LIBBITNET_A" >&2
    exit 2
fi
nm=$1 lib=$2

out=$("$nm" -g --defined-only "$lib")
# Lines are "VALUE TYPE NAME" (or "TYPE NAME" for some types); member
# headers ("file.o:") and blank lines are skipped. Symbols that sanitizer or
# coverage instrumentation adds to every object are not ours.
bad=$(printf '%s\n' "$out" | awk '
    NF >= 2 && $NF !~ /:$/ {
        name = $NF
        if (name ~ /^bn_/) next
        # ASan ODR indicators of our globals: __odr_asan.bn_x (gcc), __odr_asan_gen_bn_x (clang)
        if (name ~ /^__odr_asan(\.|_gen_)bn_/) next
        # mingw-w64: the compiler-made pointer to an external bn_ variable
        if (name ~ /^\.refptr\.bn_/) next
        if (name ~ /^(__asan_|__ubsan_|__sancov_|__sanitizer_|__llvm_)/) next
        print
    }')
count=$(printf '%s\n' "$out" | awk 'NF >= 2 && $NF ~ /^bn_/ { n++ } END { print n + 0 }')

if [ "$count" -eq 0 ]; then
    echo "FAIL: no bn_ symbol found in $lib: is nm able to read it (LTO objects need gcc-nm)?"
    exit 1
fi
if [ -n "$bad" ]; then
    echo "FAIL: $(basename "$lib") defines global symbols without the bn_ prefix:"
    printf '%s\n' "$bad" | sed 's/^/  /'
    echo "Make them static, or prefix them bn_ (internal globals too: a static library exposes them)."
    exit 1
fi
echo "OK: all $count global symbols defined in $(basename "$lib") start with bn_"
