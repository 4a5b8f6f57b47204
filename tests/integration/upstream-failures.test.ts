// Upstream trouble: refused (502), silent (504), circuit breaker (503 circuit_open, then a probe), sanitized errors, /health.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, basePolicy, auth, postJson, ADMIN_KEY, USER_KEY, type Harness, type HarnessOptions } from '../../dev/harness.js';
import { DOUBLE_TRACEBACK } from '../../dev/doubles/lollms-double.js';
import { errorOf, assertNoInternals, closedPort, sleep } from '../helpers/http.js';

const open: Harness[] = [];
after(async () => {
  for (const x of open) await x.close();
});
async function harness(opts: HarnessOptions = {}): Promise<Harness> {
  const x = await startHarness(opts);
  open.push(x);
  return x;
}
const chat = { model: 'llama3-8b-instruct', messages: [{ role: 'user', content: 'hi' }] };

test('upstream refusing connections: 502 upstream_unavailable, and /health says 503 with upstream down', async () => {
  const port = await closedPort();
  const h = await harness({ policy: (_u, d) => basePolicy(`http://127.0.0.1:${port}`, d) });
  const t0 = Date.now();
  const r = await postJson(`${h.url}/v1/chat/completions`, chat, auth(USER_KEY));
  const e = await errorOf(r);
  assert.equal(e.status, 502);
  assert.equal(e.code, 'upstream_unavailable');
  assert.equal(e.type, 'api_error');
  assert.ok(Date.now() - t0 < 1000, 'refused is answered at once');
  assertNoInternals(e.text);
  assert.ok(!e.text.includes(String(port)) && !e.text.includes('ECONNREFUSED'), 'no address or errno in the answer');
  const hl = await fetch(`${h.url}/health`);
  assert.equal(hl.status, 503);
  const body = (await hl.json()) as { status: string; checks: Record<string, string> };
  assert.equal(body.status, 'degraded');
  assert.equal(body.checks.upstream, 'down');
});

test('an upstream silent for timeout_seconds: 504 upstream_timeout, soon after the timeout', async () => {
  const h = await harness({ policy: (u, d) => basePolicy(u, d).replace('timeout_seconds = 2', 'timeout_seconds = 0.3') });
  h.double.misbehave({ kind: 'slow_first_byte', ms: 1500 });
  const t0 = Date.now();
  const r = await postJson(`${h.url}/v1/chat/completions`, chat, auth(USER_KEY));
  const took = Date.now() - t0;
  const e = await errorOf(r);
  assert.equal(e.status, 504);
  assert.equal(e.code, 'upstream_timeout');
  assert.ok(took >= 280 && took < 1200, `answered after ${took} ms`);
  h.double.misbehave(null);
  const ok = await postJson(`${h.url}/v1/chat/completions`, chat, auth(USER_KEY));
  assert.equal(ok.status, 200, 'the next request works');
  await ok.text();
});

test('an upstream that stalls mid-stream for timeout_seconds is cut off (the client does not hang)', async () => {
  const h = await harness({ policy: (u, d) => basePolicy(u, d).replace('timeout_seconds = 2', 'timeout_seconds = 0.3') });
  h.double.misbehave({ kind: 'stall_after_headers', ms: 3000 });
  const t0 = Date.now();
  const r = await postJson(`${h.url}/v1/chat/completions`, { ...chat, stream: true }, auth(USER_KEY));
  assert.equal(r.status, 200);
  await r.text().catch(() => '');
  assert.ok(Date.now() - t0 < 1500, `stream ended after ${Date.now() - t0} ms`);
});

