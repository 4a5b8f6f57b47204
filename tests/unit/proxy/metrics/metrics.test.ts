// The metrics module: names and labels in the /metrics text, bounded labels, and the listener's 404s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RequestContext, Decision } from '../../../../kernel/context.js';
import type { ErrorCode } from '../../../../kernel/errors.js';
import { createMetrics, startMetricsServer } from '../../../../proxy/metrics/index.js';
import { auditSampler } from '../../../../proxy/metrics/audit.js';
import { routeLabel } from '../../../../proxy/metrics/labels.js';

function fakeCtx(over: Partial<RequestContext> & { decisions?: Decision[] } = {}): RequestContext {
  return {
    id: 'r1', traceId: 't', spanId: 's', startNs: process.hrtime.bigint() - 250_000_000n, policy: {} as never,
    clientIp: '127.0.0.1', peerIp: '127.0.0.1', method: 'POST', path: '/v1/chat/completions', query: '',
    decisions: [], usage: {}, completionChars: 0, promptChars: 0, redactions: [], requestBytes: 0, responseBytes: 0,
    aborted: false, onDone: [], ...over,
  } as RequestContext;
}

/** Value of one sample line `name{labels} value`, labels given in any order. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[3] ?? '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[4]);
  }
  return undefined;
}

test('serves every documented metric with its labels on its own listener', async () => {
  const metrics = createMetrics();
  metrics.request(fakeCtx({
    decisions: [{ stage: 'authentication', outcome: 'allow' }],
    usage: { input: 12, output: 30 }, upstreamTtfbMs: 120,
    redactions: [{ kind: 'email', direction: 'response', location: 'choices', count: 2 }],
  }), 200);
  metrics.request(fakeCtx({ path: '/v1/models', method: 'GET', decisions: [{ stage: 'authentication', outcome: 'deny', code: 'invalid_api_key' }], errorCode: 'invalid_api_key' }), 401);
  metrics.request(fakeCtx({ path: '/secret/../admin', decisions: [{ stage: 'validation', outcome: 'would_deny', code: 'input_too_long' }] }), 200);
  metrics.rateLimited('per_user');
  metrics.tokens('input', 5);
  metrics.redaction('api_key', 'request', 1);
  metrics.audit('written', 3);
  metrics.audit('spooled');
  metrics.circuit('open');
  metrics.policyReload(false);
  metrics.policyReload(true, 'abc123');
  metrics.authFailure('unknown key');
  metrics.upstreamTtfb(0.5);

  const srv = await startMetricsServer(metrics, '127.0.0.1', 0);
  try {
    assert.ok(srv.port > 0);
    const r = await fetch(`${srv.url}/metrics`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await r.text();
    const p = 'lollms_guard_';
    assert.equal(sample(text, p + 'requests_total', { route: '/v1/chat/completions', method: 'POST', status: '200', decision: 'allow' }), 1);
    assert.equal(sample(text, p + 'requests_total', { route: '/v1/models', method: 'GET', status: '401', decision: 'deny' }), 1);
    assert.equal(sample(text, p + 'requests_total', { route: 'other', decision: 'would_deny' }), 1);
    assert.equal(sample(text, p + 'request_duration_seconds_count', { route: '/v1/chat/completions' }), 1);
    assert.equal(sample(text, p + 'upstream_ttfb_seconds_count'), 2);
    assert.equal(sample(text, p + 'denials_total', { stage: 'authentication', code: 'invalid_api_key' }), 1);
    assert.equal(sample(text, p + 'rate_limit_rejections_total', { scope: 'per_user' }), 1);
    assert.equal(sample(text, p + 'tokens_total', { kind: 'input' }), 17);
    assert.equal(sample(text, p + 'tokens_total', { kind: 'output' }), 30);
    assert.equal(sample(text, p + 'redactions_total', { kind: 'email', direction: 'response' }), 2);
    assert.equal(sample(text, p + 'redactions_total', { kind: 'api_key', direction: 'request' }), 1);
    assert.equal(sample(text, p + 'audit_lines_total', { state: 'written' }), 3);
    assert.equal(sample(text, p + 'audit_lines_total', { state: 'spooled' }), 1);
    assert.equal(sample(text, p + 'audit_lines_total', { state: 'dropped' }), 0);
    assert.equal(sample(text, p + 'circuit_state'), 2);
    assert.equal(sample(text, p + 'circuit_open'), 1);
    assert.equal(sample(text, p + 'policy_reloads_total', { result: 'ok' }), 1);
    assert.equal(sample(text, p + 'policy_reloads_total', { result: 'failed' }), 1);
    assert.equal(sample(text, p + 'policy_info', { hash: 'abc123' }), 1);
    assert.equal(sample(text, p + 'auth_failures_total', { reason: 'unknown_key' }), 1);
    assert.match(text, /^lollms_guard_process_cpu_user_seconds_total /m);
    assert.match(text, /^lollms_guard_nodejs_heap_size_used_bytes /m);
  } finally {
    await srv.close();
  }
});

test('anything but GET/HEAD /metrics is 404', async () => {
  const srv = await startMetricsServer(createMetrics({ collectDefault: false }), '127.0.0.1', 0);
  try {
    for (const [path, method] of [['/', 'GET'], ['/health', 'GET'], ['/metrics/x', 'GET'], ['/metrics', 'POST']] as const) {
      const r = await fetch(srv.url + path, { method });
      assert.equal(r.status, 404, `${method} ${path}`);
      await r.text();
    }
    const q = await fetch(srv.url + '/metrics?name[]=x');
    assert.equal(q.status, 200);
    await q.text();
  } finally {
    await srv.close();
  }
});

test('labels stay bounded: unknown paths, codes, stages and reasons fold to "other"', async () => {
  const metrics = createMetrics({ collectDefault: false });
  for (let i = 0; i < 50; i++) {
    metrics.request(fakeCtx({ path: `/v1/x${i}`, method: `M${i}`, decisions: [{ stage: `Stage ${i}!`, outcome: 'deny', code: `weird-${i}` as ErrorCode }] }), 403);
    metrics.authFailure(`${i} failed attempts`);
  }
  const text = await metrics.registry.metrics();
  const lines = (name: string): string[] => text.split('\n').filter((l) => l.startsWith(name + '{'));
  assert.equal(lines('lollms_guard_requests_total').length, 1);
  assert.equal(sample(text, 'lollms_guard_requests_total', { route: 'other', method: 'other', status: '403', decision: 'deny' }), 50);
  assert.equal(lines('lollms_guard_denials_total').length, 1);
  assert.equal(sample(text, 'lollms_guard_denials_total', { stage: 'other', code: 'other' }), 50);
  assert.equal(lines('lollms_guard_auth_failures_total').length, 1);
});

test('route buckets: known endpoints verbatim, model ids folded, the rest "other"', () => {
  assert.equal(routeLabel('/v1/chat/completions'), '/v1/chat/completions');
  assert.equal(routeLabel('/v1/chat/completions/'), '/v1/chat/completions');
  assert.equal(routeLabel('/lollms_generate'), '/lollms_generate');
  assert.equal(routeLabel('/v1/models/gpt-4o'), '/v1/models/{model}');
  assert.equal(routeLabel('/v1/models/a/b'), 'other');
  assert.equal(routeLabel('/etc/passwd'), 'other');
  assert.equal(routeLabel(''), 'other');
});

test('a denial known only by errorCode is counted under stage "unknown"; upstream errors without deny stay allow', async () => {
  const metrics = createMetrics({ collectDefault: false });
  metrics.request(fakeCtx({ errorCode: 'rate_limited' }), 429);
  metrics.request(fakeCtx({ errorCode: 'upstream_error', decisions: [{ stage: 'upstream', outcome: 'modify', code: 'upstream_error' }] }), 502);
  const text = await metrics.registry.metrics();
  assert.equal(sample(text, 'lollms_guard_denials_total', { stage: 'unknown', code: 'rate_limited' }), 1);
  assert.equal(sample(text, 'lollms_guard_requests_total', { status: '502', decision: 'allow' }), 1);
});

test('policy_info keeps one series; circuit gauges follow the state; the audit sampler adds deltas per logger', async () => {
  const metrics = createMetrics({ collectDefault: false });
  metrics.policyLoaded('h1');
  metrics.policyReload(true, 'h2');
  metrics.circuit('half_open');
  const sampleAudit = auditSampler(metrics);
  const a = { linesWritten: 5, lost: 0 };
  sampleAudit(a);
  a.linesWritten = 8;
  a.lost = 2;
  sampleAudit(a);
  sampleAudit({ linesWritten: 1, lost: 0, spooled: 4 });
  const text = await metrics.registry.metrics();
  assert.equal(sample(text, 'lollms_guard_policy_info', { hash: 'h1' }), undefined);
  assert.equal(sample(text, 'lollms_guard_policy_info', { hash: 'h2' }), 1);
  assert.equal(sample(text, 'lollms_guard_policy_reloads_total', { result: 'ok' }), 1);
  assert.equal(sample(text, 'lollms_guard_circuit_state'), 1);
  assert.equal(sample(text, 'lollms_guard_circuit_open'), 0);
  // 5, then 8 handed over of which 2 were given up (6 written: +1), then 1 of a new logger: lost lines never count as written.
  assert.equal(sample(text, 'lollms_guard_audit_lines_total', { state: 'written' }), 7);
  assert.equal(sample(text, 'lollms_guard_audit_lines_total', { state: 'dropped' }), 2);
  assert.equal(sample(text, 'lollms_guard_audit_lines_total', { state: 'spooled' }), 4);
});

test('two instances do not share series (own registry, not the global one)', async () => {
  const a = createMetrics();
  const b = createMetrics();
  a.rateLimited('global');
  assert.match(await a.registry.metrics(), /rate_limit_rejections_total\{scope="global"\} 1/);
  assert.doesNotMatch(await b.registry.metrics(), /rate_limit_rejections_total\{scope="global"\}/);
});
