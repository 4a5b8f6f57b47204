// Unit tests of the pure record builders: ECS fields, flat JSON fields, audit levels, verdicts and event defaults.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  buildEcsRecord, buildJsonRecord, ecsLine, eventFacts, requestFacts, ECS_VERSION, ACTIONS, type AuditFacts, type RecordMeta,
} from '../../../../proxy/audit/index.js';
import { compact, decisionsFor, PRODUCT } from '../../../../proxy/audit/records.js';
import type { AuditRecord } from '../../../../proxy/audit/records.js';
import { isIP } from 'node:net';
import { makeCtx, deniedCtx } from './fixtures.test.js';

const meta = (level: RecordMeta['level'] = 'normal'): RecordMeta => ({
  mode: 'enforce', policyHash: 'ab'.repeat(32), level, eventId: 'e-1', hostname: 'h', version: '0.1.0',
});
type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

test('ECS: an allowed request carries every documented field', () => {
  const ctx = makeCtx();
  const r = buildEcsRecord(requestFacts(ctx, { status: 200, userAgent: 'curl/8.5', endNs: ctx.startNs + 1_500_000n }), meta()) as Obj;
  assert.match(r['@timestamp'], /^\d{4}-\d\d-\d\dT/);
  assert.deepEqual(r.ecs, { version: ECS_VERSION });
  assert.equal(r.log.level, 'info');
  assert.equal(r.event.kind, 'event');
  assert.deepEqual(r.event.category, ['web', 'network']);
  assert.deepEqual(r.event.type, ['access', 'allowed']);
  assert.equal(r.event.outcome, 'success');
  assert.equal(r.event.duration, 1_500_000);
  assert.equal(r.event.id, 'e-1');
  assert.deepEqual(r.source, { ip: '192.0.2.10' });
  assert.equal(r.user.id, 'team-app');
  assert.deepEqual(r.http, { request: { id: 'req-0001', method: 'POST', bytes: 220 }, response: { status_code: 200, bytes: 1800 } });
  assert.deepEqual(r.url, { path: '/v1/chat/completions' });
  assert.deepEqual(r.user_agent, { original: 'curl/8.5' });
  assert.equal(r.trace.id, ctx.traceId);
  assert.equal(r.span.id, ctx.spanId);
  assert.equal(r.rule.name, 'security.authorization.roles.user.allow');
  assert.deepEqual(r.gen_ai, { request: { model: 'llama3' }, usage: { input_tokens: 12, output_tokens: 34 } });
  assert.equal(r.observer.product, 'lollms-guard');
  assert.equal(r.observer.type, 'proxy');
  const g = r.lollms_guard;
  assert.equal(g.decision, 'allow');
  assert.equal(g.mode, 'enforce');
  assert.equal(g.policy_hash, 'ab'.repeat(32));
  assert.deepEqual(g.upstream, { status: 200, ttfb_ms: 41 });
  assert.equal(g.decisions.length, 2);
  assert.equal(g.decisions[1].reason, undefined, 'normal level: no reasons');
  assert.equal(Object.keys(r).at(-1), 'lollms_guard', 'lollms_guard closes the record (the chain relies on it)');
});

test('ECS: a denied request is a failure with the deciding rule, reason and code', () => {
  const r = buildEcsRecord(requestFacts(deniedCtx(), { status: 403 }), meta()) as Obj;
  assert.equal(r.event.outcome, 'failure');
  assert.deepEqual(r.event.type, ['access', 'denied']);
  assert.equal(r.event.reason, 'model "gpt-4" not listed');
  assert.equal(r.rule.name, 'security.authorization.roles.user.models');
  assert.equal(r.log.level, 'warning');
  assert.equal(r.lollms_guard.decision, 'deny');
  assert.deepEqual(r.lollms_guard.error, { code: 'model_not_allowed' });
  assert.equal(r.gen_ai.usage, undefined, 'no usage when unknown');
  assert.equal(r.lollms_guard.upstream, undefined);
});

