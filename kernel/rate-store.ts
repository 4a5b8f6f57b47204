// The rate-limit store contract: what every store (memory, redis, failover; built in proxy/stores) decides atomically.
import type { RateLimitingSection } from './policy.js';

export type Algorithm = 'token_bucket' | 'sliding_window' | 'fixed_window';

/** One limit's shape. token_bucket: `burst` tokens refilled at rate/windowMs; windows: `rate` per windowMs. */
export interface LimitRule {
  readonly algorithm: Algorithm;
  readonly rate: number;
  readonly burst: number;
  readonly windowMs: number;
}

/** One limit applied to one counter key (the key already names scope, algorithm and identity). */
export interface LimitHit {
  readonly key: string;
  readonly rule: LimitRule;
}

/** Ban bookkeeping for one identity. threshold 0 = never ban (repeated_violations = "throttle"). */
export interface Penalty {
  readonly banKey: string;
  readonly violationsKey: string;
  readonly threshold: number;
  /** Violations are counted within this span, and a ban lasts this long. */
  readonly banMs: number;
}

/** A limit's state after the decision, for the RateLimit header. */
export interface LimitState {
  /** Requests still allowed now (tokens in the bucket, or rate minus the window's count). */
  readonly remaining: number;
  /** Milliseconds until the limit is back to its full quota. */
  readonly resetMs: number;
}

export type HitResult =
  | { readonly kind: 'allowed'; readonly states: readonly LimitState[] }
  /** `index`: the first hit that refused; nothing was consumed. `banStarted`: this violation started a ban. */
  | { readonly kind: 'limited'; readonly index: number; readonly retryAfterMs: number; readonly states: readonly LimitState[]; readonly banStarted: boolean }
  | { readonly kind: 'banned'; readonly retryAfterMs: number };

/** A token-budget reservation request: `amount` against `budget` per rolling `windowMs`. */
export interface BudgetAsk {
  readonly key: string;
  /** Unique reservation id (settled later with the same id). */
  readonly id: string;
  readonly amount: number;
  readonly budget: number;
  readonly windowMs: number;
}

export interface BudgetResult {
  readonly allowed: boolean;
  /** Budget left after this decision. */
  readonly remaining: number;
  readonly retryAfterMs: number;
  readonly banStarted: boolean;
  /** The store that holds the reservation (settle there): the failover store answers with the one it used. */
  readonly via?: RateStore;
}

/**
 * Atomic decisions. `hit`: if the identity is banned answer banned; else allow only if every hit allows and
 * then consume one unit from each; else consume nothing and record one violation (which may start a ban).
 * `reserve`: hold `amount` of the budget (refused, and a violation recorded, when it does not fit).
 * `settle`: replace a reservation with the real amount, counted from now for one window.
 */
export interface RateStore {
  readonly name: string;
  hit(hits: readonly LimitHit[], penalty: Penalty | undefined): Promise<HitResult>;
  reserve(ask: BudgetAsk, penalty: Penalty | undefined): Promise<BudgetResult>;
  settle(key: string, id: string, amount: number, windowMs: number): Promise<void>;
  /** Remaining ban in ms (0 = none). */
  banTtl(banKey: string): Promise<number>;
  /** false while a shared store is away (for /health); a store that cannot be away leaves it out. */
  readonly healthy?: boolean;
  close(): Promise<void>;
}

/** What a store tells the policy area that uses it: the shared store went away, or came back. */
export interface StoreWatch {
  onOutage(): void;
  onRecovered(): void;
}

/** Thrown by the failover store in fail_closed mode while the shared store is away. */
export class StoreUnavailableError extends Error {
  constructor(cause?: unknown) {
    super('rate limit store unavailable', { cause });
    this.name = 'StoreUnavailableError';
  }
}

/** A reservation not settled within this time stops counting (a crashed instance cannot hold budget forever). */
export const PENDING_MAX_MS = 15 * 60_000;

export const ALGORITHM_CODE: Readonly<Record<Algorithm, number>> = { token_bucket: 1, sliding_window: 2, fixed_window: 3 };
export const ALGORITHM_TAG: Readonly<Record<Algorithm, string>> = { token_bucket: 'tb', sliding_window: 'sw', fixed_window: 'fw' };

/** The key prefix the limiter and lockout use (see docs/rate-limits.md, "Redis deployments"). */
export function effectivePrefix(section: RateLimitingSection): string {
  const r = section.redis as RateLimitingSection['redis'] | undefined; // hand-built sections in tests may omit it
  const prefix = r?.key_prefix ? r.key_prefix : section.key_prefix;
  // Everything between the first "{" and the next "}" is hashed: with the prefix leading the key, every key
  // of this deployment has the same tag, so one script's keys always share one slot.
  return r?.mode === 'cluster' ? `{${prefix === '' ? 'lollms-guard' : prefix}}` : prefix;
}
