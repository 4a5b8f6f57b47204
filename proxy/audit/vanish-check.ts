// Notices that the live audit file left its path (removed, or its directory removed) while the proxy keeps writing.
import { fstat, type WriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';

/**
 * A removed file keeps taking writes through the open descriptor and the lines vanish. The chunks the OS accepted
 * since the last look are kept here; a look at most every second compares the descriptor with the path, and on a
 * mismatch `onVanished` gets their lines back to write again, to a new file.
 *
 * The written chunks are kept, not the line strings: a Buffer's bytes live outside the JavaScript heap, whereas a
 * second's worth of ~1.3 KB lines kept on it survived the young-generation collections (copied at each) and was
 * promoted to the old one, to be marked and swept there. Measured: in the bench's guard under load (--cpu-prof,
 * dev/bench/audit-cost.ts) the garbage collector went from 59 to 44 and from 42 to 40 profile-µs a request in two
 * runs (29-37 with the audit off); in-process (dev/bench/audit-line.ts, 160,000 lines) scavenges took 0.39-0.62 s
 * instead of 1.0-1.65 s, full collections 81-175 ms instead of 17-41 ms (the chunks count as external memory).
 */
export class VanishCheck {
  private chunks: Buffer[] = [];
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly path: string,
    /** The stream to compare; 'busy' while failing or rotating (the lines are kept for the next look). */
    private readonly live: () => WriteStream | undefined | 'busy',
    private readonly onVanished: (ws: WriteStream, lines: string[], code: string) => void,
  ) {}

  /** A chunk (whole lines, each ending in "\n") the OS accepted on the live file. */
  accepted(chunk: Buffer): void {
    this.chunks.push(chunk);
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => { this.timer = undefined; this.look(); }, 1000);
    this.timer.unref();
  }

  /** The lines accepted since the last look, handed over (the file is being replaced anyway). */
  take(): string[] {
    const c = this.chunks;
    this.chunks = [];
    return linesOf(c);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) { clearTimeout(this.timer); this.timer = undefined; }
  }

  private look(): void {
    const ws = this.live() as (WriteStream & { fd?: number }) | undefined | 'busy';
    if (ws === 'busy') return;
    if (!ws || typeof ws.fd !== 'number') { this.chunks = []; return; }
    const chunks = this.chunks;
    this.chunks = [];
    fstat(ws.fd, (e1, open) => {
      stat(this.path).then(
        (st) => (e1 || st.ino !== open.ino || st.dev !== open.dev ? this.onVanished(ws, linesOf(chunks), 'ENOENT') : undefined),
        (e: NodeJS.ErrnoException) => this.onVanished(ws, linesOf(chunks), e.code ?? 'ENOENT'),
      );
    });
  }
}

/**
 * The lines of written chunks, each with its "\n" (a serialised line holds no raw newline). Decoding gives back the
 * bytes that were written: what a line held that UTF-8 cannot carry was already replaced when it was encoded.
 */
function linesOf(chunks: readonly Buffer[]): string[] {
  const out: string[] = [];
  for (const c of chunks) {
    const text = c.toString('utf8');
    let from = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', from)) {
      out.push(text.slice(from, nl + 1));
      from = nl + 1;
    }
  }
  return out;
}