test('ECS: would_deny in permissive mode, aborted requests, upstream failures', () => {
  const wd = makeCtx({ decisions: [{ stage: 'authorization', outcome: 'would_deny', code: 'route_not_allowed', rule: 'security.authorization.roles.user.allow' }] });
  const r1 = buildEcsRecord(requestFacts(wd, { status: 200 }), { ...meta(), mode: 'permissive' }) as Obj;
  assert.equal(r1.lollms_guard.decision, 'would_deny');
  assert.equal(r1.event.outcome, 'success');
  assert.equal(r1.lollms_guard.mode, 'permissive');
  assert.equal(r1.rule.name, 'security.authorization.roles.user.allow');

  const r2 = buildEcsRecord(requestFacts(makeCtx({ aborted: true }), { status: 200 }), meta()) as Obj;
  assert.equal(r2.event.outcome, 'unknown');
  assert.equal(r2.lollms_guard.aborted, true);

  const r3 = buildEcsRecord(requestFacts(makeCtx({ errorCode: 'upstream_timeout', upstreamStatus: undefined }), { status: 504 }), meta()) as Obj;
  assert.equal(r3.lollms_guard.decision, 'allow');
  assert.equal(r3.event.outcome, 'failure');
  assert.deepEqual(r3.event.type, ['access', 'allowed', 'error']);
  assert.equal(r3.log.level, 'error');
  assert.equal(r3.event.reason, 'upstream_timeout');
});

test('ECS: stale keys, estimated usage and redaction notes (kind and place, never the value)', () => {
  const ctx = makeCtx({
    principal: { keyId: 'old', role: 'user', source: 'key', stale: true },
    usage: { input: 10, estimated: true },
    redactions: [{ kind: 'email', direction: 'request', location: 'messages[0].content', count: 2 }],
  });
  const r = buildEcsRecord(requestFacts(ctx, { status: 200 }), meta()) as Obj;
  assert.equal(r.lollms_guard.stale_key, true);
  assert.equal(r.lollms_guard.usage_estimated, true);
  assert.deepEqual(r.gen_ai.usage, { input_tokens: 10 });
  assert.deepEqual(r.lollms_guard.redactions, [{ kind: 'email', direction: 'request', location: 'messages[0].content', count: 2 }]);
});

test('audit levels: minimal drops the user agent and keeps only the deciding decision; verbose adds reasons and header names', () => {
  const ctx = deniedCtx();
  const res = { status: 403, userAgent: 'ua/1', headerNames: ['Authorization', 'Content-Type', 'X-API-Key', 'bad header'] };
  const min = buildEcsRecord(requestFacts(ctx, res), meta('minimal')) as Obj;
  assert.equal(min.user_agent, undefined);
  assert.deepEqual(min.lollms_guard.decisions, [{ stage: 'authorization', outcome: 'deny', code: 'model_not_allowed', rule: 'security.authorization.roles.user.models' }]);
  assert.equal(min.lollms_guard.request_headers, undefined);

  const norm = buildEcsRecord(requestFacts(ctx, res), meta('normal')) as Obj;
  assert.equal(norm.user_agent.original, 'ua/1');
  assert.equal(norm.lollms_guard.decisions.length, 2);
  assert.equal(norm.lollms_guard.request_headers, undefined);

  const verb = buildEcsRecord(requestFacts(ctx, res), meta('verbose')) as Obj;
  assert.equal(verb.lollms_guard.decisions[1].reason, 'model "gpt-4" not listed');
  assert.deepEqual(verb.lollms_guard.request_headers, ['authorization', 'content-type', 'x-api-key']);
});

