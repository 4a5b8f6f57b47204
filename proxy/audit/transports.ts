// The transport seam: outputs that take finished lines (file, stdout, http) and report their health.

/** A change in an output's health, turned into an audit event by the logger. */
export interface TransportProblem {
  readonly transport: string;
  readonly kind: 'failure' | 'recovered' | 'lost';
  readonly code?: string;
  readonly lost?: number;
  readonly failedWrites?: number;
}
export type ProblemSink = (p: TransportProblem) => void;

/**
 * Base of every audit output: takes finished lines (each ending in "\n", in chain order) from the logger, which
 * calls `take` once per batch (docs/audit.md "Batching"). Subclasses implement writeLine (never blocking: queue and
 * return) and flush (resolves when every accepted line reached the OS).
 */
export abstract class LineTransport {
  errors = 0;
  lost = 0;
  protected constructor(readonly label: string, protected readonly report: ProblemSink = () => undefined) {}

  /** One batch; an output that throws loses it (counted), never the request. */
  take(lines: readonly string[]): void {
    try {
      this.writeLines(lines);
    } catch {
      this.errors += 1;
      this.lost += lines.length;
    }
  }

  abstract writeLine(line: string): void;

  /** Lines (each ending in "\n") in order; outputs that can write them in one go override this. */
  writeLines(lines: readonly string[]): void {
    for (const line of lines) this.writeLine(line);
  }
  abstract flush(): Promise<void>;
  abstract isHealthy(): boolean;
  /** Lines accepted but waiting in memory (the output is failing); neither written nor lost yet. */
  held(): number {
    return 0;
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
    this.send(line, 1);
  }

  /** A batch is one stream write (one chunk, one callback). */
  override writeLines(lines: readonly string[]): void {
    if (lines.length > 0) this.send(lines.length === 1 ? lines[0]! : lines.join(''), lines.length);
  }

  private send(text: string, count: number): void {
    if (this.ended) { this.lost += count; return; }
    this.pending += 1;
    this.stream.write(text, (err?: Error | null) => {
      this.pending -= 1;
      if (err) {
        this.lost += count;
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
