// Every denial the proxy gives, produced live: the OpenAI error shape, the catalogue's status/type/message, nothing internal.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, auth, postJson, ADMIN_KEY, USER_KEY, EXPIRED_KEY, type Harness } from '../../dev/harness.js';
import { DOUBLE_TRACEBACK } from '../../dev/doubles/lollms-double.js';
import { ERRORS, type ErrorCode } from '../../kernel/errors.js';
import { errorOf, assertNoInternals, rawRequest } from '../helpers/http.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h.close();
});
beforeEach(() => h.double.misbehave(null));

const chat = (extra: Record<string, unknown> = {}) => ({ model: 'llama3-8b-instruct', messages: [{ role: 'user', content: 'hi' }], ...extra });
const url = (p: string): string => `${h.url}${p}`;

const CASES: Array<[ErrorCode, () => Promise<Response>]> = [
  ['missing_api_key', () => fetch(url('/v1/models'))],
  ['invalid_api_key', () => fetch(url('/v1/models'), { headers: auth('k'.repeat(40)) })],
  ['expired_api_key', () => fetch(url('/v1/models'), { headers: auth(EXPIRED_KEY) })],
  ['route_not_allowed', () => fetch(url('/list_models'), { headers: auth(USER_KEY) })],
  ['model_not_allowed', () => postJson(url('/v1/chat/completions'), chat({ model: 'gpt-4o' }), auth(USER_KEY))],
  ['max_tokens_exceeded', () => postJson(url('/v1/chat/completions'), chat({ max_tokens: 4096 }), auth(USER_KEY))],
  ['invalid_json', () => postJson(url('/v1/chat/completions'), '{"a":', auth(USER_KEY))],
  ['body_not_object', () => postJson(url('/v1/chat/completions'), '"text"', auth(USER_KEY))],
  ['json_too_deep', () => postJson(url('/v1/chat/completions'), `{"a":${'['.repeat(70)}${']'.repeat(70)}}`, auth(USER_KEY))],
  ['unsupported_media_type', () => fetch(url('/v1/chat/completions'), { method: 'POST', headers: auth(USER_KEY, { 'Content-Type': 'application/xml' }), body: '<a/>' })],
  ['body_too_large', () => postJson(url('/v1/chat/completions'), chat({ pad: 'p'.repeat(1_100_000) }), auth(USER_KEY))],
  ['input_too_long', () => postJson(url('/v1/chat/completions'), chat({ messages: [{ role: 'user', content: 'l'.repeat(50_001) }] }), auth(USER_KEY))],
  ['null_bytes', () => postJson(url('/v1/chat/completions'), chat({ messages: [{ role: 'user', content: 'a\u0000' }] }), auth(USER_KEY))],
  ['invalid_user_id', () => postJson(url('/v1/chat/completions'), chat({ user: 'x y' }), auth(USER_KEY))],
  ['url_not_allowed', () => postJson(url('/v1/chat/completions'), chat({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://10.0.0.1/a.png' } }] }] }), auth(USER_KEY))],
  ['bad_request', () => fetch(url('/v1/%252e%252e/x'), { headers: auth(USER_KEY) })],
];

for (const [code, send] of CASES) {
  test(`${code}: ${ERRORS[code].status} ${ERRORS[code].type}, catalogue message, JSON, no-store`, async () => {
    const r = await send();
    const e = await errorOf(r);
    assert.equal(e.code, code);
    assert.equal(e.status, ERRORS[code].status);
    assert.equal(e.type, ERRORS[code].type);
    assert.equal(e.message, ERRORS[code].message, 'no detail added to the message outside debug');
    assert.match(String(r.headers.get('content-type')), /^application\/json/);
    assert.equal(r.headers.get('cache-control'), 'no-store');
    assertNoInternals(e.text);
    if (ERRORS[code].status === 429) assert.ok(r.headers.get('retry-after'));
    if (ERRORS[code].status === 401) assert.ok(!e.text.includes('k'.repeat(40)) && !e.text.includes(EXPIRED_KEY), 'the key is not echoed');
  });
}

test('upstream 5xx (traceback, HTML page, JSON with paths) always becomes the generic upstream_error', async () => {
  const bodies = [undefined, '<html><body><h1>502 Bad Gateway</h1><hr>nginx/1.25.3</body></html>', '{"detail":"CUDA out of memory at /opt/lollms/bindings/llama.py:88"}'];
  for (const body of bodies) {
    h.double.misbehave({ kind: 'status', status: 500, body });
    const r = await postJson(url('/v1/chat/completions'), chat(), auth(USER_KEY));
    const e = await errorOf(r);
    assert.equal(e.status, 502);
    assert.equal(e.code, 'upstream_error');
    assert.equal(e.message, ERRORS.upstream_error.message);
    assertNoInternals(e.text);
    assert.ok(!e.text.includes('nginx') && !e.text.includes('CUDA'));
  }
});

test('upstream 4xx with a traceback keeps its status, sanitized as upstream_rejected', async () => {
  for (const status of [400, 404, 422]) {
    h.double.misbehave({ kind: 'status', status, body: DOUBLE_TRACEBACK });
    const r = await fetch(url('/list_models'), { headers: auth(ADMIN_KEY) });
    const e = await errorOf(r);
    assert.equal(e.status, status);
    assert.equal(e.code, 'upstream_rejected');
    assert.equal(e.type, ERRORS.upstream_rejected.type);
    assertNoInternals(e.text);
  }
});

test('headers over max_header_bytes: 431 headers_too_large from the listener, same error shape', async () => {
  const r = await rawRequest(url('/v1/models'), { headers: { ...auth(USER_KEY), 'X-Big': 'b'.repeat(20_000) } });
  assert.equal(r.status, 431);
  const body = JSON.parse(r.body) as { error: { code: string; type: string; message: string } };
  assert.deepEqual(Object.keys(body), ['error']);
  assert.equal(body.error.code, 'headers_too_large');
  assert.equal(body.error.type, ERRORS.headers_too_large.type);
  assertNoInternals(r.body);
});

test('a malformed request line: 400 from the listener, with no internals', async () => {
  const net = await import('node:net');
  const port = Number(new URL(h.url).port);
  const text = await new Promise<string>((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write('GARBAGE / HTTP/9.9\r\n\r\n'));
    let out = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (out += d));
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
  assert.match(text, /^HTTP\/1\.1 400 /);
  const body = text.slice(text.indexOf('\r\n\r\n') + 4);
  assert.equal((JSON.parse(body) as { error: { code: string } }).error.code, 'bad_request');
  assertNoInternals(body);
});
