// Compiles [security.rate_limiting] once per policy load: rules, globs, key prefixes, header templates, identities.
import picomatch from 'picomatch';
import type { RateLimitingSection } from '../../kernel/policy.js';
import type { RequestContext } from '../../kernel/context.js';
import { ALGORITHM_TAG, effectivePrefix, type LimitHit, type LimitRule, type LimitState, type Penalty } from '../../kernel/rate-store.js';

export type Scope = 'global' | 'per_user' | 'per_endpoint';

export interface EndpointRule {
  /** The glob as written, or "default" for paths no rule matches (then counted per path). */
  readonly name: string;
  readonly match: (path: string) => boolean;
  readonly rule: LimitRule;
  /** Counter key prefix; the client identity is appended. */
  readonly keyPrefix: string;
  /** Pre-built RateLimit-Policy value for requests this rule applies to. */
  readonly policyHeader: string;
}

export interface CompiledLimits {
  readonly prefix: string;
  readonly global: LimitHit;
  readonly perUser: LimitRule;
  readonly perUserPrefix: string;
  readonly trackByIp: boolean;
  readonly endpoints: readonly EndpointRule[];
  readonly fallback: EndpointRule;
  /** threshold 0 when repeated violations only throttle. */
  readonly banThreshold: number;
  readonly banMs: number;
}

export const SCOPES: readonly Scope[] = ['global', 'per_user', 'per_endpoint'];

const ms = (seconds: number): number => Math.max(1, Math.round(seconds * 1000));

function rule(s: RateLimitingSection, rate: number, burst: number, windowSeconds: number): LimitRule {
  return { algorithm: s.algorithm, rate, burst, windowMs: ms(windowSeconds) };
}

/** One RateLimit-Policy member: quota q per window w seconds (token_bucket: the refill rate; `burst` is the bucket). */
function policyItem(name: string, r: LimitRule): string {
  return `"${name}";q=${r.rate};w=${Math.max(1, Math.ceil(r.windowMs / 1000))}`;
}

export function compileLimits(s: RateLimitingSection): CompiledLimits {
  // redis.key_prefix wins over key_prefix; in cluster mode it is the hash tag that keeps a decision in one slot.
  const prefix = effectivePrefix(s);
  const tag = ALGORITHM_TAG[s.algorithm];
  const g = rule(s, s.global.rate, s.global.burst, s.global.window_seconds);
  const u = rule(s, s.per_user.rate, s.per_user.burst, s.per_user.window_seconds);
  const head = `${policyItem('global', g)}, ${policyItem('per_user', u)}, `;
  const pe = s.per_endpoint;
  const endpoints = s.endpoints.map((e): EndpointRule => {
    const r = rule(s, e.rate, e.burst ?? pe.default_burst, e.window_seconds ?? pe.window_seconds);
    const m = picomatch(e.path, { dot: true });
    return { name: e.path, match: (p) => m(p), rule: r, keyPrefix: `${prefix}rl:${tag}:e:${e.path}:`, policyHeader: head + policyItem('per_endpoint', r) };
  });
  const d = rule(s, pe.default_rate, pe.default_burst, pe.window_seconds);
  const p = s.penalties;
  return {
    prefix,
    global: { key: `${prefix}rl:${tag}:g`, rule: g },
    perUser: u,
    perUserPrefix: `${prefix}rl:${tag}:u:`,
    trackByIp: s.per_user.track_by === 'ip',
    endpoints,
    fallback: { name: 'default', match: () => true, rule: d, keyPrefix: `${prefix}rl:${tag}:e:*default:`, policyHeader: head + policyItem('per_endpoint', d) },
    banThreshold: p.repeated_violations === 'temporary_ban' ? p.violations_before_ban : 0,
    banMs: ms(p.ban_duration_minutes * 60),
  };
}

/** The first [[endpoints]] rule whose glob matches, else the defaults. */
export function endpointFor(c: CompiledLimits, path: string): EndpointRule {
  for (const e of c.endpoints) if (e.match(path)) return e;
  return c.fallback;
}

/** A client's identity: its key id when authenticated with a key, else its (trust_proxy-resolved) IP. */
export interface Identity {
  /** Namespaced, for store keys: "k:<keyId>", "o:<issuer> <subject>" or "ip:<addr>". */
  readonly id: string;
  /** For audit: the key id or the address (never a key). */
  readonly label: string;
}

export function clientIdentity(ctx: RequestContext): Identity {
  const p = ctx.principal;
  // A token's subject is namespaced by its issuer: "alice" of two IdPs, or a key named like a subject, never share a quota.
  if (p?.issuer !== undefined) return { id: `o:${p.issuer} ${p.keyId}`, label: p.keyId };
  if (p && p.source !== 'anonymous') return { id: 'k:' + p.keyId, label: p.keyId };
  return { id: 'ip:' + ctx.clientIp, label: ctx.clientIp };
}

export function userIdentity(c: CompiledLimits, ctx: RequestContext): Identity {
  return c.trackByIp ? { id: 'ip:' + ctx.clientIp, label: ctx.clientIp } : clientIdentity(ctx);
}

export function penaltyFor(c: CompiledLimits, who: Identity): Penalty {
  return { banKey: `${c.prefix}ban:${who.id}`, violationsKey: `${c.prefix}viol:${who.id}`, threshold: c.banThreshold, banMs: c.banMs };
}

/** The RateLimit field: remaining r and seconds-to-full t for each policy in RateLimit-Policy order. */
export function rateLimitHeader(states: readonly LimitState[]): string {
  let out = '';
  for (let i = 0; i < states.length; i++) {
    const st = states[i];
    if (i > 0) out += ', ';
    out += `"${SCOPES[i]}";r=${Math.max(0, st.remaining)};t=${Math.max(0, Math.ceil(st.resetMs / 1000))}`;
  }
  return out;
}

export const retrySeconds = (msLeft: number): number => Math.max(1, Math.ceil(msLeft / 1000));

/** Never counted: the health check and CORS preflights. */
export function isExempt(ctx: RequestContext, headers: Readonly<Record<string, unknown>>): boolean {
  if (ctx.path === '/health') return true;
  return ctx.method === 'OPTIONS' && headers['origin'] !== undefined && headers['access-control-request-method'] !== undefined;
}
