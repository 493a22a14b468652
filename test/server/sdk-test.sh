#!/bin/sh
# The official OpenAI Node SDK (npm package openai, pinned 4.x: the 4.x line
# runs on Node 18/20) as a real client of bitnet-server: chat completion,
# streaming, completions, models list, a wrong key rejected (sdk_test.mjs).
# The package is installed once into WORKDIR/openai-sdk with npm
# (test/util/npm-install.sh); without node, npm or the registry the test is
# skipped (exit status 77).
#   sdk-test.sh BITNET_SERVER MODEL WORKDIR (MODEL: the bundled model, which writes English)
set -u
server=$1 model=$2 work=$3/server-sdk
OPENAI_VER=4.104.0
here=$(cd "$(dirname "$0")" && pwd)

mkdir -p "$work" || exit 1
sdk=$work/openai-sdk
sh "$here/../util/npm-install.sh" "$sdk" "openai@$OPENAI_VER" || exit $?
# the server on a free port with the bundled model and an API key; stopped
# whatever happens
"$server" -m "$model" --host 127.0.0.1 --port 0 -t 1 --alias bitnet-small --api-key sdk-test-key \
    >"$work/server.out" 2>"$work/server.err" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT
port=
for i in $(seq 1 100); do
    port=$(sed -n 's/^listening on http:\/\/127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/server.out")
    [ -n "$port" ] && break
    sleep 0.1
done
[ -n "$port" ] || { cat "$work/server.err"; echo "the server did not start"; exit 1; }
for i in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
    sleep 0.1
done
NODE_PATH=$sdk/node_modules timeout 120 node "$here/sdk_test.mjs" "http://127.0.0.1:$port/v1" sdk-test-key "$sdk/node_modules/openai/index.mjs"
status=$?
kill -TERM $pid
wait $pid
server_status=$?
trap - EXIT
if [ $server_status -ne 0 ]; then
    cat "$work/server.err"
    echo "FAIL the server exited with status $server_status after SIGTERM"
    exit 1
fi
exit $status
