// Security modes: permissive (would-be denials audited as would_deny, the request passes) and disabled (pure proxy, still audited).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, auth, postJson, USER_KEY, type Harness } from '../../dev/harness.js';
import { errorOf, eventsOf, requestLines } from '../helpers/http.js';

let permissive: Harness;
let disabled: Harness;
let off: Harness; // security.enabled = false
before(async () => {
  permissive = await startHarness({ extra: '\n[security]\nmode = "permissive"\n' });
  disabled = await startHarness({ extra: '\n[security]\nmode = "disabled"\n' });
  off = await startHarness({ extra: '\n[security]\nenabled = false\n' });
});
after(async () => {
  for (const x of [permissive, disabled, off]) await x?.close();
});

const chat = (extra: Record<string, unknown> = {}) => ({ model: 'llama3-8b-instruct', messages: [{ role: 'user', content: 'hi' }], ...extra });

/** Sends one request, expects it to pass to the upstream, and returns the would_deny codes audited for it. */
async function passes(h: Harness, id: string, send: (headers: Record<string, string>) => Promise<Response>): Promise<string[]> {
  const before = h.double.requests.length;
  const r = await send({ 'X-Request-ID': id });
  await r.text();
  assert.ok(r.status < 400, `${id}: ${r.status}`);
  assert.equal(h.double.requests.length, before + 1, `${id}: the upstream received the request`);
  assert.equal(h.double.lastRequest()!.headers['x-request-id'], id);
  const lines = await h.auditLines();
  const req = requestLines(lines).find((l) => l.http?.request?.id === id);
  assert.ok(req, `${id}: request line`);
  assert.equal(req.lollms_guard?.decision, 'would_deny', `${id}: the request line says would_deny`);
  return eventsOf(lines, 'would_deny')
    .filter((e) => e.http?.request?.id === id)
    .map((e) => e.lollms_guard?.error?.code as string);
}

test('permissive: a request without a key passes and is audited as would_deny missing_api_key', async () => {
  const codes = await passes(permissive, 'perm-1', (hd) => postJson(`${permissive.url}/v1/chat/completions`, chat(), hd));
  assert.deepEqual(codes, ['missing_api_key']);
});

test('permissive: a wrong key, an unlisted route, a model and a token cap all pass, each audited', async () => {
  assert.deepEqual(await passes(permissive, 'perm-2', (hd) => fetch(`${permissive.url}/list_models`, { headers: auth('q'.repeat(40), hd) })), ['invalid_api_key', 'route_not_allowed']);
  assert.deepEqual(await passes(permissive, 'perm-3', (hd) => postJson(`${permissive.url}/v1/chat/completions`, chat({ model: 'gpt-4o', max_tokens: 99999 }), auth(USER_KEY, hd))), ['model_not_allowed', 'max_tokens_exceeded']);
  assert.equal(JSON.parse(permissive.double.lastRequest()!.body).max_tokens, 99999, 'the body is not rewritten for a would-be denial');
  assert.deepEqual(await passes(permissive, 'perm-4', (hd) => postJson(`${permissive.url}/v1/chat/completions`, chat({ user: 'not valid!' }), auth(USER_KEY, hd))), ['invalid_user_id']);
  assert.deepEqual(await passes(permissive, 'perm-5', (hd) => postJson(`${permissive.url}/v1/chat/completions`, chat({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'http://169.254.169.254/' } }] }] }), auth(USER_KEY, hd))), ['url_not_allowed']);
});

test('permissive: a body too large or nested too deep is still refused (cannot be forwarded safely)', async () => {
  const before = permissive.double.requests.length;
  const big = await postJson(`${permissive.url}/v1/chat/completions`, chat({ pad: 'x'.repeat(1_100_000) }), auth(USER_KEY));
  assert.equal((await errorOf(big)).code, 'body_too_large');
  const deep = await postJson(`${permissive.url}/v1/chat/completions`, `{"a":${'['.repeat(100)}${']'.repeat(100)}}`, auth(USER_KEY));
  assert.equal((await errorOf(deep)).code, 'json_too_deep');
  assert.equal(permissive.double.requests.length, before);
});

test('permissive: a good request is audited as allowed, with no would_deny', async () => {
  const r = await postJson(`${permissive.url}/v1/chat/completions`, chat(), auth(USER_KEY, { 'X-Request-ID': 'perm-ok' }));
  assert.equal(r.status, 200);
  await r.text();
  const lines = await permissive.auditLines();
  const req = requestLines(lines).find((l) => l.http?.request?.id === 'perm-ok');
  assert.notEqual(req?.lollms_guard?.decision, 'would_deny');
  assert.equal(eventsOf(lines, 'would_deny').filter((e) => e.http?.request?.id === 'perm-ok').length, 0);
});

for (const [name, get] of [['mode = "disabled"', () => disabled], ['security.enabled = false', () => off]] as const) {
  test(`${name}: a pure proxy, no key needed, any route, every request audited`, async () => {
    const h = get();
    const before = h.double.requests.length;
    const a = await postJson(`${h.url}/v1/chat/completions`, chat({ model: 'any-model' }), { 'X-Request-ID': 'dis-1' });
    assert.equal(a.status, 200);
    await a.text();
    const b = await fetch(`${h.url}/list_models`, { headers: { 'X-API-Key': 'not-a-key', 'X-Request-ID': 'dis-2' } });
    assert.equal(b.status, 200);
    await b.text();
    assert.equal(h.double.requests.length, before + 2, 'both reached the upstream');
    const up = h.double.lastRequest()!.headers;
    assert.equal(up['x-api-key'], undefined, 'client credentials are still never forwarded');
    assert.equal(up.authorization, 'Bearer upstream-secret-value-123');
    const ids = requestLines(await h.auditLines()).map((l) => l.http?.request?.id);
    assert.ok(ids.includes('dis-1') && ids.includes('dis-2'), 'still audited');
    const big = await postJson(`${h.url}/v1/chat/completions`, chat({ pad: 'x'.repeat(1_100_000) }));
    assert.equal(big.status, 413, 'the body limit still holds');
    await big.text();
  });
}
