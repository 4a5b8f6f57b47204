// Request ids, W3C trace context, and security headers on every answer (errors included).
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, auth, postJson, ADMIN_KEY, USER_KEY, type Harness } from '../../dev/harness.js';
import { errorOf, requestLines } from '../helpers/http.js';

const HEADERS: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Strict-Transport-Security': 'max-age=31536000; includeSubDomains',
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
  'Referrer-Policy': 'strict-origin-when-cross-origin',
  'Permissions-Policy': 'geolocation=(), microphone=(), camera=()',
  'X-Guard-Test': 'from-the-policy',
};
const valuesToml = Object.entries(HEADERS)
  .map(([k, v]) => `"${k}" = "${v}"`)
  .join('\n');

let h: Harness;
before(async () => {
  h = await startHarness({ extra: `\n[security.headers.values]\n${valuesToml}\n` });
});
after(async () => {
  await h.close();
});
beforeEach(() => h.double.misbehave(null));

const chat = { model: 'llama3-8b-instruct', messages: [{ role: 'user', content: 'hi' }] };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

test('a sane inbound X-Request-ID is kept, echoed and sent upstream', async () => {
  const id = 'client-req_42.abc:7@x';
  const r = await postJson(`${h.url}/v1/chat/completions`, chat, auth(USER_KEY, { 'X-Request-ID': id }));
  assert.equal(r.status, 200);
  await r.text();
  assert.equal(r.headers.get('x-request-id'), id);
  assert.equal(h.double.lastRequest()!.headers['x-request-id'], id);
});

test('without an inbound id the proxy makes one, echoes it, sends it upstream and audits it', async () => {
  const r = await postJson(`${h.url}/v1/chat/completions`, chat, auth(USER_KEY));
  await r.text();
  const id = r.headers.get('x-request-id');
  assert.match(String(id), UUID);
  assert.equal(h.double.lastRequest()!.headers['x-request-id'], id);
  const lines = requestLines(await h.auditLines());
  assert.ok(lines.some((l) => l.http?.request?.id === id), 'the audit line carries the same request id');
});

test('an insane inbound X-Request-ID is replaced, never echoed nor forwarded', async () => {
  const insane = ['x'.repeat(300), 'has spaces in it', 'tab\there', '<script>alert(1)</script>', 'semi;colon', 'ünïcode'];
  for (const bad of insane) {
    const r = await fetch(`${h.url}/v1/models`, { headers: auth(USER_KEY, { 'X-Request-ID': bad }) });
    await r.text();
    assert.equal(r.status, 200);
    const got = r.headers.get('x-request-id');
    assert.notEqual(got, bad, `"${bad.slice(0, 20)}" must be replaced`);
    assert.match(String(got), UUID);
    assert.equal(h.double.lastRequest()!.headers['x-request-id'], got);
  }
});

test('two requests without ids get different ids', async () => {
  const a = await fetch(`${h.url}/v1/models`, { headers: auth(USER_KEY) });
  const b = await fetch(`${h.url}/v1/models`, { headers: auth(USER_KEY) });
  await a.text();
  await b.text();
  assert.notEqual(a.headers.get('x-request-id'), b.headers.get('x-request-id'));
});

test('a valid traceparent keeps its trace id upstream with a new parent span', async () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const parent = '00f067aa0ba902b7';
  const r = await fetch(`${h.url}/v1/models`, { headers: auth(USER_KEY, { traceparent: `00-${traceId}-${parent}-01` }) });
  await r.text();
  const m = TRACEPARENT.exec(String(h.double.lastRequest()!.headers.traceparent));
  assert.ok(m, 'upstream got a well-formed traceparent');
  assert.equal(m[1], traceId);
  assert.notEqual(m[2], parent, 'the proxy is a new span');
  assert.equal(m[3], '01', 'flags kept');
  const lines = requestLines(await h.auditLines());
  assert.equal(lines[lines.length - 1].trace?.id, traceId, 'audit line has the trace id');
});

test('an invalid or all-zero traceparent starts a new trace', async () => {
  const seen = new Set<string>();
  for (const tp of ['garbage', '00-00000000000000000000000000000000-00f067aa0ba902b7-01', '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01']) {
    const r = await fetch(`${h.url}/v1/models`, { headers: auth(USER_KEY, { traceparent: tp }) });
    await r.text();
    const m = TRACEPARENT.exec(String(h.double.lastRequest()!.headers.traceparent));
    assert.ok(m, `upstream got a well-formed traceparent for "${tp}"`);
    assert.notEqual(m[1], '0'.repeat(32));
    assert.ok(!tp.toLowerCase().includes(m[1]), `"${tp}" is not continued`);
    seen.add(m[1]);
  }
  assert.equal(seen.size, 3, 'each request gets its own trace');
});

function assertSecurityHeaders(r: Response, what: string): void {
  for (const [k, v] of Object.entries(HEADERS)) assert.equal(r.headers.get(k), v, `${what}: ${k}`);
  assert.equal(r.headers.get('x-powered-by'), null, `${what}: no X-Powered-By`);
  assert.equal(r.headers.get('server'), null, `${what}: no Server`);
  assert.ok(r.headers.get('x-request-id'), `${what}: X-Request-ID`);
}

test('security headers on a 200, streamed or not', async () => {
  const r = await postJson(`${h.url}/v1/chat/completions`, chat, auth(USER_KEY));
  await r.text();
  assertSecurityHeaders(r, '200');
  const s = await postJson(`${h.url}/v1/chat/completions`, { ...chat, stream: true }, auth(USER_KEY));
  await s.text();
  assertSecurityHeaders(s, 'streamed 200');
});

test('security headers on 401, 403, 400 and 413 denials', async () => {
  const cases: Array<[Promise<Response>, number]> = [
    [postJson(`${h.url}/v1/chat/completions`, chat), 401],
    [fetch(`${h.url}/list_models`, { headers: auth(USER_KEY) }), 403],
    [postJson(`${h.url}/v1/chat/completions`, '{"model":', auth(USER_KEY)), 400],
    [postJson(`${h.url}/v1/chat/completions`, { ...chat, pad: 'z'.repeat(1_100_000) }, auth(USER_KEY)), 413],
  ];
  for (const [p, status] of cases) {
    const r = await p;
    assert.equal(r.status, status);
    await errorOf(r);
    assertSecurityHeaders(r, String(status));
  }
});

test('security headers on a 404 from the upstream, and upstream headers cannot override them', async () => {
  const r = await fetch(`${h.url}/no/such/endpoint`, { headers: auth(ADMIN_KEY) });
  assert.equal(r.status, 404);
  await r.text();
  assertSecurityHeaders(r, 'upstream 404');
  h.double.misbehave({ kind: 'status', status: 200, body: 'ok', headers: { 'X-Frame-Options': 'ALLOWALL', 'Content-Security-Policy': "default-src *", 'X-Guard-Test': 'upstream' } });
  const o = await fetch(`${h.url}/v1/models`, { headers: auth(USER_KEY) });
  await o.text();
  assertSecurityHeaders(o, 'upstream tries to override');
});

test('security headers on a 502 (upstream 500) and a health answer', async () => {
  h.double.misbehave({ kind: 'status', status: 500 });
  const r = await postJson(`${h.url}/v1/chat/completions`, chat, auth(USER_KEY));
  assert.equal(r.status, 502);
  await errorOf(r);
  assertSecurityHeaders(r, '502');
  h.double.misbehave(null);
  const hl = await fetch(`${h.url}/health`);
  await hl.text();
  assertSecurityHeaders(hl, 'health');
});
