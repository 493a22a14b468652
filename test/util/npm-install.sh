#!/bin/sh
# Installs pinned npm packages into DIR (DIR/node_modules) for a test of the
# `network` suite, once: DIR/installed records what is there, so a second run
# installs nothing. Package scripts never run (--ignore-scripts: nothing is
# built or downloaded behind npm's back). Without node, npm or the registry it
# exits 77, the status with which a test says "skipped", so callers end with
#   sh npm-install.sh DIR PKG@VERSION... || exit $?
# Extra npm options (e.g. --omit=optional) go in $BN_NPM_FLAGS.
#   npm-install.sh DIR PKG@VERSION...
set -u
dir=$1
shift

skip() {
    echo "SKIP: $*" >&2
    exit 77
}
command -v node >/dev/null 2>&1 || skip "node is not installed"
command -v npm >/dev/null 2>&1 || skip "npm is not installed"
want="$* ${BN_NPM_FLAGS:-}"
if [ -f "$dir/installed" ] && [ "$(cat "$dir/installed")" = "$want" ]; then
    exit 0
fi
rm -rf "$dir" && mkdir -p "$dir" || exit 1
echo '{"private": true}' > "$dir/package.json"
# shellcheck disable=SC2086 # BN_NPM_FLAGS is a list of options
if ! (cd "$dir" && npm install --silent --no-audit --no-fund --fetch-retries=1 --ignore-scripts \
          ${BN_NPM_FLAGS:-} "$@") >"$dir/npm.log" 2>&1; then
    cat "$dir/npm.log" >&2
    skip "npm install $* failed (no registry access?)"
fi
echo "$want" > "$dir/installed"
