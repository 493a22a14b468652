#!/bin/sh
# Builds the Debian packages from a release tarball the way a packager would,
# installs them, builds a program against them and runs lintian (CI step p3).
#
#   1. `meson dist` of BUILD_DIR (a configured build of this tree): the
#      release tarball, from the committed tree;
#   2. in a scratch directory: the tarball unpacked, packaging/debian/ copied
#      to debian/, dpkg-buildpackage -us -uc -b (tests skipped with
#      DEB_BUILD_OPTIONS=nocheck unless DEB_BUILD_OPTIONS says otherwise:
#      CI has run them), dpkg-gensymbols at check level 4 (the symbols file
#      must list exactly what libbitnet.so.0 exports);
#   3. the packages installed with dpkg (root only; purged again on exit),
#      test/packaging/pkgconfig_example.c built with pkg-config against them
#      and run, bitnet-cli run with its bundled model, a man page checked for
#      every installed tool;
#   4. lintian -I -E --pedantic on the packages: any E: or W: fails, except
#      the tags overridden in packaging/debian/*.lintian-overrides.
#
# usage: packaging/check-debian.sh BUILD_DIR   (needs tools/setup-debian.sh --ci)
set -eu

if [ $# -ne 1 ] || [ ! -f "$1/build.ninja" ]; then
    echo "usage: $0 BUILD_DIR (a configured meson build directory of this tree)" >&2
    exit 2
fi
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bitnet-deb.XXXXXX")
installed=""
cleanup() {
    # shellcheck disable=SC2086
    [ -z "$installed" ] || dpkg --purge $installed > /dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
die() { echo "FAIL: $*"; exit 1; }

# --- 1. the release tarball -------------------------------------------------------
version=$(meson introspect "$build" --projectinfo | sed -n 's/.*"version": *"\([^"]*\)".*/\1/p')
[ -n "$version" ] || die "cannot read the project version of $build"
tarball=$build/meson-dist/libbitnet-$version.tar.xz
echo "meson dist (tarball of the committed tree)"
rm -f "$tarball"
meson dist -C "$build" --no-tests --allow-dirty --formats xztar > "$tmp/dist.log" 2>&1 ||
    { cat "$tmp/dist.log"; die "meson dist failed"; }
[ -f "$tarball" ] || die "meson dist made no $tarball"
echo "  $(basename "$tarball"): $(du -k "$tarball" | cut -f1) KiB"
if tar -tJf "$tarball" | grep -q 'default-weights\.pt$'; then
    die "the tarball holds models/default-weights.pt"
fi

# --- 2. dpkg-buildpackage -------------------------------------------------------------
cp "$tarball" "$tmp/libbitnet_$version.orig.tar.xz"
tar -xJf "$tarball" -C "$tmp"
srcdir=$tmp/libbitnet-$version
cp -r "$srcdir/packaging/debian" "$srcdir/debian"
debversion=$(dpkg-parsechangelog -l "$srcdir/debian/changelog" -S Version)
case "$debversion" in
"$version"-*) ;;
*) die "packaging/debian/changelog is at $debversion, the tarball at $version: add a changelog entry" ;;
esac
echo "dpkg-buildpackage -us -uc -b ($debversion, DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS:-nocheck parallel=2})"
(
    cd "$srcdir"
    # check level 4: the symbols file must match the library's exports exactly
    DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS:-nocheck parallel=2} DPKG_GENSYMBOLS_CHECK_LEVEL=4 \
        dpkg-buildpackage -us -uc -b
) > "$tmp/build.log" 2>&1 || { tail -n 60 "$tmp/build.log"; die "dpkg-buildpackage failed"; }
changes=$(ls "$tmp"/libbitnet_*.changes)
ls "$tmp"/*.deb | sed 's:.*/:  :'

# --- 3. install and use -------------------------------------------------------------------
if [ "$(id -u)" -ne 0 ]; then
    die "installing the packages needs root (CI runs as root)"
fi
debs=$(ls "$tmp"/libbitnet0_*.deb "$tmp"/libbitnet-dev_*.deb "$tmp"/bitnet-tools_*.deb)
installed="bitnet-tools libbitnet-dev libbitnet0"
# shellcheck disable=SC2086
dpkg -i $debs > "$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; die "dpkg -i failed"; }
echo "installed: $(dpkg-query -W -f='${Package} ${Version}, ' $installed)"
cc=${CC:-cc}
strict="-std=c11 -Wall -Wextra -Werror -pedantic"
# shellcheck disable=SC2046,SC2086
$cc $strict $(pkg-config --cflags bitnet) "$src/test/packaging/pkgconfig_example.c" \
    -o "$tmp/example" $(pkg-config --libs bitnet) || die "cannot build a program with pkg-config bitnet"
"$tmp/example" > /dev/null || die "the program built against the packages failed"
echo "  ok: a program built with pkg-config bitnet (libbitnet $(pkg-config --modversion bitnet)) runs"
# shellcheck disable=SC2046,SC2086
$cc $strict $(pkg-config --cflags bitnet) "$src/test/packaging/pkgconfig_example.c" \
    -o "$tmp/example-static" \
    $(pkg-config --static --libs bitnet | sed 's/-lbitnet/-Wl,-Bstatic -lbitnet -Wl,-Bdynamic/') ||
    die "cannot link libbitnet.a"
"$tmp/example-static" > /dev/null || die "the program linked to libbitnet.a failed"
echo "  ok: the same program linked to libbitnet.a runs"
out=$(bitnet-cli -p "And God said" -n 8 --seed 1 2>/dev/null) || die "the installed bitnet-cli failed"
[ -n "$out" ] || die "the installed bitnet-cli printed nothing"
echo "  ok: bitnet-cli with the bundled model: $(echo "$out" | head -n 1)"
for exe in $(dpkg -L bitnet-tools | grep '^/usr/bin/.'); do
    name=$(basename "$exe")
    [ -f "/usr/share/man/man1/$name.1.gz" ] || die "$name has no man page"
done
echo "  ok: a man page for every tool in /usr/bin:" $(dpkg -L bitnet-tools | sed -n 's:^/usr/bin/\(..*\)$:\1:p')

# --- 4. lintian ------------------------------------------------------------------------------
echo "lintian -I -E --pedantic --show-overrides $(basename "$changes") (O: = overridden)"
lintian -I -E --pedantic --show-overrides "$changes" > "$tmp/lintian.log" 2>&1 || true
sed 's/^/  /' "$tmp/lintian.log"
if grep -q '^[EW]:' "$tmp/lintian.log"; then
    die "lintian reports errors or warnings"
fi
echo "Debian packages: OK (lintian: no error, no warning)"
