// The two line formats built from facts: ECS 8.11 (default) and the seed's flat JSON. Pure functions.
import { isIP } from 'node:net';
import type { Decision } from '../../kernel/context.js';
import { decidingDecision } from './facts.js';
import type { AuditFacts, AuditLevel, RecordMeta } from './types.js';

export const ECS_VERSION = '8.11.0';
export const PRODUCT = 'lollms-guard';
export type AuditFormat = 'ecs' | 'json';
export type AuditRecord = Record<string, unknown>;

/** Drops undefined values and empty objects, keeping key order (the chain relies on lollms_guard staying last). */
export function compact<T>(v: T): T {
  return (compactObject(v as Record<string, unknown>) ?? {}) as T;
}

/** compact() for one plain object; undefined when nothing is left. */
function compactObject(v: Record<string, unknown>): Record<string, unknown> | undefined {
  let out: Record<string, unknown> | undefined;
  for (const k in v) {
    let x = v[k];
    if (x === undefined) continue;
    if (x !== null && typeof x === 'object' && !Array.isArray(x)) {
      x = compactObject(x as Record<string, unknown>);
      if (x === undefined) continue;
    }
    (out ??= {})[k] = x;
  }
  return out;
}

/** The decisions a line lists at each audit level (reasons only when verbose). */
export function decisionsFor(ds: readonly Decision[] | undefined, level: AuditLevel): Decision[] | undefined {
  if (!ds) return undefined;
  const noReason = ({ reason: _, ...rest }: Decision): Decision => rest;
  if (level === 'minimal') {
    const d = decidingDecision(ds);
    return d ? [noReason(d)] : [];
  }
  return ds.map((d) => (level === 'verbose' ? { ...d } : noReason(d)));
}

/** One ECS record, as an object: the line ecsLine writes, parsed (ecsLine is the one definition of the layout). */
export function buildEcsRecord(f: AuditFacts, m: RecordMeta): AuditRecord {
  return JSON.parse(ecsLine(f, m)) as AuditRecord;
}

/** What JSON.stringify escapes in a string: quote, backslash, control characters, and (lone) surrogates. */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * One value as JSON, with compact()'s rules: undefined (and an object left empty) gives undefined, arrays are kept
 * whole, plain objects are compacted.
 */
function json(v: unknown): string | undefined {
  // Most values need no escaping: quoting them is ~40 % cheaper than JSON.stringify (90 against 160 ns a string).
  if (typeof v === 'string') return NEEDS_ESCAPE.test(v) ? JSON.stringify(v) : `"${v}"`;
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v === undefined) return undefined;
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const c = compactObject(v as Record<string, unknown>);
    return c === undefined ? undefined : JSON.stringify(c);
  }
  return JSON.stringify(v);
}

/**
 * Date.toISOString with the text up to the second kept from the last call (lines of the same second share it):
 * 0.8 -> 0.12 µs a line in-process.
 */
let isoSecond = NaN;
let isoPrefix = '';
function isoTime(d: Date): string {
  const ms = d.getTime();
  // Years 0-9999 only (toISOString writes others with a sign and six digits); an invalid date throws there too.
  if (!(ms >= 0 && ms < 253402300800000)) return d.toISOString();
  const second = Math.floor(ms / 1000);
  if (second !== isoSecond) {
    isoSecond = second;
    isoPrefix = d.toISOString().slice(0, 20);
  }
  const frac = ms - second * 1000;
  return `${isoPrefix}${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}Z`;
}

/** Adds `"key":value` to the members of an object (no braces); undefined values are left out. */
function put(members: string, key: string, v: unknown): string {
  const j = json(v);
  if (j === undefined) return members;
  return members === '' ? `"${key}":${j}` : `${members},"${key}":${j}`;
}

/** Adds `"key":{inner}` unless the inner object has no members (compact drops empty objects). */
function putObject(members: string, key: string, inner: string): string {
  if (inner === '') return members;
  return members === '' ? `"${key}":{${inner}}` : `${members},"${key}":{${inner}}`;
}

/**
 * The ECS line as text, with `seq` (when given) as the last field of `lollms_guard`, where the chain expects it.
 * Empty objects and undefined fields are left out, key order is fixed. Written out field by field instead of
 * building a nested record, compacting it and serialising it: 8.9-13.1 -> 6.0-7.8 µs per line in-process (dev/bench/audit-line.ts, the two
 * in the same runs); in the bench's guard under load (--cpu-prof, dev/bench/audit-cost.ts) 266 samples instead of
 * 413 for 12,500 requests, ~13 µs a request less. tests/unit/proxy/audit/records.test.ts checks it against
 * that nested construction.
 */
