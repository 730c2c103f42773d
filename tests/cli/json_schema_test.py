#!/usr/bin/env python3
"""hearth run --json-schema on the golden qwen3 model (random weights: unconstrained, its text is
noise) at temperature 1 over schemas x seeds: every output must be complete JSON that Python's
jsonschema (an independent validator) accepts. Usage: json_schema_test.py HEARTH TEST_DATA_DIR"""
import json
import os
import subprocess
import sys
import tempfile

import jsonschema

hearth, data = sys.argv[1], sys.argv[2]
model = os.path.join(data, "golden", "qwen3", "qwen3-Q8_0.gguf")
prompt = "<|im_start|>user\nReply in JSON.<|im_end|>\n<|im_start|>assistant\n"

SCHEMAS = [
    {"type": "object",
     "properties": {"name": {"type": "string", "maxLength": 10},
                    "age": {"type": "integer", "minimum": 0},
                    "email": {"type": ["string", "null"], "maxLength": 8, "format": "email"}},
     "required": ["name", "age"]},
    {"type": "array", "items": {"type": "number"}, "minItems": 1, "maxItems": 4},
    {"$defs": {"color": {"enum": ["red", "green", "blue"]},
               "pt": {"type": "object", "properties": {"x": {"type": "integer"}, "y": {"type": "integer"}},
                      "required": ["x", "y"], "additionalProperties": False}},
     "type": "object",
     "properties": {"color": {"$ref": "#/$defs/color"},
                    "points": {"type": "array", "items": {"$ref": "#/$defs/pt"}, "maxItems": 3}},
     "required": ["color", "points"]},
    {"anyOf": [{"type": "boolean"},
               {"type": "object", "properties": {"kind": {"const": "leaf"}, "v": {"type": "number"}},
                "required": ["kind", "v"]}]},
    {"oneOf": [{"type": "integer", "minimum": 1}, {"type": "string", "minLength": 2, "maxLength": 4}]},
    {"type": "object",
     "allOf": [{"properties": {"id": {"type": "integer"}}, "required": ["id"]},
               {"properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}]},
    {"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "string", "maxLength": 3},
                                               "minItems": 2, "maxItems": 2}},
     "required": ["tags"], "additionalProperties": False},
]
SEEDS = [1, 2, 3, 4]

failures = 0
runs = 0


def run(args):
    p = subprocess.run([hearth, "run", "-m", model, "-p", prompt, "--temp", "1", "-n", "1500",
                        "-t", "2"] + args, capture_output=True)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


with tempfile.TemporaryDirectory() as tmp:
    for i, schema in enumerate(SCHEMAS):
        path = os.path.join(tmp, f"schema{i}.json")
        with open(path, "w") as f:
            json.dump(schema, f)
        for seed in SEEDS:
            # Alternate between inline text and @FILE.
            arg = "@" + path if seed % 2 else json.dumps(schema)
            rc, out, err = run(["--json-schema", arg, "--seed", str(seed)])
            runs += 1
            what = f"schema {i} seed {seed}"
            try:
                if rc != 0 or "warning" in err:
                    raise ValueError(f"exit {rc}: {err.strip()}")
                jsonschema.validate(json.loads(out), schema)
            except Exception as e:  # noqa: BLE001 - any failure is reported the same way
                failures += 1
                print(f"FAIL {what}: {e}\n    output: {out!r}")

    # --json: a JSON object whenever the output completed within the budget.
    complete = 0
    for seed in SEEDS:
        rc, out, err = run(["--json", "--seed", str(seed)])
        runs += 1
        if rc != 0:
            failures += 1
            print(f"FAIL --json seed {seed}: exit {rc}: {err.strip()}")
        elif "warning" not in err:
            complete += 1
            try:
                if not isinstance(json.loads(out), dict):
                    raise ValueError("not an object")
            except Exception as e:  # noqa: BLE001
                failures += 1
                print(f"FAIL --json seed {seed}: {e}\n    output: {out!r}")
    if complete == 0:
        failures += 1
        print("FAIL --json: no output completed")

print(f"json_schema: {runs} runs, {failures} failed")
sys.exit(1 if failures else 0)