test('flat JSON: the seed format with the rest in details', () => {
  const ok = buildJsonRecord(requestFacts(makeCtx(), { status: 200, userAgent: 'ua' }), meta()) as Obj;
  assert.deepEqual(Object.keys(ok), ['timestamp', 'event_type', 'severity', 'user', 'ip', 'action', 'result', 'reason', 'details']);
  assert.equal(ok.event_type, 'request');
  assert.equal(ok.severity, 'info');
  assert.equal(ok.user, 'team-app');
  assert.equal(ok.ip, '192.0.2.10');
  assert.equal(ok.action, 'POST /v1/chat/completions');
  assert.equal(ok.result, 'allowed');
  assert.equal(ok.reason, null);
  assert.equal(ok.details.status, 200);
  assert.equal(ok.details.request_id, 'req-0001');
  assert.equal(ok.details.policy_hash, 'ab'.repeat(32));

  const no = buildJsonRecord(requestFacts(deniedCtx(), { status: 403 }), meta()) as Obj;
  assert.equal(no.result, 'denied');
  assert.equal(no.severity, 'warning');
  assert.equal(no.reason, 'model "gpt-4" not listed');
  assert.equal(no.details.code, 'model_not_allowed');

  const ev = buildJsonRecord(eventFacts({ action: 'auth_failure', ip: '198.51.100.7', code: 'invalid_api_key', reason: 'unknown key' }), meta()) as Obj;
  assert.equal(ev.event_type, 'auth_failure');
  assert.equal(ev.severity, 'warning');
  assert.equal(ev.user, null);
  assert.equal(ev.result, 'failure');
  assert.equal(ev.reason, 'unknown key');
});

test('security events: catalogue defaults, overrides, and ECS category/type pairs', () => {
  const lock = buildEcsRecord(eventFacts({ action: 'lockout', ip: '198.51.100.7', reason: '5 failures in 15 minutes' }), meta()) as Obj;
  assert.equal(lock.event.kind, 'alert');
  assert.deepEqual(lock.event.category, ['authentication', 'intrusion_detection']);
  assert.equal(lock.event.outcome, 'failure');
  assert.equal(lock.lollms_guard.event_class, 'authentication');

  const withCtx = buildEcsRecord(eventFacts({ action: 'redaction', ctx: makeCtx(), details: { kind: 'email', count: 1 } }), meta()) as Obj;
  assert.equal(withCtx.http.request.id, 'req-0001');
  assert.equal(withCtx.user.id, 'team-app');
  assert.deepEqual(withCtx.lollms_guard.details, { kind: 'email', count: 1 });

  const custom = eventFacts({ action: 'something_new', outcome: 'success', kind: 'alert', eventClass: 'authorization', severity: 'error' });
  assert.equal(custom.eventClass, 'authorization');
  assert.equal(custom.eventKind, 'alert');

  // ECS 8.11 allowed event.type values per category.
  const allowed: Record<string, string[]> = {
    authentication: ['start', 'end', 'info'], web: ['access', 'error', 'info'],
    network: ['access', 'allowed', 'connection', 'denied', 'end', 'info', 'protocol', 'start'],
    intrusion_detection: ['allowed', 'creation', 'deletion', 'denied', 'info', 'start'],
    configuration: ['access', 'change', 'creation', 'deletion', 'info'], database: ['access', 'change', 'info', 'error'],
    file: ['access', 'change', 'creation', 'deletion', 'info'],
  };
  for (const [action, d] of Object.entries(ACTIONS)) {
    for (const t of d.type) {
      assert.ok(d.category.some((c) => allowed[c]?.includes(t)), `${action}: type ${t} fits no category of ${d.category}`);
    }
  }
});

// ecsLine writes the ECS line field by field: it must be exactly the text of the nested record below, compacted and serialised.
const ipOrAddress = (f: AuditFacts): { ip?: string; address?: string } => {
  if (f.ipHash !== undefined) return { address: f.ipHash };
  if (f.ip === undefined) return {};
  return isIP(f.ip) ? { ip: f.ip } : { address: f.ip };
};

