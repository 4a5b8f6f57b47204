// verify-audit: re-computes the hash chain over audit files (plain or .gz, oldest first) and names the first bad line.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { GENESIS, linkHash, seqOf, splitChain } from './chain.js';

export interface VerifyProblem {
  readonly file: string;
  /** 1-based line number within the file. */
  readonly line: number;
  readonly problem: string;
}

export interface VerifyResult {
  readonly ok: boolean;
  /** Lines checked. */
  readonly lines: number;
  /** seq of the first line when it is not 1 (older files pruned): the chain is trusted from there on. */
  readonly anchoredAt?: number;
  readonly firstBad?: VerifyProblem;
}

function readText(file: string): string {
  const buf = readFileSync(file);
  return (file.endsWith('.gz') ? gunzipSync(buf) : buf).toString('utf8');
}

/**
 * Checks every line: valid JSON, a chain field closing it, seq = previous + 1, and
 * chain = HMAC-SHA256(key, previous chain + line without its chain field) (plain SHA-256 without a key).
 * Synchronous: meant for the CLI, not the request path.
 */
export function verifyAuditFiles(files: readonly string[], key?: string | Buffer): VerifyResult {
  const k = key === undefined || key === '' ? undefined : Buffer.isBuffer(key) ? key : Buffer.from(key, 'utf8');
  let prevSeq: number | undefined;
  let prevChain: string | undefined;
  let anchoredAt: number | undefined;
  let lines = 0;
  const bad = (file: string, line: number, problem: string): VerifyResult => ({
    ok: false, lines, ...(anchoredAt !== undefined ? { anchoredAt } : {}), firstBad: { file, line, problem },
  });

  for (const file of files) {
    let text: string;
    try { text = readText(file); } catch (err) { return bad(file, 0, `cannot read: ${(err as Error).message}`); }
    const rows = text.split('\n');
    if (rows[rows.length - 1] === '') rows.pop();
    else if (rows.length > 0) return bad(file, rows.length, 'last line is incomplete (no newline)');
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      const n = i + 1;
      let rec: unknown;
      try { rec = JSON.parse(row); } catch { return bad(file, n, 'not valid JSON'); }
      const parts = splitChain(row);
      if (!parts) return bad(file, n, 'no chain field at the end of the line');
      const seq = seqOf(rec);
      if (seq === undefined) return bad(file, n, 'no seq');
      if (prevSeq === undefined) {
        if (seq === 1) prevChain = GENESIS;
        else anchoredAt = seq;
      } else if (seq !== prevSeq + 1) {
        return bad(file, n, seq <= prevSeq
          ? `seq ${seq} after ${prevSeq}: lines reordered or duplicated`
          : `seq ${seq} after ${prevSeq}: ${seq - prevSeq - 1} line(s) missing`);
      }
      if (prevChain !== undefined && linkHash(k, prevChain, parts.body) !== parts.chain) {
        return bad(file, n, k ? 'chain mismatch: the line or an earlier one was altered, or the key is wrong'
          : 'chain mismatch: the line was altered, or the log is keyed (set the HMAC key)');
      }
      prevSeq = seq;
      prevChain = parts.chain;
      lines += 1;
    }
  }
  return { ok: true, lines, ...(anchoredAt !== undefined ? { anchoredAt } : {}) };
}
