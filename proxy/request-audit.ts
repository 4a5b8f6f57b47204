// What a finished request and an authentication event write to the audit: decisions become security events, then the request line.
import type { RequestContext } from '../kernel/context.js';
import type { AuthEvent } from '../policies/auth.js';
import type { AuditLogger } from './audit/types.js';

export function authEvent(audit: AuditLogger, e: AuthEvent): void {
  const details = e.retryAfterSeconds || e.issuer ? { retry_after_seconds: e.retryAfterSeconds, issuer: e.issuer } : undefined;
  audit.event({ action: e.action, outcome: e.action === 'stale_key' ? 'success' : 'failure', ip: e.ip, userId: e.keyId, reason: e.reason, code: e.code, eventClass: 'authentication', details });
}

export function requestDone(audit: AuditLogger, ctx: RequestContext, status: number, userAgent: string | undefined): void {
  for (const d of ctx.decisions) {
    if (d.outcome === 'would_deny') audit.event({ action: 'would_deny', ctx, rule: d.rule, code: d.code, reason: d.reason, eventClass: d.stage === 'authentication' ? 'authentication' : d.stage === 'validation' ? 'validation_failures' : 'authorization' });
    else if (d.outcome === 'deny' && (d.stage === 'authorization' || d.stage === 'cross-site')) audit.event({ action: 'access_denied', ctx, rule: d.rule, code: d.code });
    else if (d.outcome === 'deny' && d.stage === 'validation') audit.event({ action: 'validation_failure', ctx, rule: d.rule, code: d.code });
  }
  if (ctx.redactions.length > 0) {
    const kinds: Record<string, number> = {};
    for (const r of ctx.redactions) kinds[`${r.direction}.${r.kind}`] = (kinds[`${r.direction}.${r.kind}`] ?? 0) + r.count;
    audit.event({ action: 'redaction', ctx, details: kinds });
  }
  audit.request(ctx, { status, userAgent });
}
