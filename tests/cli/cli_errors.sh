#!/usr/bin/env bash
# The command line on bad input: every case must exit with the right status (2 usage,
# 1 error) and print one clear line naming what was wrong, never crash.
# Usage: cli_errors.sh HEARTH_BINARY TEST_DATA_DIR
set -u
hearth=$1
data=$2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
model=$data/golden/qwen3/qwen3-Q4_0.gguf
pass=0; fail=0

# expect STATUS NEEDLE -- ARGS...: runs hearth ARGS, checks the exit status and that stderr
# contains NEEDLE and no sanitizer/abort noise.
expect() {
  local want=$1 needle=$2; shift 3
  "$hearth" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
  local got=$?
  if [ "$got" = "$want" ] && grep -qF -- "$needle" "$tmp/err"; then
    pass=$((pass+1))
  else
    fail=$((fail+1))
    echo "FAIL: hearth $* -> status $got (want $want), stderr:"; sed 's/^/    /' "$tmp/err"
    echo "    (wanted stderr to contain: $needle)"
  fi
}

python3 - "$model" "$tmp" <<'PY'
import sys
src, tmp = sys.argv[1], sys.argv[2]
b = open(src, "rb").read()
open(f"{tmp}/truncated.gguf", "wb").write(b[: len(b) // 2])
open(f"{tmp}/header_only.gguf", "wb").write(b[:300])
open(f"{tmp}/cut_in_infos.gguf", "wb").write(b[: b.index(b"blk.1.ffn_up.weight") + 5])
open(f"{tmp}/not.gguf", "wb").write(b"hello world, not a model\n")
# Same-length renames inside the header: an unknown architecture, a missing tensor.
open(f"{tmp}/unknown_arch.gguf", "wb").write(b.replace(b"qwen3", b"qwen9", 1))
open(f"{tmp}/missing_tensor.gguf", "wb").write(b.replace(b"blk.1.ffn_up.weight", b"blk.1.ffn_up.weighx", 1))
# An absurd tensor count right after the magic and version.
open(f"{tmp}/absurd.gguf", "wb").write(b[:8] + (2**62).to_bytes(8, "little") + b[16:])
PY

expect 2 "usage"                 -- 
expect 2 "unknown command"       -- frobnicate
expect 2 "unknown option '--bogus'" -- run --bogus
expect 2 "needs a value"         -- run -m
expect 2 "expects an integer"    -- run -n many
expect 2 "missing -m MODEL"      -- logits --tokens 1,2 -o "$tmp/x.npy"
expect 2 "is not a token id"     -- logits -m "$model" --tokens 1,x -o "$tmp/x.npy"
expect 2 "--prompt-len must be"  -- logits -m "$model" --tokens 1,2 --prompt-len 3 -o "$tmp/x.npy"
expect 1 "out of range"          -- logits -m "$model" --tokens 1,99999 -o "$tmp/x.npy"
expect 1 "cannot open"           -- logits -m "$tmp/nope.gguf" --tokens 1 -o "$tmp/x.npy"
expect 1 "cannot open"           -- logits -m "$model" --tokens 1 -o /nonexistent/dir/x.npy
expect 1 "bad magic"             -- inspect "$tmp/not.gguf"
expect 1 "runs past the end"     -- inspect "$tmp/truncated.gguf"
expect 1 "larger than the file can hold" -- inspect "$tmp/header_only.gguf"
expect 1 "truncated file"        -- inspect "$tmp/cut_in_infos.gguf"
expect 1 "tensor count"          -- inspect "$tmp/absurd.gguf"
expect 1 "not a regular file"    -- inspect "$tmp"
expect 2 "expected one FILE"     -- inspect
expect 1 "unsupported architecture 'qwen9'" -- run -m "$tmp/unknown_arch.gguf" -p hi
expect 1 "missing tensor 'blk.1.ffn_up.weight'" -- run -m "$tmp/missing_tensor.gguf" -p hi
expect 2 "the prompt is empty"   -- run -m "$model" -p ""
expect 2 "missing prompt"        -- run -m "$model"
expect 1 "context holds"         -- run -m "$model" -c 4 -p "a long prompt that does not fit in four tokens"
expect 2 "cannot read the prompt file" -- run -m "$model" -f "$tmp/none.txt"
expect 2 "either -p or -f"       -- run -m "$model" -p a -f b
expect 2 "--threads must be"     -- run -t 0
expect 2 "out of range"          -- run --temp -1
expect 2 "unknown kind 'fast'"   -- run --speculate fast
expect 1 "no MTP layers"         -- run -m "$model" -p hi --speculate mtp
expect 2 "unknown option '--bogus'" -- chat --bogus
expect 2 "needs a value"         -- chat --system
expect 2 "unexpected argument 'model.gguf'" -- chat model.gguf
expect 2 "--threads must be"     -- chat -t 0
expect 2 "--n-predict must be"   -- chat -n 0
expect 2 "out of range"          -- chat --temp -1
expect 2 "out of range"          -- chat --top-p 1.5
expect 2 "out of range"          -- run --repeat-penalty 0
expect 2 "expects an integer"    -- chat --seed x
expect 2 "cannot read the chat template" -- chat --chat-template "$tmp/none.jinja"
expect 1 "cannot open"           -- chat -m "$tmp/nope.gguf"
printf '{%% if %%}' >"$tmp/bad.jinja"
expect 1 "template line 1"       -- chat -m "$model" --chat-template "$tmp/bad.jinja"
expect 1 "bad magic"             -- chat -m "$tmp/not.gguf"
expect 2 "--json-schema: not valid JSON" -- run -m "$model" -p hi --json-schema '{"type":'
expect 2 "'not' is not supported" -- run -m "$model" -p hi --json-schema '{"not": {}}'
expect 2 "points nowhere"        -- run -m "$model" -p hi --json-schema '{"$ref": "#/$defs/x"}'
expect 2 "cannot read"           -- run -m "$model" -p hi --json-schema "@$tmp/none.json"
expect 2 "either --json or --json-schema" -- run -m "$model" -p hi --json --json-schema '{}'
expect 2 "unknown option '--bogus'" -- serve --bogus
expect 2 "--port must be"        -- serve --port 70000
expect 2 "--parallel must be"    -- serve --parallel 0
expect 2 "--max-tokens must be"  -- serve --max-tokens 0
expect 2 "unexpected argument 'extra'" -- serve extra
expect 1 "cannot open"           -- serve -m "$tmp/nope.gguf"
expect 2 "unknown cache type 'q4'" -- run --cache-type q4 -p hi
expect 2 "unknown cache type 'q4'" -- bench --synthetic demo --cache-type q4
expect 2 "exactly one of"        -- bench
expect 2 "exactly one of"        -- bench -m "$model" --synthetic demo
expect 1 "unknown synthetic preset 'gpt9'" -- bench --synthetic gpt9:q8_0
expect 1 "unsupported weight type 'q3_z'" -- bench --synthetic demo:q3_z --layers 1
expect 1 "--layers must be"      -- bench --synthetic demo --layers 99
expect 2 "-o must be"            -- bench -m "$model" -o xml
expect 2 "must be >= 0"          -- bench -m "$model" -p -5
expect 2 "--parallel must be"     -- bench -m "$model" -np 0
expect 1 "bad magic"             -- bench -m "$tmp/not.gguf"
# HEARTH_ISA: an unknown level is refused by every command, one that runs no kernels too.
export HEARTH_ISA=avx3
expect 2 "HEARTH_ISA=avx3: expected exact, ref, avx2, avxvnni or avx512" -- inspect "$model"
expect 2 "HEARTH_ISA=avx3: expected exact, ref, avx2, avxvnni or avx512" -- run -m "$model" -p hi -n 1
unset HEARTH_ISA

# And the good paths print what they should.
if "$hearth" inspect "$model" | grep -q "bytes by type" && "$hearth" inspect --json "$model" | python3 -c "import json,sys; d=json.load(sys.stdin); assert d['architecture']=='qwen3' and len(d['tensors'])>0"; then
  pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: inspect output"; fi
# KV bytes per token of context: K and V of every layer's KV heads, F16, from the file's own
# metadata (the K cache grows 16 positions at a time; one token's share is still this).
if "$hearth" inspect --json "$model" | python3 -c "
import json, sys
d = json.load(sys.stdin); m = d['metadata']
want = m['qwen3.block_count'] * 2 * m['qwen3.attention.head_count_kv'] * m['qwen3.attention.key_length'] * 2
assert d['model']['kv_bytes_per_token'] == want, (d['model']['kv_bytes_per_token'], want)"; then
  pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: inspect KV bytes per token"; fi
if "$hearth" run -n 8 --seed 3 >"$tmp/a" 2>"$tmp/err" && "$hearth" run -n 8 --seed 3 >"$tmp/b" 2>/dev/null \
   && cmp -s "$tmp/a" "$tmp/b" && grep -q "tokens/s" "$tmp/err" && grep -q "synthetic" "$tmp/err"; then
  pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: built-in model run (same seed, same text; speed printed)"; fi

# bench --synthetic builds its model once into XDG_CACHE_HOME, whole (no .part left), then reuses it.
cache=$tmp/cache; built=$cache/hearth/synthetic/demo-q8_0-L1-s1234-v2.gguf
if XDG_CACHE_HOME=$cache "$hearth" bench --synthetic demo --layers 1 -p 4 -n 2 -r 1 >"$tmp/out" 2>"$tmp/err" \
   && grep -q "building synthetic" "$tmp/err" && [ -s "$built" ] && [ -z "$(ls "$cache/hearth/synthetic" | grep -v '\.gguf$')" ] \
   && "$hearth" inspect "$built" >/dev/null \
   && XDG_CACHE_HOME=$cache "$hearth" bench --synthetic demo --layers 1 -p 4 -n 0 -r 1 2>&1 >/dev/null | grep -qF "using $built"; then
  pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: bench --synthetic cache (built whole once, then reused)"; sed 's/^/    /' "$tmp/err"; fi
# A cache folder that cannot be made: exit 1 naming it, before any work.
touch "$tmp/plain"
export XDG_CACHE_HOME=$tmp/plain
expect 1 "cannot create $tmp/plain/hearth/synthetic" -- bench --synthetic demo --layers 1 -p 4 -n 0 -r 1
unset XDG_CACHE_HOME

echo "cli: $pass passed, $fail failed"
[ "$fail" = 0 ]
