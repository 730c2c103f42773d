#!/usr/bin/env bash
# Real coding agents from npm, headless, each run for one turn against `hearth serve`:
# Claude Code over the Anthropic API and Qwen Code over the OpenAI API. The model is the golden
# qwen3 file (random weights, a small byte-level vocabulary) with the real Qwen3 chat template,
# so what the agents get back is noise; what is checked is the protocol: every request the
# agent makes is answered with 200, the agent parses every reply and ends its turn with a result.
# Random weights rarely emit the end token, so the server caps answers (--max-tokens) and the
# agents see a "length" / "max_tokens" finish.
# Usage: run_agents.sh HEARTH_BINARY
set -euo pipefail
if [[ $# -ne 1 ]]; then
    echo "usage: $0 HEARTH_BINARY" >&2
    exit 2
fi
hearth=$(realpath "$1")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

# npm install, not npm ci: Qwen Code lists platform packages that the registry does not have
# (empty versions), which the lock file cannot record and npm ci then refuses; npm install
# takes the locked versions and skips those.
(cd "$here" && [[ -x node_modules/.bin/claude && -x node_modules/.bin/qwen ]] ||
    npm install --no-audit --no-fund --silent)
source "$root/tests/server/golden_server.sh"

cap=32
start_server "$qwen3_template" --parallel 2 -c 40960 --max-tokens "$cap" --api-key agent-key
url="http://127.0.0.1:$port"

status=0
fail() {
    echo "FAIL: $*" >&2
    status=1
}

# The server-side cap: a request for 1000 tokens gets at most $cap.
used=$(node -e '
  fetch(process.argv[1] + "/v1/chat/completions", {method: "POST",
    headers: {"Authorization": "Bearer agent-key", "Content-Type": "application/json"},
    body: JSON.stringify({messages: [{role: "user", content: "hi"}], max_tokens: 1000, temperature: 0})})
  .then(r => r.json()).then(r => console.log(r.usage.completion_tokens + " " + r.choices[0].finish_reason))
' "$url")
[[ "$used" == "$cap length" ]] || fail "a request for 1000 tokens under --max-tokens $cap got: $used"

# One agent run in its own home and project folder. Its requests are the server log lines
# written meanwhile; each must have been answered with 200.
run_agent() {
    local name=$1
    shift
    mkdir -p "$work/$name/home" "$work/$name/project"
    printf 'def add(a, b):\n    return a + b\n' > "$work/$name/project/add.py"
    local before
    before=$(wc -l < "$work/server.log")
    local t0=$SECONDS rc=0
    (cd "$work/$name/project" && HOME="$work/$name/home" timeout 600 "$@" \
        > "$work/$name/out.json" 2> "$work/$name/err.log") || rc=$?
    tail -n +$((before + 1)) "$work/server.log" | grep -- '->' > "$work/$name/requests.log" || true
    local n_req n_bad
    n_req=$(wc -l < "$work/$name/requests.log")
    n_bad=$(grep -vc -- '-> 200$' "$work/$name/requests.log" || true)
    echo "$name: exit $rc in $((SECONDS - t0)) s, $n_req requests, $n_bad not answered with 200"
    [[ $n_req -gt 0 ]] || fail "$name made no request to the server"
    if [[ $n_bad -ne 0 ]]; then
        fail "$name got errors:"
        grep -v -- '-> 200$' "$work/$name/requests.log" >&2
        grep 'error' "$work/server.log" | tail -5 >&2
    fi
    [[ -s "$work/$name/out.json" ]] || { fail "$name printed no result"; tail -20 "$work/$name/err.log" >&2; }
}

# Claude Code: -p (headless), JSON result. Anything but a finished turn whose only complaint is
# the answer's length (the cap above) is a failure.
run_agent claude env ANTHROPIC_BASE_URL="$url" ANTHROPIC_API_KEY=agent-key \
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_AUTOUPDATER=1 DISABLE_TELEMETRY=1 \
    "$here/node_modules/.bin/claude" -p "Explain add.py in one sentence." --model hearth --output-format json
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const bad = [];
  if (r.type !== "result") bad.push("type " + r.type);
  if (r.api_error_status != null) bad.push("HTTP error " + r.api_error_status);
  if (r.is_error && r.api_error !== "max_output_tokens") bad.push("error " + JSON.stringify(r.api_error) + ": " + r.result);
  if (!(r.usage && r.usage.output_tokens > 0)) bad.push("no output tokens counted");
  console.log("claude: result " + JSON.stringify(String(r.result).slice(0, 60)) + ", " + r.num_turns + " turns, " +
              (r.usage ? r.usage.cache_read_input_tokens : "?") + " prompt tokens read from the prefix cache");
  if (bad.length) { console.error("FAIL: claude: " + bad.join("; ")); process.exit(1); }
' "$work/claude/out.json" || status=1

# Qwen Code: one-shot prompt, JSON events; the last one is the result.
run_agent qwen "$here/node_modules/.bin/qwen" "Explain add.py in one sentence." --auth-type openai \
    --openai-base-url "$url/v1" --openai-api-key agent-key -m hearth -o json --max-session-turns 1
node -e '
  const events = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const r = events[events.length - 1];
  const bad = [];
  if (r.type !== "result") bad.push("last event " + r.type);
  if (r.is_error) bad.push("error: " + JSON.stringify(r.error || r.result));
  if (!events.some(e => e.type === "assistant")) bad.push("no assistant message");
  console.log("qwen: result " + JSON.stringify(String(r.result).slice(0, 60)) + ", " + r.num_turns + " turns");
  if (bad.length) { console.error("FAIL: qwen: " + bad.join("; ")); process.exit(1); }
' "$work/qwen/out.json" || status=1

if ! kill -0 "$server_pid" 2>/dev/null; then
    fail "the server died:"
    tail -20 "$work/server.log" >&2
fi
exit $status
