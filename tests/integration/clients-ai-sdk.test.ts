// Vercel's AI SDK with its OpenAI-compatible provider, changed only in baseURL and apiKey, through the proxy.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { APICallError, embedMany, generateText, jsonSchema, streamText, tool } from 'ai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { startClientsHarness, eventually, type ClientsHarness } from '../helpers/clients-harness.js';
import { USER_KEY } from '../../dev/harness.js';
import { OPENAI_TEXT, TOOL_ARGS } from '../../dev/doubles/openai-double.js';
import { ERRORS } from '../../kernel/errors.js';

let h: ClientsHarness;
let provider: ReturnType<typeof createOpenAICompatible>;
before(async () => {
  h = await startClientsHarness('openai');
  provider = createOpenAICompatible({ name: 'guard', baseURL: `${h.url}/v1`, apiKey: USER_KEY, includeUsage: true });
});
after(async () => {
  await h.close();
});

const weather = tool({
  description: 'Weather in a city',
  inputSchema: jsonSchema<{ city: string; unit?: string }>({ type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string' } }, required: ['city'] }),
});

test('generateText, plain', async () => {
  const r = await generateText({ model: provider('gpt-4o-mini'), prompt: 'Say hello', maxRetries: 0 });
  assert.equal(r.text, OPENAI_TEXT);
  assert.ok((r.usage.outputTokens ?? 0) > 0);
});

test('streamText, with usage from the stream', async () => {
  const r = streamText({ model: provider('gpt-4o-mini'), prompt: 'Say hello', maxRetries: 0 });
  let text = '';
  for await (const t of r.textStream) text += t;
  assert.equal(text, OPENAI_TEXT);
  const usage = await r.usage;
  assert.ok((usage.outputTokens ?? 0) > 0, 'usage read from the include_usage chunk');
  assert.equal(h.double.lastBody().stream_options?.include_usage, true);
});

test('tools streamed in pieces: tool-input deltas, then one whole call', async () => {
  const r = streamText({ model: provider('gpt-4o-mini'), prompt: 'Weather in Paris?', tools: { get_weather: weather }, maxRetries: 0 });
  let deltas = 0;
  for await (const part of r.fullStream) if (part.type === 'tool-input-delta') deltas++;
  const calls = await r.toolCalls;
  assert.equal(calls.length, 1);
  assert.equal(calls[0].toolName, 'get_weather');
  assert.deepEqual(calls[0].input, JSON.parse(TOOL_ARGS));
  assert.ok(deltas > 3, `${deltas} input deltas`);
});

test('abort mid-stream reaches the upstream', async () => {
  h.double.chunkDelay = 100;
  try {
    const before = h.double.aborted;
    const ac = new AbortController();
    const r = streamText({ model: provider('gpt-4o-mini'), prompt: 'Say hello', abortSignal: ac.signal, maxRetries: 0 });
    let got = 0;
    try {
      for await (const _ of r.textStream) if (++got === 2) ac.abort();
    } catch (e) {
      assert.equal((e as Error).name, 'AbortError', String(e));
    }
    assert.ok(got < 10, `stopped early (${got})`);
    await eventually(() => h.double.aborted > before, 'the upstream saw the abort');
  } finally {
    h.double.chunkDelay = 2;
  }
});

test('embedMany', async () => {
  const r = await embedMany({ model: provider.embeddingModel('text-embedding-3-small'), values: ['one', 'two', 'three'], maxRetries: 0 });
  assert.equal(r.embeddings.length, 3);
  assert.equal(r.embeddings[0].length, h.double.embeddingDims);
  assert.ok(!('max_tokens' in h.double.lastBody()), 'no token field on embeddings');
});

test('denials are APICallError with the status and the catalogue message', async () => {
  const cases: Array<[string, () => Promise<unknown>, keyof typeof ERRORS]> = [
    ['model', () => generateText({ model: provider('forbidden-model'), prompt: 'x', maxRetries: 0 }), 'model_not_allowed'],
    ['cap', () => generateText({ model: provider('gpt-4o-mini'), prompt: 'x', maxOutputTokens: 100000, maxRetries: 0 }), 'max_tokens_exceeded'],
    ['embeddings', () => embedMany({ model: provider.embeddingModel('forbidden-model'), values: ['x'], maxRetries: 0 }), 'model_not_allowed'],
    ['key', () => generateText({ model: createOpenAICompatible({ name: 'bad', baseURL: `${h.url}/v1`, apiKey: 'sk-wrong-00000000000000000000000000000000' })('gpt-4o-mini'), prompt: 'x', maxRetries: 0 }), 'invalid_api_key'],
  ];
  for (const [what, call, code] of cases) {
    await assert.rejects(call(), (e: unknown) => {
      assert.ok(APICallError.isInstance(e), `${what}: ${String(e)}`);
      assert.equal(e.statusCode, ERRORS[code].status, what);
      assert.equal(e.message, ERRORS[code].message, `${what}: the provider reads error.message`);
      assert.equal(e.responseHeaders?.['x-error-code'], code, what);
      return true;
    });
  }
  // A streamed call surfaces the same error as an error part.
  const r = streamText({ model: provider('forbidden-model'), prompt: 'x', maxRetries: 0, onError: () => {} });
  let err: unknown;
  for await (const part of r.fullStream) if (part.type === 'error') err = part.error;
  assert.ok(APICallError.isInstance(err), String(err));
  assert.equal(err.statusCode, 403);
});
