// Candidate start positions for built-in detectors: one cheap pass per trigger, shared between detectors.

/**
 * Where a detector's matches can begin: every match of its regex starts at a position this
 * trigger reports (a superset is fine; the detector's sticky regex decides). Kinds:
 * - `lit`: an occurrence of one of the literals (case-sensitive);
 * - `re`: a position where this regex matches (`flags` without g/y);
 * - `line`: a line start (as `^` with the m flag sees it) whose first character is in the class
 *   `line`; with `nextTab`, only when the line ends with "\n\t" or "\r\n\t".
 * `notPrev` (a character class) drops positions directly after such a character.
 */
export type Trigger =
  | { lit: readonly string[]; notPrev?: string }
  | { re: string; flags?: string; notPrev?: string }
  | { line: string; nextTab?: boolean };

/** A literal found by searching for its rarest character (`probe`, at `pivot`); literals share probe scans. */
interface Lit { key: string; text: string; pivot: number; probe: string; near: number; nearCode: number; slot: number }

/**
 * The literals sharing a probe character, bucketed by the character at their `near` offset, so that each probe
 * occurrence checks only the literals whose neighbour matches (many literals share common probes such as `_`).
 */
interface Group { lits: Lit[]; always: Lit[]; offsets: number[]; tables: Array<Array<Lit[] | undefined>> }

export interface CompiledTrigger {
  key: string;
  lits: Lit[] | null;
  re: RegExp | null;
  first: Uint8Array | null;
  nextTab: boolean;
  notPrev: Uint8Array | null;
}

/** Rough character frequency in text, most frequent first; the rarest character of a literal is searched for. */
const COMMON = ' etaoinsrhl-dcumfpgwybv,.\n0123456789k"\'xjqz:/=()TSAICE_';
/** Every literal compiled so far, by text and by probe character. */
const LITS = new Map<string, Lit>();
const BY_PROBE = new Map<string, Group>();

/** Table of the ASCII codes in a one-character class source such as `[A-Za-z0-9_]`. */
export function asciiTable(cls: string, flags = ''): Uint8Array {
  const re = new RegExp(`^${cls}$`, flags.includes('i') ? 'i' : '');
  const t = new Uint8Array(128);
  for (let c = 0; c < 128; c++) t[c] = re.test(String.fromCharCode(c)) ? 1 : 0;
  return t;
}

function compileLit(text: string): Lit {
  const known = LITS.get(text);
  if (known) return known;
  let pivot = 0, best = Infinity;
  for (let k = 0; k < text.length; k++) {
    const r = COMMON.length - COMMON.indexOf(text[k]);
    const score = r > COMMON.length ? 0 : r;
    if (score < best) { best = score; pivot = k; }
  }
  // A neighbour of the probe, checked before comparing the whole literal.
  const near = pivot + 1 < text.length ? pivot + 1 : pivot - 1;
  const probe = text[pivot];
  let g = BY_PROBE.get(probe);
  if (!g) { g = { lits: [], always: [], offsets: [], tables: [] }; BY_PROBE.set(probe, g); }
  const lit: Lit = { key: `L\0${text}`, text, pivot, probe, near: near - pivot, nearCode: near >= 0 ? text.charCodeAt(near) : -1, slot: g.lits.length };
  LITS.set(text, lit);
  g.lits.push(lit);
  if (lit.nearCode < 0 || lit.nearCode >= 128) g.always.push(lit);
  else {
    let o = g.offsets.indexOf(lit.near);
    if (o < 0) { o = g.offsets.push(lit.near) - 1; g.tables.push(new Array(128).fill(undefined)); }
    (g.tables[o][lit.nearCode] ??= []).push(lit);
  }
  return lit;
}

/** Finds a literal by its rarest character (fast even when its first character is common). */
export class LiteralFinder {
  private readonly lit: Lit;
  constructor(readonly text: string) { this.lit = compileLit(text); }
  /** Index of the first occurrence at or after `from`, or -1. */
  next(text: string, from: number): number {
    const { pivot, probe, text: t } = this.lit;
    let i = text.indexOf(probe, from + pivot);
    while (i >= 0 && !text.startsWith(t, i - pivot)) i = text.indexOf(probe, i + 1);
    return i < 0 ? -1 : i - pivot;
  }
}

export function compileTrigger(t: Trigger, detectorFlags = ''): CompiledTrigger {
  if ('lit' in t) {
    return {
      key: `T\0${t.lit.join('\0')}\0${t.notPrev ?? ''}`, lits: t.lit.map(compileLit), re: null, first: null, nextTab: false,
      notPrev: t.notPrev ? asciiTable(t.notPrev, detectorFlags) : null,
    };
  }
  if ('re' in t) {
    const flags = t.flags ?? '';
    return {
      key: `R\0${t.re}\0${flags}\0${t.notPrev ?? ''}`, lits: null, re: new RegExp(t.re, flags + 'g'), first: null, nextTab: false,
      notPrev: t.notPrev ? asciiTable(t.notPrev, detectorFlags) : null,
    };
  }
  return { key: `N\0${t.line}\0${t.nextTab ? 1 : 0}`, lits: null, re: null, first: asciiTable(t.line), nextTab: !!t.nextTab, notPrev: null };
}