test('circuit breaker: opens after failure_threshold (503 circuit_open fast, Retry-After), probes after recovery', async () => {
  const h = await harness({
    policy: (u, d) =>
      basePolicy(u, d).replace('[upstream.circuit_breaker]\nenabled = false', '[upstream.circuit_breaker]\nenabled = true\nfailure_threshold = 2\nrecovery_timeout_seconds = 0.5'),
  });
  h.double.misbehave({ kind: 'status', status: 500 });
  for (let i = 0; i < 2; i++) {
    const r = await postJson(`${h.url}/v1/chat/completions`, chat, auth(USER_KEY));
    assert.equal(r.status, 502);
    await r.text();
  }
  const seen = h.double.requests.length;
  const t0 = Date.now();
  const open1 = await postJson(`${h.url}/v1/chat/completions`, chat, auth(USER_KEY));
  const e = await errorOf(open1);
  assert.equal(e.status, 503);
  assert.equal(e.code, 'circuit_open');
  assert.ok(Date.now() - t0 < 100, 'an open circuit answers fast');
  assert.ok(Number(open1.headers.get('retry-after')) >= 1, 'Retry-After on circuit_open');
  assert.equal(h.double.requests.length, seen, 'an open circuit does not call the upstream');
  const hl = await fetch(`${h.url}/health`);
  assert.equal(hl.status, 503, '/health reports the open circuit');
  await hl.text();
  // a failing probe after recovery re-opens at once
  await sleep(550);
  const probe1 = await postJson(`${h.url}/v1/chat/completions`, chat, auth(USER_KEY));
  assert.equal(probe1.status, 502, 'the probe went through and failed');
  await probe1.text();
  assert.equal(h.double.requests.length, seen + 1);
  const reopened = await postJson(`${h.url}/v1/chat/completions`, chat, auth(USER_KEY));
  assert.equal((await errorOf(reopened)).code, 'circuit_open');
  // a good probe closes it
  h.double.misbehave(null);
  await sleep(550);
  const probe2 = await postJson(`${h.url}/v1/chat/completions`, chat, auth(USER_KEY));
  assert.equal(probe2.status, 200);
  await probe2.text();
  const next = await postJson(`${h.url}/v1/chat/completions`, chat, auth(USER_KEY));
  assert.equal(next.status, 200, 'closed again');
  await next.text();
});

test('upstream 500 with a traceback: a generic 502 upstream_error, no path, address or trace', async () => {
  const h = await harness();
  for (const status of [500, 503]) {
    h.double.misbehave({ kind: 'status', status, headers: { Server: 'uvicorn/0.29.0', 'X-Debug-Path': '/home/lollms/app.py' } });
    const r = await postJson(`${h.url}/lollms_generate`, { prompt: 'hi', n_predict: 5 }, auth(USER_KEY));
    const e = await errorOf(r);
    assert.equal(e.status, 502);
    assert.equal(e.code, 'upstream_error');
    assertNoInternals(e.text);
    const allHeaders = JSON.stringify([...r.headers]);
    assert.ok(!allHeaders.includes('/home/') && !allHeaders.includes('uvicorn'), `headers leak: ${allHeaders}`);
  }
});

test('upstream 4xx with a traceback: sanitized, keeping the status; a plain 4xx passes unchanged', async () => {
  const h = await harness();
  h.double.misbehave({ kind: 'status', status: 422, body: DOUBLE_TRACEBACK });
  const r = await postJson(`${h.url}/v1/chat/completions`, chat, auth(USER_KEY));
  const e = await errorOf(r);
  assert.equal(e.status, 422);
  assert.equal(e.code, 'upstream_rejected');
  assertNoInternals(e.text);
  h.double.misbehave({ kind: 'status', status: 400, body: '{"detail":"model llama3-9b is not installed on 10.1.2.3"}' });
  const ip = await postJson(`${h.url}/v1/chat/completions`, chat, auth(USER_KEY));
  assert.equal(ip.status, 400);
  assert.ok(!(await ip.text()).includes('10.1.2.3'), 'internal addresses in a 4xx are not shown');
  h.double.misbehave(null);
  const plain = await fetch(`${h.url}/no/such/route`, { headers: auth(ADMIN_KEY) });
  assert.equal(plain.status, 404);
  assert.deepEqual(await plain.json(), { detail: 'Not Found' });
});

test('GET /health: no key needed, {"status","checks"} 200, no version anywhere', async () => {
  const h = await harness();
  for (const method of ['GET', 'HEAD']) {
    const r = await fetch(`${h.url}/health`, { method });
    assert.equal(r.status, 200, method);
    const text = await r.text();
    if (method === 'HEAD') continue;
    const body = JSON.parse(text) as { status: string; checks: Record<string, string> };
    assert.deepEqual(Object.keys(body).sort(), ['checks', 'status']);
    assert.equal(body.status, 'ok');
    assert.equal(body.checks.upstream, 'ok');
    for (const v of Object.values(body.checks)) assert.ok(['ok', 'degraded', 'down'].includes(v));
    assert.ok(!/version|\d+\.\d+\.\d+/i.test(text), `no version in ${text}`);
    assert.equal(r.headers.get('server'), null);
  }
  assert.equal(h.double.requests.length, 0, '/health is answered by the proxy');
  const lines = await h.auditLines();
  assert.ok(lines.some((l) => (l.url as { path?: string } | undefined)?.path === '/health'), '/health is audited');
});
