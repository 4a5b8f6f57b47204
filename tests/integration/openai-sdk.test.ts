// The official openai SDK through the proxy, changed only in baseURL and apiKey.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI, { APIError } from 'openai';
import { startHarness, USER_KEY, type Harness } from '../../dev/harness.js';
import { DEFAULT_RESPONSE_TEXT, DOUBLE_MODELS } from '../../dev/doubles/lollms-double.js';

let h: Harness;
let client: OpenAI;
before(async () => {
  h = await startHarness({ double: { chatStream: 'sse' } });
  client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: USER_KEY, maxRetries: 0, timeout: 5000 });
});
after(async () => {
  await h.close();
});

const messages = [{ role: 'user' as const, content: 'Say hello' }];

test('chat, not streamed', async () => {
  const c = await client.chat.completions.create({ model: 'llama3-8b-instruct', messages });
  assert.equal(c.object, 'chat.completion');
  assert.equal(c.choices[0].message.role, 'assistant');
  assert.equal(c.choices[0].message.content, DEFAULT_RESPONSE_TEXT);
  assert.ok(c.usage && c.usage.total_tokens > 0);
  const up = h.double.lastRequest()!;
  assert.equal(up.headers.authorization, 'Bearer upstream-secret-value-123', 'the SDK key is replaced by the upstream key');
});

test('chat, streamed (SSE)', async () => {
  const stream = await client.chat.completions.create({ model: 'llama3-8b-instruct', messages, stream: true, stream_options: { include_usage: true } });
  let text = '';
  let chunks = 0;
  let finish: string | null | undefined;
  let usage: OpenAI.CompletionUsage | null | undefined;
  for await (const chunk of stream) {
    chunks++;
    text += chunk.choices[0]?.delta?.content ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
    usage = chunk.usage ?? usage;
  }
  assert.ok(chunks > 3, `${chunks} chunks`);
  assert.equal(text, DEFAULT_RESPONSE_TEXT);
  assert.equal(finish, 'stop');
  assert.ok(usage && usage.total_tokens > 0);
});

test('models list', async () => {
  const ids: string[] = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert.deepEqual(ids, DOUBLE_MODELS);
});

test('a denial surfaces as an APIError with status, code, type and request id', async () => {
  const before = h.double.requests.length;
  await assert.rejects(
    client.chat.completions.create({ model: 'gpt-4o', messages }),
    (err: unknown) => {
      assert.ok(err instanceof APIError, `not an APIError: ${String(err)}`);
      assert.ok(err instanceof OpenAI.PermissionDeniedError);
      assert.equal(err.status, 403);
      assert.equal(err.code, 'model_not_allowed');
      assert.equal(err.type, 'permission_error');
      assert.ok(err.requestID, 'the SDK reads X-Request-ID');
      return true;
    },
  );
  assert.equal(h.double.requests.length, before);
});

test('a bad key surfaces as AuthenticationError 401 invalid_api_key', async () => {
  const bad = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: 'sk-not-a-valid-key-0000000000000000000000', maxRetries: 0 });
  await assert.rejects(bad.models.list(), (err: unknown) => {
    assert.ok(err instanceof OpenAI.AuthenticationError);
    assert.equal(err.status, 401);
    assert.equal(err.code, 'invalid_api_key');
    return true;
  });
});

test('a token cap denial and a streamed denial keep their codes', async () => {
  await assert.rejects(client.chat.completions.create({ model: 'llama3-8b-instruct', messages, max_tokens: 100000 }), (err: unknown) => {
    assert.ok(err instanceof APIError);
    assert.equal(err.status, 403);
    assert.equal(err.code, 'max_tokens_exceeded');
    return true;
  });
  await assert.rejects(client.chat.completions.create({ model: 'gpt-4o', messages, stream: true }), (err: unknown) => {
    assert.ok(err instanceof APIError);
    assert.equal(err.code, 'model_not_allowed');
    return true;
  });
});
