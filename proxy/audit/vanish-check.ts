// Notices that the live audit file left its path (removed, or its directory removed) while the proxy keeps writing.
import { fstat, type WriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';

/**
 * A removed file keeps taking writes through the open descriptor and the lines vanish. The lines the OS accepted
 * since the last look are kept here; a look at most every second compares the descriptor with the path, and on a
 * mismatch `onVanished` gets them back to write again, to a new file.
 */
export class VanishCheck {
  private lines: string[] = [];
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly path: string,
    /** The stream to compare; 'busy' while failing or rotating (the lines are kept for the next look). */
    private readonly live: () => WriteStream | undefined | 'busy',
    private readonly onVanished: (ws: WriteStream, lines: string[], code: string) => void,
  ) {}

  /** Lines the OS accepted on the live file. */
  accepted(lines: readonly string[], count: number): void {
    for (let k = 0; k < count; k++) this.lines.push(lines[k]!);
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => { this.timer = undefined; this.look(); }, 1000);
    this.timer.unref();
  }

  /** The lines accepted since the last look, handed over (the file is being replaced anyway). */
  take(): string[] {
    const l = this.lines;
    this.lines = [];
    return l;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) { clearTimeout(this.timer); this.timer = undefined; }
  }

  private look(): void {
    const ws = this.live() as (WriteStream & { fd?: number }) | undefined | 'busy';
    if (ws === 'busy') return;
    if (!ws || typeof ws.fd !== 'number') { this.lines = []; return; }
    const lines = this.take();
    fstat(ws.fd, (e1, open) => {
      stat(this.path).then(
        (st) => (e1 || st.ino !== open.ino || st.dev !== open.dev ? this.onVanished(ws, lines, 'ENOENT') : undefined),
        (e: NodeJS.ErrnoException) => this.onVanished(ws, lines, e.code ?? 'ENOENT'),
      );
    });
  }
}
