// Token budgets: pre-charge (prompt estimate + requested completion cap) before forwarding, reconcile when the answer ends.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';
import type { RequestContext } from '../../kernel/context.js';
import { deny } from '../../kernel/deny.js';
import { endpointOf } from '../../kernel/endpoints.js';
import { choiceCount } from '../authorization.js';
import { StoreUnavailableError, type RateStore } from '../../kernel/rate-store.js';
import { clientIdentity, isExempt, penaltyFor, retrySeconds, userIdentity, type CompiledLimits } from './rules.js';
import type { RateLimitDeps } from './index.js';
import { CHARS_PER_TOKEN, promptLength } from '../prompt-length.js';

/** Characters per token of the estimate (both prompt and completion text); a token id counts as many. */
export { CHARS_PER_TOKEN };
/** Completion cap charged when a generation request names no max_tokens (or -1). */
export const DEFAULT_COMPLETION_CAP = 4096;
export const TOKEN_WINDOW_MS = 60_000;
const STAGE = 'token_budget';

export const estimateTokens = (chars: number): number => (chars > 0 ? Math.ceil(chars / CHARS_PER_TOKEN) : 0);

/** Prompt characters: the validation stage's count when it ran, else the same count made here. */
export function promptChars(ctx: RequestContext): number {
  if (ctx.promptChars > 0 || !ctx.json) return ctx.promptChars;
  return promptLength(ctx.json);
}

/** Completion tokens the request may produce: its max_tokens (or equivalent, or the default cap) times n / best_of. */
export function completionCap(body: Record<string, unknown>, path?: string): number {
  let cap: number | undefined;
  const options = body.options && typeof body.options === 'object' ? (body.options as Record<string, unknown>) : {};
  for (const v of [body.max_tokens, body.max_completion_tokens, body.max_output_tokens, body.n_predict, options.num_predict]) {
    if (typeof v === 'number' && Number.isFinite(v)) { cap = v; break; }
  }
  // The Responses API generates from `input` (which embeddings also use): the endpoint tells them apart.
  const generates = cap !== undefined || body.messages !== undefined || body.prompt !== undefined || (path !== undefined && endpointOf(path) !== 'other');
  if (!generates) return 0; // e.g. embeddings: input only
  if (cap === undefined || cap < 0) cap = DEFAULT_COMPLETION_CAP;
  return Math.ceil(cap) * choiceCount(body);
}

/**
 * What the answer cost: upstream usage where given, the estimate for what is missing. Writes ctx.usage so the
 * audit's gen_ai.usage.* are the numbers charged. Not forwarded, or refused upstream without text: nothing.
 */
export function settleUsage(ctx: RequestContext, promptEstimate: number): number {
  if (ctx.upstreamStatus === undefined) return 0;
  const u = ctx.usage;
  const hasIn = typeof u.input === 'number';
  const hasOut = typeof u.output === 'number';
  if (!hasIn && !hasOut && ctx.upstreamStatus >= 400 && ctx.completionChars === 0) return 0;
  const input = hasIn ? (u.input as number) : promptEstimate;
  const output = hasOut ? (u.output as number) : estimateTokens(ctx.completionChars);
  u.input = input;
  u.output = output;
  if (!hasIn || (!hasOut && ctx.completionChars > 0)) u.estimated = true;
  return Math.max(0, Math.ceil(input + output));
}

export function createTokenStage(c: CompiledLimits, budget: number, store: RateStore, deps: RateLimitDeps): RequestHandler {
  const keyPrefix = `${c.prefix}tok:`;
  const idPrefix = `${randomBytes(6).toString('hex')}:`;
  let seq = 0;
  return async function tokenStage(req, res, next) {
    const ctx = req.ctx;
    const body = ctx.json;
    if (!body || isExempt(ctx, req.headers)) return next();
    const who = clientIdentity(ctx);
    const promptEstimate = estimateTokens(promptChars(ctx));
    const amount = promptEstimate + completionCap(body, ctx.path);
    const key = keyPrefix + who.id;
    const id = idPrefix + (++seq).toString(36);
    const penalty = penaltyFor(c, userIdentity(c, ctx));
    let r;
    try {
      r = await store.reserve({ key, id, amount, budget, windowMs: TOKEN_WINDOW_MS }, penalty);
    } catch (e) {
      const reason = e instanceof StoreUnavailableError ? 'store unavailable (fail_closed)' : 'store error';
      if (deny(req, res, 'rate_limit_unavailable', { stage: STAGE, rule: 'security.rate_limiting.on_store_failure', reason, headers: { 'Retry-After': '1' } })) return;
      return next();
    }
    if (!r.allowed) {
      if (answerRefusal(req, res, c, deps, who, r.retryAfterMs, r.banStarted, amount, budget)) return;
      return next();
    }
    ctx.decisions.push({ stage: STAGE, outcome: 'allow', rule: 'security.rate_limiting.tokens.per_user_per_minute' });
    const holder = r.via ?? store;
    ctx.onDone.push((done) => {
      const charged = settleUsage(done, promptEstimate);
      holder.settle(key, id, charged, TOKEN_WINDOW_MS).catch(() => {});
    });
    return next();
  };
}

function answerRefusal(
  req: IncomingMessage, res: Parameters<RequestHandler>[1], c: CompiledLimits, deps: RateLimitDeps,
  who: { label: string }, retryMs: number, banStarted: boolean, amount: number, budget: number,
): boolean {
  const ctx = req.ctx;
  const retry = retrySeconds(banStarted ? c.banMs : retryMs);
  deps.onEvent({ action: 'rate_limit_exceeded', scope: 'tokens', rule: 'security.rate_limiting.tokens.per_user_per_minute', identity: who.label, retryAfterSeconds: retry }, ctx);
  if (banStarted) deps.onEvent({ action: 'ban', scope: 'tokens', rule: 'security.rate_limiting.penalties.repeated_violations', identity: who.label, retryAfterSeconds: retry }, ctx);
  const reason = amount > budget ? `pre-charge ${amount} exceeds the budget ${budget}` : `pre-charge ${amount} does not fit the remaining budget`;
  return deny(req, res, banStarted ? 'temporarily_banned' : 'token_budget_exceeded', {
    stage: STAGE, rule: 'security.rate_limiting.tokens.per_user_per_minute', reason, headers: { 'Retry-After': String(retry) },
  });
}
