#!/bin/sh
# Packaging check (run by .ci/run, not by `meson test`: it installs).
# Installs BUILD_DIR into a temporary DESTDIR, checks the installed layout,
# then builds test/packaging/pkgconfig_example.c the way a user would, with
# `pkg-config bitnet`, linked once to libbitnet.so and once statically to
# libbitnet.a, and runs both; then builds the library's examples
# (examples/simple.c, examples/raii.cpp) exactly as their comments say and
# runs them on the bundled model.
#
# usage: test/packaging/check.sh BUILD_DIR
# CC and CXX pick the compilers for the examples (default cc and c++).
set -eu

if [ $# -ne 1 ] || [ ! -f "$1/build.ninja" ]; then
    echo "usage: $0 BUILD_DIR (a configured meson build directory)" >&2
    exit 2
fi
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$1" && pwd)
cc=${CC:-cc}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bitnet-packaging.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest
nfail=0

ok() { echo "  ok: $*"; }
bad() { echo "  FAIL: $*"; nfail=$((nfail + 1)); }
die() { echo "FAIL: $*"; exit 1; }

# --- what to expect -----------------------------------------------------------
vh="$src/include/bitnet/version.h"
vdef() { sed -n "s/^#define BN_$1[ \t][ \t]*\([0-9][0-9]*\).*/\1/p" "$vh"; }
version="$(vdef VERSION_MAJOR).$(vdef VERSION_MINOR).$(vdef VERSION_PATCH)"
api_major=$(vdef API_VERSION_MAJOR)
api_version="$api_major.$(vdef API_VERSION_MINOR).$(vdef API_VERSION_PATCH)"
case "$version.$api_version" in
*..*|.*|*.) die "cannot read the version numbers from $vh" ;;
esac

