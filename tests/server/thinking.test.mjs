// Thinking through hearth serve, with the Qwen3.6 chat template (its generation prompt opens
// <think>, so the model's first tokens are reasoning). The model has random weights; the
// thinking budget makes the reasoning end after a known number of tokens.
import { test } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";
import Anthropic from "@anthropic-ai/sdk";

const url = process.env.HEARTH_URL;
const key = process.env.HEARTH_KEY;
const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0 });
const anthropic = new Anthropic({ baseURL: url, apiKey: key, maxRetries: 0 });
const user = (content) => [{ role: "user", content }];

test("anthropic: thinking blocks, ended by the budget", async () => {
  const params = { model: "m", max_tokens: 40, temperature: 0, thinking: { type: "enabled", budget_tokens: 4 }, messages: user("Think first") };
  const m = await anthropic.messages.create(params);
  assert.equal(m.content[0].type, "thinking", JSON.stringify(m.content));
  assert.ok(m.content[0].thinking.length > 0);
  assert.equal(typeof m.content[0].signature, "string");
  assert.ok(!m.content[0].thinking.includes("</think>"));
  // The forced close takes a few tokens; the answer follows within the 40-token budget.
  assert.ok(m.usage.output_tokens > 4);

  const deltas = [];
  const stream = anthropic.messages.stream(params);
  stream.on("streamEvent", (e) => { if (e.type === "content_block_delta") deltas.push(e.delta.type); });
  const final = await stream.finalMessage();
  assert.ok(deltas.includes("thinking_delta"));
  assert.ok(deltas.includes("signature_delta"));
  assert.deepEqual(final.content, m.content);
});

test("openai: reasoning_content, streamed as deltas; thinking off", async () => {
  const params = { model: "m", messages: user("Think first"), max_tokens: 40, temperature: 0, thinking_budget_tokens: 4 };
  const r = await openai.chat.completions.create(params);
  const reasoning = r.choices[0].message.reasoning_content;
  assert.ok(typeof reasoning === "string" && reasoning.length > 0, JSON.stringify(r.choices[0].message));
  let streamed = "";
  const s = await openai.chat.completions.create({ ...params, stream: true });
  for await (const c of s) streamed += c.choices[0]?.delta?.reasoning_content ?? "";
  // The non-streamed message trims the newlines around the reasoning, as the templates do;
  // the stream has already sent them when </think> arrives.
  assert.equal(streamed.trim(), reasoning.trim());

  const off = await openai.chat.completions.create({
    model: "m", messages: user("Think first"), max_tokens: 8, temperature: 0, chat_template_kwargs: { enable_thinking: false },
  });
  assert.equal(off.choices[0].message.reasoning_content, undefined);
  assert.ok(off.usage.prompt_tokens > r.usage.prompt_tokens, "the prompt carries the empty think block");
});

test("earlier reasoning is kept, so the next turn reuses the prefix", async () => {
  const turn1 = [{ role: "system", content: "Rule: be brief. ".repeat(40) }, { role: "user", content: "First?" }];
  const r1 = await openai.chat.completions.create({ model: "m", messages: turn1, max_tokens: 30, temperature: 0, thinking_budget_tokens: 3 });
  const msg = r1.choices[0].message;
  assert.ok(msg.reasoning_content);
  const turn2 = [...turn1, { role: "assistant", content: msg.content ?? "", reasoning_content: msg.reasoning_content }, { role: "user", content: "Second?" }];
  const r2 = await openai.chat.completions.create({ model: "m", messages: turn2, max_tokens: 2 });
  assert.ok(r2.usage.prompt_tokens_details.cached_tokens >= r1.usage.prompt_tokens - 1,
            `${r2.usage.prompt_tokens_details.cached_tokens} of ${r1.usage.prompt_tokens} reused`);
});
