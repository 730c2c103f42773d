#!/usr/bin/env bash
# hearth chat driven through a pipe, as a script would: commands, multi-line input, /save and
# /load, errors for unknown commands; greedy answers are the same on every run.
# Usage: chat_cli.sh HEARTH_BINARY TEST_DATA_DIR
set -u
hearth=$1
data=$2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
model=$data/golden/qwen3/qwen3-Q8_0.gguf
pass=0; fail=0

check() {  # check NAME COMMAND...: counts a pass when the command succeeds
  local name=$1; shift
  if "$@"; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $name"; fi
}

# A conversation: two turns, the system prompt changed in between, two multi-line messages.
cat > "$tmp/script" <<EOF
Hello there
/system You are terse.
/think off
What is up?
/stats
line one \\
line two
"""
block a

block b
"""
/save $tmp/conv.json
/frobnicate now
/load $tmp/conv.json
/save
/show
And now?
/stats
/exit
this line is never read
EOF
"$hearth" chat -m "$model" --temp 0 -n 8 <"$tmp/script" >"$tmp/out" 2>"$tmp/err"
status=$?
check "chat exits 0 (got $status)" test "$status" = 0
check "banner names the model" grep -q "hearth chat: .*qwen3-Q8_0.gguf" "$tmp/err"
check "/system confirms" grep -q "system prompt: You are terse." "$tmp/out"
check "/think on a template without thinking says so" grep -q "no thinking switch" "$tmp/err"
check "/stats shows the context" grep -q "context: [0-9]* of 4096 tokens used" "$tmp/out"
check "/stats shows speeds" grep -q "last answer: 8 tokens at" "$tmp/out"
check "speed after each answer" test "$(grep -c "tokens/s | prompt:" "$tmp/err")" = 5
check "answers cut at -n say so" grep -q "cut off" "$tmp/out"
check "unknown command is named, with a hint" grep -q "unknown command '/frobnicate' (/help" "$tmp/err"
check "/save without a file" grep -q "/save needs a FILE" "$tmp/err"
check "/load reports" grep -q "loaded 9 messages from" "$tmp/out"
check "/show without thinking" grep -q "no thinking to show" "$tmp/out"
check "/exit stops reading" test "$(grep -c "tokens/s | prompt:" "$tmp/err")" = 5
python3 - "$tmp/conv.json" <<'PY' || { fail=$((fail+1)); echo "FAIL: saved conversation"; }
import json, sys
d = json.load(open(sys.argv[1]))
roles = [m["role"] for m in d["messages"]]
assert roles == ["system", "user", "assistant", "user", "assistant", "user", "assistant",
                 "user", "assistant"], roles
assert d["messages"][0]["content"] == "You are terse."
assert d["messages"][5]["content"] == "line one \nline two", d["messages"][5]
assert d["messages"][7]["content"] == "block a\n\nblock b", d["messages"][7]
assert all(isinstance(m["content"], str) and m["content"] for m in d["messages"] if m["role"] == "assistant")
assert d["model"].endswith("qwen3-Q8_0.gguf")
PY
[ -f "$tmp/conv.json" ] && pass=$((pass+1))

# Greedy: the same conversation gives the same answers.
"$hearth" chat -m "$model" --temp 0 -n 8 <"$tmp/script" >"$tmp/out2" 2>/dev/null
check "same input, same output" cmp -s <(grep -av tokens/s "$tmp/out") <(grep -av tokens/s "$tmp/out2")

# A conversation loaded from a file continues it.
printf '/load %s\nOne more\n/save %s\n' "$tmp/conv.json" "$tmp/conv2.json" |
  "$hearth" chat -m "$model" --temp 0 -n 4 >/dev/null 2>&1
check "loaded conversation continues" python3 -c "
import json, sys
d = json.load(open('$tmp/conv2.json'))
assert len(d['messages']) == 11 and d['messages'][9]['content'] == 'One more'"

# /load errors name the problem.
echo '[{"role": "user", "content": "a"}, {"role": "robot", "content": "b"}]' >"$tmp/bad.json"
printf '/load %s\n/load %s\n' "$tmp/bad.json" "$tmp/none.json" |
  "$hearth" chat -m "$model" >/dev/null 2>"$tmp/err"
check "/load of a bad role names the message" grep -q "messages\[1\].role: unknown role 'robot'" "$tmp/err"
check "/load of a missing file" grep -q "none.json: cannot read the file" "$tmp/err"

# A conversation that outgrows the context: an error that names the fix, then /clear.
printf 'Hello there my friend\nAnd a long message to fill the small context up quickly now\n/clear\nfourth\n' |
  "$hearth" chat -m "$model" --temp 0 -n 8 -c 40 >/dev/null 2>"$tmp/err"
check "a full context is an error naming the fix" grep -q "context holds 40 (raise -c, or /clear)" "$tmp/err"
check "after /clear the chat goes on" test "$(grep -c "tokens/s | prompt:" "$tmp/err")" = 2

# The built-in demo model: a built-in template with a thinking switch; --system and --no-think.
printf '/think\n/system\nHi\n/think on\n/clear\n' |
  "$hearth" chat --no-think --system "Be kind." -n 4 --seed 1 >"$tmp/out" 2>"$tmp/err"
check "demo model exits 0" test $? = 0
check "demo model says it is synthetic" grep -q "synthetic" "$tmp/err"
check "demo model uses the built-in template" grep -q "built-in template" "$tmp/err"
check "--no-think sets thinking off" grep -q "thinking: off" "$tmp/out"
check "/think on" grep -q "thinking: on" "$tmp/out"
check "--system sets the system prompt" grep -q "system prompt: Be kind." "$tmp/out"
check "/clear keeps the system prompt" grep -q "new conversation (same system prompt)" "$tmp/out"

# A chat template given on the command line.
printf '%s' "{% for m in messages %}[{{ m.role }}] {{ m.content }}
{% endfor %}{% if enable_thinking is false %}(quiet){% endif %}" >"$tmp/t.jinja"
printf '/think off\nhi\n' | "$hearth" chat -m "$model" --chat-template "$tmp/t.jinja" -n 2 \
  >"$tmp/out" 2>"$tmp/err"
check "--chat-template is used" grep -q "template $tmp/t.jinja" "$tmp/err"
check "--chat-template with thinking" grep -q "thinking: off" "$tmp/out"

echo "chat cli: $pass passed, $fail failed"
[ "$fail" = 0 ]
