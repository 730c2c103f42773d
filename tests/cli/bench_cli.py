#!/usr/bin/env python3
"""hearth bench -o json on golden models: llama-bench's record fields, and the model type
named as llama-bench names a file from its general.file_type ("Q4_K - Medium" for a Q4_K_M
mix, whose largest tensors are Q6_K in these tiny models).
Usage: bench_cli.py HEARTH_BINARY TEST_DATA_DIR"""
import json
import struct
import subprocess
import sys
import tempfile

hearth, data = sys.argv[1], sys.argv[2]
# File name suffix -> llama-bench's label for that llama-quantize scheme.
labels = {"Q4_K_M": "Q4_K - Medium", "Q8_0": "Q8_0", "IQ4_XS": "IQ4_XS - 4.25 bpw",
          "BF16": "BF16", "F32": "all F32", "Q3_K_M": "Q3_K - Medium"}
failures = 0
for suffix, label in labels.items():
    path = f"{data}/golden/qwen3/qwen3-{suffix}.gguf"
    out = subprocess.run([hearth, "bench", "-m", path, "-p", "8", "-n", "2", "-r", "1",
                          "-t", "1", "-o", "json"], capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        print(f"FAIL {suffix}: exit {out.returncode}: {out.stderr}")
        failures += 1
        continue
    records = json.loads(out.stdout)
    tests = [(r["n_prompt"], r["n_gen"]) for r in records]
    problems = []
    if tests != [(8, 0), (0, 2)]:
        problems.append(f"tests {tests}")
    for r in records:
        if not r["model_type"].endswith(" " + label):
            problems.append(f"model_type {r['model_type']!r}")
        if not (r["avg_ts"] > 0 and r["n_threads"] == 1 and r["model_size"] > 0):
            problems.append(f"record {r}")
    if problems:
        print(f"FAIL {suffix}: " + "; ".join(problems))
        failures += 1
# A general.file_type that names no llama-quantize scheme (an unknown value, or not an integer)
# must not stop the bench: the label falls back to the type holding most bytes, "F32" for the
# all-F32 model (where a valid file type reads "all F32"). Patched copies of that file.
src = open(f"{data}/golden/qwen3/qwen3-F32.gguf", "rb").read()
key = src.find(b"general.file_type")
cases = {"unknown value": struct.pack("<II", 4, 999),  # UINT32 999
         "float value": struct.pack("<If", 6, 15.0)}  # FLOAT32
with tempfile.TemporaryDirectory() as tmp:
    for what, patch in cases.items():
        path = f"{tmp}/patched.gguf"
        at = key + len("general.file_type")
        open(path, "wb").write(src[:at] + patch + src[at + 8:])
        out = subprocess.run([hearth, "bench", "-m", path, "-p", "4", "-n", "0", "-r", "1",
                              "-t", "1", "-o", "json"], capture_output=True, text=True, timeout=120)
        label = json.loads(out.stdout)[0]["model_type"] if out.returncode == 0 else None
        if label is None or not label.endswith(" F32") or label.endswith("all F32"):
            print(f"FAIL file type {what}: exit {out.returncode}, label {label!r}: {out.stderr}")
            failures += 1
total = len(labels) + len(cases)
print(f"{total - failures} of {total} cases passed")
sys.exit(1 if failures else 0)