/** The layout spelled out as a nested object (the builder ecsLine replaced), compacted: the reference for ecsLine. */
function nestedEcsRecord(f: AuditFacts, m: RecordMeta): AuditRecord {
  const lvl = m.level;
  return compact({
    '@timestamp': f.time.toISOString(),
    ecs: { version: ECS_VERSION },
    log: { level: f.severity, logger: 'lollms_guard.audit' },
    event: {
      id: m.eventId, kind: f.eventKind, category: [...f.category], type: [...f.type], action: f.action,
      outcome: f.outcome, reason: f.reason, duration: f.durationNs, dataset: 'lollms_guard.audit',
    },
    observer: { product: PRODUCT, type: 'proxy', vendor: PRODUCT, hostname: m.hostname, version: m.version },
    source: ipOrAddress(f),
    user: { id: f.userId, domain: f.issuer, roles: f.role !== undefined && lvl !== 'minimal' ? [f.role] : undefined },
    http: {
      request: { id: f.requestId, method: f.method, bytes: f.requestBytes },
      response: { status_code: f.status, bytes: f.responseBytes },
    },
    url: { path: f.path },
    user_agent: { original: lvl === 'minimal' ? undefined : f.userAgent },
    trace: { id: f.traceId },
    span: { id: f.spanId },
    rule: { name: f.rule },
    gen_ai: {
      request: { model: f.model },
      usage: { input_tokens: f.inputTokens, output_tokens: f.outputTokens },
    },
    lollms_guard: {
      event_class: f.eventClass,
      decision: f.verdict,
      decisions: decisionsFor(f.decisions, lvl),
      redactions: f.redactions && f.redactions.length > 0 ? f.redactions.map((r) => ({ ...r })) : undefined,
      mode: m.mode,
      policy_hash: m.policyHash,
      stale_key: f.staleKey,
      aborted: f.aborted,
      usage_estimated: f.usageEstimated,
      upstream: { status: f.upstreamStatus, ttfb_ms: f.upstreamTtfbMs },
      error: { code: f.code },
      request_headers: lvl === 'verbose' ? f.headerNames : undefined,
      details: f.details,
    },
  });
}

const reference = (f: AuditFacts, m: RecordMeta, seq?: number): string => {
  const rec = nestedEcsRecord(f, m) as Obj;
  if (seq !== undefined) rec.lollms_guard.seq = seq;
  return JSON.stringify(rec);
};

test('ecsLine: the same text as the nested record for the fixtures, every level, with and without seq', () => {
  const ctxs = [
    makeCtx(), deniedCtx(), makeCtx({ aborted: true, errorCode: 'upstream_timeout', upstreamStatus: undefined }),
    makeCtx({ principal: undefined, model: undefined, usage: {}, clientIp: 'not-an-ip', redactions: [{ kind: 'email', direction: 'request', location: 'messages[0].content', count: 2 }] }),
    makeCtx({ principal: { keyId: 'sub-1', role: 'admin', source: 'oidc', issuer: 'https://idp.example', stale: true }, usage: { input: 1, output: 2, estimated: true } }),
    makeCtx({ decisions: [], path: '/v1/models/x"y\\z\u2028é', method: 'GET', requestBytes: 0, responseBytes: 0 }),
  ];
  const events = [
    eventFacts({ action: 'lockout', ip: '198.51.100.7', reason: '5 failures in 15 minutes' }),
    eventFacts({ action: 'redaction', ctx: makeCtx(), details: { kind: 'email', count: 1, nested: { empty: {}, gone: undefined, list: [1, null, 'x'] } } }),
    eventFacts({ action: 'configuration_start', details: { files: 2, policy_hash: 'ab', mode: 'enforce' } }),
    eventFacts({ action: 'no_such_action' }),
  ];
  for (const level of ['minimal', 'normal', 'verbose'] as const) {
    for (const ctx of ctxs) {
      const f = requestFacts(ctx, { status: 200, userAgent: 'curl/8.5', endNs: ctx.startNs + 1_500_000n, headerNames: ['Accept', 'x-b', 'bad header'] });
      for (const seq of [undefined, 1, 123456]) assert.equal(ecsLine(f, meta(level), seq), reference(f, meta(level), seq));
      const anon = { ...f, ip: undefined, ipHash: 'ip-hash-1' };
      assert.equal(ecsLine(anon, meta(level), 7), reference(anon, meta(level), 7));
      const bare = { ...meta(level), hostname: undefined, version: undefined };
      assert.equal(ecsLine(f, bare), reference(f, bare));
    }
    for (const f of events) for (const seq of [undefined, 3]) assert.equal(ecsLine(f, meta(level), seq), reference(f, meta(level), seq));
  }
});