/** Per-call cache of position lists, keyed by trigger or literal; valid for one (text, from). */
export type TriggerCache = Map<string, Positions>;
/** Ascending positions. */
export type Positions = number[] | Int32Array;

/** Ascending start positions >= from where `t` fires in `text`. */
export function candidates(text: string, from: number, t: CompiledTrigger, cache: TriggerCache): Positions {
  let out = cache.get(t.key);
  if (out !== undefined) return out;
  if (t.lits) out = litCandidates(text, from, t.lits, cache);
  else if (t.re) out = reCandidates(text, from, t.re);
  else out = lineCandidates(text, from, t, cache);
  if (t.notPrev) {
    const np = t.notPrev;
    const kept: number[] = [];
    for (let k = 0; k < out.length; k++) {
      const p = out[k], c = p > 0 ? text.charCodeAt(p - 1) : -1;
      if (c < 0 || c >= 128 || np[c] === 0) kept.push(p);
    }
    out = kept;
  }
  cache.set(t.key, out);
  return out;
}

/** Positions >= from of `lit`; one scan of its probe character fills the cache for every literal sharing it. */
function litPositions(text: string, from: number, lit: Lit, cache: TriggerCache): number[] {
  const known = cache.get(lit.key);
  if (known !== undefined) return known as number[];
  const g = BY_PROBE.get(lit.probe)!;
  const lists: number[][] = g.lits.map((l) => { const a: number[] = []; cache.set(l.key, a); return a; });
  const { always, offsets, tables } = g;
  const check = (l: Lit, i: number): void => {
    const s = i - l.pivot;
    if (s >= from && (l.text.length <= 2 || text.startsWith(l.text, s))) lists[l.slot].push(s);
  };
  let i = text.indexOf(lit.probe, from);
  while (i >= 0) {
    for (let a = 0; a < always.length; a++) check(always[a], i);
    for (let o = 0; o < offsets.length; o++) {
      const c = text.charCodeAt(i + offsets[o]);
      const b = c < 128 ? tables[o][c] : undefined;
      if (b !== undefined) for (let k = 0; k < b.length; k++) check(b[k], i);
    }
    i = text.indexOf(lit.probe, i + 1);
  }
  return lists[lit.slot];
}

function litCandidates(text: string, from: number, lits: Lit[], cache: TriggerCache): Positions {
  if (lits.length === 1) return litPositions(text, from, lits[0], cache);
  let out: number[] = [];
  let lists = 0;
  for (const l of lits) {
    const p = litPositions(text, from, l, cache);
    if (p.length) { out = lists ? out.concat(p) : p; lists++; }
  }
  // A typed array sorts numerically without a comparator call per step.
  if (lists > 1) return Int32Array.from(out).sort();
  return out;
}

function reCandidates(text: string, from: number, re: RegExp): number[] {
  const out: number[] = [];
  re.lastIndex = from;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    out.push(m.index);
    re.lastIndex = m.index + 1;
  }
  return out;
}

/** Line starts >= from (after \n, \r, U+2028, U+2029, and 0), ascending. */
function lineStarts(text: string, from: number, cache: TriggerCache): number[] {
  let out = cache.get('lines') as number[] | undefined;
  if (out !== undefined) return out;
  out = from === 0 ? [0] : [];
  let unsorted = false;
  for (const sep of ['\n', '\r', '\u2028', '\u2029']) {
    const before = out.length;
    let i = text.indexOf(sep, from > 0 ? from - 1 : 0);
    while (i >= 0) { out.push(i + 1); i = text.indexOf(sep, i + 1); }
    if (sep !== '\n' && out.length > before) unsorted = true;
  }
  if (unsorted) out.sort((a, b) => a - b);
  cache.set('lines', out);
  return out;
}

function lineCandidates(text: string, from: number, t: CompiledTrigger, cache: TriggerCache): number[] {
  const first = t.first!;
  const out: number[] = [];
  const lines = lineStarts(text, from, cache);
  for (let j = 0; j < lines.length; j++) {
    const p = lines[j];
    const c = text.charCodeAt(p);
    if (!(c < 128 && first[c] === 1)) continue;
    if (t.nextTab) {
      // The line's terminator is just before the next line start.
      const q = j + 1 < lines.length ? lines[j + 1] - 1 : text.length;
      if (!(text.startsWith('\n\t', q) || text.startsWith('\r\n\t', q))) continue;
    }
    out.push(p);
  }
  return out;
}
