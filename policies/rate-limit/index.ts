// Rate limiting and token budgets: builds the two pipeline stages and the store once per policy load.
import type { RequestHandler } from 'express';
import type { DebugSection, PolicyKey, RateLimitingSection } from '../../kernel/policy.js';
import type { RequestContext } from '../../kernel/context.js';
import { deny } from '../../kernel/deny.js';
import { FailoverStore } from '../../proxy/stores/failover.js';
import { MemoryStore } from '../../proxy/stores/memory.js';
import { RedisStore } from '../../proxy/stores/redis.js';
import { resolveRedisTarget } from '../../proxy/stores/redis-connection.js';
import type { SharedClient } from '../../proxy/stores/shared-redis.js';
import { StoreUnavailableError, type LimitHit, type RateStore } from '../../proxy/stores/types.js';
import {
  SCOPES, clientIdentity, compileLimits, endpointFor, isExempt, penaltyFor, rateLimitHeader, retrySeconds, userIdentity,
  type CompiledLimits,
} from './rules.js';
import { createTokenStage } from './tokens.js';

export interface RateLimitEvent {
  action: 'rate_limit_exceeded' | 'ban' | 'store_outage' | 'store_recovered' | 'bypass_enabled';
  scope?: string;
  rule?: string;
  /** Key id or IP, never a key. */
  identity?: string;
  retryAfterSeconds?: number;
}

export interface RateLimitDeps {
  onEvent(e: RateLimitEvent, ctx?: RequestContext): void;
  debug: DebugSection;
  env?: NodeJS.ProcessEnv;
  /** ms, for tests. */
  now?: () => number;
  /** The process's Redis client (server.ts builds one and shares it with the lockout); without it the store opens its own. */
  redis?: SharedClient;
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
    deps.onEvent({ action: 'bypass_enabled', scope: 'debug', rule: 'bypass_rate_limits' });
    const skip: RequestHandler = (req, _res, next) => {
      req.ctx.decisions.push({ stage: STAGE, outcome: 'skip', rule: 'debug.bypass_rate_limits' });
      next();
    };
    return { requestStage: skip, tokenStage: pass, storeHealthy: () => true, close: async () => {} };
  }
  const limits = compileLimits(section);
  const store = buildStore(section, deps);
  const budget = section.tokens.per_user_per_minute;
  return {
    requestStage: createRequestStage(limits, store, deps),
    tokenStage: budget > 0 ? createTokenStage(limits, budget, store, deps) : pass,
    storeHealthy: () => !(store instanceof FailoverStore) || store.healthy,
    close: () => store.close(),
  };
}

/** memory: one instance. redis: the shared store, behind the failover policy (fail_open / fail_closed). */
export function buildStore(section: RateLimitingSection, deps: RateLimitDeps): RateStore {
  if (section.store === 'memory') return new MemoryStore({ now: deps.now });
  const shared = deps.redis ?? (() => {
    const target = resolveRedisTarget(section, deps.env ?? process.env);
    return { target, client: target.create(), own: true };
  })();
  const primary = new RedisStore({ client: shared.client, ownsClient: 'own' in shared, now: deps.now, probeKey: shared.target.prefix + 'probe' });
  const fallback = new MemoryStore({ now: deps.now, name: 'memory-fallback' });
  return new FailoverStore(primary, fallback, {
    mode: section.on_store_failure,
    onOutage: () => deps.onEvent({ action: 'store_outage', scope: 'store', rule: section.on_store_failure }),
    onRecovered: () => deps.onEvent({ action: 'store_recovered', scope: 'store', rule: section.on_store_failure }),
  });
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
      deps.onEvent({ action: 'rate_limit_exceeded', scope: 'ban', rule: 'temporary_ban', identity: user.label, retryAfterSeconds: retry }, ctx);
      if (deny(req, res, 'temporarily_banned', {
        stage: STAGE, rule: 'security.rate_limiting.penalties.repeated_violations', reason: 'banned after repeated violations', headers: { 'Retry-After': String(retry), RateLimit: rl },
      })) return;
      return next();
    }
    const scope = names[r.index];
    const rule = scope === 'per_endpoint' ? ep.name : scope;
    const retry = retrySeconds(r.banStarted ? c.banMs : r.retryAfterMs);
    const who = scope === 'per_endpoint' ? client.label : user.label;
    deps.onEvent({ action: 'rate_limit_exceeded', scope, rule, identity: who, retryAfterSeconds: retrySeconds(r.retryAfterMs) }, ctx);
    if (r.banStarted) deps.onEvent({ action: 'ban', scope, rule, identity: user.label, retryAfterSeconds: retry }, ctx);
    const limit: PolicyKey = scope !== 'per_endpoint' ? `security.rate_limiting.${scope}` : ep === c.fallback ? 'security.rate_limiting.per_endpoint' : 'security.rate_limiting.endpoints';
    const states = r.banStarted ? names.map(() => ({ remaining: 0, resetMs: c.banMs })) : r.states;
    if (deny(req, res, r.banStarted ? 'temporarily_banned' : 'rate_limited', {
      stage: STAGE, rule: limit, ...(limit === 'security.rate_limiting.endpoints' ? { at: ep.name } : {}), reason: `${scope} limit exceeded`, headers: { 'Retry-After': String(retry), RateLimit: rateLimitHeader(states) },
    })) return;
    return next();
  };
}

export { compileLimits } from './rules.js';
export { estimateTokens, completionCap, DEFAULT_COMPLETION_CAP, CHARS_PER_TOKEN } from './tokens.js';
