// End to end through a real proxy and a real LoLLMS double: auth, authorization, validation, forwarding, audit.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, auth, postJson, ADMIN_KEY, USER_KEY, OLD_KEY, EXPIRED_KEY, type Harness } from '../../dev/harness.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h.close();
});

const chat = (extra: Record<string, unknown> = {}) => ({ model: 'llama3-8b-instruct', messages: [{ role: 'user', content: 'Say hello' }], ...extra });

test('a request without a key gets 401 missing_api_key as an OpenAI-style error', async () => {
  const r = await postJson(`${h.url}/v1/chat/completions`, chat());
  assert.equal(r.status, 401);
  const b = (await r.json()) as { error: { code: string; type: string; message: string } };
  assert.equal(b.error.code, 'missing_api_key');
  assert.equal(b.error.type, 'authentication_error');
  assert.ok(b.error.message.length > 0);
  assert.equal(h.double.requests.length, 0);
});

test('a wrong key gets 401 invalid_api_key, X-API-Key works too', async () => {
  const r = await postJson(`${h.url}/v1/chat/completions`, chat(), auth('x'.repeat(40)));
  assert.equal(r.status, 401);
  assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'invalid_api_key');
  const ok = await postJson(`${h.url}/v1/chat/completions`, chat(), { 'X-API-Key': USER_KEY });
  assert.equal(ok.status, 200);
});

test('an expired key gets 401 expired_api_key; a stale key works and is audited as stale', async () => {
  const r = await postJson(`${h.url}/v1/chat/completions`, chat(), auth(EXPIRED_KEY));
  assert.equal(r.status, 401);
  assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'expired_api_key');
  const s = await postJson(`${h.url}/v1/chat/completions`, chat(), auth(OLD_KEY));
  assert.equal(s.status, 200);
  await s.text();
  const lines = await h.auditLines();
  assert.ok(lines.some((l) => (l.event as { action?: string })?.action === 'stale_key'), 'stale_key event');
  assert.ok(lines.some((l) => (l.event as { action?: string })?.action === 'expired_key'), 'expired_key event');
});

test('non-streamed chat is forwarded with the upstream key, never the client key, and an id', async () => {
  const r = await postJson(`${h.url}/v1/chat/completions`, chat(), auth(USER_KEY, { 'X-Request-ID': 'req-abc-123', Cookie: 'session=1' }));
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('x-request-id'), 'req-abc-123');
  const b = (await r.json()) as { choices: Array<{ message: { content: string } }> };
  assert.ok(b.choices[0].message.content.length > 0);
  const up = h.double.lastRequest()!;
  assert.equal(up.headers.authorization, 'Bearer upstream-secret-value-123');
  assert.equal(up.headers['x-api-key'], undefined);
  assert.equal(up.headers.cookie, undefined);
  assert.equal(up.headers['x-request-id'], 'req-abc-123');
  assert.match(String(up.headers.traceparent), /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
  assert.equal(up.headers['x-forwarded-for'], '127.0.0.1');
  // the role cap was written in, since the client asked for no limit
  assert.equal(JSON.parse(up.body).max_tokens, 512);
  // version headers of the upstream are dropped, security headers are added
  assert.equal(r.headers.get('server'), null);
  assert.equal(r.headers.get('x-powered-by'), null);
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
});

test('authorization: route, model and token cap', async () => {
  const route = await fetch(`${h.url}/list_models`, { headers: auth(USER_KEY) });
  assert.equal(route.status, 403);
  // A native LoLLMS route: the shape lollms-webui answers failures with.
  const native = (await route.json()) as { status: boolean; error: string; code: string };
  assert.equal(native.code, 'route_not_allowed');
  assert.equal(native.status, false);
  assert.equal(typeof native.error, 'string');
  const admin = await fetch(`${h.url}/list_models`, { headers: auth(ADMIN_KEY) });
  assert.equal(admin.status, 200);
  const model = await postJson(`${h.url}/v1/chat/completions`, chat({ model: 'gpt-4o' }), auth(USER_KEY));
  assert.equal(model.status, 403);
  assert.equal(((await model.json()) as { error: { code: string } }).error.code, 'model_not_allowed');
  const cap = await postJson(`${h.url}/v1/chat/completions`, chat({ max_tokens: 100000 }), auth(USER_KEY));
  assert.equal(cap.status, 403);
  assert.equal(((await cap.json()) as { error: { code: string } }).error.code, 'max_tokens_exceeded');
  const minus = await postJson(`${h.url}/lollms_generate`, { prompt: 'hi', n_predict: -1, stream: false }, auth(USER_KEY));
  assert.equal(minus.status, 200);
  await minus.text();
  assert.equal(JSON.parse(h.double.lastRequest()!.body).n_predict, 512);
});

