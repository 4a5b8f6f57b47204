// The official openai SDK against the OpenAI-shaped double through the proxy: plain, streamed, tools in pieces, usage, abort, embeddings, lists, denials.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startClientsHarness, eventually, type ClientsHarness } from '../helpers/clients-harness.js';
import { USER_KEY } from '../../dev/harness.js';
import { OPENAI_MODELS, OPENAI_TEXT, TOOL_ARGS } from '../../dev/doubles/openai-double.js';
import { ERRORS } from '../../kernel/errors.js';

let h: ClientsHarness;
let client: OpenAI;
before(async () => {
  h = await startClientsHarness('openai');
  client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: USER_KEY, maxRetries: 0, timeout: 10_000 });
});
after(async () => {
  await h.close();
});

const messages = [{ role: 'user' as const, content: 'Say hello' }];
const weather = [{ type: 'function' as const, function: { name: 'get_weather', description: 'Weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string' } }, required: ['city'] } } }];

test('chat, plain', async () => {
  const c = await client.chat.completions.create({ model: 'gpt-4o-mini', messages });
  assert.equal(c.choices[0].message.content, OPENAI_TEXT);
  assert.ok(c.usage && c.usage.total_tokens > 0);
});

test('chat, streamed, with usage in the stream', async () => {
  const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true, stream_options: { include_usage: true } });
  let text = '';
  let usage: OpenAI.CompletionUsage | undefined;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta?.content ?? '';
    usage = chunk.usage ?? usage;
  }
  assert.equal(text, OPENAI_TEXT);
  assert.ok(usage && usage.completion_tokens > 0);
});

test('tools streamed in pieces: the SDK reassembles the call', async () => {
  const stream = client.chat.completions.stream({ model: 'gpt-4o-mini', messages, tools: weather });
  let pieces = 0;
  stream.on('tool_calls.function.arguments.delta', () => pieces++);
  const final = await stream.finalChatCompletion();
  const call = final.choices[0].message.tool_calls?.[0];
  assert.ok(call && call.type === 'function');
  assert.equal(call.function.name, 'get_weather');
  assert.deepEqual(JSON.parse(call.function.arguments), JSON.parse(TOOL_ARGS));
  assert.ok(pieces > 3, `${pieces} argument pieces`);
  assert.equal(final.choices[0].finish_reason, 'tool_calls');
});

test('abort mid-stream: the SDK stops and the upstream request is cancelled', async () => {
  h.double.chunkDelay = 100;
  try {
    const before = h.double.aborted;
    const ac = new AbortController();
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true }, { signal: ac.signal });
    let got = 0;
    try {
      for await (const _ of stream) {
        if (++got === 2) ac.abort();
      }
    } catch (e) {
      // Depending on where the abort lands the SDK ends the iteration or throws its abort error.
      assert.ok(e instanceof OpenAI.APIUserAbortError || (e as Error).name === 'AbortError', String(e));
    }
    assert.ok(got < 10, `stopped early (${got} chunks)`);
    await eventually(() => h.double.aborted > before, 'the upstream saw the abort');
  } finally {
    h.double.chunkDelay = 2;
  }
});

test('embeddings and the model list', async () => {
  const e = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['one', 'two'] });
  assert.equal(e.data.length, 2);
  assert.equal(e.data[0].embedding.length, h.double.embeddingDims);
  const sent = h.double.lastBody();
  assert.ok(!('max_tokens' in sent) && !('max_completion_tokens' in sent), 'no token field on embeddings');
  const ids: string[] = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert.deepEqual(ids, OPENAI_MODELS);
});

test('every denial is the SDK typed error, with status, code and the catalogue message', async () => {
  const cases: Array<[string, () => Promise<unknown>, new (...a: any[]) => Error, keyof typeof ERRORS]> = [
    ['model', () => client.chat.completions.create({ model: 'forbidden-model', messages }), OpenAI.PermissionDeniedError, 'model_not_allowed'],
    ['cap', () => client.chat.completions.create({ model: 'gpt-4o-mini', messages, max_completion_tokens: 100000 }), OpenAI.PermissionDeniedError, 'max_tokens_exceeded'],
    ['route', () => client.files.list(), OpenAI.PermissionDeniedError, 'route_not_allowed'],
    ['streamed', () => client.chat.completions.create({ model: 'forbidden-model', messages, stream: true }), OpenAI.PermissionDeniedError, 'model_not_allowed'],
    ['responses', () => client.responses.create({ model: 'forbidden-model', input: 'x' }), OpenAI.PermissionDeniedError, 'model_not_allowed'],
    ['key', () => new OpenAI({ baseURL: `${h.url}/v1`, apiKey: 'sk-wrong-0000000000000000000000000000000', maxRetries: 0 }).models.list(), OpenAI.AuthenticationError, 'invalid_api_key'],
  ];
  for (const [what, call, Type, code] of cases) {
    await assert.rejects(call(), (e: unknown) => {
      assert.ok(e instanceof Type, `${what}: ${String(e)}`);
      const err = e as InstanceType<typeof OpenAI.APIError>;
      assert.equal(err.status, ERRORS[code].status, what);
      assert.equal(err.code, code, what);
      assert.ok(err.message.includes(ERRORS[code].message), `${what}: readable message: ${err.message}`);
      return true;
    });
  }
});
