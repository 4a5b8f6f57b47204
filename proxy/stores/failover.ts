// Shared store with a fallback: fail_open decides locally while Redis is away, fail_closed refuses; recovery is automatic.
import type { MemoryStore } from './memory.js';
import type { RedisStore } from './redis.js';
import {
  StoreUnavailableError, type BudgetAsk, type BudgetResult, type HitResult, type LimitHit, type Penalty, type RateStore,
} from '../../kernel/rate-store.js';

export interface FailoverOptions {
  readonly mode: 'fail_open' | 'fail_closed';
  /** Called once per transition to "down". */
  onOutage(err: unknown): void;
  /** Called once per transition back to "up". */
  onRecovered(): void;
  /** While down and connected, at most one PING per this many ms checks whether Redis answers again. */
  readonly probeIntervalMs?: number;
}

export class FailoverStore implements RateStore {
  readonly name = 'failover';
  private up = true;
  private closing = false;
  private probing = false;
  private lastProbe = 0;
  private readonly probeMs: number;
  private readonly onReady = (): void => this.markUp();
  private readonly onClose = (): void => { if (!this.closing) this.markDown(new Error('redis connection closed')); };

  constructor(readonly primary: RedisStore, readonly fallback: MemoryStore, private readonly opts: FailoverOptions) {
    this.probeMs = opts.probeIntervalMs ?? 250;
    // The client may be the process's shared one, which outlives this store: close() removes these again.
    primary.client.on('ready', this.onReady);
    primary.client.on('close', this.onClose);
  }

  /** False while the shared store is away (for /health). */
  get healthy(): boolean { return this.up; }

  hit(hits: readonly LimitHit[], penalty: Penalty | undefined): Promise<HitResult> {
    return this.run((s) => s.hit(hits, penalty));
  }

  async reserve(ask: BudgetAsk, penalty: Penalty | undefined): Promise<BudgetResult> {
    if (this.up) {
      try { return { ...(await this.primary.reserve(ask, penalty)), via: this.primary }; } catch (e) { this.markDown(e); }
    } else this.probe();
    if (this.opts.mode === 'fail_closed') throw new StoreUnavailableError();
    return { ...(await this.fallback.reserve(ask, penalty)), via: this.fallback };
  }

  settle(key: string, id: string, amount: number, windowMs: number): Promise<void> {
    return this.run((s) => s.settle(key, id, amount, windowMs));
  }

  banTtl(banKey: string): Promise<number> {
    return this.run((s) => s.banTtl(banKey));
  }

  async close(): Promise<void> {
    this.closing = true;
    this.primary.client.off('ready', this.onReady);
    this.primary.client.off('close', this.onClose);
    await Promise.all([this.primary.close(), this.fallback.close()]);
  }

  private async run<T>(f: (s: RateStore) => Promise<T>): Promise<T> {
    if (this.up) {
      try { return await f(this.primary); } catch (e) { this.markDown(e); }
    } else this.probe();
    if (this.opts.mode === 'fail_closed') throw new StoreUnavailableError();
    return f(this.fallback);
  }

  private markDown(err: unknown): void {
    if (!this.up || this.closing) return;
    this.up = false;
    this.lastProbe = Date.now();
    this.opts.onOutage(err);
  }

  private markUp(): void {
    if (this.up || this.closing) return;
    this.up = true;
    this.opts.onRecovered();
  }

  /** A connected but silent Redis (timeouts) gives no 'ready' event when it answers again: ask it now and then. */
  private probe(): void {
    const t = Date.now();
    if (this.probing || !this.primary.ready || t - this.lastProbe < this.probeMs) return;
    this.probing = true;
    this.lastProbe = t;
    this.primary.ping().then(() => this.markUp(), () => {}).finally(() => { this.probing = false; });
  }
}
