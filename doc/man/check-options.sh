#!/bin/sh
# The man page of a tool names every long option its --help lists (test
# man-options-<tool>): a new option needs a line in doc/man/<tool>.1.scd.
#
# usage: doc/man/check-options.sh TOOL PAGE.scd
set -eu

[ $# -eq 2 ] || { echo "usage: $0 TOOL PAGE.scd" >&2; exit 2; }
help=$("$1" --help) || { echo "$1 --help failed"; exit 1; }
opts=$(printf '%s\n' "$help" | grep -o -- '--[a-z0-9][a-z0-9-]*' | sort -u)
[ -n "$opts" ] || { echo "$1 --help lists no long option"; exit 1; }
missing=""
for o in $opts; do
    grep -q -F -e "*$o*" "$2" || missing="$missing $o"
done
if [ -n "$missing" ]; then
    echo "$2 does not describe these options of $(basename "$1") --help:$missing"
    exit 1
fi
echo "$(basename "$2"): all $(printf '%s\n' "$opts" | wc -l) long options of --help"
