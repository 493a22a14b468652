#!/bin/sh
# Builds cmocka for Windows x86-64 (mingw-w64) from Debian's source package
# and installs it, static, into PREFIX (default /usr/local/x86_64-w64-mingw32),
# with a cmocka.pc that cross/x86_64-w64-mingw32.ini finds. Debian ships no
# mingw build of cmocka; this is the same source as libcmocka-dev (with
# Debian's patches), fetched with `apt-get source`, which needs a deb-src
# line (tools/setup-debian.sh --windows adds one). Needs cmake, dpkg-dev and
# gcc-mingw-w64-x86-64. Idempotent: does nothing when PREFIX has cmocka.
# About 10 s.
set -eu

prefix=${1:-/usr/local/x86_64-w64-mingw32}
pc="$prefix/lib/pkgconfig/cmocka.pc"
[ -f "$pc" ] && exit 0

work=$(mktemp -d "${TMPDIR:-/tmp}/mingw-cmocka.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
apt-get source -qq cmocka >/dev/null
src=$(find . -maxdepth 1 -type d -name 'cmocka-*' | head -n 1)
[ -n "$src" ] || { echo "mingw-cmocka.sh: apt-get source cmocka gave no source tree" >&2; exit 1; }
version=$(sed -n 's/^Version: \([0-9.]*\).*/\1/p' ./*.dsc | head -n 1)

cmake -S "$src" -B build -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_SYSTEM_NAME=Windows -DCMAKE_C_COMPILER=x86_64-w64-mingw32-gcc \
    -DCMAKE_RC_COMPILER=x86_64-w64-mingw32-windres \
    -DCMAKE_FIND_ROOT_PATH=/usr/x86_64-w64-mingw32 \
    -DCMAKE_C_FLAGS=-D__USE_MINGW_ANSI_STDIO=1 \
    -DWITH_STATIC_LIB=ON -DWITH_EXAMPLES=OFF -DUNIT_TESTING=OFF >/dev/null
ninja -C build cmocka-static >/dev/null

# Static only: the test programs then run under Wine without a DLL to find.
mkdir -p "$prefix/include" "$prefix/lib/pkgconfig"
# cmocka prints through vsnprintf: built above with mingw-w64's C99 printf
# (__USE_MINGW_ANSI_STDIO), which takes %zu, so its header declares the
# print functions gnu_printf for GCC's format checks, as later cmocka does
sed 's/__attribute__ ((__format__ (__printf__, a, b)))/__attribute__ ((__format__ (__gnu_printf__, a, b)))/' \
    "$src/include/cmocka.h" > "$prefix/include/cmocka.h"
grep -q __gnu_printf__ "$prefix/include/cmocka.h"
cp build/src/libcmocka-static.a "$prefix/lib/libcmocka.a"
cat > "$pc" <<PC
prefix=$prefix
Name: cmocka
Description: The cmocka unit testing library (static, mingw-w64, from Debian's source package)
Version: $version
Libs: -L\${prefix}/lib -lcmocka
Cflags: -I\${prefix}/include
PC
echo "mingw-cmocka.sh: cmocka $version installed in $prefix"
