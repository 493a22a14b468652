#!/bin/sh
# libbitnet as a Meson subproject: sets up the parent project of
# packaging/subproject/ with subprojects/libbitnet pointing at this tree, in
# every form (see packaging/subproject/meson.build), and checks what Meson
# plans to build and install:
#   fallback-list  dependency('bitnet', version : '>=0.1', fallback : ['libbitnet', 'libbitnet_dep'])
#   fallback-name  dependency('bitnet', version : '>=0.1', fallback : 'libbitnet')
#   static         fallback-name with the parent's default_library=static
#   tools-off      tools=false alone: tools built (for the tests), none installed
#   too-new        version : '>=99' must fail
# With tools=false tests=false (what a parent passes) libbitnet builds no
# executable and installs no tool, man page or model; the parent's
# default_library decides shared or static.
# With --build it also builds fallback-list and static, and runs the parent's
# program (linked to libbitnet.so.0, then statically).
#
# usage: packaging/check-subproject.sh [--build]   (test subproject; CI step p2)
set -eu

build=0
[ "${1-}" = "--build" ] && build=1
src=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bitnet-subproject.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
nfail=0
ok() { echo "  ok: $*"; }
bad() { echo "  FAIL: $*"; nfail=$((nfail + 1)); }

version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$src/meson.build" | head -n 1)
parent=$tmp/parent
cp -r "$src/packaging/subproject" "$parent"
mkdir "$parent/subprojects"
ln -s "$src" "$parent/subprojects/libbitnet"

# introspect DIR: one line per target of libbitnet ("type name installed"),
# then "installed PATH" per file that `meson install` would install.
introspect() {
    meson introspect "$1" --targets > "$tmp/targets.json"
    meson introspect "$1" --installed > "$tmp/installed.json"
    /usr/bin/python3 - "$tmp/targets.json" "$tmp/installed.json" <<'PY'
import json, sys
for t in json.load(open(sys.argv[1])):
    if t.get("subproject") == "libbitnet":
        print(t["type"].replace(" ", "-"), t["name"], t["installed"])
for dest in json.load(open(sys.argv[2])).values():
    print("installed", dest)
PY
}

# setup NAME FORM [MESON ARGS]: configures the parent; 0 if meson succeeded
setup() {
    name=$1 form=$2
    shift 2
    meson setup "$tmp/$name" "$parent" -Dform="$form" --force-fallback-for=bitnet "$@" \
        > "$tmp/$name.log" 2>&1
}

check_lib_only() {
    name=$1 kind=$2
    introspect "$tmp/$name" > "$tmp/$name.plan"
    if grep -q '^executable ' "$tmp/$name.plan"; then
        bad "$name: libbitnet builds executables: $(grep '^executable ' "$tmp/$name.plan" | cut -d' ' -f2 | tr '\n' ' ')"
    else
        ok "$name: libbitnet builds no executable"
    fi
    if grep -E '^installed .*(/bin/|/man1/|/share/libbitnet/)' "$tmp/$name.plan" | grep -v '/bin/parent$' > "$tmp/$name.extra"; then
        bad "$name: installs $(tr '\n' ' ' < "$tmp/$name.extra")"
    else
        ok "$name: installs no tool, man page or model"
    fi
    libs=$(grep -E '^(shared|static)-library bitnet ' "$tmp/$name.plan" | cut -d' ' -f1 | sort | tr '\n' ' ')
    if [ "$libs" = "$kind-library " ]; then
        ok "$name: libbitnet as a $kind library only"
    else
        bad "$name: libbitnet built as '$libs', expected $kind-library only"
    fi
}

echo "libbitnet $version as a subproject of packaging/subproject/"
for spec in fallback-list:fallback-list:shared fallback-name:fallback-name:shared \
            static:fallback-name:static; do
    name=${spec%%:*} rest=${spec#*:}
    form=${rest%%:*} kind=${rest#*:}
    if setup "$name" "$form" -Ddefault_library="$kind"; then
        ok "$name: configured (-Ddefault_library=$kind)"
        if grep -q "^Dependency bitnet.* found: YES $version" "$tmp/$name.log"; then
            ok "$name: dependency bitnet found, version $version"
        else
            bad "$name: no 'Dependency bitnet ... found: YES $version' in the meson log"
        fi
        check_lib_only "$name" "$kind"
    else
        tail -n 15 "$tmp/$name.log"
        bad "$name: meson setup failed"
    fi
done

if setup tools-off tools-off; then
    introspect "$tmp/tools-off" > "$tmp/tools-off.plan"
    if grep -q '^executable bitnet-cli False$' "$tmp/tools-off.plan"; then
        ok "tools-off: the tools are built for the tests, not installed"
    else
        bad "tools-off: bitnet-cli is not a built, uninstalled target"
    fi
    if grep -E '^installed .*(/bin/|/man1/|/share/libbitnet/)' "$tmp/tools-off.plan" | grep -v '/bin/parent$' > "$tmp/tools-off.extra"; then
        bad "tools-off: installs $(tr '\n' ' ' < "$tmp/tools-off.extra")"
    else
        ok "tools-off: installs no tool, man page or model"
    fi
else
    tail -n 15 "$tmp/tools-off.log"
    bad "tools-off: meson setup failed"
fi

if setup too-new too-new; then
    bad "too-new: version '>=99' was accepted"
elif grep -q "found $version but need: '>=99'" "$tmp/too-new.log"; then
    ok "too-new: refused (found $version but need '>=99')"
else
    tail -n 5 "$tmp/too-new.log"
    bad "too-new: failed without naming the versions"
fi

if [ "$build" -eq 1 ]; then
    for name in fallback-list static; do
        [ -f "$tmp/$name/build.ninja" ] || continue
        if ! meson compile -C "$tmp/$name" -j "${JOBS:-2}" > "$tmp/$name-build.log" 2>&1; then
            tail -n 30 "$tmp/$name-build.log"
            bad "$name: build failed"
            continue
        fi
        out=$("$tmp/$name/parent") || true
        if [ "$out" = "$version" ]; then ok "$name: the parent's program runs: libbitnet $out"
        else bad "$name: the parent's program printed '$out'"; fi
        if readelf -d "$tmp/$name/parent" | grep -q 'NEEDED.*libbitnet'; then linked=shared; else linked=static; fi
        case "$name" in static) want=static ;; *) want=shared ;; esac
        if [ "$linked" = "$want" ]; then ok "$name: linked to the $want library"
        else bad "$name: linked to the $linked library, expected $want"; fi
    done
fi

if [ "$nfail" -ne 0 ]; then
    echo "FAIL: subproject check: $nfail problem(s)"
    exit 1
fi
echo "subproject check: OK"
