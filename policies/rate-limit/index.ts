// Rate limiting and token budgets: builds the two pipeline stages and the store once per policy load.
import type { RequestHandler } from 'express';
import type { DebugSection, PolicyKey, RateLimitingSection } from '../../kernel/policy.js';
import type { RequestContext } from '../../kernel/context.js';
import { deny } from '../../kernel/deny.js';
import { StoreUnavailableError, type LimitHit, type RateStore, type StoreWatch } from '../../kernel/rate-store.js';
import {
  SCOPES, clientIdentity, compileLimits, endpointFor, isExempt, penaltyFor, rateLimitHeader, retrySeconds, userIdentity,
  type CompiledLimits,
} from './rules.js';
import { createTokenStage } from './tokens.js';

export interface RateLimitEvent {
  action: 'rate_limit_exceeded' | 'ban' | 'store_outage' | 'store_recovered' | 'bypass_enabled';
  scope?: string;
  /** The policy key that decided, as in the request's decisions (an audit query finds both by it). */
  rule?: PolicyKey;
  /** For a [[security.rate_limiting.endpoints]] limit: which one. */
  endpoint?: string;
  /** Key id or IP, never a key. */
  identity?: string;
  retryAfterSeconds?: number;
}

export interface RateLimitDeps {
  onEvent(e: RateLimitEvent, ctx?: RequestContext): void;
  debug: DebugSection;
  /**
   * The counters (proxy/stores builds them: memory, or the process's Redis behind the failover policy),
   * asked for only when a limit is enforced; `watch` hears of a shared store's outages.
   */
  store(watch: StoreWatch): RateStore;
}

export interface RateLimiting {
  /** Request-count limits and bans; runs after authentication. */
  requestStage: RequestHandler;
  /** Token pre-charge; runs after the body is parsed; registers reconciliation in ctx.onDone. */
  tokenStage: RequestHandler;
  /** For /health: false while a shared store is away. */
  storeHealthy(): boolean;
  /** Quits Redis connections. */
  close(): Promise<void>;
}

const STAGE = 'rate_limit';
const pass: RequestHandler = (_req, _res, next) => next();

export function createRateLimiting(section: RateLimitingSection, deps: RateLimitDeps): RateLimiting {
  if (!section.enabled) return { requestStage: pass, tokenStage: pass, storeHealthy: () => true, close: async () => {} };
  if (deps.debug.enabled && deps.debug.bypass_rate_limits) {
    deps.onEvent({ action: 'bypass_enabled', scope: 'debug', rule: 'debug.bypass_rate_limits' });
    const skip: RequestHandler = (req, _res, next) => {
      req.ctx.decisions.push({ stage: STAGE, outcome: 'skip', rule: 'debug.bypass_rate_limits' });
      next();
    };
    return { requestStage: skip, tokenStage: pass, storeHealthy: () => true, close: async () => {} };
  }
  const limits = compileLimits(section);
  const store = deps.store({
    onOutage: () => deps.onEvent({ action: 'store_outage', scope: 'store', rule: 'security.rate_limiting.on_store_failure' }),
    onRecovered: () => deps.onEvent({ action: 'store_recovered', scope: 'store', rule: 'security.rate_limiting.on_store_failure' }),
  });
  const budget = section.tokens.per_user_per_minute;
  return {
    requestStage: createRequestStage(limits, store, deps),
    tokenStage: budget > 0 ? createTokenStage(limits, budget, store, deps) : pass,
    storeHealthy: () => store.healthy !== false,
    close: () => store.close(),
  };
}

function createRequestStage(c: CompiledLimits, store: RateStore, deps: RateLimitDeps): RequestHandler {
  const names = SCOPES;
  return async function rateLimitStage(req, res, next) {
    const ctx = req.ctx;
    if (isExempt(ctx, req.headers)) return next();
    const client = clientIdentity(ctx);
    const user = userIdentity(c, ctx);
    const ep = endpointFor(c, ctx.path);
    const hits: LimitHit[] = [
      c.global,
      { key: c.perUserPrefix + user.id, rule: c.perUser },
      { key: ep === c.fallback ? ep.keyPrefix + ctx.path + ' ' + client.id : ep.keyPrefix + client.id, rule: ep.rule },
    ];
    let r;
    try {
      r = await store.hit(hits, penaltyFor(c, user));
    } catch (e) {
      const reason = e instanceof StoreUnavailableError ? 'store unavailable (fail_closed)' : 'store error';
      if (deny(req, res, 'rate_limit_unavailable', { stage: STAGE, rule: 'security.rate_limiting.on_store_failure', reason, headers: { 'Retry-After': '1' } })) return;
      return next();
    }
    res.setHeader('RateLimit-Policy', ep.policyHeader);
    if (r.kind === 'allowed') {
      res.setHeader('RateLimit', rateLimitHeader(r.states));
      ctx.decisions.push({ stage: STAGE, outcome: 'allow' });
      return next();
    }
    if (r.kind === 'banned') {
      const retry = retrySeconds(r.retryAfterMs);
      const rl = rateLimitHeader(names.map(() => ({ remaining: 0, resetMs: r.retryAfterMs })));
      deps.onEvent({ action: 'rate_limit_exceeded', scope: 'ban', rule: 'security.rate_limiting.penalties.repeated_violations', identity: user.label, retryAfterSeconds: retry }, ctx);
      if (deny(req, res, 'temporarily_banned', {
        stage: STAGE, rule: 'security.rate_limiting.penalties.repeated_violations', reason: 'banned after repeated violations', headers: { 'Retry-After': String(retry), RateLimit: rl },
      })) return;
      return next();
    }
    const scope = names[r.index];
    const limit: PolicyKey = scope !== 'per_endpoint' ? `security.rate_limiting.${scope}` : ep === c.fallback ? 'security.rate_limiting.per_endpoint' : 'security.rate_limiting.endpoints';
    const endpoint = limit === 'security.rate_limiting.endpoints' ? { endpoint: ep.name } : {};
    const retry = retrySeconds(r.banStarted ? c.banMs : r.retryAfterMs);
    const who = scope === 'per_endpoint' ? client.label : user.label;
    deps.onEvent({ action: 'rate_limit_exceeded', scope, rule: limit, ...endpoint, identity: who, retryAfterSeconds: retrySeconds(r.retryAfterMs) }, ctx);
    if (r.banStarted) deps.onEvent({ action: 'ban', scope, rule: 'security.rate_limiting.penalties.repeated_violations', ...endpoint, identity: user.label, retryAfterSeconds: retry }, ctx);
    const states = r.banStarted ? names.map(() => ({ remaining: 0, resetMs: c.banMs })) : r.states;
    if (deny(req, res, r.banStarted ? 'temporarily_banned' : 'rate_limited', {
      stage: STAGE, rule: limit, ...(limit === 'security.rate_limiting.endpoints' ? { at: ep.name } : {}), reason: `${scope} limit exceeded`, headers: { 'Retry-After': String(retry), RateLimit: rateLimitHeader(states) },
    })) return;
    return next();
  };
}

export { compileLimits } from './rules.js';
export { estimateTokens, completionCap, DEFAULT_COMPLETION_CAP, CHARS_PER_TOKEN } from './tokens.js';
