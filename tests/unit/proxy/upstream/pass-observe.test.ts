// Usage read from a non-streamed answer relayed unbuffered: whole small answers, the tail of large ones; route families and endpoints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PassObserver, lastUsage } from '../../../../proxy/upstream/pass-observe.js';
import { endpointOf, routeFamily } from '../../../../kernel/endpoints.js';
import type { RequestContext } from '../../../../kernel/context.js';

const ctx = (): RequestContext => ({ usage: {}, completionChars: 0 }) as unknown as RequestContext;

function feed(text: string, json: boolean, pieces: number[]): RequestContext {
  const c = ctx();
  const o = new PassObserver(c, json);
  const buf = Buffer.from(text);
  let at = 0;
  for (const n of pieces) {
    if (at >= buf.length) break;
    o.push(buf.subarray(at, at + n));
    at += n;
  }
  if (at < buf.length) o.push(buf.subarray(at));
  o.end();
  return c;
}

test('a small JSON answer is parsed whole: usage and answer length', () => {
  const c = feed(JSON.stringify({ choices: [{ message: { content: 'hello' } }], usage: { prompt_tokens: 3, completion_tokens: 2 } }), true, [5, 7]);
  assert.deepEqual(c.usage, { input: 3, output: 2 });
  assert.equal(c.completionChars, 5);
});

test('a large JSON answer (several MiB of vectors, any chunking) still yields the usage at its end', () => {
  const data = Array.from({ length: 40 }, (_, i) => ({ index: i, embedding: Array.from({ length: 4000 }, (_, k) => Math.sin(i + k)) }));
  const text = JSON.stringify({ object: 'list', data, model: 'm', usage: { prompt_tokens: 77, total_tokens: 77 } });
  assert.ok(text.length > 2 << 20);
  fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 300_000 }), { minLength: 1, maxLength: 40 }), (pieces) => {
    const c = feed(text, true, pieces);
    assert.equal(c.usage.input, 77);
    assert.equal(c.completionChars, 0, 'vectors are not answer text');
  }), { numRuns: 15 });
});

test('lastUsage: braces and quotes inside strings, no usage, a "usage" that is not an object', () => {
  assert.deepEqual(lastUsage('{"a":"}{\\"","usage":{"input_tokens":4,"note":"}"}}'), { input_tokens: 4, note: '}' });
  assert.equal(lastUsage('{"data":[1,2,3]}'), undefined);
  assert.equal(lastUsage('{"usage":"none"}'), undefined);
  assert.equal(lastUsage('{"usage":{"prompt_tokens":1'), undefined, 'cut off: nothing');
});

test('route families and generating endpoints', () => {
  assert.equal(routeFamily('/v1/chat/completions'), 'openai');
  assert.equal(routeFamily('/ollama/v1/chat/completions'), 'openai');
  assert.equal(routeFamily('/api/chat'), 'ollama');
  assert.equal(routeFamily('/lollms_generate'), 'lollms');
  assert.equal(routeFamily('/generate'), 'lollms');
  assert.equal(routeFamily('/apiary'), 'lollms');
  assert.equal(endpointOf('/lollms/v1/chat/completions'), 'chat');
  assert.equal(endpointOf('/v1/embeddings'), 'other');
  assert.equal(endpointOf('/v1/models'), 'other');
  assert.equal(endpointOf('/lollms_tokenize'), 'other');
  assert.equal(endpointOf('/v1/responses'), 'responses');
  assert.equal(endpointOf('/v1/messages'), 'messages');
});