test('path tricks cannot reach a route the role does not allow', async () => {
  for (const p of ['/v1/../list_models', '/v1/models/..%2f..%2flist_models', '//list_models', '/v1/%2e%2e/list_models', '/list_models.', '/v1/models/%2E%2E/%2E%2E/list_models']) {
    const before = h.double.requests.length;
    const r = await fetch(`${h.url}${p}`, { headers: auth(USER_KEY) });
    assert.ok(r.status === 403 || r.status === 400, `${p} -> ${r.status}`);
    await r.text();
    assert.equal(h.double.requests.length, before, `${p} must not reach the upstream`);
  }
});

test('validation: bad JSON, not an object, too long, null bytes, bad user, too large', async () => {
  const cases: Array<[unknown, number, string]> = [
    ['{"model":', 400, 'invalid_json'],
    ['[1,2]', 400, 'body_not_object'],
    [chat({ messages: [{ role: 'user', content: 'x'.repeat(50001) }] }), 400, 'input_too_long'],
    [chat({ messages: [{ role: 'user', content: 'a\u0000b' }] }), 400, 'null_bytes'],
    [chat({ user: 'bad user!' }), 400, 'invalid_user_id'],
    [chat({ messages: [{ role: 'user', content: 'y'.repeat(1_100_000) }] }), 413, 'body_too_large'],
  ];
  for (const [body, status, code] of cases) {
    const r = await postJson(`${h.url}/v1/chat/completions`, body, auth(USER_KEY));
    assert.equal(r.status, status, code);
    assert.equal(((await r.json()) as { error: { code: string } }).error.code, code);
  }
  const media = await fetch(`${h.url}/v1/chat/completions`, { method: 'POST', headers: { ...auth(USER_KEY), 'Content-Type': 'text/plain' }, body: 'hello' });
  assert.equal(media.status, 415);
});

test('the audit log holds one line per request, ECS fields, and never a key or prompt text', async () => {
  const r = await postJson(`${h.url}/v1/chat/completions`, chat({ messages: [{ role: 'user', content: 'TOP-SECRET-PROMPT-TEXT' }] }), auth(USER_KEY));
  await r.text();
  const lines = await h.auditLines();
  const raw = JSON.stringify(lines);
  for (const secret of [ADMIN_KEY, USER_KEY, 'upstream-secret-value-123', 'TOP-SECRET-PROMPT-TEXT', 'Hello from the LoLLMS double']) {
    assert.ok(!raw.includes(secret), `audit must not contain ${secret.slice(0, 12)}`);
  }
  const req = lines.filter((l) => (l.event as { action?: string })?.action === 'http_request' || (l.event as { kind?: string })?.kind === 'event' && (l.http as unknown));
  assert.ok(req.length > 0);
  const last = req[req.length - 1] as Record<string, any>;
  assert.equal(last['ecs']?.version !== undefined, true);
  assert.equal(last.user.id, 'team-app');
  assert.equal(last.http.response.status_code, 200);
  assert.equal(last.url.path, '/v1/chat/completions');
});

test('the proxy\'s key parameter (server.websocket.query_key_param, any case) is never forwarded on HTTP; other parameters stay byte for byte', async () => {
  const before = h.double.requests.length;
  const r = await postJson(`${h.url}/v1/chat/completions?a=%20b&api_key=${USER_KEY}&API_KEY=${USER_KEY}&%61pi_key=${USER_KEY}&z=1`, chat(), auth(USER_KEY));
  assert.equal(r.status, 200);
  await r.text();
  assert.equal(h.double.requests.length, before + 1);
  const sent = h.double.requests[before];
  assert.equal(sent.url, '/v1/chat/completions?a=%20b&z=1');
  assert.ok(!JSON.stringify(sent.headers).includes(USER_KEY));
});
