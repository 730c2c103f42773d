// hearth serve, driven by the official client SDKs. The model is a golden test model with random
// weights: its text is meaningless, so these tests check the protocol (shapes, events, usage,
// errors, concurrency, cancellation, prefix reuse), not the words.
import { test } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";
import Anthropic from "@anthropic-ai/sdk";

const url = process.env.HEARTH_URL;
const key = process.env.HEARTH_KEY;
const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0 });
const anthropic = new Anthropic({ baseURL: url, apiKey: key, maxRetries: 0 });
const user = (content) => [{ role: "user", content }];

async function metrics() {
  const res = await fetch(`${url}/metrics`, { headers: { Authorization: `Bearer ${key}` } });
  assert.equal(res.status, 200);
  const out = {};
  for (const line of (await res.text()).split("\n")) {
    const m = line.match(/^(hearth_\w+) (\S+)$/);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

async function raw(path, body, headers = {}) {
  const res = await fetch(`${url}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${key}`, ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

const tools = [
  {
    type: "function",
    function: {
      name: "read_file",
      description: "Read a file",
      parameters: { type: "object", properties: { path: { type: "string" } }, required: ["path"] },
    },
  },
];

// A conversation long enough that reusing its prefix matters (the test vocabulary has 1024
// tokens, so this is a few thousand tokens).
const longSystem = Array.from({ length: 60 }, (_, i) => `Rule ${i}: keep the code small and the tests honest.`).join("\n");

test("health and models", async () => {
  const res = await fetch(`${url}/health`);  // no key needed
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { status: "ok" });
  const models = await openai.models.list();
  assert.equal(models.data.length, 1);
  assert.equal(models.data[0].id, "qwen3-Q8_0");
  assert.equal(models.data[0].object, "model");
});

test("openai chat completion, not streaming", async () => {
  const r = await openai.chat.completions.create({
    model: "qwen3-Q8_0", messages: user("Say hi"), max_tokens: 5, temperature: 0,
  });
  assert.equal(r.object, "chat.completion");
  assert.match(r.id, /^chatcmpl-/);
  assert.equal(r.model, "qwen3-Q8_0");
  assert.equal(r.choices.length, 1);
  const c = r.choices[0];
  assert.equal(c.message.role, "assistant");
  assert.ok(["stop", "length"].includes(c.finish_reason));
  assert.ok(r.usage.prompt_tokens > 5);
  assert.ok(r.usage.completion_tokens <= 5);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
  if (c.finish_reason === "length") assert.equal(r.usage.completion_tokens, 5);
});

test("openai: same seed, same text; greedy is repeatable", async () => {
  const ask = (extra) => openai.chat.completions.create({ messages: user("Count to ten"), max_tokens: 12, model: "m", ...extra });
  const [a, b] = [await ask({ temperature: 1, seed: 7 }), await ask({ temperature: 1, seed: 7 })];
  assert.equal(a.choices[0].message.content, b.choices[0].message.content);
  const [g1, g2] = [await ask({ temperature: 0 }), await ask({ temperature: 0 })];
  assert.equal(g1.choices[0].message.content, g2.choices[0].message.content);
});

test("openai streaming with include_usage matches the non-streamed answer", async () => {
  const params = { model: "m", messages: user("Write a haiku"), max_tokens: 8, temperature: 0 };
  const full = await openai.chat.completions.create(params);
  const stream = await openai.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } });
  let text = "", finish = null, usage = null, roles = 0, chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    assert.equal(chunk.object, "chat.completion.chunk");
    if (chunk.usage) usage = chunk.usage;
    if (chunk.choices.length === 0) continue;
    const d = chunk.choices[0].delta;
    if (d.role) roles++;
    if (d.content) text += d.content;
    if (chunk.choices[0].finish_reason) finish = chunk.choices[0].finish_reason;
  }
  assert.equal(roles, 1);
  assert.ok(chunks >= 3);
  assert.equal(text, full.choices[0].message.content ?? "");
  assert.equal(finish, full.choices[0].finish_reason);
  assert.ok(usage, "a usage chunk arrives before [DONE]");
  assert.equal(usage.completion_tokens, full.usage.completion_tokens);
});

test("openai stream helper reassembles the completion", async () => {
  const runner = openai.chat.completions.stream({ model: "m", messages: user("hello"), max_tokens: 6, temperature: 0 });
  const done = await runner.finalChatCompletion();
  assert.equal(done.choices[0].message.role, "assistant");
});

