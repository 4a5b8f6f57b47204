// LangChain's ChatOpenAI and OpenAIEmbeddings, changed only in baseURL and apiKey, through the proxy.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { ChatOpenAI, OpenAIEmbeddings } from '@langchain/openai';
import type { AIMessageChunk } from '@langchain/core/messages';
import { startClientsHarness, eventually, type ClientsHarness } from '../helpers/clients-harness.js';
import { USER_KEY } from '../../dev/harness.js';
import { OPENAI_TEXT, TOOL_ARGS } from '../../dev/doubles/openai-double.js';
import { ERRORS } from '../../kernel/errors.js';

let h: ClientsHarness;
const chat = (model = 'gpt-4o-mini', apiKey = USER_KEY): ChatOpenAI =>
  new ChatOpenAI({ model, apiKey, configuration: { baseURL: `${h.url}/v1` }, maxRetries: 0 });
before(async () => {
  h = await startClientsHarness('openai');
});
after(async () => {
  await h.close();
});

const weather = { type: 'function' as const, function: { name: 'get_weather', description: 'Weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string' } }, required: ['city'] } } };

test('invoke, plain', async () => {
  const m = await chat().invoke('Say hello');
  assert.equal(m.content, OPENAI_TEXT);
  assert.ok((m.usage_metadata?.output_tokens ?? 0) > 0);
});

test('stream, with usage metadata from the stream', async () => {
  let text = '';
  let usage: AIMessageChunk['usage_metadata'];
  for await (const c of await chat().stream('Say hello')) {
    text += typeof c.content === 'string' ? c.content : '';
    usage = c.usage_metadata ?? usage;
  }
  assert.equal(text, OPENAI_TEXT);
  assert.ok(usage && usage.output_tokens > 0);
});

test('tool call chunks streamed in pieces, concatenated into one call', async () => {
  const model = chat().bindTools([weather]);
  let acc: AIMessageChunk | undefined;
  let pieces = 0;
  for await (const c of await model.stream('Weather in Paris?')) {
    if ((c.tool_call_chunks?.length ?? 0) > 0) pieces++;
    acc = acc ? acc.concat(c) : c;
  }
  assert.ok(acc);
  assert.equal(acc.tool_calls?.[0]?.name, 'get_weather');
  assert.deepEqual(acc.tool_calls?.[0]?.args, JSON.parse(TOOL_ARGS));
  assert.ok(pieces > 3, `${pieces} tool-call chunks`);
});

test('abort mid-stream reaches the upstream', async () => {
  h.double.chunkDelay = 100;
  try {
    const before = h.double.aborted;
    const ac = new AbortController();
    let got = 0;
    try {
      for await (const _ of await chat().stream('Say hello', { signal: ac.signal })) if (++got === 2) ac.abort();
    } catch (e) {
      assert.match(String((e as Error).message ?? e), /abort/i);
    }
    assert.ok(got < 10, `stopped early (${got})`);
    await eventually(() => h.double.aborted > before, 'the upstream saw the abort');
  } finally {
    h.double.chunkDelay = 2;
  }
});

test('OpenAIEmbeddings', async () => {
  const e = new OpenAIEmbeddings({ model: 'text-embedding-3-small', apiKey: USER_KEY, configuration: { baseURL: `${h.url}/v1` }, maxRetries: 0 });
  const v = await e.embedDocuments(['one', 'two']);
  assert.equal(v.length, 2);
  assert.equal(v[0].length, h.double.embeddingDims);
  assert.ok(!('max_tokens' in h.double.lastBody()), 'no token field on embeddings');
});

test('denials surface as the openai SDK error LangChain rethrows, with status, code and the catalogue message', async () => {
  const cases: Array<[string, () => Promise<unknown>, keyof typeof ERRORS]> = [
    ['model', () => chat('forbidden-model').invoke('x'), 'model_not_allowed'],
    ['streamed', async () => { for await (const _ of await chat('forbidden-model').stream('x')) { /* nothing */ } }, 'model_not_allowed'],
    ['key', () => chat('gpt-4o-mini', 'sk-wrong-00000000000000000000000000000000').invoke('x'), 'invalid_api_key'],
  ];
  for (const [what, call, code] of cases) {
    await assert.rejects(call(), (e: any) => {
      assert.ok(e instanceof OpenAI.APIError, `${what}: ${e?.name}: ${String(e)}`);
      assert.equal(e.status, ERRORS[code].status, `${what}: ${String(e)}`);
      assert.equal(e.code, code, what);
      assert.ok(String(e.message).includes(ERRORS[code].message), `${what}: ${e.message}`);
      return true;
    });
  }
});
