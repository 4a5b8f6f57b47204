// The transport seam: winston transports that take finished lines (file, stdout; http later) and report their health.
import winston from 'winston';

/** A change in an output's health, turned into an audit event by the logger. */
export interface TransportProblem {
  readonly transport: string;
  readonly kind: 'failure' | 'recovered' | 'lost';
  readonly code?: string;
  readonly lost?: number;
  readonly failedWrites?: number;
}
export type ProblemSink = (p: TransportProblem) => void;

/** What winston hands a transport: our serialised line rides in `line`. */
export interface LineInfo {
  readonly level: string;
  readonly message: string;
  readonly line: string;
}

type TransportInstance = winston.Logger['transports'][number];
// winston exports the winston-transport class at runtime as `Transport` (its typings only re-export the module).
const TransportStream = (winston as unknown as { Transport: new (opts?: object) => TransportInstance }).Transport;

/**
 * Base of every audit output. Subclasses implement writeLine (never blocking: queue and return) and flush
 * (resolves when every accepted line reached the OS). `next()` is called at once so winston never buffers.
 */
export abstract class LineTransport extends TransportStream {
  errors = 0;
  lost = 0;
  protected constructor(readonly label: string, protected readonly report: ProblemSink = () => undefined) {
    super({});
  }

  override log(info: LineInfo, next: () => void): void {
    try {
      this.writeLine(`${info.line}\n`);
    } catch {
      this.errors += 1;
      this.lost += 1;
    }
    next();
  }

  abstract writeLine(line: string): void;
  abstract flush(): Promise<void>;
  abstract isHealthy(): boolean;

  /** winston ends transports on logger.end(); 'finish' then waits until our own stream is flushed. */
  override _final(callback: (error?: Error | null) => void): void {
    this.flush().then(() => callback(), () => callback());
  }

  /** Reported asynchronously so a problem found inside a write callback never re-enters the pipeline mid-write. */
  protected problem(p: Omit<TransportProblem, 'transport'>): void {
    process.nextTick(() => {
      try { this.report({ transport: this.label, ...p }); } catch { /* reporting must never throw */ }
    });
  }
}

/** Lines to a writable stream (stdout by default). A write error is counted and reported, never thrown. */
export class StreamTransport extends LineTransport {
  private pending = 0;
  private failing = false;
  private waiters: Array<() => void> = [];
  private ended = false;

  private readonly onStreamError = (err: NodeJS.ErrnoException): void => this.onError(err);

  constructor(private readonly stream: NodeJS.WritableStream, report?: ProblemSink, label = 'stdout') {
    super(label, report);
    stream.on('error', this.onStreamError);
  }

  writeLine(line: string): void {
    if (this.ended) { this.lost += 1; return; }
    this.pending += 1;
    this.stream.write(line, (err?: Error | null) => {
      this.pending -= 1;
      if (err) {
        this.lost += 1;
        this.onError(err as NodeJS.ErrnoException);
      } else if (this.failing) {
        this.failing = false;
        this.problem({ kind: 'recovered', lost: this.lost });
      }
      if (this.pending === 0) for (const w of this.waiters.splice(0)) w();
    });
  }

  private onError(err: NodeJS.ErrnoException): void {
    if (this.failing) return;
    this.failing = true;
    this.errors += 1;
    this.problem({ kind: 'failure', code: err.code ?? err.name });
  }

  isHealthy(): boolean {
    return !this.failing;
  }

  /** Waits for the last write callback, then lets go of the stream (stdout outlives every logger: one listener each would pile up over reloads). */
  flush(): Promise<void> {
    this.ended = true;
    const done = this.pending === 0 ? Promise.resolve() : new Promise<void>((resolve) => this.waiters.push(resolve));
    // A failed write's 'error' event follows its callback by a tick: let it arrive before letting go.
    return done
      .then(() => new Promise<void>((r) => setImmediate(r)))
      .then(() => { this.stream.removeListener('error', this.onStreamError); });
  }
}
