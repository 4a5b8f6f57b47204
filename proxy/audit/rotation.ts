// Rotated audit files: their names (sortable by time), listing for verify-audit, gzip, pruning by age, and UTC days.
import { closeSync, createReadStream, createWriteStream, existsSync, fstatSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { readdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

const STAMP = /^\d{8}T\d{9}Z$/;

function parts(filePath: string): { dir: string; stem: string; ext: string } {
  const ext = extname(filePath);
  return { dir: dirname(filePath), stem: basename(filePath, ext), ext };
}

const stampOf = (ms: number): string => new Date(ms).toISOString().replace(/[-:.]/g, '');

/**
 * Name for the next rotated file: `<stem>-<YYYYMMDDTHHMMSSmmmZ><ext>` next to the live file, e.g. audit-20261122T013000123Z.log.
 * Unique (the stamp moves on by a millisecond while a name, or its .gz, exists) so names sort in rotation order.
 */
export function archiveName(filePath: string, nowMs: number, notBeforeMs = 0): { name: string; ms: number } {
  const { dir, stem, ext } = parts(filePath);
  let ms = Math.max(nowMs, notBeforeMs);
  for (;;) {
    const name = join(dir, `${stem}-${stampOf(ms)}${ext}`);
    if (!existsSync(name) && !existsSync(`${name}.gz`)) return { name, ms };
    ms += 1;
  }
}

/** Whether `name` (a basename) is a rotated file of `filePath` (compressed or not). */
export function isArchiveOf(filePath: string, name: string): boolean {
  const { stem, ext } = parts(filePath);
  const prefix = `${stem}-`;
  if (!name.startsWith(prefix)) return false;
  let rest = name.slice(prefix.length);
  if (rest.endsWith('.gz')) rest = rest.slice(0, -3);
  if (!rest.endsWith(ext)) return false;
  return STAMP.test(rest.slice(0, rest.length - ext.length));
}

/** Every file of one audit log in write order: rotated files (oldest first), then the live file. For verify-audit. */
export function listAuditFiles(filePath: string): string[] {
  const { dir } = parts(filePath);
  let names: string[] = [];
  try { names = readdirSync(dir); } catch { return []; }
  const strip = (n: string): string => (n.endsWith('.gz') ? n.slice(0, -3) : n);
  const rotated = names.filter((n) => isArchiveOf(filePath, n)).sort((a, b) => (strip(a) < strip(b) ? -1 : strip(a) > strip(b) ? 1 : 0));
  const out = rotated.map((n) => join(dir, n));
  try { if (statSync(filePath).isFile()) out.push(filePath); } catch { /* no live file */ }
  return out;
}

/** The UTC date (`YYYY-MM-DD`) of an epoch-ms instant. */
export const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** Both line formats open with their time (`{"@timestamp":"…` ECS, `{"timestamp":"…` flat). */
const LINE_DAY = /^\{"@?timestamp":"(\d{4}-\d{2}-\d{2})T/;

/** The UTC date a line was stamped with, from its leading timestamp; `fallbackMs`'s date for any other text. */
export function lineDay(line: string, fallbackMs: number): string {
  return LINE_DAY.exec(line)?.[1] ?? utcDay(fallbackMs);
}

/**
 * The UTC date of an existing non-empty regular file at start-up: the date of its first line (when the file was
 * opened), else of its last write (mtime). Undefined for a missing, empty or special file. Startup only, sync.
 */
export function fileDay(filePath: string): string | undefined {
  let fd: number;
  try { fd = openSync(filePath, 'r'); } catch { return undefined; }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size === 0) return undefined;
    const buf = Buffer.alloc(Math.min(st.size, 64));
    readSync(fd, buf, 0, buf.length, 0);
    return lineDay(buf.toString('latin1'), st.mtimeMs);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** gzip `src` to `src.gz` (via a temp name, so a half-written .gz never looks complete), then remove `src`. */
export async function gzipFile(src: string): Promise<string> {
  const dst = `${src}.gz`;
  const tmp = `${dst}.tmp`;
  await pipeline(createReadStream(src), createGzip(), createWriteStream(tmp, { mode: 0o640 }));
  await rename(tmp, dst);
  await unlink(src);
  return dst;
}

/** Deletes rotated files whose last write is older than maxAgeDays; returns how many. Never touches the live file. */
export async function pruneRotated(filePath: string, maxAgeDays: number, nowMs = Date.now()): Promise<number> {
  const { dir } = parts(filePath);
  const limit = nowMs - maxAgeDays * 86_400_000;
  let n = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!isArchiveOf(filePath, name)) continue;
    const p = join(dir, name);
    const st = await stat(p).catch(() => undefined);
    if (st && st.mtimeMs < limit) {
      await unlink(p).then(() => { n += 1; }, () => undefined);
    }
  }
  return n;
}
