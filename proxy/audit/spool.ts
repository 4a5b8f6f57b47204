// The on-disk spool of the http output: batches wait here, oldest first, while the collector is away (and across restarts).
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const SEGMENT = /^spool-(\d{13})-(\d{6})\.ndjson$/;

/** One file per batch ("segment"), named so that names sort in write order. */
export class Spool {
  private segments: Array<{ path: string; bytes: number }> = [];
  private bytes = 0;
  private seq = 0;
  /** Never goes back, even if the clock does: names keep sorting in write order. */
  private lastMs = 0;

  constructor(private readonly dir: string, private readonly maxBytes: number) {
    let names: string[] = [];
    try {
      mkdirSync(dir, { recursive: true });
      names = readdirSync(dir).filter((n) => SEGMENT.test(n)).sort();
    } catch { /* push() fails and the transport reports it */ }
    for (const name of names) {
      const path = join(dir, name);
      const bytes = statSync(path).size;
      const m = SEGMENT.exec(name)!;
      this.lastMs = Number(m[1]);
      this.seq = Number(m[2]);
      this.segments.push({ path, bytes });
      this.bytes += bytes;
    }
  }

  get size(): number {
    return this.segments.length;
  }

  get usedBytes(): number {
    return this.bytes;
  }

  /** Appends a batch as a new segment (temp name, then rename). False when it would pass spool_max_mb. */
  async push(lines: readonly string[]): Promise<boolean> {
    const text = lines.join('');
    const bytes = Buffer.byteLength(text);
    if (this.bytes + bytes > this.maxBytes) return false;
    const ms = Math.max(Date.now(), this.lastMs);
    this.seq = ms === this.lastMs ? this.seq + 1 : 0;
    this.lastMs = ms;
    const name = `spool-${String(ms).padStart(13, '0')}-${String(this.seq).padStart(6, '0')}.ndjson`;
    const path = join(this.dir, name);
    await writeFile(`${path}.tmp`, text, { mode: 0o600 });
    await rename(`${path}.tmp`, path);
    this.segments.push({ path, bytes });
    this.bytes += bytes;
    return true;
  }

  /** The oldest segment's lines (each ending in "\n"), or undefined when the spool is empty. */
  async peek(): Promise<string[] | undefined> {
    const seg = this.segments[0];
    if (!seg) return undefined;
    let text: string;
    try {
      text = await readFile(seg.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []; // removed by hand: nothing left to send
      throw err;
    }
    return text.split('\n').filter((l) => l !== '').map((l) => `${l}\n`);
  }

  /** Drops the oldest segment once its lines were delivered. */
  async ack(): Promise<void> {
    const seg = this.segments.shift();
    if (!seg) return;
    this.bytes -= seg.bytes;
    await unlink(seg.path).catch(() => undefined);
  }
}
