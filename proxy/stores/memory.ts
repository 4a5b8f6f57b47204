// In-process rate-limit store: the same algorithms as the Redis Lua scripts, synchronous (hence atomic), clock injected.
import {
  PENDING_MAX_MS, type BudgetAsk, type BudgetResult, type HitResult, type LimitHit, type LimitRule, type LimitState,
  type Penalty, type RateStore,
} from '../../kernel/rate-store.js';

const EPS = 1e-9;

interface Bucket { k: 'tb'; tokens: number; ts: number; exp: number }
interface Log { k: 'sw'; log: number[]; head: number; exp: number }
interface Fixed { k: 'fw'; start: number; count: number; exp: number }
interface Ban { k: 'ban'; until: number; exp: number }
interface Violations { k: 'viol'; times: number[]; exp: number }
interface Charge { amount: number; exp: number }
/** Pending and settled charges, each Map in expiry order (insertion order with a steady clock). */
interface Budget { k: 'bud'; pending: Map<string, Charge>; settled: Map<string, Charge>; total: number; exp: number }
type Entry = Bucket | Log | Fixed | Ban | Violations | Budget;

/** What one limit says before anything is consumed. */
interface Eval { allowed: boolean; retryAfterMs: number; remainingAfter: number; resetAfterMs: number; commit(): void }

export interface MemoryStoreOptions { now?: () => number; name?: string }

export class MemoryStore implements RateStore {
  readonly name: string;
  private readonly now: () => number;
  private readonly map = new Map<string, Entry>();
  private sweeper: Iterator<[string, Entry]> | undefined;

  constructor(opts: MemoryStoreOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.name = opts.name ?? 'memory';
  }

  /** Number of live keys (tests and metrics). */
  get size(): number { return this.map.size; }

  hit(hits: readonly LimitHit[], penalty: Penalty | undefined): Promise<HitResult> {
    return Promise.resolve(this.hitSync(hits, penalty));
  }

  hitSync(hits: readonly LimitHit[], penalty: Penalty | undefined): HitResult {
    const now = this.now();
    this.sweep(now);
    if (penalty) {
      const ban = this.banLeft(penalty.banKey, now);
      if (ban > 0) return { kind: 'banned', retryAfterMs: ban };
    }
    const evals = hits.map((h) => this.evaluate(h, now));
    const refused = evals.findIndex((e) => !e.allowed);
    if (refused < 0) {
      for (const e of evals) e.commit();
      return { kind: 'allowed', states: evals.map((e) => ({ remaining: e.remainingAfter, resetMs: e.resetAfterMs })) };
    }
    const states: LimitState[] = evals.map((e) => ({ remaining: e.allowed ? e.remainingAfter + 1 : 0, resetMs: e.resetAfterMs }));
    const banStarted = penalty ? this.violation(penalty, now) : false;
    return { kind: 'limited', index: refused, retryAfterMs: evals[refused].retryAfterMs, states, banStarted };
  }

  reserve(ask: BudgetAsk, penalty: Penalty | undefined): Promise<BudgetResult> {
    const now = this.now();
    this.sweep(now);
    const b = this.budget(ask.key, now);
    if (b.total < ask.budget && b.total + ask.amount <= ask.budget) {
      const exp = now + PENDING_MAX_MS;
      b.pending.set(ask.id, { amount: ask.amount, exp });
      b.total += ask.amount;
      b.exp = Math.max(b.exp, exp);
      return Promise.resolve({ allowed: true, remaining: ask.budget - b.total, retryAfterMs: 0, banStarted: false });
    }
    const retryAfterMs = budgetRetry(b, ask, now);
    const banStarted = penalty ? this.violation(penalty, now) : false;
    return Promise.resolve({ allowed: false, remaining: Math.max(0, ask.budget - b.total), retryAfterMs, banStarted });
  }

  settle(key: string, id: string, amount: number, windowMs: number): Promise<void> {
    const now = this.now();
    const b = this.budget(key, now);
    const old = b.pending.get(id) ?? b.settled.get(id);
    if (old) { b.total -= old.amount; b.pending.delete(id); b.settled.delete(id); }
    const exp = now + windowMs;
    b.settled.set(id, { amount, exp });
    b.total += amount;
    b.exp = Math.max(b.exp, exp);
    return Promise.resolve();
  }

  banTtl(banKey: string): Promise<number> {
    return Promise.resolve(this.banLeft(banKey, this.now()));
  }

  close(): Promise<void> {
    this.map.clear();
    return Promise.resolve();
  }

  private banLeft(key: string, now: number): number {
    const e = this.map.get(key);
    return e && e.k === 'ban' && e.until > now ? e.until - now : 0;
  }

  /** Records one violation; true when it starts a ban (threshold violations within banMs). */
  private violation(p: Penalty, now: number): boolean {
    if (p.threshold <= 0) return false;
    let v = this.map.get(p.violationsKey);
    if (!v || v.k !== 'viol') { v = { k: 'viol', times: [], exp: 0 }; this.map.set(p.violationsKey, v); }
    v.times.unshift(now);
    if (v.times.length > p.threshold) v.times.length = p.threshold;
    v.exp = now + p.banMs;
    if (v.times.length === p.threshold && v.times[p.threshold - 1] > now - p.banMs) {
      this.map.set(p.banKey, { k: 'ban', until: now + p.banMs, exp: now + p.banMs });
      this.map.delete(p.violationsKey);
      return true;
    }
    return false;
  }

