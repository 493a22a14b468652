#!/bin/sh
# Reproducible installs (CI step p1): builds the tree twice, from two copies
# at different paths, in build directories at different places (one inside
# its source tree, one outside, at another depth), installs both with DESTDIR
# and compares the installed trees byte for byte. Also fails if an installed
# file names a build or source directory.
#
# Both builds are release builds with debug info everywhere (-g, as
# distributions build) and SOURCE_DATE_EPOCH set to the last commit's time, as
# reproducible-builds.org defines it (scdoc dates the man pages with it).
# The copies are `git archive HEAD`: commit what you want checked.
#
# usage: packaging/check-reproducible.sh   (about 40 s on 2 cores)
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bitnet-repro.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
die() { echo "FAIL: $*"; exit 1; }

SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$src" log -1 --format=%ct)}
export SOURCE_DATE_EPOCH

src1=$tmp/one/libbitnet
build1=$src1/build
src2=$tmp/second-copy/deeper/tree/libbitnet
build2=$tmp/second-copy/out/b
mkdir -p "$src1" "$src2" "$build2"
for d in "$src1" "$src2"; do
    git -C "$src" archive --format=tar HEAD | tar -x -C "$d"
done

n=0
for pair in "$src1:$build1" "$src2:$build2"; do
    s=${pair%%:*} b=${pair#*:}
    n=$((n + 1))
    echo "build $n: source $s, build directory $b"
    meson setup "$b" "$s" --prefix=/usr -Dtests=false -Dtools=true -Dc_args=-g \
        > "$tmp/setup$n.log" 2>&1 || { cat "$tmp/setup$n.log"; die "meson setup $n failed"; }
    meson compile -C "$b" -j "${JOBS:-2}" > "$tmp/build$n.log" 2>&1 ||
        { tail -n 40 "$tmp/build$n.log"; die "build $n failed"; }
    meson install -C "$b" --destdir "$tmp/dest$n" --quiet > "$tmp/install$n.log" 2>&1 ||
        { cat "$tmp/install$n.log"; die "install $n failed"; }
done

(cd "$tmp/dest1" && find . | sort) > "$tmp/files1"
(cd "$tmp/dest2" && find . | sort) > "$tmp/files2"
if ! cmp -s "$tmp/files1" "$tmp/files2"; then
    diff "$tmp/files1" "$tmp/files2" || true
    die "the two installs hold different files"
fi
nfiles=$(cd "$tmp/dest1" && find . -type f | wc -l)
echo "installed: $nfiles files, $(du -sk "$tmp/dest1" | cut -f1) KiB"
(cd "$tmp/dest1" && find . -type f | sort) | sed 's/^\./  /'

status=0
if ! diff -r --no-dereference "$tmp/dest1" "$tmp/dest2" > "$tmp/diff.log" 2>&1; then
    sed 's/^/  /' "$tmp/diff.log"
    echo "FAIL: the two installed trees differ"
    status=1
fi
if grep -rl -e "$tmp" "$tmp/dest1" "$tmp/dest2" > "$tmp/paths.log"; then
    echo "FAIL: installed files that name a build or source directory:"
    sed "s:^$tmp/::; s/^/  /" "$tmp/paths.log"
    status=1
fi
[ "$status" -eq 0 ] || exit 1
echo "reproducible: the two installed trees are identical, byte for byte, and name no build or source directory"
