#!/bin/sh
# Windows: the DLL exports exactly the names listed in lib/bitnet.map, no
# internal symbol (the version script does not apply to PE: BN_API's
# dllexport picks the exports). The headers and the map are compared by the
# symbols test on ELF systems; here the DLL against the map.
#
# usage: check-dll-exports.sh OBJDUMP LIBBITNET_DLL BITNET_MAP
set -eu
exec 2>&1
objdump=$1 dll=$2 map=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# the names of the map's global: sections (comments dropped)
sed 's,/\*.*\*/,,g; s,^[[:space:]]*\*.*,,' "$map" | tr -s ' \t;' '\n\n\n' \
    | grep -E '^bn_[A-Za-z0-9_]+$' | sort -u > "$tmp/map"
"$objdump" -p "$dll" | sed -n '/\[Ordinal\/Name Pointer\] Table/,/^$/p' \
    | sed -n 's/^[[:space:]]*\[ *[0-9]*\] \(.*\)$/\1/p' | sort -u > "$tmp/dll"

fail=0
if [ ! -s "$tmp/dll" ]; then
    echo "FAIL: no export table read from $dll"
    exit 1
fi
if ! cmp -s "$tmp/map" "$tmp/dll"; then
    echo "FAIL: the exports of $dll differ from $map (< map only, > DLL only):"
    diff "$tmp/map" "$tmp/dll" | grep '^[<>]' || true
    fail=1
fi
[ "$fail" -eq 0 ] && echo "ok: $(wc -l < "$tmp/dll") exports, all in $map"
exit "$fail"