test('ecsLine: the same text as the nested record for arbitrary facts (property)', () => {
  const str = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }), fc.constantFrom('', '192.0.2.1', '2001:db8::1', 'a"b\\c'));
  const opt = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined });
  const num = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, -0, NaN, Infinity, 1e21));
  const detail: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
    v: fc.oneof({ depthSize: 'small' }, str, num, fc.boolean(), fc.constant(null), fc.constant(undefined),
      fc.array(tie('v'), { maxLength: 3 }), fc.dictionary(fc.string(), tie('v'), { maxKeys: 3 })),
  })).v;
  const facts = fc.record({
    kind: fc.constantFrom('request' as const, 'event' as const),
    time: fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }),
    action: str, eventKind: fc.constantFrom('event' as const, 'alert' as const),
    category: fc.array(str, { maxLength: 2 }), type: fc.array(str, { maxLength: 3 }),
    outcome: fc.constantFrom('success' as const, 'failure' as const, 'unknown' as const),
    severity: fc.constantFrom('error' as const, 'warning' as const, 'info' as const, 'debug' as const),
    eventClass: fc.constantFrom('requests' as const, 'authentication' as const, 'system' as const),
    reason: opt(str), verdict: opt(fc.constantFrom('allow' as const, 'deny' as const, 'would_deny' as const)),
    durationNs: opt(num), ip: opt(str), ipHash: opt(str), userId: opt(str), issuer: opt(str), role: opt(str),
    requestId: opt(str), traceId: opt(str), spanId: opt(str), method: opt(str), path: opt(str),
    requestBytes: opt(num), status: opt(num), responseBytes: opt(num), userAgent: opt(str), rule: opt(str), model: opt(str),
    inputTokens: opt(num), outputTokens: opt(num), usageEstimated: opt(fc.boolean()),
    decisions: opt(fc.array(fc.record({ stage: str, outcome: fc.constantFrom('allow' as const, 'deny' as const, 'would_deny' as const), code: opt(str), rule: opt(str), at: opt(str), reason: opt(str) }), { maxLength: 3 })),
    redactions: opt(fc.array(fc.record({ kind: str, direction: fc.constantFrom('request' as const, 'response' as const), location: str, count: num }), { maxLength: 2 })),
    staleKey: opt(fc.boolean()), aborted: opt(fc.boolean()), upstreamStatus: opt(num), upstreamTtfbMs: opt(num), code: opt(str),
    headerNames: opt(fc.array(str, { maxLength: 3 })), details: opt(fc.dictionary(fc.string(), detail, { maxKeys: 4 })),
  }, { requiredKeys: ['kind', 'time', 'action', 'eventKind', 'category', 'type', 'outcome', 'severity', 'eventClass'] });
  const metas = fc.record({
    mode: fc.constantFrom('enforce' as const, 'permissive' as const), policyHash: str,
    level: fc.constantFrom('minimal' as const, 'normal' as const, 'verbose' as const),
    hostname: opt(str), version: opt(str), eventId: str,
  });
  fc.assert(fc.property(facts, metas, opt(fc.nat()), (f, m, seq) => {
    assert.equal(ecsLine(f as AuditFacts, m as RecordMeta, seq), reference(f as AuditFacts, m as RecordMeta, seq));
  }), { numRuns: 2000 });
});
