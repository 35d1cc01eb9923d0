// Drives a running `rightsize serve` with the official openai package (non-streaming and
// streaming chat, completions, embeddings, models, error mapping). Usage:
//   node openai_client_test.mjs GEN_URL GEN_MODEL EMBED_URL EMBED_MODEL
// Exits 1 with a message on the first failed check.
import OpenAI from "openai";
import assert from "node:assert/strict";

const [genUrl, genModel, embUrl, embModel] = process.argv.slice(2);
const client = new OpenAI({ baseURL: `${genUrl}/v1`, apiKey: "sk-test", maxRetries: 0 });
const messages = [{ role: "user", content: "Once upon a time" }];
let passed = 0;
const ok = (name) => { passed++; console.log(`ok: ${name}`); };

const models = await client.models.list();
assert.ok(models.data.some((m) => m.id === genModel), "models.list names the model");
ok("models.list");

const chat = await client.chat.completions.create({ model: genModel, messages, max_tokens: 30, temperature: 0 });
const text = chat.choices[0].message.content;
assert.ok(text.length > 0);
assert.equal(chat.choices[0].message.role, "assistant");
assert.equal(chat.usage.total_tokens, chat.usage.prompt_tokens + chat.usage.completion_tokens);
ok(`chat (non-streaming): ${JSON.stringify(text.slice(0, 40))}`);

const stream = await client.chat.completions.create({
  model: genModel, messages, max_tokens: 30, temperature: 0, stream: true, stream_options: { include_usage: true },
});
let streamed = "";
let finish = null;
let usage = null;
for await (const chunk of stream) {
  if (chunk.usage) usage = chunk.usage;
  for (const c of chunk.choices) {
    streamed += c.delta?.content ?? "";
    finish = c.finish_reason ?? finish;
  }
}
assert.equal(streamed, text, "stream concatenates to the non-streamed answer");
assert.equal(finish, chat.choices[0].finish_reason);
assert.equal(usage.completion_tokens, chat.usage.completion_tokens);
ok("chat (streaming) = non-streaming");

const cmpl = await client.completions.create({ model: genModel, prompt: "The cat", max_tokens: 20, temperature: 0 });
assert.ok(cmpl.choices[0].text.length > 0);
const cstream = await client.completions.create({ model: genModel, prompt: "The cat", max_tokens: 20, temperature: 0, stream: true });
let ctext = "";
for await (const chunk of cstream) ctext += chunk.choices[0]?.text ?? "";
assert.equal(ctext, cmpl.choices[0].text);
ok("completions (both ways)");

await assert.rejects(
  client.chat.completions.create({ model: "no-such-model", messages }),
  (e) => e instanceof OpenAI.NotFoundError && /does not exist/.test(e.message),
);
await assert.rejects(
  client.chat.completions.create({ model: genModel, messages, temperature: 9 }),
  (e) => e instanceof OpenAI.BadRequestError && e.param === "temperature",
);
ok("errors map to NotFoundError / BadRequestError");

if (embUrl) {
  const emb = new OpenAI({ baseURL: `${embUrl}/v1`, apiKey: "sk-test", maxRetries: 0 });
  // The client asks for base64 by default and decodes it to floats.
  const r = await emb.embeddings.create({ model: embModel, input: ["hello world", "goodbye"] });
  assert.equal(r.data.length, 2);
  const norm = Math.sqrt(r.data[0].embedding.reduce((s, x) => s + x * x, 0));
  assert.ok(Math.abs(norm - 1) < 1e-4, `unit vector, got norm ${norm}`);
  ok(`embeddings (${r.data[0].embedding.length} dims)`);
}
console.log(`${passed} passed`);
