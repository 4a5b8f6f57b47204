// Turns a request context or a security event into whitelisted facts: no headers, no bodies, bounded strings.
import type { Decision, RedactionNote, RequestContext } from '../../kernel/context.js';
import type { ErrorCode } from '../../kernel/errors.js';
import type { PolicyKey } from '../../kernel/policy.js';
import { ACTIONS, UNKNOWN_ACTION, classOfCode } from './actions.js';
import { redactPathTokens, redactTokensInText } from '../path-tokens.js';
import type { AuditFacts, EventOutcome, RequestEnd, SecurityEvent, Severity, Verdict } from './types.js';

const MAX_STR = 256;
const MAX_TEXT = 1024;

/** Substrings (key lowercased, separators removed) that mark a detail as a secret or a text. */
const SECRET_PARTS = ['authorization', 'apikey', 'secret', 'password', 'passwd', 'bearer', 'cookie', 'credential',
  'prompt', 'completion', 'privatekey', 'signature'];
/** Whole key names (same normalisation) that carry secrets or user text. */
const SECRET_NAMES = new Set(['key', 'token', 'body', 'rawbody', 'content', 'messages', 'message', 'headers', 'header',
  'text', 'input', 'raw', 'json', 'query', 'querystring']);
/** Credential-looking values: scheme + token, or OpenAI-style keys. */
const SECRET_VALUE = /\b(?:bearer|basic|splunk)\s+\S+|\bsk-[A-Za-z0-9_-]{8,}/gi;

export const REDACTED = '[redacted]';

/** A bounded string with credential-looking parts masked. */
export function clip(s: string | undefined, max = MAX_STR): string | undefined {
  if (s === undefined) return undefined;
  const t = s.length > max ? `${s.slice(0, max)}…` : s;
  return t.replace(SECRET_VALUE, REDACTED);
}

export function isSecretKey(key: string): boolean {
  const k = key.toLowerCase().replace(/[-_.\s]/g, '');
  return SECRET_NAMES.has(k) || SECRET_PARTS.some((p) => k.includes(p));
}

/** Scalars and small plain structures only; secret-named keys say "[redacted]" (that something was hidden, never what). */
export function safeDetails(v: unknown, depth = 0): unknown {
  if (v === null || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'string') return clip(v);
  if (v instanceof Date) return v.toISOString();
  if (depth >= 3 || typeof v !== 'object') return undefined;
  if (Array.isArray(v)) return v.slice(0, 50).map((x) => safeDetails(x, depth + 1));
  if (Buffer.isBuffer(v) || ArrayBuffer.isView(v)) return REDACTED;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>).slice(0, 50)) {
    // Numbers and booleans cannot carry a secret or a text (completion_tokens: 34 stays).
    if (isSecretKey(k) && typeof x !== 'number' && typeof x !== 'boolean') { out[k] = REDACTED; continue; }
    const s = safeDetails(x, depth + 1);
    if (s !== undefined) out[k] = s;
  }
  return out;
}

const copyDecision = (d: Decision): Decision => ({
  stage: String(d.stage),
  outcome: d.outcome,
  // The types close code and rule (catalogue codes, schema key paths); the copy still bounds what a role name can add.
  ...(d.code !== undefined ? { code: clip(String(d.code)) as ErrorCode } : {}),
  ...(d.rule !== undefined ? { rule: clip(String(d.rule)) as PolicyKey } : {}),
  ...(d.at !== undefined ? { at: clip(redactTokensInText(String(d.at))) } : {}),
  ...(d.reason !== undefined ? { reason: clip(redactTokensInText(String(d.reason)), 512) } : {}),
});

const copyRedaction = (r: RedactionNote): RedactionNote => ({
  kind: String(r.kind), direction: r.direction, location: clip(String(r.location)) ?? '', count: Number(r.count) || 0,
});

/** The decision that decided: the first deny, else the first would-deny, else the last one naming a rule. */
export function decidingDecision(ds: readonly Decision[]): Decision | undefined {
  return ds.find((d) => d.outcome === 'deny') ?? ds.find((d) => d.outcome === 'would_deny')
    ?? [...ds].reverse().find((d) => d.rule !== undefined) ?? ds[ds.length - 1];
}

export function verdictOf(ds: readonly Decision[], errorCode: string | undefined): Verdict {
  if (ds.some((d) => d.outcome === 'deny') || classOfCode(errorCode) !== undefined) return 'deny';
  if (ds.some((d) => d.outcome === 'would_deny')) return 'would_deny';
  return 'allow';
}