test("stop strings end the answer before the match", async () => {
  const params = { model: "m", messages: user("Tell me a story"), max_tokens: 40, temperature: 0 };
  const full = (await openai.chat.completions.create(params)).choices[0].message.content ?? "";
  // Pick a stop string from the middle of the greedy answer (skipping replacement characters).
  const clean = [...full].map((ch, i) => [ch, i]).filter(([ch]) => ch !== "\uFFFD" && ch.trim() !== "");
  if (clean.length < 6) return;  // the model ended at once: nothing to cut
  const [stopChar, at] = clean[Math.floor(clean.length / 2)];
  const cut = full.indexOf(stopChar);
  const r = await openai.chat.completions.create({ ...params, stop: [stopChar] });
  assert.equal(r.choices[0].finish_reason, "stop");
  assert.equal(r.choices[0].message.content ?? "", full.slice(0, cut));
  assert.ok(at >= cut);
});

test("openai: tool definitions, tool calls and tool results go through the template", async () => {
  const base = await openai.chat.completions.create({ model: "m", messages: user("Read main.c"), max_tokens: 1 });
  const withTools = await openai.chat.completions.create({ model: "m", messages: user("Read main.c"), tools, max_tokens: 1 });
  assert.ok(withTools.usage.prompt_tokens > base.usage.prompt_tokens + 20, "the tool definitions are in the prompt");
  const turn2 = await openai.chat.completions.create({
    model: "m",
    tools,
    max_tokens: 2,
    messages: [
      { role: "developer", content: [{ type: "text", text: "You are terse." }] },
      { role: "user", content: [{ type: "text", text: "Read main.c" }] },
      { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "read_file", arguments: '{"path": "main.c"}' } }] },
      { role: "tool", tool_call_id: "call_1", content: [{ type: "text", text: "int main() { return 0; }" }] },
    ],
  });
  assert.ok(turn2.usage.prompt_tokens > withTools.usage.prompt_tokens + 20, "the call and its result are in the prompt");
  const none = await openai.chat.completions.create({ model: "m", messages: user("Read main.c"), tools, tool_choice: "none", max_tokens: 1 });
  assert.equal(none.usage.prompt_tokens, base.usage.prompt_tokens, "tool_choice none leaves the tools out");
});

// A small JSON-schema check, written here so that the server's own matcher is not the judge.
function validate(schema, v, path = "$") {
  const fail = (msg) => { throw new Error(`${path}: ${msg} (${JSON.stringify(v)})`); };
  if (schema.enum && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(v))) fail("not in enum");
  switch (schema.type) {
    case "object": {
      if (typeof v !== "object" || v === null || Array.isArray(v)) fail("not an object");
      for (const k of schema.required ?? []) if (!(k in v)) fail(`missing ${k}`);
      for (const [k, val] of Object.entries(v)) {
        if (schema.properties?.[k]) validate(schema.properties[k], val, `${path}.${k}`);
        else if (schema.additionalProperties === false) fail(`unexpected ${k}`);
      }
      break;
    }
    case "array":
      if (!Array.isArray(v)) fail("not an array");
      if (schema.minItems !== undefined && v.length < schema.minItems) fail("too short");
      if (schema.maxItems !== undefined && v.length > schema.maxItems) fail("too long");
      v.forEach((x, i) => schema.items && validate(schema.items, x, `${path}[${i}]`));
      break;
    case "string": if (typeof v !== "string") fail("not a string"); break;
    case "integer": if (!Number.isInteger(v)) fail("not an integer"); break;
    case "number": if (typeof v !== "number") fail("not a number"); break;
    case "boolean": if (typeof v !== "boolean") fail("not a boolean"); break;
  }
}

const personSchema = {
  type: "object",
  properties: {
    name: { type: "string", maxLength: 20 },
    age: { type: "integer" },
    tags: { type: "array", items: { type: "string", enum: ["a", "b", "c"] }, maxItems: 3 },
    admin: { type: "boolean" },
  },
  required: ["name", "age", "admin"],
  additionalProperties: false,
};