meson introspect "$build" --buildoptions > "$tmp/options.json"
opt() {
    python3 -c 'import json, sys
opts = {o["name"]: o["value"] for o in json.load(open(sys.argv[1]))}
print(opts[sys.argv[2]])' "$tmp/options.json" "$1"
}
prefix=$(opt prefix)
# libdir and friends are relative to prefix unless absolute
under_prefix() { case "$1" in /*) echo "$1" ;; *) echo "$prefix/$1" ;; esac; }
libdir=$(under_prefix "$(opt libdir)")
includedir=$(under_prefix "$(opt includedir)")
bindir=$(under_prefix "$(opt bindir)")
default_library=$(opt default_library)
tools=$(opt tools)

echo "packaging check of $build: libbitnet $version, ABI $api_version"
echo "  prefix $prefix, libdir $libdir, includedir $includedir, bindir $bindir"
if [ "$default_library" != "both" ]; then
    die "the build has default_library=$default_library; the check needs both (the default)"
fi

# --- install ---------------------------------------------------------------------
echo "meson install --destdir $dest"
meson install -C "$build" --destdir "$dest" --quiet > "$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log"; die "meson install failed"; }

# --- layout ------------------------------------------------------------------------
echo "installed layout:"
inc="$dest$includedir/bitnet"
lib="$dest$libdir"
for h in bitnet.h version.h; do
    if [ -f "$inc/$h" ]; then ok "include/bitnet/$h"; else bad "missing $inc/$h"; fi
done
# Only the public headers are installed: nothing private leaks next to them.
for f in "$inc"/*; do
    [ -e "$f" ] || continue
    [ -f "$src/include/bitnet/$(basename "$f")" ] || bad "unexpected file installed: $f"
done

# libbitnet.so -> libbitnet.so.MAJOR -> libbitnet.so.MAJOR.MINOR.PATCH
link_to() {
    if [ -L "$lib/$1" ] && [ "$(readlink "$lib/$1")" = "$2" ]; then
        ok "$1 -> $2"
    else
        bad "$lib/$1 is not a symlink to $2"
    fi
}
link_to libbitnet.so "libbitnet.so.$api_major"
link_to "libbitnet.so.$api_major" "libbitnet.so.$api_version"
if [ -f "$lib/libbitnet.so.$api_version" ] && [ ! -L "$lib/libbitnet.so.$api_version" ]; then
    soname=$(readelf -d "$lib/libbitnet.so.$api_version" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
    if [ "$soname" = "libbitnet.so.$api_major" ]; then
        ok "libbitnet.so.$api_version, SONAME $soname"
    else
        bad "SONAME of libbitnet.so.$api_version is '$soname', expected libbitnet.so.$api_major"
    fi
else
    bad "missing $lib/libbitnet.so.$api_version"
fi
if [ -f "$lib/libbitnet.a" ]; then ok "libbitnet.a"; else bad "missing $lib/libbitnet.a"; fi
if [ -e "$lib/libbitnet_internal.a" ]; then bad "the internal library is installed: $lib/libbitnet_internal.a"; fi
if [ -f "$lib/pkgconfig/bitnet.pc" ]; then ok "pkgconfig/bitnet.pc"; else bad "missing $lib/pkgconfig/bitnet.pc"; fi
if [ "$tools" = "True" ] || [ "$tools" = "true" ]; then
    if [ -x "$dest$bindir/bitnet-info" ]; then
        out=$(LD_LIBRARY_PATH="$lib" "$dest$bindir/bitnet-info" --version 2>&1) || true
        case "$out" in
        *"$version"*) ok "bin/bitnet-info runs: $out" ;;
        *) bad "installed bitnet-info --version printed '$out', expected version $version" ;;
        esac
    else
        bad "missing $dest$bindir/bitnet-info"
    fi
fi
# The API reference, when the build made it (docs=auto and doxygen found).
if [ -d "$build/doc/api/html" ]; then
    ref="$dest$(under_prefix "$(opt datadir)")/doc/libbitnet/api/html/bitnet_8h.html"
    if [ -f "$ref" ]; then ok "share/doc/libbitnet/api/html (the API reference)"; else bad "missing $ref"; fi
fi
[ "$nfail" -eq 0 ] || die "$nfail problem(s) in the installed layout"

# --- pkg-config ----------------------------------------------------------------------
# Only our bitnet.pc, with its paths moved into the DESTDIR.
PKG_CONFIG_LIBDIR="$lib/pkgconfig"
PKG_CONFIG_PATH=""
PKG_CONFIG_SYSROOT_DIR="$dest"
export PKG_CONFIG_LIBDIR PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
echo "pkg-config:"
pcversion=$(pkg-config --modversion bitnet) || die "pkg-config cannot read bitnet.pc"
if [ "$pcversion" = "$version" ]; then
    ok "bitnet.pc Version $pcversion"
else
    bad "bitnet.pc says Version $pcversion, version.h says $version"
fi
cflags=$(pkg-config --cflags bitnet)
libs=$(pkg-config --libs bitnet)
static_libs=$(pkg-config --static --libs bitnet)
echo "  --cflags: $cflags"
echo "  --libs: $libs"
echo "  --static --libs: $static_libs"
case " $cflags " in *" -I$dest$includedir "*) ok "--cflags points into the install" ;;
*) bad "--cflags does not give -I$dest$includedir" ;; esac

example="$src/test/packaging/pkgconfig_example.c"
strict="-std=c11 -Wall -Wextra -Werror -pedantic"

# --- linked to libbitnet.so ------------------------------------------------------------
echo "example linked to libbitnet.so:"
# shellcheck disable=SC2086  # flag lists are meant to split
$cc $strict $cflags "$example" -o "$tmp/example-shared" $libs ||
    die "cannot build the example with pkg-config --cflags --libs bitnet"
if readelf -d "$tmp/example-shared" | grep -q "NEEDED.*\[libbitnet\.so\.$api_major\]"; then
    ok "NEEDED libbitnet.so.$api_major"
else
    bad "example-shared does not need libbitnet.so.$api_major"
fi
if LD_LIBRARY_PATH="$lib" ldd "$tmp/example-shared" | grep -q "libbitnet\.so\.$api_major => $lib/"; then
    ok "ldd resolves libbitnet.so.$api_major in the install"
else
    LD_LIBRARY_PATH="$lib" ldd "$tmp/example-shared" || true
    bad "ldd does not resolve libbitnet.so.$api_major to $lib"
fi
if LD_LIBRARY_PATH="$lib" "$tmp/example-shared"; then
    ok "runs"
else
    bad "example-shared failed"
fi

# --- linked statically to libbitnet.a -------------------------------------------------
echo "example linked statically to libbitnet.a:"
# -Bstatic around -lbitnet alone: libbitnet.a, but libc and libm stay shared.
static_link=$(printf '%s\n' "$static_libs" |
    sed 's/\(^\|[[:space:]]\)-lbitnet\([[:space:]]\|$\)/\1-Wl,-Bstatic -lbitnet -Wl,-Bdynamic\2/')
case "$static_link" in *-Bstatic*) ;; *) die "no -lbitnet in pkg-config --static --libs bitnet" ;; esac
# shellcheck disable=SC2086
$cc $strict $cflags "$example" -o "$tmp/example-static" $static_link ||
    die "cannot build the example with pkg-config --static --cflags --libs bitnet"
if readelf -d "$tmp/example-static" | grep -q 'NEEDED.*libbitnet'; then
    bad "example-static still needs libbitnet.so"
else
    ok "no NEEDED libbitnet"
fi
if env -u LD_LIBRARY_PATH ldd "$tmp/example-static" | grep -q libbitnet; then
    bad "ldd shows libbitnet for example-static"
else
    ok "ldd shows no libbitnet"
fi
if nm "$tmp/example-static" | grep -q ' T bn_version_string$'; then
    ok "bn_version_string is linked in"
else
    bad "bn_version_string is not defined in example-static"
fi
if env -u LD_LIBRARY_PATH "$tmp/example-static"; then
    ok "runs without LD_LIBRARY_PATH"
else
    bad "example-static failed"
fi

# --- the library's examples, built as their comments say -------------------------------
# `cc simple.c $(pkg-config --cflags --libs bitnet)`, verbatim, in a directory
# of its own, then run on the bundled model; the same for the C++ example.
echo "examples/simple.c and examples/raii.cpp, built alone with pkg-config:"
model="$dest$(under_prefix "$(opt datadir)")/libbitnet/models/default.gguf"
[ -f "$model" ] || model="$src/models/default.gguf"
mkdir "$tmp/examples"
cp "$src/examples/simple.c" "$src/examples/raii.cpp" "$tmp/examples/"
build_example() {   # build_example COMPILER SOURCE
    # shellcheck disable=SC2046  # pkg-config's output is meant to split
    (cd "$tmp/examples" && $1 "$2" $(pkg-config --cflags --libs bitnet) -o "${2%.*}")
}
run_example() {     # run_example NAME
    out=$(LD_LIBRARY_PATH="$lib" "$tmp/examples/$1" "$model" "And God said" 24 2>&1)
    case "$out" in
    "And God said"?*) ok "$1 runs on the bundled model: $(printf '%s' "$out" | head -n 1 | cut -c 1-60)..." ;;
    *) bad "$1 printed: $out" ;;
    esac
}
if build_example "$cc" simple.c; then
    ok "cc simple.c \$(pkg-config --cflags --libs bitnet)"
    run_example simple
else
    bad "examples/simple.c does not build with $cc and pkg-config alone"
fi
cxx=${CXX:-c++}
if command -v "$cxx" > /dev/null 2>&1; then
    if build_example "$cxx" raii.cpp; then
        ok "$cxx raii.cpp \$(pkg-config --cflags --libs bitnet)"
        run_example raii
    else
        bad "examples/raii.cpp does not build with $cxx and pkg-config alone"
    fi
else
    echo "  skipped: no C++ compiler ($cxx) for examples/raii.cpp"
fi

# The README's C snippet (the core of simple.c) runs as shown: its lines
# inside a main(), its #include lines before it.
echo "the README's C snippet:"
awk '/^## Using the library/ { on = 1 } on && /^```c$/ { grab = 1; next }
     grab && /^```$/ { exit } grab { print }' "$src/README.md" > "$tmp/snippet.txt"
{
    echo '#include <stdio.h>'
    echo '#include <string.h>'
    grep '^#include' "$tmp/snippet.txt"
    echo 'int main(void) {'
    grep -v '^#include' "$tmp/snippet.txt"
    echo 'putchar(10); return rc == BN_OK ? 0 : 1; }'
} > "$tmp/examples/readme.c"
if ! grep -q bn_decode "$tmp/snippet.txt"; then
    bad "no C snippet with bn_decode under '## Using the library' in README.md"
elif build_example "$cc" readme.c; then
    if out=$(cd "$src" && LD_LIBRARY_PATH="$lib" "$tmp/examples/readme" 2>&1) && [ -n "$out" ]; then
        ok "runs from the source tree: $(printf '%s' "$out" | head -n 1 | cut -c 1-60)..."
    else
        bad "the README snippet failed: $out"
    fi
else
    bad "the README's C snippet does not build inside a main()"
fi

if [ "$nfail" -ne 0 ]; then
    echo "FAIL: packaging check: $nfail problem(s)"
    exit 1
fi
echo "packaging check: OK"