const headerName = /^[a-z0-9!#$%&'*+.^_`|~-]{1,64}$/;

/** Facts of the per-request line. Reads only the listed context fields (never rawBody, json, forwardBody, query). */
export function requestFacts(ctx: RequestContext, res: RequestEnd, time = new Date()): AuditFacts {
  const decisions = ctx.decisions.map(copyDecision);
  const deciding = decidingDecision(decisions);
  const verdict = verdictOf(decisions, ctx.errorCode);
  const status = Number(res.status) || 0;
  const outcome: EventOutcome = ctx.aborted ? 'unknown' : verdict === 'deny' || status >= 400 ? 'failure' : 'success';
  const severity: Severity = verdict !== 'allow' ? 'warning' : status >= 500 ? 'error' : 'info';
  const type = [ 'access', verdict === 'deny' ? 'denied' : 'allowed', ...(status >= 500 ? ['error'] : []) ];
  const endNs = res.endNs ?? process.hrtime.bigint();
  const reason = verdict === 'allow' ? ctx.errorCode : deciding?.reason ?? deciding?.code ?? ctx.errorCode;
  const names = res.headerNames
    ? [...new Set(res.headerNames.map((h) => String(h).toLowerCase()).filter((h) => headerName.test(h)))].sort().slice(0, 100)
    : undefined;
  return {
    kind: 'request', time, action: ctx.websocket ? 'websocket' : 'http_request', eventKind: 'event', category: ['web', 'network'], type, outcome, severity,
    eventClass: 'requests', verdict,
    reason: clip(reason, 512),
    durationNs: Number(endNs - ctx.startNs),
    ip: clip(ctx.clientIp, 64),
    userId: clip(ctx.principal?.keyId),
    issuer: clip(ctx.principal?.issuer),
    role: clip(ctx.principal?.role),
    requestId: clip(ctx.id), traceId: clip(ctx.traceId, 64), spanId: clip(ctx.spanId, 64),
    method: clip(ctx.method, 16), path: clip(redactPathTokens(ctx.path), MAX_TEXT),
    requestBytes: ctx.requestBytes, status: status > 0 ? status : undefined, responseBytes: ctx.responseBytes,
    userAgent: clip(res.userAgent, 512),
    rule: deciding?.rule,
    model: clip(ctx.model),
    inputTokens: ctx.usage.input, outputTokens: ctx.usage.output, usageEstimated: ctx.usage.estimated,
    decisions, redactions: ctx.redactions.map(copyRedaction),
    staleKey: ctx.principal?.stale === true ? true : undefined,
    aborted: ctx.aborted ? true : undefined,
    upstreamStatus: ctx.upstreamStatus, upstreamTtfbMs: ctx.upstreamTtfbMs,
    code: clip(ctx.errorCode),
    headerNames: names,
    details: ctx.websocket ? websocketDetails(ctx, endNs) : undefined,
  };
}

/** A WebSocket connection's line: when it opened, why it closed, bytes each way (frames, after the 101). */
function websocketDetails(ctx: RequestContext, endNs: bigint): Record<string, unknown> {
  const w = ctx.websocket!;
  if (!w.opened) return { websocket: { opened: false } };
  return {
    websocket: {
      opened: true,
      opened_at: w.openedAt !== undefined ? new Date(w.openedAt).toISOString() : undefined,
      close_reason: clip(w.closeReason, 32),
      close_code: w.closeCode,
      frames_to_upstream: w.framesToUpstream,
      frames_to_client: w.framesToClient,
      protocol: clip(w.protocol, 64),
      bytes_to_upstream: ctx.requestBytes,
      bytes_to_client: ctx.responseBytes,
      duration_ms: Math.round(Number(endNs - ctx.startNs) / 1e6),
    },
  };
}

/** Facts of a security event; the catalogue in actions.ts fills what the caller left out. */
export function eventFacts(e: SecurityEvent, time = new Date()): AuditFacts {
  const def = ACTIONS[e.action] ?? UNKNOWN_ACTION;
  const ctx = e.ctx;
  const details = e.details ? (safeDetails(e.details) as Record<string, unknown>) : undefined;
  return {
    kind: 'event', time, action: clip(e.action, 64) ?? 'unknown', eventKind: e.kind ?? def.kind,
    category: e.category ?? def.category, type: e.type ?? def.type,
    outcome: e.outcome ?? def.outcome, severity: e.severity ?? def.severity, eventClass: e.eventClass ?? def.eventClass,
    // A decision's reason may quote the path (access_denied, would_deny): tokens in it are templated as on the request line.
    reason: clip(e.reason === undefined ? undefined : redactTokensInText(e.reason), 512),
    ip: clip(e.ip ?? ctx?.clientIp, 64),
    userId: clip(e.userId ?? ctx?.principal?.keyId),
    issuer: clip(ctx?.principal?.issuer),
    role: clip(ctx?.principal?.role),
    requestId: clip(ctx?.id), traceId: clip(ctx?.traceId, 64), spanId: clip(ctx?.spanId, 64),
    method: clip(ctx?.method, 16), path: clip(ctx?.path === undefined ? undefined : redactPathTokens(ctx.path), MAX_TEXT),
    rule: clip(e.rule), model: clip(ctx?.model),
    staleKey: ctx?.principal?.stale === true ? true : undefined,
    code: clip(e.code),
    details: details && Object.keys(details).length > 0 ? details : undefined,
  };
}