test("openai: response_format json_schema and json_object always give valid JSON", async () => {
  for (let seed = 1; seed <= 4; seed++) {
    const r = await openai.chat.completions.create({
      model: "m", messages: user("Describe a person as JSON"), temperature: 1, seed, max_tokens: 400,
      response_format: { type: "json_schema", json_schema: { name: "person", schema: personSchema } },
    });
    assert.equal(r.choices[0].finish_reason, "stop", "the JSON ended before the token budget");
    validate(personSchema, JSON.parse(r.choices[0].message.content));
  }
  // json_object has no schema to bound its strings, and a random-weight model rarely closes one:
  // some answers end at the token limit. Every one that ends by itself must be an object.
  let whole = 0;
  for (let seed = 1; seed <= 8; seed++) {
    const o = await openai.chat.completions.create({
      model: "m", messages: user("JSON please"), temperature: 1, seed, max_tokens: 300, response_format: { type: "json_object" },
    });
    assert.ok(o.choices[0].message.content.trimStart().startsWith("{"));
    if (o.choices[0].finish_reason !== "stop") continue;
    whole++;
    const parsed = JSON.parse(o.choices[0].message.content);
    assert.ok(typeof parsed === "object" && !Array.isArray(parsed) && parsed !== null);
  }
  assert.ok(whole >= 1, "some json_object answer ended by itself");
  const bad = await raw("/v1/chat/completions", { messages: user("x"), response_format: { type: "json_schema", json_schema: { schema: { type: "string", pattern: "a", not: {} } } } });
  assert.equal(bad.status, 400);
});

test("forced tool calls: tool_choice named or required gives a valid call", async () => {
  // Strings get a maxLength: a random-weight model rarely closes a string by itself, and an
  // unfinished call at the token limit degrades to text (that case is checked below).
  const readFile = { type: "function", function: { name: "read_file", parameters: { type: "object", properties: { path: { type: "string", maxLength: 16 } }, required: ["path"] } } };
  const two = [readFile, { type: "function", function: { name: "add", parameters: { type: "object", properties: { a: { type: "integer" }, b: { type: "integer" } }, required: ["a", "b"] } } }];
  for (let seed = 1; seed <= 3; seed++) {
    const r = await openai.chat.completions.create({
      model: "m", messages: user("Add 2 and 3"), tools: two, temperature: 1, seed, max_tokens: 300,
      tool_choice: { type: "function", function: { name: "add" } },
    });
    const c = r.choices[0];
    assert.equal(c.finish_reason, "tool_calls", JSON.stringify(c.message));
    assert.equal(c.message.tool_calls.length, 1);
    assert.equal(c.message.tool_calls[0].function.name, "add");
    assert.match(c.message.tool_calls[0].id, /^call_/);
    validate(two[1].function.parameters, JSON.parse(c.message.tool_calls[0].function.arguments));
  }
  // Streamed: the SDK reassembles the call from its deltas.
  const runner = openai.chat.completions.stream({ model: "m", messages: user("Read it"), tools: two, tool_choice: "required", temperature: 1, seed: 9, max_tokens: 300 });
  const done = await runner.finalChatCompletion();
  const calls = done.choices[0].message.tool_calls;
  assert.ok(calls.length >= 1);
  for (const call of calls) {
    const def = two.find((t) => t.function.name === call.function.name);
    assert.ok(def, call.function.name);
    validate(def.function.parameters, JSON.parse(call.function.arguments));
  }
  // Anthropic: tool_choice any / tool.
  const a = await anthropic.messages.create({
    model: "m", max_tokens: 300, temperature: 1, messages: user("Read a.txt"),
    tools: [{ name: "Read", input_schema: { type: "object", properties: { file_path: { type: "string", maxLength: 16 } }, required: ["file_path"] } }],
    tool_choice: { type: "tool", name: "Read" },
  });
  assert.equal(a.stop_reason, "tool_use");
  const use = a.content.find((b) => b.type === "tool_use");
  assert.equal(use.name, "Read");
  assert.equal(typeof use.input.file_path, "string");
  const missing = await raw("/v1/chat/completions", { messages: user("x"), tools, tool_choice: { type: "function", function: { name: "nope" } } });
  assert.equal(missing.status, 400);
  // Cut off by max_tokens in the middle of the call: the text comes back as content, not a 500.
  const cut = await openai.chat.completions.create({ model: "m", messages: user("x"), tools, tool_choice: "required", temperature: 1, seed: 9, max_tokens: 12 });
  assert.equal(cut.choices[0].finish_reason, "length");
  assert.ok(cut.choices[0].message.content.startsWith("<tool_call>"));
});

test("openai: plain completions", async () => {
  const r = await openai.completions.create({ model: "m", prompt: "Once upon a time", max_tokens: 4, temperature: 0 });
  assert.equal(r.object, "text_completion");
  assert.equal(typeof r.choices[0].text, "string");
  assert.ok(r.usage.prompt_tokens > 0);
  const s = await openai.completions.create({ model: "m", prompt: "Once upon a time", max_tokens: 4, temperature: 0, stream: true });
  let text = "";
  for await (const c of s) text += c.choices[0]?.text ?? "";
  assert.equal(text, r.choices[0].text);
});

