// Answering a denial: one JSON error in the shape the route's clients parse, honouring enforce / permissive / disabled modes.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ERRORS, ERROR_CODE_HEADER, errorBody, type ErrorCode, type ErrorShape } from './errors.js';
import { routeFamily } from './endpoints.js';
import type { RequestContext } from './context.js';
import type { PolicyKey } from './policy.js';

export interface DenyOptions {
  readonly stage: string;
  readonly rule?: PolicyKey;
  /** Which entry of `rule` decided (see Decision.at). */
  readonly at?: string;
  readonly reason?: string;
  /** Extra answer headers (Retry-After, RateLimit...). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Safe, client-facing detail appended to the catalogue message (never a value, path or version). */
  readonly detail?: string;
  /** Deny even in permissive mode (e.g. a body that cannot be read at all). */
  readonly always?: boolean;
}

/**
 * Records the denial and answers it. Returns true when the request was answered (caller must stop),
 * false when the mode let it pass (permissive/disabled: the decision is recorded as would_deny).
 */
export function deny(req: IncomingMessage, res: ServerResponse, code: ErrorCode, opts: DenyOptions): boolean {
  const ctx = req.ctx;
  const enforce = opts.always === true || ctx.policy.mode === 'enforce';
  ctx.decisions.push({ stage: opts.stage, outcome: enforce ? 'deny' : 'would_deny', code, rule: opts.rule, ...(opts.at !== undefined ? { at: opts.at } : {}), reason: opts.reason });
  if (!enforce) return false;
  const verbose = ctx.policy.raw.debug.enabled && ctx.policy.raw.debug.verbose_errors && opts.rule ? `(rule: ${opts.rule})` : undefined;
  sendError(res, code, opts.headers, [opts.detail, verbose].filter(Boolean).join(' ') || undefined);
  ctx.errorCode = code;
  return true;
}

export interface OutcomeOptions {
  readonly stage: string;
  readonly outcome: 'deny' | 'modify';
  /** The policy key path that decided (e.g. `upstream.timeout_seconds`). */
  readonly rule?: PolicyKey;
  readonly reason?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** The status to answer with, when not the catalogue's. */
  readonly status?: number;
}

/**
 * Records the outcome given and always answers: for what no mode softens (the upstream failed, the
 * breaker is open, the audit cannot be written) and for answers a response filter replaces.
 */
export function answerError(ctx: RequestContext, res: ServerResponse, code: ErrorCode, opts: OutcomeOptions): void {
  recordOutcome(ctx, code, opts);
  sendError(res, code, opts.headers, undefined, opts.status);
}

/** Records an outcome that can no longer be answered (the answer's head is out): the audit still says why. */
export function recordOutcome(ctx: RequestContext, code: ErrorCode, opts: Pick<OutcomeOptions, 'stage' | 'outcome' | 'rule' | 'reason'>): void {
  ctx.decisions.push({ stage: opts.stage, outcome: opts.outcome, code, rule: opts.rule, reason: opts.reason });
  ctx.errorCode = code;
}

/** Writes an error answer unless headers were already sent (then the connection is ended). */
export function sendError(res: ServerResponse, code: ErrorCode, headers?: Readonly<Record<string, string>>, detail?: string, status?: number): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = errorBody(code, detail, shapeOf(res));
  res.statusCode = status ?? ERRORS[code].status;
  if (headers) for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader(ERROR_CODE_HEADER, code);
  res.end(body);
}

/** The one place that decides the error shape: the normalised path's family (raw path before intake ran). */
function shapeOf(res: ServerResponse): ErrorShape {
  const req = (res as ServerResponse & { req?: IncomingMessage }).req;
  const path = req?.ctx?.path ?? (req?.url ?? '/').split('?')[0];
  return routeFamily(path);
}