export function ecsLine(f: AuditFacts, m: RecordMeta, seq?: number): string {
  const lvl = m.level;
  let event = put('', 'id', m.eventId);
  event = put(event, 'kind', f.eventKind);
  event = put(event, 'category', f.category);
  event = put(event, 'type', f.type);
  event = put(event, 'action', f.action);
  event = put(event, 'outcome', f.outcome);
  event = put(event, 'reason', f.reason);
  event = put(event, 'duration', f.durationNs);
  event = put(event, 'dataset', 'lollms_guard.audit');

  let observer = `"product":"${PRODUCT}","type":"proxy","vendor":"${PRODUCT}"`;
  observer = put(observer, 'hostname', m.hostname);
  observer = put(observer, 'version', m.version);

  let source = '';
  if (f.ipHash !== undefined) source = put('', 'address', f.ipHash);
  else if (f.ip !== undefined) source = put('', isIP(f.ip) ? 'ip' : 'address', f.ip);

  let user = put('', 'id', f.userId);
  user = put(user, 'domain', f.issuer);
  if (f.role !== undefined && lvl !== 'minimal') user = put(user, 'roles', [f.role]);

  let request = put('', 'id', f.requestId);
  request = put(request, 'method', f.method);
  request = put(request, 'bytes', f.requestBytes);
  let response = put('', 'status_code', f.status);
  response = put(response, 'bytes', f.responseBytes);
  const http = putObject(putObject('', 'request', request), 'response', response);

  const usage = put(put('', 'input_tokens', f.inputTokens), 'output_tokens', f.outputTokens);
  const genAi = putObject(putObject('', 'request', put('', 'model', f.model)), 'usage', usage);

  let lg = put('', 'event_class', f.eventClass);
  lg = put(lg, 'decision', f.verdict);
  lg = put(lg, 'decisions', decisionsFor(f.decisions, lvl));
  if (f.redactions && f.redactions.length > 0) lg = put(lg, 'redactions', f.redactions);
  lg = put(lg, 'mode', m.mode);
  lg = put(lg, 'policy_hash', m.policyHash);
  lg = put(lg, 'stale_key', f.staleKey);
  lg = put(lg, 'aborted', f.aborted);
  lg = put(lg, 'usage_estimated', f.usageEstimated);
  lg = putObject(lg, 'upstream', put(put('', 'status', f.upstreamStatus), 'ttfb_ms', f.upstreamTtfbMs));
  lg = putObject(lg, 'error', put('', 'code', f.code));
  if (lvl === 'verbose') lg = put(lg, 'request_headers', f.headerNames);
  lg = put(lg, 'details', f.details);
  // A chain needs the lollms_guard object to put seq in (an empty one is left out of a line without a chain).
  if (seq !== undefined) {
    if (lg === '') throw new TypeError('audit: a chained line needs lollms_guard fields');
    lg = put(lg, 'seq', seq);
  }

  let out = `"@timestamp":"${isoTime(f.time)}"`;
  out = putObject(out, 'ecs', `"version":"${ECS_VERSION}"`);
  out = putObject(out, 'log', put(put('', 'level', f.severity), 'logger', 'lollms_guard.audit'));
  out = putObject(out, 'event', event);
  out = putObject(out, 'observer', observer);
  out = putObject(out, 'source', source);
  out = putObject(out, 'user', user);
  out = putObject(out, 'http', http);
  out = putObject(out, 'url', put('', 'path', f.path));
  if (lvl !== 'minimal') out = putObject(out, 'user_agent', put('', 'original', f.userAgent));
  out = putObject(out, 'trace', put('', 'id', f.traceId));
  out = putObject(out, 'span', put('', 'id', f.spanId));
  out = putObject(out, 'rule', put('', 'name', f.rule));
  out = putObject(out, 'gen_ai', genAi);
  out = putObject(out, 'lollms_guard', lg);
  return `{${out}}`;
}

function resultOf(f: AuditFacts): string {
  if (f.kind === 'request') {
    if (f.aborted) return 'aborted';
    if (f.verdict === 'deny') return 'denied';
    if (f.verdict === 'would_deny') return 'would_deny';
    return f.outcome === 'failure' ? 'failed' : 'allowed';
  }
  if (f.type.includes('denied')) return 'denied';
  return f.outcome;
}

/** One record in the seed's flat format: {timestamp, event_type, severity, user, ip, action, result, reason, details}. */
export function buildJsonRecord(f: AuditFacts, m: RecordMeta): AuditRecord {
  const lvl = m.level;
  const route = f.method !== undefined && f.path !== undefined ? `${f.method} ${f.path}` : undefined;
  const ours = compact({
    event_id: m.eventId, event_class: f.eventClass, kind: f.eventKind, outcome: f.outcome,
    request_id: f.requestId, trace_id: f.traceId, span_id: f.spanId,
    status: f.status, duration_ms: f.durationNs !== undefined ? Math.round(f.durationNs / 1e4) / 100 : undefined,
    request_bytes: f.requestBytes, response_bytes: f.responseBytes,
    role: lvl === 'minimal' ? undefined : f.role,
    issuer: f.issuer,
    user_agent: lvl === 'minimal' ? undefined : f.userAgent,
    rule: f.rule, model: f.model, input_tokens: f.inputTokens, output_tokens: f.outputTokens, usage_estimated: f.usageEstimated,
    decision: f.verdict, decisions: decisionsFor(f.decisions, lvl),
    redactions: f.redactions && f.redactions.length > 0 ? f.redactions.map((r) => ({ ...r })) : undefined,
    mode: m.mode, policy_hash: m.policyHash, stale_key: f.staleKey, aborted: f.aborted,
    upstream_status: f.upstreamStatus, upstream_ttfb_ms: f.upstreamTtfbMs, code: f.code,
    anonymized: f.ipHash !== undefined ? true : undefined,
    request_headers: lvl === 'verbose' ? f.headerNames : undefined,
    observer: { product: PRODUCT, hostname: m.hostname, version: m.version },
  });
  return {
    timestamp: f.time.toISOString(),
    event_type: f.kind === 'request' ? 'request' : f.action,
    severity: f.severity,
    user: f.userId ?? null,
    ip: f.ipHash ?? f.ip ?? null,
    action: route ?? f.action,
    result: resultOf(f),
    reason: f.reason ?? f.code ?? null,
    details: { ...(f.details ?? {}), ...ours },
  };
}

export function buildRecord(format: AuditFormat, f: AuditFacts, m: RecordMeta): AuditRecord {
  return format === 'json' ? buildJsonRecord(f, m) : buildEcsRecord(f, m);
}
