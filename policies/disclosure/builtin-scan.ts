// Runs one built-in detector over text: a plain global regex, a sticky regex at prefilter triggers, or at a literal.
import type { DetectorSpec } from './detectors.js';
import type { FirstChars } from './regex/analyze.js';
import { candidates, type CompiledTrigger, type TriggerCache } from './prefilter.js';

/**
 * One match of a built-in detector, valid or not: [anchor, end) is what the scan consumed (the next
 * match starts at or after `end`), [start, fend) what is redacted when `valid`.
 */
export interface Match { anchor: number; end: number; start: number; fend: number; valid: boolean }

export interface Builtin {
  kind: string; priority: number; re: RegExp; hold: RegExp; holdY: RegExp; holdLen: number;
  groups: number[] | undefined; validate: DetectorSpec['validate']; hint: RegExp | undefined;
  fast: { literal: string; re: RegExp; groups: number[] | undefined; prev: Uint8Array | null; next: Uint8Array | null } | null;
  /** Where matches can start, with `sticky` (the source, sticky) run at each such position. */
  at: CompiledTrigger | null; sticky: RegExp | null;
  /** What a match (or a hold) can start with (regex/analyze.ts firstChars): a stream skips the detector otherwise. */
  first: FirstChars;
  /** The shortest text a match can span (regex/analyze.ts minLen): a shorter text cannot hold one. */
  minLen: number;
}

/**
 * A stretch of at most this many characters is scanned by scanShort / holdShort instead of through the
 * prefilter: the usual case on a stream, where a few characters arrive at a time, and very short texts.
 * Measured with dev/bench/stream.ts: 16.9-19.2 → 13.5-14.7 µs of CPU per event (64 measured the same as 32);
 * a 22-character redactText 11-15 → 6-7 µs.
 */
export const SHORT_SCAN = 32;

/** The bit index of the lowest set bit of a mask word `w` (0-based word number): bit masks of detectors. */
export const lowestBit = (w: number, bits: number): number => (w << 5) + 31 - Math.clz32(bits & -bits);

/** The first position at or after `from` whose character can start a match of `d`, or text.length. */
function firstStart(d: Builtin, text: string, from: number): number {
  const { ascii, other } = d.first;
  for (let p = from; p < text.length; p++) {
    const c = text.charCodeAt(p);
    if (c < 128 ? ascii[c] === 1 : other) return p;
  }
  return text.length;
}

/**
 * The same matches as scanBuiltin, for a short stretch of text (a stream's few new characters): the
 * detector's global regex runs from the first character that can start a match, so no prefilter pass
 * and no position lists are built. Positions before it cannot start a match, so the leftmost match is
 * the same as from `from`.
 */
export function scanShort(d: Builtin, text: string, from: number, out: Match[]): void {
  const re = d.re;
  let p = firstStart(d, text, from);
  while (p < text.length) {
    re.lastIndex = p;
    const m = re.exec(text);
    if (m === null) return;
    if (m[0].length === 0) { p = firstStart(d, text, m.index + 1); continue; }
    const match = toMatch(d, text, m, m.index, m.index + m[0].length);
    out.push(match);
    p = firstStart(d, text, match.end);
  }
}

/** DetectorSet.holdOf for a short stretch: the hold regex runs from the first character that can start a match. */
export function holdShort(d: Builtin, text: string, from: number): number {
  const p = firstStart(d, text, Math.max(from, text.length - d.holdLen - 1));
  if (p === text.length) return p;
  const re = d.hold;
  re.lastIndex = p;
  const m = re.exec(text);
  return m ? m.index : text.length;
}

/**
 * Every match of `d` from `from` on, in the order of a global scan: each starts at or after the end
 * of the one before, whether or not it validated. `cache` holds trigger positions from `cacheFrom`
 * (<= from) on, shared by the detectors of one pass. The three ways to run a detector (plain global
 * regex, sticky regex at trigger positions, sticky regex at a literal) give the same matches.
 */
export function scanBuiltin(d: Builtin, text: string, from: number, cache: TriggerCache, out: Match[], cacheFrom = from): void {
  if (d.fast) { scanAnchored(d, text, from, out); return; }
  if (d.at) { scanTriggered(d, text, from, candidates(text, cacheFrom, d.at, cache), out); return; }
  if (d.hint && !d.hint.test(from === 0 ? text : text.slice(from))) return;
  const re = d.re;
  re.lastIndex = from;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    if (m[0].length === 0) { re.lastIndex++; continue; }
    out.push(toMatch(d, text, m, m.index, m.index + m[0].length));
  }
}

function toMatch(d: Builtin, text: string, m: RegExpExecArray, anchor: number, end: number): Match {
  let start = anchor, fend = end;
  if (d.groups) {
    for (const g of d.groups) {
      const span = m.indices?.[g];
      if (span) { start = span[0]; fend = span[1]; break; }
    }
  }
  const valid = !d.validate || d.validate(text.slice(start, fend), m);
  return { anchor, end, start, fend, valid };
}

/** The leftmost match at or after the cursor is the first candidate where the sticky regex matches. */
function scanTriggered(d: Builtin, text: string, from: number, starts: ArrayLike<number>, out: Match[]): void {
  const re = d.sticky!;
  let cursor = from;
  for (let k = 0; k < starts.length; k++) {
    const p = starts[k];
    if (p < cursor) continue;
    re.lastIndex = p;
    const m = re.exec(text);
    if (m === null) continue;
    if (m[0].length === 0) { cursor = p + 1; continue; }
    const match = toMatch(d, text, m, p, p + m[0].length);
    cursor = match.end;
    out.push(match);
  }
}

/**
 * Runs a sticky regex at each occurrence of the detector's literal; group 1 (in a look-behind) may
 * move the start leftwards, but never before `from` or the end of the previous match, as in a global scan.
 */
function scanAnchored(d: Builtin, text: string, from: number, out: Match[]): void {
  const { literal, re, groups, prev, next } = d.fast!;
  const len = literal.length;
  let cursor = from;
  let i = text.indexOf(literal, from);
  while (i >= 0) {
    if (prev !== null || next !== null) {
      const a = i > 0 ? text.charCodeAt(i - 1) : -1, b = i + len < text.length ? text.charCodeAt(i + len) : -1;
      if ((prev !== null && (a < 0 || (a < 128 && prev[a] === 0))) || (next !== null && (b < 0 || (b < 128 && next[b] === 0)))) {
        i = text.indexOf(literal, i + 1);
        continue;
      }
    }
    re.lastIndex = i;
    const m = re.exec(text);
    if (!m) { i = text.indexOf(literal, i + 1); continue; }
    const end = m.index + m[0].length;
    const left = m.indices?.[1];
    const anchor = left ? left[0] : m.index; // where the whole match starts, as a global scan sees it
    if (anchor < cursor) { i = text.indexOf(literal, i + 1); continue; }
    let span: [number, number] | undefined;
    if (groups) {
      for (const g of groups) if ((span = m.indices?.[g])) break;
    } else span = [anchor, end];
    out.push(span
      ? { anchor: Math.min(anchor, span[0]), end, start: span[0], fend: span[1], valid: !d.validate || d.validate(text.slice(span[0], span[1]), m) }
      : { anchor, end, start: anchor, fend: end, valid: false });
    cursor = end;
    i = text.indexOf(literal, Math.max(i + 1, end));
  }
}
