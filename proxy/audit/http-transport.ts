// The http output: batches of lines POSTed to a collector (Splunk HEC envelope or NDJSON), spooled to disk while it is away.
import { Spool } from './spool.js';
import { LineTransport, type ProblemSink } from './transports.js';
import { doublingDelay } from '../../kernel/backoff.js';

export interface HttpTransportOptions {
  readonly url: string;
  readonly format: 'hec' | 'ndjson';
  /** Sent as "Authorization: Splunk <token>" (hec) or "Bearer <token>" (ndjson). */
  readonly token?: string;
  readonly batchSize: number;
  readonly flushIntervalMs: number;
  readonly spoolDir: string;
  readonly spoolMaxBytes: number;
  readonly hostname?: string;
  /** Per POST (default 10 s); close() waits at most this long for a last send. */
  readonly timeoutMs?: number;
  readonly retryMs?: number;
  readonly retryMaxMs?: number;
  /** Lines held in memory when even the spool cannot take them; newer ones are lost (counted). */
  readonly maxMemory?: number;
  readonly report?: ProblemSink;
}

const TIME = /^\{"@?timestamp":"([^"]+)"/;

/** One HEC event around a line, the line's text kept byte for byte (so its chain stays checkable). */
export function hecEnvelope(line: string, host: string | undefined): string {
  const raw = line.endsWith('\n') ? line.slice(0, -1) : line;
  const m = TIME.exec(raw);
  const t = m ? Date.parse(m[1]!) / 1000 : Date.now() / 1000;
  const h = host !== undefined ? `,"host":${JSON.stringify(host)}` : '';
  return `{"time":${t}${h},"source":"lollms-guard","sourcetype":"_json","event":${raw}}\n`;
}

export class HttpTransport extends LineTransport {
  /** Lines not yet delivered nor spooled, in order; always newer than every spooled line. */
  private mem: string[] = [];
  private readonly spool: Spool;
  private readonly timer: NodeJS.Timeout;
  private readonly headers: Record<string, string>;
  private busy?: Promise<void>;
  private down = false;
  private spoolFailing = false;
  private attempts = 0;
  private retryAt = 0;
  private shut = false;
  private flushing?: Promise<void>;

  constructor(private readonly o: HttpTransportOptions) {
    super('http', o.report);
    this.spool = new Spool(o.spoolDir, o.spoolMaxBytes);
    this.headers = { 'content-type': o.format === 'hec' ? 'application/json' : 'application/x-ndjson' };
    if (o.token) this.headers.authorization = `${o.format === 'hec' ? 'Splunk' : 'Bearer'} ${o.token}`;
    this.timer = setInterval(() => this.kick(), o.flushIntervalMs);
    this.timer.unref();
    if (this.spool.size > 0) this.kick();
  }

  /** Healthy while every line is delivered or safe in the spool; a collector outage alone is not unhealthy. */
  isHealthy(): boolean {
    return !this.spoolFailing;
  }

  /** Lines waiting in the spool (for metrics and tests). */
  /** Lines ever written to the spool (a running total, for the audit_lines_total{state="spooled"} metric). */
  spooled = 0;

  get spooledSegments(): number {
    return this.spool.size;
  }

  writeLine(line: string): void {
    if (this.shut || this.mem.length >= (this.o.maxMemory ?? 10_000)) { this.lost += 1; return; }
    this.mem.push(line);
    if (this.mem.length >= this.o.batchSize) this.kick();
  }

  /** One pump at a time: that is what keeps the order. */
  private kick(): void {
    if (this.busy) return;
    this.busy = this.pump()
      .catch(() => { this.errors += 1; })
      .finally(() => {
        this.busy = undefined;
        if (!this.down && !this.shut && this.mem.length >= this.o.batchSize) this.kick();
      });
  }

  /** Sends the spool (oldest first) then memory; on failure moves memory to the spool and backs off. */
  private async pump(): Promise<void> {
    for (;;) {
      if (this.down && Date.now() < this.retryAt) { await this.spoolMemory(); return; }
      const spooled = this.spool.size > 0 ? await this.spool.peek() : undefined;
      const batch = spooled ?? this.mem.slice(0, this.o.batchSize);
      if (batch.length === 0) {
        if (spooled) { await this.spool.ack(); continue; }
        return;
      }
      const status = await this.send(batch);
      if (status !== 'ok') {
        this.markDown(status);
        await this.spoolMemory();
        return;
      }
      if (spooled) await this.spool.ack();
      else this.mem.splice(0, batch.length);
      this.markUp();
    }
  }

  private async send(lines: readonly string[]): Promise<'ok' | string> {
    const body = this.o.format === 'hec' ? lines.map((l) => hecEnvelope(l, this.o.hostname)).join('') : lines.join('');
    try {
      const res = await fetch(this.o.url, {
        method: 'POST', headers: this.headers, body, signal: AbortSignal.timeout(this.o.timeoutMs ?? 10_000),
      });
      await res.arrayBuffer().catch(() => undefined);
      return res.ok ? 'ok' : `http_${res.status}`;
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
      return e.cause?.code ?? e.code ?? e.name ?? 'fetch_failed';
    }
  }

  /** Makes memory durable: one spool segment per batch. A full or unwritable spool leaves the lines in memory. */
  private async spoolMemory(): Promise<void> {
    while (this.mem.length > 0) {
      const batch = this.mem.slice(0, this.o.batchSize);
      let problem: string | undefined;
      try {
        if (!(await this.spool.push(batch))) problem = 'spool_full';
      } catch (err) {
        problem = (err as NodeJS.ErrnoException).code ?? 'spool_write';
      }
      if (problem) {
        if (!this.spoolFailing) {
          this.spoolFailing = true;
          this.errors += 1;
          this.problem({ kind: 'failure', code: problem });
        }
        return;
      }
      this.mem.splice(0, batch.length);
      this.spooled += batch.length;
      if (this.spoolFailing) {
        this.spoolFailing = false;
        this.problem({ kind: 'recovered', lost: this.lost });
      }
    }
  }

  private markDown(code: string): void {
    if (!this.down) {
      this.down = true;
      this.errors += 1;
      this.problem({ kind: 'failure', code });
    }
    const base = this.o.retryMs ?? 1000;
    this.retryAt = Date.now() + doublingDelay(this.attempts, base, this.o.retryMaxMs ?? 30_000);
    this.attempts += 1;
  }

  private markUp(): void {
    if (!this.down) return;
    this.down = false;
    this.attempts = 0;
    this.problem({ kind: 'recovered', lost: this.lost });
  }

  /** On close: one last send unless the collector is known away; what is left goes to the spool for the next start. */
  flush(): Promise<void> {
    this.flushing ??= (async () => {
      this.shut = true;
      clearInterval(this.timer);
      while (this.busy) await this.busy;
      await this.pump().catch(() => { this.errors += 1; });
      await this.spoolMemory().catch(() => undefined);
      this.lost += this.mem.length;
      this.mem = [];
    })();
    return this.flushing;
  }
}
