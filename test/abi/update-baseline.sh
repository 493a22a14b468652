#!/bin/sh
# Regenerates the ABI baseline test/abi/libbitnet.abi from a build, after an
# intended change of the public API. Commit the new baseline together with the
# change and its entry in doc/api-changes.md (see doc/abi.md).
#
# usage: test/abi/update-baseline.sh [BUILD_DIR]     (default: build)
# The build must use the project's usual compiler (gcc on x86_64 Linux, as CI).
set -eu

src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build}

if [ ! -f "$build/build.ninja" ]; then
    echo "error: $build is not a meson build directory (meson setup $build)" >&2
    exit 1
fi
# Only the library: the ABI is its business, and the rest may be mid-change.
meson compile -C "$build" lib/bitnet:shared_library
so="$build/lib/libbitnet.so"
if [ ! -e "$so" ]; then
    echo "error: $so not found (built with -Ddefault_library=static?)" >&2
    exit 1
fi
"$src/test/abi/abi-check.sh" --update "$so" "$src/include/bitnet" "$src/test/abi/libbitnet.abi"
cd "$src"
if command -v git > /dev/null 2>&1 && git rev-parse --git-dir > /dev/null 2>&1; then
    git --no-pager diff --stat -- test/abi/libbitnet.abi
fi
echo "Now describe the change in doc/api-changes.md and commit both with it."
