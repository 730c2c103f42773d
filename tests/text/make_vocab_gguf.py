#!/usr/bin/env python3
# Writes a vocabulary-only GGUF (the tokenizer.* keys of a model file, no tensors) so tokenizer
# tests can run without the multi-megabyte model files. Usage: make_vocab_gguf.py IN.gguf OUT.gguf
import struct
import sys

# GGUF value types whose payload has a fixed size: type -> struct format.
FIXED = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
STRING, ARRAY = 8, 9


def read_value(buf, pos, vtype):
    """Returns the end offset of the value starting at pos (the raw bytes are copied as-is)."""
    if vtype in FIXED:
        return pos + struct.calcsize("<" + FIXED[vtype])
    if vtype == STRING:
        (n,) = struct.unpack_from("<Q", buf, pos)
        return pos + 8 + n
    if vtype == ARRAY:
        etype, count = struct.unpack_from("<IQ", buf, pos)
        pos += 12
        if etype in FIXED:
            return pos + count * struct.calcsize("<" + FIXED[etype])
        for _ in range(count):
            pos = read_value(buf, pos, etype)
        return pos
    raise ValueError(f"unknown GGUF value type {vtype}")


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: make_vocab_gguf.py IN.gguf OUT.gguf")
    buf = open(sys.argv[1], "rb").read()
    magic, version, _n_tensors, n_kv = struct.unpack_from("<4sIQQ", buf, 0)
    if magic != b"GGUF" or version != 3:
        sys.exit(f"{sys.argv[1]}: not a GGUF v3 file")
    pos, kept = 24, []
    for _ in range(n_kv):
        (klen,) = struct.unpack_from("<Q", buf, pos)
        key = buf[pos + 8 : pos + 8 + klen].decode()
        start = pos
        (vtype,) = struct.unpack_from("<I", buf, pos + 8 + klen)
        pos = read_value(buf, pos + 12 + klen, vtype)
        if key.startswith("tokenizer."):
            kept.append(buf[start:pos])
    out = struct.pack("<4sIQQ", b"GGUF", 3, 0, len(kept)) + b"".join(kept)
    # The data section starts aligned (default 32) even when it is empty.
    out += b"\0" * (-len(out) % 32)
    open(sys.argv[2], "wb").write(out)


if __name__ == "__main__":
    main()
