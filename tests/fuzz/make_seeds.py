#!/usr/bin/env python3
"""Writes the small GGUF seed files for the fuzz_gguf corpus (run once; outputs are committed)."""
import os
import struct

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds", "fuzz_gguf")


def s(x):
    b = x.encode()
    return struct.pack("<Q", len(b)) + b


def kv(key, vtype, payload):
    return s(key) + struct.pack("<I", vtype) + payload


def gguf(version, kvs, tensors, data, alignment=32):
    out = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs)) + b"".join(kvs)
    for name, ne, ttype, off in tensors:
        out += s(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne)
        out += struct.pack("<IQ", ttype, off)
    out += b"\0" * (-len(out) % alignment)
    return out + data


kvs = [
    kv("general.architecture", 8, s("llama")),
    kv("llama.block_count", 4, struct.pack("<I", 1)),
    kv("llama.attention.layer_norm_rms_epsilon", 6, struct.pack("<f", 1e-5)),
    kv("flag", 7, b"\1"),
    kv("tokenizer.ggml.tokens", 9, struct.pack("<IQ", 8, 3) + s("a") + s("b") + s("ab")),
    kv("tokenizer.ggml.token_type", 9, struct.pack("<IQ", 5, 3) + struct.pack("<3i", 1, 1, 3)),
    kv("nested", 9, struct.pack("<IQ", 9, 1) + struct.pack("<IQ", 12, 1) + struct.pack("<d", 2.5)),
    kv("u64", 10, struct.pack("<Q", 7)),
]
q8 = struct.pack("<e", 0.5) + bytes(range(32))  # one Q8_0 block
tensors = [("t.f32", [8], 0, 0), ("t.q8", [32, 1], 8, 32)]
data = struct.pack("<8f", *range(8)) + q8
os.makedirs(here, exist_ok=True)
open(os.path.join(here, "small_v3.gguf"), "wb").write(gguf(3, kvs, tensors, data))
open(os.path.join(here, "small_v2.gguf"), "wb").write(gguf(2, kvs[:3], tensors[:1], data[:32]))
open(os.path.join(here, "empty.gguf"), "wb").write(gguf(3, [], [], b""))
