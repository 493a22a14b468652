#!/bin/sh
# Checks that three lists of the public API agree:
#   - the functions declared BN_API in the public headers,
#   - the names in the linker version script (lib/bitnet.map), with their node,
#   - the symbols libbitnet.so really exports, with their version.
# Also: every name starts with bn_, every function declared in a public header
# carries BN_API, and the headers export no variables.
#
# usage: check-symbols.sh NM LIBBITNET_SO BITNET_MAP HEADER...
set -eu
exec 2>&1

if [ $# -lt 4 ]; then
    echo "usage: $0 NM LIBBITNET_SO BITNET_MAP HEADER..." >&2
    exit 2
fi
nm=$1 so=$2 map=$3
shift 3

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

# Strips C comments from the whole input (any line span) and prints it as one
# line; used by both parsers below.
# shellcheck disable=SC2016  # awk code, not shell
strip_comments='
{ text = text $0 "\n" }
function uncomment(s,    out, i, j) {
    out = ""
    while ((i = index(s, "/*")) > 0) {
        out = out substr(s, 1, i - 1) " "
        s = substr(s, i + 2)
        j = index(s, "*/")
        if (j == 0) { s = ""; break }
        s = substr(s, j + 2)
    }
    return out s
}'

# --- 1. the version script: "name@@NODE" for each global name --------------
# Grammar handled: NODE { global: a; b; local: *; } [PARENT] ;
# Anything else (wildcards in global:, extern "C++" blocks) is an error: the
# map must list every exported name explicitly.
awk "$strip_comments"'
END {
    s = uncomment(text)
    gsub(/[{};:]/, " & ", s)
    n = split(s, tok, /[ \t\n]+/)
    state = "top"; node = ""; mode = ""; err = 0
    for (k = 1; k <= n; k++) {
        t = tok[k]
        if (t == "") continue
        if (state == "top") {
            if (t == ";") continue
            node = t; state = "open"
        } else if (state == "open") {
            if (t != "{") { print "map: expected { after " node > "/dev/stderr"; err = 1; exit 1 }
            state = "body"; mode = "global"
        } else if (state == "body") {
            if (t == "}") { state = "after"; continue }
            if ((t == "global" || t == "local") && tok[k + 1] == ":") { mode = t; k++; continue }
            if (t == ";") continue
            if (mode == "local") continue
            if (t !~ /^[A-Za-z_][A-Za-z0-9_]*$/) {
                print "map: node " node ": \"" t "\" is not a plain symbol name (list every exported name explicitly)" > "/dev/stderr"
                err = 1; continue
            }
            print t "@@" node
        } else if (state == "after") {
            if (t == ";") state = "top"
            # else: the parent node name
        }
    }
    if (state != "top") { print "map: unterminated node " node > "/dev/stderr"; err = 1 }
    exit err
}' "$map" > "$tmp/map.raw" || { echo "FAIL: cannot parse $map (see above)"; fail=1; }
sort "$tmp/map.raw" > "$tmp/map.txt"

# --- 2. the public headers: BN_API function names ---------------------------
# Preprocessor lines are dropped (the #define of BN_API among them), comments
# stripped, then the text is cut into top-level statements at ';' outside
# braces (extern "C" { ... } does not count as a brace level). A statement
# with '(' at top level that is not a typedef is a function declaration; its
# name is the identifier just before the first '(' (so a function attribute
# goes through a macro, as BN_API does, not a bare __attribute__((...)) there).
for h in "$@"; do
    awk '
    BEGIN { cont = 0 }
    # drop preprocessor directives and their continuation lines
    { line = $0
      if (cont || line ~ /^[ \t]*#/) { cont = (line ~ /\\$/); next }
      print line }' "$h"
done | awk "$strip_comments"'
function emit(stmt, top,    decl, name, i) {
    gsub(/[ \t\n]+/, " ", stmt); gsub(/[ \t\n]+/, " ", top)
    sub(/^ /, "", top)
    # typedefs and the static assertions on struct sizes declare no function
    if (top == "" || top ~ /^typedef[ (]/ || top ~ /^BN_SIZE_CHECK_ ?\(/) return
    has_api = (top ~ /(^|[^A-Za-z0-9_])BN_API([^A-Za-z0-9_]|$)/)
    i = index(top, "(")
    if (i == 0) {
        if (has_api) { print "header: exported variable (not allowed, use a function): " stmt > "/dev/stderr"; bad = 1 }
        return
    }
    decl = substr(top, 1, i - 1)
    sub(/[ ]+$/, "", decl)
    if (!match(decl, /[A-Za-z_][A-Za-z0-9_]*$/)) {
        print "header: cannot find the function name in: " stmt > "/dev/stderr"; bad = 1; return
    }
    name = substr(decl, RSTART, RLENGTH)
    if (!has_api) {
        print "header: " name "() is declared without BN_API: " stmt > "/dev/stderr"; bad = 1; return
    }
    print name
}
END {
    s = uncomment(text)
    depth = 0; stmt = ""; top = ""; bad = 0
    n = length(s)
    for (k = 1; k <= n; k++) {
        c = substr(s, k, 1)
        if (c == "{") {
            if (depth == 0 && top ~ /extern[ \t\n]*"C"[ \t\n]*$/) { stmt = ""; top = ""; continue }
            depth++; stmt = stmt c
        } else if (c == "}") {
            if (depth == 0) { stmt = ""; top = ""; continue }   # end of extern "C"
            depth--; stmt = stmt c
        } else if (c == ";" && depth == 0) {
            emit(stmt, top); stmt = ""; top = ""
        } else {
            stmt = stmt c
            if (depth == 0) top = top c
        }
    }
    exit bad
}' > "$tmp/header.raw" || { echo "FAIL: the public headers break the rules above: $*"; fail=1; }
sort -u "$tmp/header.raw" > "$tmp/header.txt"

# --- 3. what the library exports ---------------------------------------------
# Defined dynamic symbols with their version (GNU nm prints name@@VERSION);
# type A entries are the version nodes themselves.
"$nm" -D --defined-only "$so" > "$tmp/nm.raw"
awk 'NF >= 3 && $2 != "A" { print $3 }' "$tmp/nm.raw" | sort > "$tmp/so.txt"

if [ ! -s "$tmp/map.txt" ] || [ ! -s "$tmp/header.txt" ] || [ ! -s "$tmp/so.txt" ]; then
    echo "FAIL: an empty list (map: $(wc -l < "$tmp/map.txt"), header: $(wc -l < "$tmp/header.txt"), library: $(wc -l < "$tmp/so.txt"))"
    exit 1
fi

# compare LEFT RIGHT WHAT-IS-LEFT WHAT-IS-RIGHT
compare() {
    if ! cmp -s "$1" "$2"; then
        comm -23 "$1" "$2" | awk -v w="$3" '{ print "  only in " w ": " $0 }'
        comm -13 "$1" "$2" | awk -v w="$4" '{ print "  only in " w ": " $0 }'
        fail=1
    fi
}

sed 's/@@.*//' "$tmp/map.txt" > "$tmp/map.names"
echo "header BN_API functions vs lib/bitnet.map:"
compare "$tmp/header.txt" "$tmp/map.names" "the headers (add it to lib/bitnet.map)" \
    "lib/bitnet.map (declare it BN_API in a public header, or drop it)"

echo "lib/bitnet.map vs symbols exported by $(basename "$so") (name@@version):"
if grep -v '@@' "$tmp/so.txt" > "$tmp/unversioned"; then
    sed 's/^/  exported without a version (is --version-script applied? does nm print versions?): /' "$tmp/unversioned"
    fail=1
fi
compare "$tmp/map.txt" "$tmp/so.txt" "lib/bitnet.map" "the library"

echo "names without the bn_ prefix:"
if cat "$tmp/map.names" "$tmp/header.txt" | sort -u | grep -v '^bn_' > "$tmp/unprefixed"; then
    sed 's/^/  /' "$tmp/unprefixed"
    fail=1
fi

if [ "$fail" -ne 0 ]; then
    echo "FAIL: the public headers, lib/bitnet.map and the exported symbols disagree (see above)."
    echo "A new function needs all three: BN_API in include/bitnet/, its name in a node of"
    echo "lib/bitnet.map, and an entry in doc/api-changes.md (see doc/abi.md)."
    exit 1
fi
echo "OK: $(wc -l < "$tmp/so.txt") symbols, header, map and library agree:"
sed 's/^/  /' "$tmp/so.txt"