test("openai responses: items in, output items out, streamed events", async () => {
  const input = [
    { role: "developer", content: "Be brief." },
    { type: "message", role: "user", content: [{ type: "input_text", text: "Read main.c" }] },
    { type: "reasoning", id: "rs_1", summary: [{ type: "summary_text", text: "I should read it." }] },
    { type: "function_call", call_id: "call_1", name: "read_file", arguments: '{"path":"main.c"}' },
    { type: "function_call_output", call_id: "call_1", output: "int main() { return 0; }" },
  ];
  const rtools = [{ type: "function", name: "read_file", description: "Read a file", parameters: tools[0].function.parameters }];
  const params = { model: "m", input, tools: rtools, max_output_tokens: 6, temperature: 0, store: false };
  const r = await openai.responses.create(params);
  assert.equal(r.object, "response");
  assert.match(r.id, /^resp_/);
  assert.ok(["completed", "incomplete"].includes(r.status));
  if (r.status === "incomplete") assert.equal(r.incomplete_details.reason, "max_output_tokens");
  assert.ok(r.usage.input_tokens > 30, "the call and its output are in the prompt");
  assert.ok(r.usage.output_tokens <= 6);
  for (const item of r.output) assert.ok(["message", "reasoning", "function_call"].includes(item.type));

  const types = [];
  const stream = openai.responses.stream(params);
  stream.on("event", (e) => types.push(e.type));
  const final = await stream.finalResponse();
  assert.equal(types[0], "response.created");
  assert.ok(["response.completed", "response.incomplete"].includes(types.at(-1)));
  assert.equal(types.filter((t) => t === "response.output_item.added").length, types.filter((t) => t === "response.output_item.done").length);
  assert.deepEqual(final.output.map((i) => i.type), r.output.map((i) => i.type));
  assert.equal(final.output_text, r.output_text);

  const plain = await openai.responses.create({ model: "m", input: "Say hi", instructions: "Be brief.", max_output_tokens: 3 });
  assert.ok(plain.usage.input_tokens > 3);
  const bad = await raw("/v1/responses", { model: "m", input: [{ type: "image_generation_call" }] });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.type, "invalid_request_error");
});

test("anthropic message, not streaming", async () => {
  const m = await anthropic.messages.create({
    model: "m", max_tokens: 6, temperature: 0, system: "Be brief.", messages: user("Say hi"),
  });
  assert.equal(m.type, "message");
  assert.equal(m.role, "assistant");
  assert.match(m.id, /^msg_/);
  assert.equal(m.model, "qwen3-Q8_0");
  assert.ok(["end_turn", "max_tokens"].includes(m.stop_reason));
  assert.ok(m.content.length >= 1);
  assert.equal(m.content[0].type, "text");
  assert.ok(m.usage.input_tokens + m.usage.cache_read_input_tokens > 5);
  assert.ok(m.usage.output_tokens <= 6);
});

test("anthropic streaming: event order and final message", async () => {
  const params = { model: "m", max_tokens: 8, temperature: 0, messages: user("Write a haiku") };
  const full = await anthropic.messages.create(params);
  const events = [];
  const stream = anthropic.messages.stream(params);
  stream.on("streamEvent", (e) => events.push(e.type));
  const final = await stream.finalMessage();
  assert.equal(events[0], "message_start");
  assert.equal(events.at(-1), "message_stop");
  assert.equal(events.at(-2), "message_delta");
  assert.equal(events.filter((e) => e === "content_block_start").length, events.filter((e) => e === "content_block_stop").length);
  assert.deepEqual(final.content, full.content);
  assert.equal(final.stop_reason, full.stop_reason);
  assert.equal(final.usage.output_tokens, full.usage.output_tokens);
});

