// Regressions: answers that end before the upstream's (request_timeout), probes without a verdict,
// unreadable bodies under model rules, refused reloads, and audit lines of answers cut at shutdown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHarness, auth, postJson, basePolicy, USER_KEY } from '../../dev/harness.js';

const chat = { model: 'llama3-8b', messages: [{ role: 'user', content: 'hi' }] };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('an upstream answer arriving after request_timeout neither crashes the proxy nor keeps the upstream busy', async () => {
  const h = await startHarness({ policy: (u, d) => basePolicy(u, d).replace('shutdown_grace_seconds = 2', 'shutdown_grace_seconds = 2\nrequest_timeout_seconds = 0.5') });
  try {
    h.double.misbehave({ kind: 'slow_first_byte', ms: 1200 });
    const r = await postJson(`${h.url}/v1/chat/completions`, chat, auth(USER_KEY));
    assert.equal(r.status, 504);
    assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'request_timeout');
    await sleep(300);
    assert.equal(h.double.abortedRequests, 1, 'the upstream request was aborted');
    h.double.misbehave(null);
    await sleep(1000);
    const ok = await postJson(`${h.url}/v1/chat/completions`, chat, auth(USER_KEY));
    assert.equal(ok.status, 200, 'still serving');
    await ok.text();
  } finally {
    await h.close();
  }
});

test('a half-open probe cut by the proxy frees the probe slot: the circuit recovers', async () => {
  const h = await startHarness({
    policy: (u, d) =>
      basePolicy(u, d)
        .replace('shutdown_grace_seconds = 2', 'shutdown_grace_seconds = 2\nrequest_timeout_seconds = 0.5')
        .replace('[upstream.circuit_breaker]\nenabled = false', '[upstream.circuit_breaker]\nenabled = true\nfailure_threshold = 1\nrecovery_timeout_seconds = 0.3'),
  });
  try {
    h.double.misbehave({ kind: 'status', status: 500 });
    await (await postJson(`${h.url}/v1/chat/completions`, chat, auth(USER_KEY))).text();
    await sleep(400);
    h.double.misbehave({ kind: 'slow_first_byte', ms: 1500 });
    const probe = await postJson(`${h.url}/v1/chat/completions`, chat, auth(USER_KEY));
    assert.equal(probe.status, 504);
    await probe.text();
    h.double.misbehave(null);
    await sleep(400);
    const later = await postJson(`${h.url}/v1/chat/completions`, chat, auth(USER_KEY));
    assert.equal(later.status, 200, 'a new probe went through and closed the circuit');
    await later.text();
  } finally {
    await h.close();
  }
});

test('with json_only = false, a body only Python could read as JSON is refused when model rules apply', async () => {
  const h = await startHarness({ policy: (u, d) => basePolicy(u, d) + '\n[security.validation]\njson_only = false\n' });
  try {
    for (const body of ['\uFEFF' + JSON.stringify({ ...chat, model: 'gpt-forbidden' }), JSON.stringify({ ...chat, model: 'gpt-forbidden' }).replace('}', ',"temperature":NaN}')]) {
      const r = await postJson(`${h.url}/v1/chat/completions`, body, auth(USER_KEY));
      assert.equal(r.status, 400);
      await r.text();
    }
    assert.equal(h.double.requests.length, 0);
  } finally {
    await h.close();
  }
});

test('a reload refused late (rate-limit store without its URL) leaves the audit output where it was', async () => {
  const h = await startHarness();
  try {
    await (await postJson(`${h.url}/v1/chat/completions`, chat, auth(USER_KEY))).text();
    writeFileSync(
      h.policyFile,
      basePolicy(h.double.url, h.dir).replace('audit.log', 'audit2.log').replace('[security.rate_limiting]\nenabled = false', '[security.rate_limiting]\nenabled = true\nstore = "redis"\nredis_url_env = "LOLLMS_GUARD_TEST_NO_SUCH_VAR"'),
    );
    const r = await h.proxy.reload();
    assert.equal(r.ok, false);
    await (await postJson(`${h.url}/v1/chat/completions`, chat, auth(USER_KEY))).text();
    await sleep(200);
    assert.ok(!existsSync(join(h.dir, 'audit2.log')) || readFileSync(join(h.dir, 'audit2.log'), 'utf8') === '', 'nothing went to the rejected destination');
    const lines = await h.auditLines();
    assert.equal(lines.filter((l) => (l.event as { action?: string }).action === 'http_request').length, 2);
  } finally {
    await h.close();
  }
});

test('an answer cut by the shutdown grace period still gets its audit line', async () => {
  const h = await startHarness({ policy: (u, d) => basePolicy(u, d).replace('shutdown_grace_seconds = 2', 'shutdown_grace_seconds = 0.3') });
  h.double.misbehave({ kind: 'chunk_delay', ms: 200 });
  const r = await postJson(`${h.url}/v1/chat/completions`, { ...chat, stream: true }, auth(USER_KEY));
  assert.equal(r.status, 200);
  const reading = r.text().catch(() => '');
  await sleep(100);
  await h.close();
  await reading;
  const lines = (readFileSync(join(h.dir, 'audit.log'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) as Array<{ event: { action: string } }>);
  assert.ok(lines.some((l) => l.event.action === 'http_request'), 'the cut stream is audited');
});
