// ollama-js, changed only in host and an Authorization header, through the proxy to an Ollama-style upstream and to the LoLLMS double.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Ollama } from 'ollama';
import { startClientsHarness, eventually, type ClientsHarness } from '../helpers/clients-harness.js';
import { startHarness, ADMIN_KEY, USER_KEY, type Harness } from '../../dev/harness.js';
import { OPENAI_MODELS, OPENAI_TEXT, TOOL_ARGS } from '../../dev/doubles/openai-double.js';
import { DEFAULT_RESPONSE_TEXT } from '../../dev/doubles/lollms-double.js';
import { ERRORS } from '../../kernel/errors.js';

let h: ClientsHarness;
let legacy: Harness;
const client = (host: string, key = USER_KEY): Ollama => new Ollama({ host, headers: { Authorization: `Bearer ${key}` } });
before(async () => {
  h = await startClientsHarness('ollama');
  legacy = await startHarness();
});
after(async () => {
  await h.close();
  await legacy.close();
});
const messages = [{ role: 'user', content: 'Say hello' }];

test('chat, plain and streamed; the cap goes into options.num_predict', async () => {
  const o = client(h.url);
  const r = await o.chat({ model: 'gpt-4o-mini', messages, stream: false });
  assert.equal(r.message.content, OPENAI_TEXT);
  assert.equal(h.double.lastBody().options?.num_predict, 512);
  let text = '';
  let evalCount = 0;
  for await (const part of await o.chat({ model: 'gpt-4o-mini', messages, stream: true })) {
    text += part.message.content;
    if (part.done) evalCount = part.eval_count;
  }
  assert.equal(text, OPENAI_TEXT);
  assert.ok(evalCount > 0, 'usage in the final object');
});

test('generate, tools, list and embed', async () => {
  const o = client(h.url);
  const g = await o.generate({ model: 'gpt-4o-mini', prompt: 'hi', stream: false });
  assert.equal(g.response, OPENAI_TEXT);
  const t = await o.chat({ model: 'gpt-4o-mini', messages, stream: false, tools: [{ type: 'function', function: { name: 'get_weather', description: 'w', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }] });
  assert.deepEqual(t.message.tool_calls?.[0]?.function.arguments, JSON.parse(TOOL_ARGS));
  const list = await o.list();
  assert.deepEqual(list.models.map((m) => m.name), OPENAI_MODELS);
  const e = await o.embed({ model: 'text-embedding-3-small', input: ['a', 'b'] });
  assert.equal(e.embeddings.length, 2);
  const sent = h.double.lastBody();
  assert.ok(!('max_tokens' in sent) && !('options' in sent), 'no token field on embeddings');
});

test('abort mid-stream reaches the upstream', async () => {
  h.double.chunkDelay = 100;
  try {
    const before = h.double.aborted;
    const it = await client(h.url).chat({ model: 'gpt-4o-mini', messages, stream: true });
    let got = 0;
    try {
      for await (const _ of it) if (++got === 2) it.abort();
    } catch (e) {
      assert.equal((e as Error).name, 'AbortError', String(e));
    }
    assert.ok(got < 10, `stopped early (${got})`);
    await eventually(() => h.double.aborted > before, 'the upstream saw the abort');
  } finally {
    h.double.chunkDelay = 2;
  }
});

test('against the LoLLMS double: chat streamed and not', async () => {
  const o = client(legacy.url, ADMIN_KEY);
  const r = await o.chat({ model: 'llama3-8b-instruct', messages, stream: false });
  assert.equal(r.message.content, DEFAULT_RESPONSE_TEXT);
  let text = '';
  for await (const part of await o.chat({ model: 'llama3-8b-instruct', messages, stream: true })) text += part.message.content;
  assert.equal(text, DEFAULT_RESPONSE_TEXT);
});

test('denials are ResponseError with the status and the catalogue message (Ollama shape)', async () => {
  const cases: Array<[string, () => Promise<unknown>, keyof typeof ERRORS]> = [
    ['model', () => client(h.url).chat({ model: 'forbidden-model', messages, stream: false }), 'model_not_allowed'],
    ['streamed', async () => { for await (const _ of await client(h.url).chat({ model: 'forbidden-model', messages, stream: true })) { /* nothing */ } }, 'model_not_allowed'],
    ['cap', () => client(h.url).generate({ model: 'gpt-4o-mini', prompt: 'x', stream: false, options: { num_predict: 100000 } }), 'max_tokens_exceeded'],
    ['route', () => client(h.url).ps(), 'route_not_allowed'],
    ['key', () => client(h.url, 'wrong-key-000000000000000000000000000000000').list(), 'invalid_api_key'],
    ['no key', () => new Ollama({ host: h.url }).list(), 'missing_api_key'],
  ];
  for (const [what, call, code] of cases) {
    await assert.rejects(call(), (e: any) => {
      assert.equal(e?.name, 'ResponseError', `${what}: ${String(e)}`);
      assert.equal(e.status_code, ERRORS[code].status, what);
      assert.equal(e.error, ERRORS[code].message, `${what}: a readable message, not [object Object]`);
      return true;
    });
  }
});