  private evaluate(h: LimitHit, now: number): Eval {
    const r = h.rule;
    if (r.algorithm === 'token_bucket') return this.evalBucket(h.key, r, now);
    if (r.algorithm === 'sliding_window') return this.evalLog(h.key, r, now);
    return this.evalFixed(h.key, r, now);
  }

  private evalBucket(key: string, r: LimitRule, now: number): Eval {
    const e = this.map.get(key);
    let tokens = r.burst;
    let ts = now;
    if (e && e.k === 'tb') {
      ts = Math.max(e.ts, now);
      tokens = Math.min(r.burst, e.tokens + (Math.max(0, now - e.ts) * r.rate) / r.windowMs);
    }
    const allowed = tokens + EPS >= 1;
    const after = allowed ? tokens - 1 : tokens;
    const resetAfterMs = Math.ceil(((r.burst - after) * r.windowMs) / r.rate);
    return {
      allowed,
      retryAfterMs: allowed ? 0 : Math.ceil(((1 - tokens) * r.windowMs) / r.rate),
      remainingAfter: Math.floor(after + EPS),
      resetAfterMs,
      commit: () => { this.map.set(key, { k: 'tb', tokens: after, ts, exp: now + resetAfterMs }); },
    };
  }

  private evalLog(key: string, r: LimitRule, now: number): Eval {
    let e = this.map.get(key);
    if (!e || e.k !== 'sw') e = { k: 'sw', log: [], head: 0, exp: 0 };
    const log = e;
    const cutoff = now - r.windowMs;
    while (log.head < log.log.length && log.log[log.head] <= cutoff) log.head++;
    if (log.head > 64 && log.head * 2 > log.log.length) { log.log = log.log.slice(log.head); log.head = 0; }
    const count = log.log.length - log.head;
    const allowed = count < r.rate;
    const newest = count > 0 ? log.log[log.log.length - 1] : now;
    return {
      allowed,
      retryAfterMs: allowed ? 0 : log.log[log.head + (count - r.rate)] + r.windowMs - now,
      remainingAfter: allowed ? r.rate - count - 1 : 0,
      resetAfterMs: (allowed ? now : newest) + r.windowMs - now,
      commit: () => {
        log.log.push(now);
        log.exp = now + r.windowMs;
        this.map.set(key, log);
      },
    };
  }

  private evalFixed(key: string, r: LimitRule, now: number): Eval {
    const e = this.map.get(key);
    const start = Math.floor(now / r.windowMs) * r.windowMs;
    const count = e && e.k === 'fw' && e.start === start ? e.count : 0;
    const allowed = count < r.rate;
    const end = start + r.windowMs;
    return {
      allowed,
      retryAfterMs: allowed ? 0 : end - now,
      remainingAfter: allowed ? r.rate - count - 1 : 0,
      resetAfterMs: end - now,
      commit: () => { this.map.set(key, { k: 'fw', start, count: count + 1, exp: end }); },
    };
  }

  private budget(key: string, now: number): Budget {
    let b = this.map.get(key);
    if (!b || b.k !== 'bud') {
      b = { k: 'bud', pending: new Map(), settled: new Map(), total: 0, exp: 0 };
      this.map.set(key, b);
    }
    b.total -= pruneCharges(b.pending, now) + pruneCharges(b.settled, now);
    return b;
  }

  /** Incremental expiry: a few entries per operation, so no timer and no long pause. */
  private sweep(now: number): void {
    for (let i = 0; i < 4; i++) {
      if (!this.sweeper) this.sweeper = this.map.entries();
      const n = this.sweeper.next();
      if (n.done) { this.sweeper = undefined; return; }
      const [key, e] = n.value;
      if (e.exp <= now) this.map.delete(key);
    }
  }
}

/** Drops expired charges from the front of an expiry-ordered map; returns the amount dropped. */
function pruneCharges(m: Map<string, Charge>, now: number): number {
  let freed = 0;
  for (const [id, c] of m) {
    if (c.exp > now) break;
    freed += c.amount;
    m.delete(id);
  }
  return freed;
}

/** Time until enough charges expire for the ask to fit; at most one window (pending ones usually settle sooner). */
function budgetRetry(b: Budget, ask: BudgetAsk, now: number): number {
  if (ask.amount > ask.budget) return ask.windowMs;
  const need = Math.max(b.total + ask.amount - ask.budget, b.total - ask.budget + 1);
  const all = [...b.pending.values(), ...b.settled.values()].sort((x, y) => x.exp - y.exp);
  let freed = 0;
  for (const c of all) {
    freed += c.amount;
    if (freed >= need) return Math.min(ask.windowMs, Math.max(1, c.exp - now));
  }
  return ask.windowMs;
}
