#!/bin/sh
# Compares the ABI of the built libbitnet.so with the baseline checked in at
# test/abi/libbitnet.abi, with abidw/abidiff from libabigail (Debian package
# abigail-tools). Any difference fails, additions included: a change of the
# ABI must be deliberate, and then the baseline is regenerated in the same
# commit (test/abi/update-baseline.sh) with an entry in doc/api-changes.md.
#
# usage: abi-check.sh         LIBBITNET_SO HEADERS_DIR BASELINE CURRENT_XML
#        abi-check.sh --update LIBBITNET_SO HEADERS_DIR BASELINE
# ABIDW and ABIDIFF in the environment name the tools (default: from PATH).
set -eu

update=0
if [ "${1:-}" = "--update" ]; then
    update=1
    shift
fi
if [ $# -lt 3 ] || { [ "$update" -eq 0 ] && [ $# -ne 4 ]; }; then
    echo "usage: $0 [--update] LIBBITNET_SO HEADERS_DIR BASELINE [CURRENT_XML]" >&2
    exit 2
fi
so=$1 headers=$2 baseline=$3
current=${4:-}
abidw=${ABIDW:-abidw}
abidiff=${ABIDIFF:-abidiff}

for tool in "$abidw" "$abidiff"; do
    if ! command -v "$tool" > /dev/null 2>&1; then
        msg="$tool not found: install abigail-tools (tools/setup-debian.sh --ci)"
        if [ "$update" -eq 1 ]; then
            echo "error: $msg" >&2
            exit 1
        fi
        echo "SKIP: $msg; the ABI was NOT compared with the baseline"
        exit 77
    fi
done

# The options that make the dump independent of where and how the library
# was built (paths, build directory, line numbers of private code move freely;
# DT_NEEDED changes with sanitizers), and restrict it to what users see: the
# exported functions and the types reachable from them that the public
# headers define.
dump() {
    "$abidw" --no-corpus-path --no-comp-dir-path --no-elf-needed --short-locs \
        --headers-dir "$headers" --drop-private-types --exported-interfaces-only \
        --out-file "$2" "$1"
    # Without DWARF abidw silently emits symbols only, and abidiff would then
    # see no type change at all.
    if ! grep -q '<function-decl ' "$2"; then
        echo "FAIL: $(basename "$1") has no debug info, so abidw sees no types: the ABI check"
        echo "needs the library built with -g (lib/meson.build adds it; did something strip it?)"
        exit 1
    fi
}

if [ "$update" -eq 1 ]; then
    dump "$so" "$baseline"
    echo "wrote $baseline"
    exit 0
fi

if [ ! -f "$baseline" ]; then
    echo "FAIL: no ABI baseline at $baseline; create it with test/abi/update-baseline.sh"
    exit 1
fi
dump "$so" "$current"

# --harmless: also fail on changes abidiff deems harmless (a renamed field or
# parameter): they change the API even if not the ABI.
set +e
"$abidiff" --harmless "$baseline" "$current"
rc=$?
set -e
# abidiff's exit status is a bit field: 1 error, 2 usage error, 4 ABI change,
# 8 incompatible ABI change.
if [ "$rc" -eq 0 ]; then
    echo "OK: the ABI of $(basename "$so") matches the baseline $baseline"
    exit 0
fi
if [ $((rc & 3)) -ne 0 ]; then
    echo "FAIL: abidiff failed (exit status $rc) comparing $baseline with $current"
    exit 1
fi
echo
echo "FAIL: the ABI of libbitnet differs from the baseline test/abi/libbitnet.abi (see above)."
if [ $((rc & 8)) -ne 0 ]; then
    echo "abidiff says this change is INCOMPATIBLE: programs built against the baseline would break."
fi
cat <<EOF
If the change is not intended, undo it. If it is intended (a new function, a field
taken from reserved space, ...; rules in doc/abi.md), then in the SAME commit:
  1. bump BN_API_VERSION_MINOR (compatible) or BN_API_VERSION_MAJOR (incompatible)
     in include/bitnet/version.h; new functions go into a new node of lib/bitnet.map,
  2. regenerate the baseline:
       test/abi/update-baseline.sh BUILD_DIR     (e.g. test/abi/update-baseline.sh build)
  3. add an entry to doc/api-changes.md,
and commit test/abi/libbitnet.abi and doc/api-changes.md together with the change.
The dump of this build is $current.
EOF
exit 1
