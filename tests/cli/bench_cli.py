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
# llama-bench's cpu_info: the CPU's name, the first "model name" line of /proc/cpuinfo.
cpu = ""
try:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name") and ":" in line:
            cpu = line.split(":", 1)[1].strip()
            break
except OSError:
    pass
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
        if r["cpu_info"] != cpu:
            problems.append(f"cpu_info {r['cpu_info']!r}, want {cpu!r}")
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

def gguf_read(path):
    """The UINT32 metadata values and the (name, element count) of every tensor in a GGUF file,
    read with the format's own rules."""
    f = open(path, "rb")
    def u(fmt):
        return struct.unpack("<" + fmt, f.read(struct.calcsize(fmt)))[0]
    def string():
        return f.read(u("Q")).decode()
    sizes = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
    def skip(t):
        if t == 8:
            string()
        elif t == 9:
            et, n = u("I"), u("Q")
            for _ in range(n):
                skip(et)
        else:
            f.read(sizes[t])
    assert f.read(4) == b"GGUF"
    u("I")
    n_tensors, n_kv = u("Q"), u("Q")
    meta = {}
    for _ in range(n_kv):
        key, t = string(), u("I")
        if t == 4:
            meta[key] = u("I")
        else:
            skip(t)
    out = []
    for _ in range(n_tensors):
        name = string()
        count = 1
        for _ in range(u("I")):
            count *= u("Q")
        u("I")
        u("Q")
        out.append((name, count))
    return meta, out


# --roofline: both tests get a "% of <bound>" cell, and the pp ceiling's weight FLOP per token
# is 2 x the elements of every tensor but the embedding table, which is also the head here
# (tied, no experts). The tg bound counts the F16 K and V rows a token reads per position before
# it: 2 x layers x KV heads x key length x 2 bytes.
path = f"{data}/golden/qwen3/qwen3-Q8_0.gguf"
out = subprocess.run([hearth, "bench", "-m", path, "-p", "8", "-n", "2", "-d", "4", "-r", "1", "-t", "1",
                      "--roofline"], capture_output=True, text=True, timeout=300)
meta, tensors = gguf_read(path)
want = 2 * sum(n for name, n in tensors if name != "token_embd.weight")
want_kv = 2 * meta["qwen3.block_count"] * meta["qwen3.attention.head_count_kv"] * \
    meta["qwen3.attention.key_length"] * 2
rows = [l for l in out.stdout.splitlines() if l.startswith("| qwen3")]
flop = [l for l in out.stdout.splitlines() if "GFLOP of weight products per token" in l]
problems = []
if out.returncode != 0:
    problems.append(f"exit {out.returncode}: {out.stderr}")
if len(rows) != 2 or not all("% of " in r.split("|")[-2] for r in rows):
    problems.append(f"rows {rows}")
bound = [l for l in out.stdout.splitlines() if l.startswith("tg bound: ")]
if not bound:
    problems.append("no tg bound line")
else:
    kv = bound[0].split(" MB of weights + ")[1].split(" MB of f16 KV cache per position")[0]
    if abs(float(kv) * 1e6 - want_kv) > 1e-3 * want_kv:  # printed to 4 significant digits
        problems.append(f"KV bytes per position {kv} MB, want {want_kv}")
if flop:
    got = float(flop[0].split(" / ")[1].split()[0]) * 1e9
    if abs(got - want) > 1e-3 * want:  # printed to 4 significant digits
        problems.append(f"weight FLOP per token {got:.0f}, want {want}")
elif "none on the" not in out.stdout:
    problems.append("no pp ceiling line")
if problems:
    print("FAIL --roofline: " + "; ".join(problems) + "\n" + out.stdout)
    failures += 1
# -d with repetitions: every repetition restarts from the depth position (a state that did not
# go back would run out of context on the second repetition and fail the run), for one sequence
# and for two decoding together.
out = subprocess.run([hearth, "bench", "-m", path, "-p", "4", "-n", "2", "-d", "4", "-r", "3", "-np", "2",
                      "-t", "1", "-o", "json"], capture_output=True, text=True, timeout=300)
if out.returncode != 0:
    print(f"FAIL -d 4 -r 3: exit {out.returncode}: {out.stderr}")
    failures += 1
else:
    records = json.loads(out.stdout)
    got = [(r["n_prompt"], r["n_gen"], r["n_depth"], len(r["samples_ts"])) for r in records]
    if got[:2] != [(4, 0, 4, 3), (0, 2, 4, 3)] or len(got) != 3:
        print(f"FAIL -d 4 -r 3: records {got}")
        failures += 1
total = len(labels) + len(cases) + 2
print(f"{total - failures} of {total} cases passed")
sys.exit(1 if failures else 0)
