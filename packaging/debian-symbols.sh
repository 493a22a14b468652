#!/bin/sh
# The Debian symbols file of libbitnet0, made from lib/bitnet.map (the linker
# version script, the one list of exported symbols).
#
#   packaging/debian-symbols.sh > packaging/debian/libbitnet0.symbols
#       regenerates it (after a symbol or a node is added to the map);
#   packaging/debian-symbols.sh --check packaging/debian/libbitnet0.symbols
#       exits 1 unless the file lists exactly the map's symbols, each in its
#       node (the test debian-symbols runs this).
#
# A symbol of node BITNET_M.N gets the minimal version M.N.0: the first
# release that exports it has API version M.N, and the package version of a
# release is never below its API version (include/bitnet/version.h).
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
map=$src/lib/bitnet.map
soname_major=$(sed -n 's/^#define BN_API_VERSION_MAJOR[ \t][ \t]*\([0-9][0-9]*\).*/\1/p' \
    "$src/include/bitnet/version.h")

# "symbol@NODE" for every global of the map, in the map's order; the nodes
# themselves too (dpkg-gensymbols lists NODE@NODE).
map_symbols() {
    sed -e 's:/\*.*\*/::g' -e '/\/\*/,/\*\//d' "$map" | awk '
        /^[ \t]*[A-Za-z_][A-Za-z0-9_.]*[ \t]*\{/ { node = $1; sub(/\{.*/, "", node); print node "@" node; next }
        /^[ \t]*\}/ { node = ""; next }
        node != "" && /^[ \t]*[A-Za-z_][A-Za-z0-9_]*[ \t]*;/ {
            s = $1; sub(/;.*/, "", s)
            if (s != "global" && s != "local") print s "@" node
        }'
}

if [ "${1-}" = "--check" ]; then
    [ $# -eq 2 ] || { echo "usage: $0 [--check SYMBOLS_FILE]" >&2; exit 2; }
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/bitnet-symbols.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    map_symbols | sort > "$tmp/map"
    sed -n 's/^ \([^ ]*@[^ ]*\) .*/\1/p' "$2" | sort > "$tmp/file"
    if [ ! -s "$tmp/map" ]; then
        echo "$0: no symbols read from $map" >&2
        exit 1
    fi
    if ! cmp -s "$tmp/map" "$tmp/file"; then
        echo "$2 does not list the symbols of lib/bitnet.map ('<' only in the map, '>' only in the file):"
        diff "$tmp/map" "$tmp/file" | grep '^[<>]' || true
        echo "regenerate it: packaging/debian-symbols.sh > packaging/debian/libbitnet0.symbols"
        exit 1
    fi
    if ! grep -q "^libbitnet\.so\.$soname_major libbitnet$soname_major " "$2"; then
        echo "$2 does not start with 'libbitnet.so.$soname_major libbitnet$soname_major' (SONAME of version.h)"
        exit 1
    fi
    echo "$2: the $(wc -l < "$tmp/map") symbols of lib/bitnet.map"
    exit 0
fi
[ $# -eq 0 ] || { echo "usage: $0 [--check SYMBOLS_FILE]" >&2; exit 2; }

echo "libbitnet.so.$soname_major libbitnet$soname_major #MINVER#"
echo "* Build-Depends-Package: libbitnet-dev"
map_symbols | awk -F@ '{ v = $2; sub(/^BITNET_/, "", v); print " " $0 " " v ".0" }'
