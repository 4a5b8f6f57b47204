// CORS from [security.cors]: preflights end at the proxy, listed origins get Access-Control-Allow-Origin, others do not.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, auth, USER_KEY, type Harness } from '../../dev/harness.js';

const LISTED = 'http://app.example.test:3000';
const OTHER = 'http://evil.example.test';

let h: Harness;
before(async () => {
  h = await startHarness({
    extra: `
[security.cors]
enabled = true
origins = ["${LISTED}", "http://localhost"]
methods = ["GET", "POST", "OPTIONS"]
allowed_headers = ["Authorization", "Content-Type", "X-API-Key", "X-Request-ID"]
credentials = false
max_age_seconds = 600
`,
  });
});
after(async () => {
  await h.close();
});
beforeEach(() => h.double.misbehave(null));

function preflight(origin: string, path = '/v1/chat/completions', headers = 'content-type,x-api-key'): Promise<Response> {
  return fetch(`${h.url}${path}`, {
    method: 'OPTIONS',
    headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': headers },
  });
}

test('a preflight from a listed origin is answered by the proxy, without a key, and never reaches the upstream', async () => {
  const before = h.double.requests.length;
  const r = await preflight(LISTED);
  assert.ok(r.status === 204 || r.status === 200, `preflight status ${r.status}`);
  assert.equal(await r.text(), '');
  assert.equal(r.headers.get('access-control-allow-origin'), LISTED);
  assert.match(String(r.headers.get('access-control-allow-methods')), /\bPOST\b/);
  const allowed = String(r.headers.get('access-control-allow-headers')).toLowerCase();
  for (const hd of ['x-api-key', 'content-type', 'authorization']) assert.ok(allowed.includes(hd), `allow-headers has ${hd}`);
  assert.equal(r.headers.get('access-control-max-age'), '600');
  assert.equal(r.headers.get('access-control-allow-credentials'), null, 'credentials = false');
  assert.equal(h.double.requests.length, before, 'the upstream never sees a preflight');
});

test('a preflight from an unlisted origin gets no Access-Control-Allow-Origin and still never reaches the upstream', async () => {
  const before = h.double.requests.length;
  for (const origin of [OTHER, 'http://app.example.test:3001', 'https://app.example.test:3000', 'null', `${LISTED}.evil.test`]) {
    const r = await preflight(origin);
    await r.text();
    assert.equal(r.headers.get('access-control-allow-origin'), null, `${origin} must not be allowed`);
    assert.equal(r.headers.get('access-control-allow-headers'), null);
    assert.equal(r.status, 204, `${origin}: the preflight ends at the proxy, not in authentication`);
  }
  assert.equal(h.double.requests.length, before);
});

test('a preflight on a route the key may not use, or an unknown path, still ends at the proxy', async () => {
  const before = h.double.requests.length;
  const r = await preflight(LISTED, '/list_models');
  await r.text();
  assert.ok(r.status === 204 || r.status === 200);
  const u = await preflight(LISTED, '/does/not/exist');
  await u.text();
  assert.ok(u.status === 204 || u.status === 200);
  assert.equal(h.double.requests.length, before);
});

test('a real request from a listed origin gets the origin back (and Vary: Origin)', async () => {
  const r = await fetch(`${h.url}/v1/models`, { headers: auth(USER_KEY, { Origin: LISTED }) });
  assert.equal(r.status, 200);
  await r.text();
  assert.equal(r.headers.get('access-control-allow-origin'), LISTED);
  assert.match(String(r.headers.get('vary')), /origin/i);
});

test('a real request from an unlisted origin gets no Access-Control-Allow-Origin', async () => {
  const r = await fetch(`${h.url}/v1/models`, { headers: auth(USER_KEY, { Origin: OTHER }) });
  await r.text();
  assert.equal(r.headers.get('access-control-allow-origin'), null);
});

test('CORS headers are on denials too, so a browser app can read the error', async () => {
  const r = await fetch(`${h.url}/v1/models`, { headers: { Origin: LISTED } });
  assert.equal(r.status, 401);
  await r.text();
  assert.equal(r.headers.get('access-control-allow-origin'), LISTED);
});

test('the upstream cannot widen CORS: its Access-Control-* headers are dropped', async () => {
  h.double.misbehave({
    kind: 'status',
    status: 200,
    body: '{"object":"list","data":[]}',
    headers: { 'Access-Control-Allow-Origin': '*', 'Access-Control-Allow-Credentials': 'true' },
  });
  const r = await fetch(`${h.url}/v1/models`, { headers: auth(USER_KEY, { Origin: OTHER }) });
  assert.equal(r.status, 200);
  await r.text();
  assert.equal(r.headers.get('access-control-allow-origin'), null);
  assert.equal(r.headers.get('access-control-allow-credentials'), null);
  const l = await fetch(`${h.url}/v1/models`, { headers: auth(USER_KEY, { Origin: LISTED }) });
  await l.text();
  assert.equal(l.headers.get('access-control-allow-origin'), LISTED, 'the policy, not the upstream, decides');
});

test('permissive mode: a preflight from an unlisted origin still ends at the proxy, never upstream', async () => {
  const p = await startHarness({ extra: `\n[security]\nmode = "permissive"\n\n[security.cors]\norigins = ["${LISTED}"]\n` });
  try {
    for (const origin of [OTHER, LISTED]) {
      const r = await fetch(`${p.url}/v1/chat/completions`, {
        method: 'OPTIONS',
        headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'x-api-key' },
      });
      await r.text();
      assert.equal(r.status, 204, origin);
    }
    assert.equal(p.double.requests.length, 0, 'the upstream never sees a preflight');
  } finally {
    await p.close();
  }
});
