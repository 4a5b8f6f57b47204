// The hash chain stage: sequence numbers and chain = HMAC-SHA256(key, prev_chain + line_without_chain), head kept in state_dir.
import { createHash, createHmac } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync, fstatSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export const GENESIS = '0'.repeat(64);
/** The chain closes every chained line: `..."chain":"<hex>"}` (flat) or `..."chain":"<hex>"}}` (ECS, inside lollms_guard). */
export const CHAIN_SUFFIX = /,"chain":"([0-9a-f]{64})"(\}{1,2})$/;
export const STATE_FILE = 'audit-chain.json';

export interface ChainHead {
  readonly seq: number;
  readonly chain: string;
}

/** One link: keyed HMAC when a key is set, plain SHA-256 otherwise (tamper-evident only against non-recomputing edits). */
export function linkHash(key: Buffer | undefined, prev: string, body: string): string {
  const h = key ? createHmac('sha256', key) : createHash('sha256');
  return h.update(prev, 'utf8').update(body, 'utf8').digest('hex');
}

/** Splits a chained line into its chain value and the text the chain was computed over. */
export function splitChain(line: string): { chain: string; body: string } | undefined {
  const m = CHAIN_SUFFIX.exec(line);
  return m ? { chain: m[1]!, body: line.slice(0, m.index) + m[2]! } : undefined;
}

/** The seq of a parsed line (ECS: lollms_guard.seq, flat: seq). */
export function seqOf(rec: unknown): number | undefined {
  if (rec === null || typeof rec !== 'object') return undefined;
  const r = rec as { seq?: unknown; lollms_guard?: { seq?: unknown } };
  const s = r.lollms_guard?.seq ?? r.seq;
  return typeof s === 'number' && Number.isSafeInteger(s) ? s : undefined;
}

export class HashChain {
  private seq: number;
  private prev: string;
  constructor(private readonly key: Buffer | undefined, head: ChainHead = { seq: 0, chain: GENESIS }) {
    this.seq = head.seq;
    this.prev = head.chain;
  }

  /** The number the next line will carry. */
  nextSeq(): number {
    return this.seq + 1;
  }

  /** Closes a serialised line whose innermost-last object holds `seq` = nextSeq(); depth is 1 (flat) or 2 (ECS). */
  close(body: string, depth: 1 | 2): string {
    const chain = linkHash(this.key, this.prev, body);
    this.seq += 1;
    this.prev = chain;
    return `${body.slice(0, -depth)},"chain":"${chain}"${'}'.repeat(depth)}`;
  }

  head(): ChainHead {
    return { seq: this.seq, chain: this.prev };
  }
}

/** The last complete line of a file (reads at most the last 256 KiB); undefined if none. */
function lastLine(file: string): string | undefined {
  let fd: number;
  try { fd = openSync(file, 'r'); } catch { return undefined; }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size === 0) return undefined;
    const len = Math.min(st.size, 256 * 1024);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, st.size - len);
    const lines = buf.toString('utf8').split('\n').filter((l) => l.trim() !== '');
    return lines[lines.length - 1];
  } finally {
    closeSync(fd);
  }
}

function headOfLine(line: string | undefined): ChainHead | undefined {
  if (!line) return undefined;
  const parts = splitChain(line);
  if (!parts) return undefined;
  try {
    const seq = seqOf(JSON.parse(line));
    return seq === undefined ? undefined : { seq, chain: parts.chain };
  } catch {
    return undefined;
  }
}

/** Where the chain continues: the later of the saved head and the audit file's last line (startup only, sync). */
export function loadHead(stateFile: string, auditFile: string | undefined): ChainHead {
  let saved: ChainHead | undefined;
  try {
    const j = JSON.parse(readFileSync(stateFile, 'utf8')) as Partial<ChainHead>;
    if (typeof j.seq === 'number' && Number.isSafeInteger(j.seq) && typeof j.chain === 'string' && /^[0-9a-f]{64}$/.test(j.chain)) {
      saved = { seq: j.seq, chain: j.chain };
    }
  } catch { /* no saved head yet */ }
  const tail = auditFile ? headOfLine(lastLine(auditFile)) : undefined;
  const best = [saved, tail].filter((h): h is ChainHead => h !== undefined).sort((a, b) => b.seq - a.seq)[0];
  return best ?? { seq: 0, chain: GENESIS };
}

/** Atomically replaces the saved head (write to a temp file, then rename). */
export async function saveHead(stateFile: string, head: ChainHead): Promise<void> {
  await mkdir(dirname(stateFile), { recursive: true });
  const tmp = `${stateFile}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify({ ...head, updated: new Date().toISOString() })}\n`, { mode: 0o600 });
  await rename(tmp, stateFile);
}
