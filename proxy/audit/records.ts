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

const ipOrAddress = (f: AuditFacts): { ip?: string; address?: string } => {
  if (f.ipHash !== undefined) return { address: f.ipHash };
  if (f.ip === undefined) return {};
  return isIP(f.ip) ? { ip: f.ip } : { address: f.ip };
};

/** One ECS record. `lollms_guard` is built last so the chain fields can close the line. */
export function buildEcsRecord(f: AuditFacts, m: RecordMeta): AuditRecord {
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
