// The AI SDK and LangChain against the LoLLMS double (new lollms: SSE chat streams), through the proxy with upstream.kind "lollms".
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { APICallError, embedMany, generateText, streamText } from 'ai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { ChatOpenAI } from '@langchain/openai';
import { startHarness, USER_KEY, type Harness } from '../../dev/harness.js';
import { DEFAULT_RESPONSE_TEXT } from '../../dev/doubles/lollms-double.js';

let h: Harness;
before(async () => {
  h = await startHarness({ double: { chatStream: 'sse' } });
});
after(async () => {
  await h.close();
});
const MODEL = 'llama3-8b-instruct';
const lastBody = (): Record<string, unknown> => JSON.parse(h.double.lastRequest()!.body) as Record<string, unknown>;

test('AI SDK: generateText and streamText; the cap goes into max_tokens for a LoLLMS upstream', async () => {
  const p = createOpenAICompatible({ name: 'lollms', baseURL: `${h.url}/v1`, apiKey: USER_KEY, includeUsage: true });
  const r = await generateText({ model: p(MODEL), prompt: 'Say hello', maxRetries: 0 });
  assert.equal(r.text, DEFAULT_RESPONSE_TEXT);
  assert.equal(lastBody().max_tokens, 512);
  assert.equal(lastBody().max_completion_tokens, undefined);
  const s = streamText({ model: p(MODEL), prompt: 'Say hello', maxRetries: 0 });
  let text = '';
  for await (const t of s.textStream) text += t;
  assert.equal(text, DEFAULT_RESPONSE_TEXT);
  assert.ok(((await s.usage).outputTokens ?? 0) > 0);
  const e = await embedMany({ model: p.embeddingModel(MODEL), values: ['a', 'b'], maxRetries: 0 });
  assert.equal(e.embeddings.length, 2);
  assert.equal(lastBody().max_tokens, undefined, 'no token field on embeddings');
  await assert.rejects(generateText({ model: p('gpt-4o'), prompt: 'x', maxRetries: 0 }), (err: unknown) => APICallError.isInstance(err) && err.statusCode === 403);
});

test('LangChain: invoke and stream', async () => {
  const m = new ChatOpenAI({ model: MODEL, apiKey: USER_KEY, configuration: { baseURL: `${h.url}/v1` }, maxRetries: 0 });
  const r = await m.invoke('Say hello');
  assert.equal(r.content, DEFAULT_RESPONSE_TEXT);
  let text = '';
  for await (const c of await m.stream('Say hello')) text += typeof c.content === 'string' ? c.content : '';
  assert.equal(text, DEFAULT_RESPONSE_TEXT);
});
