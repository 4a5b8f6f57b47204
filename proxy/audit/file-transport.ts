// The audit file output: async appends, rotation by size and by UTC day on line boundaries, gzip, pruning, retry after write errors.
import { createWriteStream, mkdirSync, statSync, type WriteStream } from 'node:fs';
import { mkdir, rename, stat, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';
import { archiveName, fileDay, gzipFile, lineDay, pruneRotated } from './rotation.js';
import { LineTransport, type ProblemSink } from './transports.js';
import { doublingDelay } from '../../kernel/backoff.js';
import { VanishCheck } from './vanish-check.js';

export interface FileTransportOptions {
  readonly path: string;
  /** Rotate before a line would take the file past this many bytes; Infinity: never. */
  readonly maxBytes: number;
  readonly compress: boolean;
  readonly maxAgeDays: number;
  /** Lines kept in memory while the file cannot be written; newer ones are then lost (counted). */
  readonly maxBacklog?: number;
  readonly retryMs?: number;
  readonly retryMaxMs?: number;
  readonly report?: ProblemSink;
  /** The clock (epoch ms; default Date.now): dates lines without a timestamp, names archives, ages retention. Tests step it. */
  readonly now?: () => number;
}

export class AuditFileTransport extends LineTransport {
  private ws?: WriteStream;
  /** Bytes handed to the live file (in flight included) and bytes the OS accepted. */
  private size = 0;
  private confirmed = 0;
  /** UTC date (YYYY-MM-DD) of the lines in the live file; undefined while it is empty. A line of another date rotates it. */
  private day?: string;
  private readonly now: () => number;
  /** Rotation and truncation only ever touch regular files (never /dev/... or a FIFO). */
  private regular = true;
  private inflight = 0;
  private rotating = false;
  private broken = false;
  private recovering = false;
  private reopening = false;
  private shut = false;
  private attempts = 0;
  private failedWrites = 0;
  private noRotateUntil = 0;
  private lastArchiveMs = 0;
  private failed: string[] = [];
  private backlog: string[] = [];
  private retryTimer?: NodeJS.Timeout;
  private readonly tasks = new Set<Promise<unknown>>();
  private idle: Array<() => void> = [];
  private flushing?: Promise<void>;
  private inflightLines = 0;
  private readonly vanish: VanishCheck;

  constructor(private readonly o: FileTransportOptions) {
    super('file', o.report);
    this.now = o.now ?? Date.now;
    this.vanish = new VanishCheck(o.path, () => (this.broken || this.rotating ? 'busy' : this.ws), (ws, lines, code) => this.vanished(ws, lines, code));
    try { mkdirSync(dirname(o.path), { recursive: true }); } catch { /* open fails next and is reported */ }
    try {
      const st = statSync(o.path);
      this.regular = st.isFile();
      this.size = this.confirmed = this.regular ? st.size : 0;
      // A file left from an earlier day (first line, else mtime) rotates before the first line of today.
      if (this.size > 0) this.day = fileDay(o.path);
    } catch { /* a new file */ }
    this.open();
    if (o.maxAgeDays > 0) this.track(pruneRotated(o.path, o.maxAgeDays, this.now()));
  }

  isHealthy(): boolean {
    return !this.broken;
  }

  /** Queued, failed and in-flight lines: none of them is on disk yet. */
  override held(): number {
    return this.backlog.length + this.failed.length + this.inflightLines;
  }

  /** The live file is gone from its path: its recent lines go back in front of the queue and the file is reopened. */
  private vanished(ws: WriteStream, lines: string[], code: string): void {
    if (ws !== this.ws || this.broken || this.shut) return;
    this.failed = lines.concat(this.vanish.take(), this.failed);
    this.confirmed = 0;
    this.fail(Object.assign(new Error('audit file removed'), { code }), ws);
  }

  writeLine(line: string): void { this.writeLines([line]); }

  /** A batch goes out as one write per run of lines that fit the live file (fewer syscalls, same bytes). */
  override writeLines(lines: readonly string[]): void {
    if (this.shut) { this.lost += lines.length; return; }
    if (this.broken || this.rotating || this.backlog.length > 0) { for (const l of lines) this.enqueue(l); return; }
    const i = this.writeRun(lines);
    if (i < lines.length) {
      for (let k = i; k < lines.length; k++) this.enqueue(lines[k]!);
      this.rotate();
    }
  }

  private open(): void {
    const ws = createWriteStream(this.o.path, { flags: 'a', mode: 0o640 });
    ws.on('error', (err: NodeJS.ErrnoException) => this.fail(err, ws));
    this.ws = ws;
  }

  /**
   * Writes the leading lines that need no rotation as one chunk; returns how many. `lines` is never changed
   * afterwards (callers hand over their array), so a failed chunk can put its lines back.
   */
  private writeRun(lines: readonly string[]): number {
    let bytes = 0;
    let i = 0;
    for (; i < lines.length; i++) {
      const line = lines[i]!;
      const b = Buffer.byteLength(line);
      if (this.needsRotation(line, b)) break;
      this.day ??= lineDay(line, this.now());
      this.size += b;
      bytes += b;
    }
    if (i === 0) return 0;
    // Encoded straight into one buffer: no joined string to build and copy again.
    const chunk = Buffer.allocUnsafe(bytes);
    let off = 0;
    for (let k = 0; k < i; k++) off += chunk.write(lines[k]!, off);
    this.put(chunk, bytes, lines, i);
    return i;
  }

  /** One write of `chunk` (= lines[0..count), `bytes` long) to the live file. */
  private put(chunk: Buffer, bytes: number, lines: readonly string[], count: number): void {
    const ws = this.ws!;
    this.inflight += 1;
    this.inflightLines += count;
    ws.write(chunk, (err?: Error | null) => {
      this.inflight -= 1;
      this.inflightLines -= count;
      if (err) {
        this.failedWrites += count;
        if (ws === this.ws) for (let k = 0; k < count; k++) this.failed.push(lines[k]!);
        else this.lost += count; // a rotated file failing after the switch: the lines cannot be put back in order
        this.fail(err as NodeJS.ErrnoException, ws);
      } else {
        if (ws === this.ws) {
          this.confirmed += bytes;
          if (this.regular && !this.shut) this.vanish.accepted(chunk);
        }
        if (this.recovering) {
          this.recovering = false;
          this.attempts = 0;
          this.problem({ kind: 'recovered', lost: this.lost, failedWrites: this.failedWrites });
        }
      }
      if (this.inflight === 0) this.settle();
    });
  }

  private enqueue(line: string): void {
    if (this.backlog.length + this.failed.length >= (this.o.maxBacklog ?? 10_000)) {
      if (this.lost === 0 || this.lost % 1000 === 0) this.problem({ kind: 'lost', lost: this.lost + 1 });
      this.lost += 1;
      return;
    }
    this.backlog.push(line);
  }

  /** Writes queued lines in order until a rotation or a failure interrupts. */
  private drain(): void {
    if (this.backlog.length === 0 || this.broken || this.rotating) return;
    const queued = this.backlog;
    const i = this.writeRun(queued);
    this.backlog = i === 0 ? queued : queued.slice(i);
    if (this.backlog.length > 0) this.rotate();
  }

  /** Before a line (`bytes` long) would take the file past maxBytes, or when its UTC date is not the file's; never an empty file. */
  private needsRotation(line: string, bytes: number): boolean {
    if (!this.regular || this.size === 0 || this.now() < this.noRotateUntil) return false;
    if (this.size + bytes > this.o.maxBytes) return true;
    return this.day !== undefined && lineDay(line, this.now()) !== this.day;
  }

  private fail(err: NodeJS.ErrnoException, ws: WriteStream): void {
    if (ws !== this.ws) { this.errors += 1; return; }
    if (!this.broken) {
      this.broken = true;
      this.recovering = false;
      this.errors += 1;
      this.problem({ kind: 'failure', code: err.code ?? err.name });
    }
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.shut) return;
    const base = this.o.retryMs ?? 1000;
    const delay = doublingDelay(this.attempts, base, this.o.retryMaxMs ?? 5_000);
    this.attempts += 1;
    this.retryTimer = setTimeout(() => { this.retryTimer = undefined; void this.reopen(); }, delay);
    this.retryTimer.unref();
  }

  private settle(): void { for (const w of this.idle.splice(0)) w(); }

  private whenIdle(): Promise<void> {
    return this.inflight === 0 ? Promise.resolve() : new Promise((r) => this.idle.push(r));
  }

  /** After a failure: cut a partly written line off the file, open it again, rewrite failed then queued lines. */
  private async reopen(): Promise<void> {
    if (this.reopening || !this.broken) return;
    this.reopening = true;
    try {
      await this.whenIdle();
      this.ws?.destroy();
      await mkdir(dirname(this.o.path), { recursive: true }).catch(() => undefined);
      const st = await stat(this.o.path).catch(() => undefined);
      if (!st) this.confirmed = 0;
      else if (st.isFile()) {
        if (st.size > this.confirmed) await truncate(this.o.path, this.confirmed).catch(() => undefined);
        else this.confirmed = st.size;
      }
      this.regular = !st || st.isFile();
      this.size = this.confirmed;
      if (this.size === 0) this.day = undefined;
      this.backlog = this.failed.concat(this.backlog);
      this.failed = [];
      this.broken = false;
      this.recovering = true;
      this.open();
      this.drain();
    } finally {
      this.reopening = false;
    }
  }

  /** Renames the live file away (full, or of an earlier day) and opens a fresh one; lines arriving meanwhile wait in order. */
  private rotate(): void {
    this.rotating = true;
    const old = this.ws!;
    const task = (async () => {
      if (old.pending) await new Promise<void>((r) => { old.once('ready', () => r()); old.once('error', () => r()); });
      if (this.broken) { this.rotating = false; return; } // the reopen path takes over the queued lines
      const { name, ms } = archiveName(this.o.path, this.now(), this.lastArchiveMs + 1);
      this.lastArchiveMs = ms;
      try {
        await rename(this.o.path, name);
      } catch (err) {
        this.errors += 1;
        this.noRotateUntil = this.now() + 30_000;
        this.problem({ kind: 'failure', code: (err as NodeJS.ErrnoException).code ?? 'rename' });
        this.rotating = false;
        this.drain();
        return;
      }
      this.size = this.confirmed = 0;
      this.day = undefined;
      this.open();
      this.rotating = false;
      this.drain();
      await new Promise<void>((resolve) => { old.end(() => resolve()); });
      if (this.o.compress) await gzipFile(name).catch(() => { this.errors += 1; });
      if (this.o.maxAgeDays > 0) await pruneRotated(this.o.path, this.o.maxAgeDays, this.now());
    })();
    this.track(task);
  }

  private track(p: Promise<unknown>): void {
    const t = p.catch(() => undefined).finally(() => this.tasks.delete(t));
    this.tasks.add(t);
  }

  /** Every accepted line on disk (one last retry if the file was failing), rotations and gzip finished, file closed. */
  flush(): Promise<void> {
    this.flushing ??= this.doFlush();
    return this.flushing;
  }

  private async doFlush(): Promise<void> {
    while (this.tasks.size > 0 || this.rotating) await Promise.allSettled([...this.tasks]);
    if (this.retryTimer) { clearTimeout(this.retryTimer); this.retryTimer = undefined; }
    this.vanish.stop();
    if (this.broken) await this.reopen();
    await this.whenIdle();
    this.shut = true;
    this.lost += this.failed.length + this.backlog.length;
    this.failed = [];
    this.backlog = [];
    const ws = this.ws;
    if (ws && !ws.destroyed) {
      await new Promise<void>((resolve) => {
        ws.once('close', () => resolve());
        ws.end();
      });
    }
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
  }
}
