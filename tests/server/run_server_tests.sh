#!/usr/bin/env bash
# Starts `hearth serve` on the golden qwen3 model (golden_server.sh) and drives it with the
# official OpenAI and Anthropic client SDKs from npm (server.test.mjs, thinking.test.mjs).
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
source "$here/golden_server.sh"

key="hearth-test-key"
serve_options=(--parallel 4 -c 4096 --api-key "$key")

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

start_server "$qwen3_template" "${serve_options[@]}"
run_tests server.test.mjs
# Thinking (reasoning blocks, the thinking budget, prefix-stable history) needs a template that
# opens <think> in the prompt: the Qwen3.6 template, read from ../shared when it is there.
qwen36="$root/../shared/templates/qwen3.6.jinja"
if [[ -f "$qwen36" ]]; then
    start_server "$qwen36" "${serve_options[@]}"
    run_tests thinking.test.mjs
else
    echo "note: $qwen36 not found; the thinking tests did not run"
fi
exit $status