test("anthropic: tools, tool_use history, system inside messages, unknown fields, query string", async () => {
  const body = {
    model: "m",
    max_tokens: 2,
    metadata: { user_id: "u" },
    context_management: { edits: [] },
    thinking: { type: "adaptive" },
    system: [{ type: "text", text: "You are Claude Code.", cache_control: { type: "ephemeral" } }],
    tools: [{ name: "Read", description: "Read a file", input_schema: { type: "object", properties: { file_path: { type: "string" } } } }],
    messages: [
      { role: "system", content: "Extra system text." },
      { role: "user", content: [{ type: "text", text: "Read a.txt" }] },
      { role: "assistant", content: [{ type: "thinking", thinking: "I should read it.", signature: "" }, { type: "tool_use", id: "toolu_1", name: "Read", input: { file_path: "a.txt" } }] },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "hello" }] },
    ],
  };
  const r = await raw("/v1/messages?beta=true", body, { "x-api-key": key, Authorization: "" });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.type, "message");
  const count = await anthropic.messages.countTokens({ model: "m", messages: body.messages.slice(1), tools: body.tools });
  assert.ok(count.input_tokens > 30);
});

test("errors are 4xx in each API's shape, and the server stays up", async () => {
  let r = await raw("/v1/chat/completions", "{not json");
  assert.equal(r.status, 400);
  assert.equal(r.body.error.type, "invalid_request_error");
  r = await raw("/v1/chat/completions", { messages: user("x"), temperature: "hot" });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.param, "temperature");
  r = await raw("/v1/chat/completions", { messages: [{ role: "wizard", content: "x" }] });
  assert.equal(r.status, 400);
  r = await raw("/v1/chat/completions", { messages: user("x"), max_tokens: -3 });
  assert.equal(r.status, 400);
  r = await raw("/v1/messages", { model: "m", max_tokens: 5, messages: [{ role: "user", content: [{ type: "image", source: {} }] }] });
  assert.equal(r.status, 400);
  assert.equal(r.body.type, "error");
  assert.equal(r.body.error.type, "invalid_request_error");
  r = await raw("/v1/messages", { model: "m", max_tokens: "many", messages: user("x") });
  assert.equal(r.status, 400);

  // Context overflow: more tokens than the 4096-token slot.
  const huge = "lorem ipsum dolor sit amet ".repeat(2000);
  await assert.rejects(openai.chat.completions.create({ model: "m", messages: user(huge), max_tokens: 1 }), (e) => {
    assert.equal(e.status, 400);
    assert.equal(e.code, "context_length_exceeded");
    return true;
  });
  await assert.rejects(anthropic.messages.create({ model: "m", max_tokens: 1, messages: user(huge) }), (e) => e.status === 400);

  // Authentication: every route but /health.
  const bad = new OpenAI({ baseURL: `${url}/v1`, apiKey: "wrong", maxRetries: 0 });
  await assert.rejects(bad.models.list(), (e) => e.status === 401);
  const badA = new Anthropic({ baseURL: url, apiKey: "wrong", maxRetries: 0 });
  await assert.rejects(badA.messages.create({ model: "m", max_tokens: 1, messages: user("x") }), (e) => {
    assert.equal(e.status, 401);
    assert.equal(e.error?.error?.type, "authentication_error");
    return true;
  });
  const noKey = await fetch(`${url}/v1/chat/completions`, { method: "POST", body: "{}" });
  assert.equal(noKey.status, 401);
  assert.equal((await fetch(`${url}/no/such/route`)).status, 404);

  const ok = await openai.chat.completions.create({ model: "m", messages: user("still there?"), max_tokens: 1 });
  assert.equal(ok.object, "chat.completion");
});

test("16 concurrent streaming clients all complete", async () => {
  const one = async (i) => {
    const s = await openai.chat.completions.create({
      model: "m", messages: user(`client ${i} says hello`), max_tokens: 24, temperature: 1, seed: i, stream: true,
      stream_options: { include_usage: true },
    });
    let finish = null, usage = null;
    for await (const c of s) {
      if (c.usage) usage = c.usage;
      if (c.choices[0]?.finish_reason) finish = c.choices[0].finish_reason;
    }
    return { finish, usage };
  };
  const results = await Promise.all(Array.from({ length: 16 }, (_, i) => one(i)));
  for (const r of results) {
    assert.ok(["stop", "length"].includes(r.finish));
    assert.ok(r.usage && r.usage.completion_tokens <= 24);
  }
  const m = await metrics();
  assert.equal(m.hearth_queue_depth, 0);
});

// The metrics once one more request than in `before` has finished (5 s at most); asserts it has.
async function metricsOnceFinished(before) {
  let after = await metrics();
  for (let i = 0; i < 50 && after.hearth_requests_total <= before.hearth_requests_total; i++) {
    await new Promise((r) => setTimeout(r, 100));
    after = await metrics();
  }
  assert.ok(after.hearth_requests_total > before.hearth_requests_total, "the request finished");
  return after;
}

