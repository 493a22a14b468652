#!/bin/sh
# Every tool that `meson install` puts in bindir has a man page in man1, and
# every page installed in man1 belongs to such a tool (test man-pages; add a
# page as doc/man/meson.build says).
#
# usage: packaging/check-man-pages.sh BUILD_DIR
set -eu

[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bitnet-man.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# {"source": "installed path", ...}: the installed paths, one per line
meson introspect "$1" --installed | tr ',' '\n' | sed -n 's/.*": *"\([^"]*\)"}*[[:space:]]*$/\1/p' > "$tmp/installed"
grep '/bin/[^/]*$' "$tmp/installed" | sed 's:.*/::' | sort > "$tmp/tools"
grep '/man1/[^/]*\.1$' "$tmp/installed" | sed 's:.*/::; s/\.1$//' | sort > "$tmp/pages"
if [ ! -s "$tmp/tools" ]; then
    echo "no tool installed: nothing to check"
    exit 77
fi
if ! cmp -s "$tmp/tools" "$tmp/pages"; then
    echo "installed tools and man pages differ ('<' a tool without a page, '>' a page without a tool):"
    diff "$tmp/tools" "$tmp/pages" | grep '^[<>]' || true
    echo "see doc/man/meson.build: doc/man/<tool>.1.scd and bn_man_pages += '<tool>'"
    exit 1
fi
echo "a man page for each of the $(wc -l < "$tmp/tools") installed tools: $(tr '\n' ' ' < "$tmp/tools")"
