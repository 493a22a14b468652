#!/bin/sh
# The Windows install, as a user of it builds: `meson install` of a mingw-w64
# build, then test/packaging/pkgconfig_example.c built with pkg-config's
# flags against the DLL (import library libbitnet.dll.a) and against the
# static libbitnet.a (with -DBN_STATIC, which bitnet.h needs for that; without
# it the link must fail), each run under Wine.
#
# usage: check-windows.sh BUILD_DIR   (a build with cross/x86_64-w64-mingw32.ini;
#        WINEPREFIX etc. as the caller set them)
set -eu
build=$1
cc=x86_64-w64-mingw32-gcc-posix
objdump=x86_64-w64-mingw32-objdump
example=$(dirname "$0")/pkgconfig_example.c
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
die() { echo "FAIL: $*" >&2; exit 1; }

meson install -C "$build" --no-rebuild --destdir "$tmp/root" >/dev/null
bindir=$(find "$tmp/root" -name libbitnet-0.dll -printf '%h\n' | head -n 1)
[ -n "$bindir" ] || die "no libbitnet-0.dll installed"
base=${bindir%/bin}
for f in bin/libbitnet-0.dll lib/libbitnet.dll.a lib/libbitnet.a lib/pkgconfig/bitnet.pc \
         include/bitnet/bitnet.h include/bitnet/version.h; do
    [ -f "$base/$f" ] || die "$f not installed"
done
echo "installed: bin/libbitnet-0.dll lib/libbitnet.dll.a lib/libbitnet.a lib/pkgconfig/bitnet.pc"

pc() {
    PKG_CONFIG_LIBDIR="$base/lib/pkgconfig" pkg-config --define-variable=libdir="$base/lib" \
        --define-variable=includedir="$base/include" "$@" bitnet
}
cflags=$(pc --cflags)
libs=$(pc --libs)
static_libs=$(pc --static --libs)

# shellcheck disable=SC2086
$cc -std=c11 $cflags "$example" -o "$tmp/example-dll.exe" $libs || die "cannot build against the DLL"
$objdump -p "$tmp/example-dll.exe" | grep -q 'DLL Name: libbitnet-0.dll' || die "example-dll.exe does not import libbitnet-0.dll"
WINEPATH="Z:$bindir" wine "$tmp/example-dll.exe" || die "example-dll.exe failed under Wine"

# shellcheck disable=SC2086
if $cc -std=c11 $cflags "$example" -o "$tmp/example-nostatic.exe" -static $static_libs 2>/dev/null; then
    die "the static library linked without -DBN_STATIC (BN_API should be dllimport then)"
fi
# shellcheck disable=SC2086
$cc -std=c11 -DBN_STATIC $cflags "$example" -o "$tmp/example-static.exe" -static $static_libs ||
    die "cannot build against libbitnet.a with -DBN_STATIC"
if $objdump -p "$tmp/example-static.exe" | grep -q 'DLL Name: libbitnet'; then
    die "example-static.exe still imports libbitnet-0.dll"
fi
wine "$tmp/example-static.exe" || die "example-static.exe failed under Wine"
echo "ok: the example runs against the DLL and statically (-DBN_STATIC) under Wine"
