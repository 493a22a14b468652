#!/bin/sh
# The SONAME must be libbitnet.so.<BN_API_VERSION_MAJOR>: programs record it
# and the dynamic loader refuses a library whose ABI major differs.
#
# usage: check-soname.sh READELF LIBBITNET_SO EXPECTED_SONAME
set -eu

if [ $# -ne 3 ]; then
    echo "usage: $0 READELF LIBBITNET_SO EXPECTED_SONAME" >&2
    exit 2
fi
soname=$("$1" -d "$2" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
if [ "$soname" != "$3" ]; then
    echo "FAIL: SONAME of $2 is '$soname', expected '$3'"
    exit 1
fi
echo "OK: SONAME $soname"
