// Circuit breaker for the upstream: opens after N consecutive failures, answers fast, then lets one probe through.

export type CircuitState = 'closed' | 'open' | 'half_open';

export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;
  private state: CircuitState = 'closed';
  private probeInFlight = false;

  constructor(
    private threshold: number,
    private recoveryMs: number,
    private enabled: boolean,
    private readonly now: () => number = Date.now,
    private readonly onChange: (s: CircuitState) => void = () => {},
  ) {}

  /** Policy reloads change the numbers, never the state. */
  configure(threshold: number, recoveryMs: number, enabled: boolean): void {
    this.threshold = threshold;
    this.recoveryMs = recoveryMs;
    this.enabled = enabled;
    if (!enabled) this.set('closed');
  }

  get current(): CircuitState {
    return this.state;
  }

  /** May a request go upstream now? A half-open circuit admits exactly one probe. */
  admit(): boolean {
    if (!this.enabled || this.state === 'closed') return true;
    if (this.state === 'open') {
      if (this.now() - this.openedAt < this.recoveryMs) return false;
      this.set('half_open');
    }
    if (this.probeInFlight) return false;
    this.probeInFlight = true;
    return true;
  }

  /** Seconds until the next probe may go, for Retry-After. */
  retryAfterSeconds(): number {
    return Math.max(1, Math.ceil((this.openedAt + this.recoveryMs - this.now()) / 1000));
  }

  success(): void {
    this.failures = 0;
    this.probeInFlight = false;
    if (this.state !== 'closed') this.set('closed');
  }

  failure(): void {
    this.probeInFlight = false;
    if (!this.enabled) return;
    this.failures += 1;
    if (this.state === 'half_open' || this.failures >= this.threshold) {
      this.openedAt = this.now();
      this.failures = 0;
      this.set('open');
    }
  }

  /** A request that ended without a verdict (client went away) frees the probe slot. */
  release(): void {
    this.probeInFlight = false;
  }

  private set(s: CircuitState): void {
    if (s === this.state) return;
    this.state = s;
    this.onChange(s);
  }
}