test("a client that disconnects stops its generation", async () => {
  // Find a seed whose answer runs long, so that a cut-off is visible in the token count. Long
  // enough that the half of it the cut-off must stay under lasts a while (~0.2 s) even on a
  // fast machine: this model decodes ~9000 tokens/s on a Zen 5.
  const params = { model: "m", messages: user("Go on and on"), temperature: 1.5, max_tokens: 3500 };
  let seed = -1, fullTokens = 0;
  for (let s = 1; s <= 20 && seed < 0; s++) {
    const r = await openai.chat.completions.create({ ...params, seed: s });
    if (r.usage.completion_tokens >= 3000) [seed, fullTokens] = [s, r.usage.completion_tokens];
  }
  assert.ok(seed > 0, "some seed gives a long answer");
  const before = await metrics();
  const controller = new AbortController();
  const stream = await openai.chat.completions.create({ ...params, seed, stream: true }, { signal: controller.signal });
  let got = 0;
  try {
    for await (const c of stream) {
      if (c.choices[0]?.delta?.content && ++got >= 3) controller.abort();
    }
  } catch (e) {
    assert.ok(e.name === "APIUserAbortError" || e.name === "AbortError", e.name);
  }
  const after = await metricsOnceFinished(before);
  const generated = after.hearth_generated_tokens_total - before.hearth_generated_tokens_total;
  assert.ok(generated < fullTokens / 2, `generated ${generated} of ${fullTokens} tokens after the disconnect`);
  assert.equal(after.hearth_active_slots, 0);

  // Not streaming: the server sends spaces ahead of the JSON body to see that the client left.
  const before2 = await metrics();
  const controller2 = new AbortController();
  const t0 = performance.now();
  const pending = openai.chat.completions.create({ ...params, seed }, { signal: controller2.signal }).catch((e) => e);
  while ((await metrics()).hearth_active_slots === 0 && performance.now() - t0 < 5000) {}
  controller2.abort();
  const err = await pending;
  assert.ok(err.name === "APIUserAbortError" || err.name === "AbortError", String(err));
  const after2 = await metricsOnceFinished(before2);
  const generated2 = after2.hearth_generated_tokens_total - before2.hearth_generated_tokens_total;
  assert.ok(generated2 < fullTokens / 2, `generated ${generated2} of ${fullTokens} tokens after the disconnect`);
  assert.equal(after2.hearth_active_slots, 0);
});

test("a non-streaming answer arrives whole after the heartbeat spaces", async () => {
  // A long answer keeps the request open past several heartbeats; the body must still parse.
  const r = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
    body: JSON.stringify({ model: "m", messages: user("Go on and on"), temperature: 1.5, max_tokens: 1500, seed: 3 }),
  });
  assert.equal(r.status, 200);
  const text = await r.text();
  const body = JSON.parse(text);
  assert.equal(body.object, "chat.completion");
  assert.ok(body.usage.completion_tokens > 0);
});

test("the next turn of a conversation reuses the prefix", async () => {
  const turn1 = [{ role: "system", content: longSystem }, { role: "user", content: "First question?" }];
  const t0 = performance.now();
  const r1 = await openai.chat.completions.create({ model: "m", messages: turn1, max_tokens: 4, temperature: 0 });
  const cold = performance.now() - t0;
  assert.ok(r1.usage.prompt_tokens > 1000, `a long prompt (${r1.usage.prompt_tokens} tokens)`);
  const turn2 = [...turn1, { role: "assistant", content: r1.choices[0].message.content ?? "" }, { role: "user", content: "Second question?" }];
  const t1 = performance.now();
  const r2 = await openai.chat.completions.create({ model: "m", messages: turn2, max_tokens: 4, temperature: 0 });
  const warm = performance.now() - t1;
  const cached = r2.usage.prompt_tokens_details.cached_tokens;
  console.log(`prefix cache: turn 1 ${r1.usage.prompt_tokens} tokens in ${cold.toFixed(0)} ms; ` +
              `turn 2 ${r2.usage.prompt_tokens} tokens (${cached} reused) in ${warm.toFixed(0)} ms`);
  assert.ok(cached >= r1.usage.prompt_tokens - 1, `turn 2 reuses turn 1's prompt (${cached} of ${r1.usage.prompt_tokens})`);
  // The same through the Anthropic API: usage says what came from the cache.
  const a2 = await anthropic.messages.create({ model: "m", max_tokens: 2, system: longSystem, messages: turn2.slice(1) });
  assert.ok(a2.usage.cache_read_input_tokens >= r1.usage.prompt_tokens - 1);
});
