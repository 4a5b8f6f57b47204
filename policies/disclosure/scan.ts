// The compiled detector set: finds, merges and replaces secrets in text; tells streams what to hold back.
import { capRepeats, firstChars, holdSource, maxLen, minLen, requiredLiteral, type Anchor } from './regex/analyze.js';
import { compileNfa, NfaScanner, type Program } from './regex/nfa.js';
import { parseRegex } from './regex/parse.js';
import { MAX_PATTERN_STATES, splitFlags } from './safety.js';
import type { DetectorSpec } from './detectors.js';
import { isPlaceholder } from './validators.js';
import { visibleText } from './invisible.js';
import { asciiTable, LiteralFinder, compileTrigger, type TriggerCache } from './prefilter.js';
import { holdShort, lowestBit, scanBuiltin, scanShort, SHORT_SCAN, type Builtin, type Match } from './builtin-scan.js';

/** Default bound for unbounded repeats when holding back stream text. */
export const DEFAULT_HOLD_CAP = 512;
/** Longest text a custom pattern is guaranteed to cover in one match. */
export const CUSTOM_MATCH_CAP = 4096;
/**
 * In a text at most this long, only the detectors its characters can start are run (the start masks),
 * which saves most of the fixed cost of a short prompt or answer. Measured in-process with the bench's
 * policy, CPU per redactText, four interleaved runs: 22 characters 18-23 → 9-13 µs, 100 characters 19-26
 * → 15-24 µs, 256 characters no difference (the mask then selects most detectors anyway).
 */
const SHORT_TEXT = 128;
/** No detector makes a stream wait on more than this many characters. */
export const HOLD_LIMIT = 8448;

/** [start, end) is redacted; `anchor` (<= start) is where the regex match began, so a stream re-finds it from there. */
export interface Finding { start: number; end: number; kind: string; priority: number; anchor?: number }

interface Custom {
  kind: string; priority: number; prog: Program; anchor: Anchor | null; finder: LiteralFinder | null; nfa: NfaScanner;
  /** The shortest text the pattern can match: a shorter text is not scanned. */
  minLen: number;
}

/** Characters that may continue a token; swallowed after an over-long token was redacted on a stream. */
export const TOKEN_CONTINUATION = /[A-Za-z0-9_\-+/=.~%]*/y;

export function compileBuiltin(spec: DetectorSpec): Builtin {
  const flags = spec.flags ?? '';
  const ast = parseRegex(spec.source);
  const cap = spec.holdCap ?? DEFAULT_HOLD_CAP;
  return {
    kind: spec.kind,
    priority: spec.priority,
    re: new RegExp(spec.source, flags + 'g' + (spec.groups ? 'd' : '')),
    hold: new RegExp(holdSource(ast, cap), flags + 'g'),
    holdY: new RegExp(holdSource(ast, Infinity), flags + 'y'),
    holdLen: Math.min(HOLD_LIMIT, maxLen(capRepeats(ast, cap))),
    groups: spec.groups,
    validate: spec.validate,
    hint: spec.hint,
    fast: spec.fast ? {
      literal: spec.fast.literal, re: new RegExp(spec.fast.source, flags + 'dy'), groups: spec.fast.groups,
      prev: spec.fast.prev ? asciiTable(spec.fast.prev, flags) : null, next: spec.fast.next ? asciiTable(spec.fast.next, flags) : null,
    } : null,
    at: spec.at ? compileTrigger(spec.at, flags) : null,
    sticky: spec.at ? new RegExp(spec.source, flags + 'y' + (spec.groups ? 'd' : '')) : null,
    first: firstChars(ast, flags.includes('i')),
    // The fast form finds the same matches from a literal; the smaller bound of the two is kept, to be safe.
    minLen: Math.min(minLen(ast), spec.fast ? minLen(parseRegex(spec.fast.source)) : Infinity),
  };
}

export function compileCustom(name: string, source: string): Custom {
  const { body, caseInsensitive } = splitFlags(source);
  const ast = parseRegex(body);
  const prog = compileNfa(ast, caseInsensitive, MAX_PATTERN_STATES);
  const anchor = requiredLiteral(ast, caseInsensitive);
  return {
    kind: name, priority: 20, prog, anchor, finder: anchor ? new LiteralFinder(anchor.literal) : null, nfa: new NfaScanner(prog, CUSTOM_MATCH_CAP),
    minLen: minLen(ast),
  };
}

export class DetectorSet {
  readonly holdMax: number;
  /** The shortest match of any built-in detector (Infinity with none). */
  private readonly minBuiltin: number;
  private readonly markers = new Map<string, string>();
  /** 32-bit words in a mask with one bit per built-in detector. */
  readonly maskWords: number;
  /**
   * Per character code 0-127 (and 128 for every code unit above), the mask of the built-ins whose
   * match can start with it: a stream runs only the detectors the new text can start (channel.ts).
   */
  readonly startMasks: Int32Array;
  private readonly scratch: Int32Array;

  constructor(readonly builtins: Builtin[], readonly customs: Custom[], private readonly replacement: string) {
    this.holdMax = Math.max(0, ...builtins.map((b) => b.holdLen), customs.length ? CUSTOM_MATCH_CAP : 0);
    this.minBuiltin = Math.min(...builtins.map((b) => b.minLen));
    const w = this.maskWords = Math.max(1, Math.ceil(builtins.length / 32));
    this.startMasks = new Int32Array(129 * w);
    this.scratch = new Int32Array(w);
    builtins.forEach((b, k) => {
      const bit = 1 << (k & 31), word = k >> 5;
      for (let c = 0; c < 128; c++) if (b.first.ascii[c] === 1) this.startMasks[c * w + word] |= bit;
      if (b.first.other) this.startMasks[128 * w + word] |= bit;
    });
  }

  /** ORs into `mask` the start masks of the characters of text[from, to). */
  startsIn(text: string, from: number, to: number, mask: Int32Array): void {
    const w = this.maskWords, m = this.startMasks;
    for (let i = from; i < to; i++) {
      let c = text.charCodeAt(i);
      if (c > 127) c = 128;
      for (let j = 0, o = c * w; j < w; j++) mask[j] |= m[o + j];
    }
  }

  marker(kind: string): string {
    let m = this.markers.get(kind);
    if (m === undefined) { m = this.replacement.split('{kind}').join(kind); this.markers.set(kind, m); }
    return m;
  }

  /** Built-in findings of matches that start at or after `from` (earlier text is context for look-behinds). */
  findBuiltins(text: string, from: number, out: Finding[]): void {
    // Most strings of an answer ("assistant", "stop", ids) are shorter than any detector's shortest match.
    if (text.length - from < this.minBuiltin) return;
    const matches: Match[] = [];
    const cache: TriggerCache = new Map();
    if (text.length - from <= SHORT_TEXT) {
      // Only the detectors the text's characters can start; a very short text skips the prefilter (SHORT_SCAN).
      const short = text.length - from <= SHORT_SCAN;
      const due = this.scratch;
      due.fill(0);
      this.startsIn(text, from, text.length, due);
      for (let w = 0; w < due.length; w++) {
        for (let bits = due[w]; bits !== 0; bits &= bits - 1) {
          const d = this.builtins[lowestBit(w, bits)];
          if (text.length - from < d.minLen) continue;
          matches.length = 0;
          if (short) scanShort(d, text, from, matches);
          else scanBuiltin(d, text, from, cache, matches);
          for (const m of matches) if (m.valid) out.push({ start: m.start, end: m.fend, kind: d.kind, priority: d.priority });
        }
      }
      return;
    }
    for (const d of this.builtins) {
      if (text.length - from < d.minLen) continue;
      matches.length = 0;
      scanBuiltin(d, text, from, cache, matches);
      for (const m of matches) if (m.valid) out.push({ start: m.start, end: m.fend, kind: d.kind, priority: d.priority });
    }
  }

  /**
   * Leftmost position at or after `from` where the rest of `text` could still grow into a match
   * of `d` (so a match attempt there depends on text not seen yet); text.length when none.
   * Positions more than `d.holdLen` before the end are not considered: that bounds every hold.
   */
  holdOf(d: Builtin, text: string, from: number): number {
    if (text.length - from <= SHORT_SCAN) return holdShort(d, text, from);
    const re = d.hold;
    re.lastIndex = Math.max(from, text.length - d.holdLen - 1);
    const m = re.exec(text);
    return m ? m.index : text.length;
  }

  /** True when a match attempt of `d` at `at` could still grow with more text (ignores the hold bound). */
  growsAt(d: Builtin, text: string, at: number): boolean {
    d.holdY.lastIndex = at;
    return d.holdY.test(text);
  }

  /** Custom-pattern findings inside text[from, to), run near each pattern's anchor literal. */
  findCustoms(text: string, from: number, to: number, out: Finding[]): void {
    for (const c of this.customs) {
      if (to - from < c.minLen) continue;
      const windows = c.anchor ? anchorWindows(text, from, to, c.anchor, c.finder!) : [from, to];
      const pairs: number[] = [];
      for (let i = 0; i < windows.length; i += 2) {
        const ws = windows[i], we = windows[i + 1];
        c.nfa.reset(ws, ws > 0 ? text.charCodeAt(ws - 1) : -1);
        c.nfa.feed(text, ws, we);
        c.nfa.finish(we < text.length ? text.charCodeAt(we) : -1);
        for (const x of c.nfa.spans) pairs.push(x);
      }
      const united = uniteSpans(pairs);
      for (let j = 0; j < united.length; j += 2) {
        if (!isPlaceholder(text.slice(united[j], united[j + 1]))) out.push({ start: united[j], end: united[j + 1], kind: c.kind, priority: c.priority });
      }
    }
  }

  redactText(text: string): { text: string; kinds: Map<string, number> } {
    // The detectors read the visible text (invisible.ts); findings are mapped back onto the original.
    const v = visibleText(text);
    const seen = v === null ? text : v.text;
    const found: Finding[] = [];
    this.findBuiltins(seen, 0, found);
    this.findCustoms(seen, 0, seen.length, found);
    const kinds = new Map<string, number>();
    if (found.length === 0) return { text, kinds };
    const merged = mergeFindings(found);
    if (v !== null) for (const f of merged) { f.start = v.at[f.start]; f.end = v.at[f.end - 1] + 1; }
    return { text: this.apply(text, 0, text.length, merged, kinds), kinds };
  }

  /** text[from, to) with merged findings (all inside the range) replaced; counts go to `kinds`. */
  apply(text: string, from: number, to: number, merged: Finding[], kinds: Map<string, number>): string {
    let out = '';
    let at = from;
    for (const f of merged) {
      out += text.slice(at, f.start) + this.marker(f.kind);
      kinds.set(f.kind, (kinds.get(f.kind) ?? 0) + 1);
      at = f.end;
    }
    return out + text.slice(at, to);
  }
}

/**
 * Unites spans (flat [start, end) pairs) that overlap or touch: an operator pattern redacts the
 * union of every text it matches, so where one match ends and the next begins is not visible.
 */
export function uniteSpans(pairs: number[]): number[] {
  if (pairs.length <= 2) return pairs;
  const idx: number[] = [];
  for (let j = 0; j < pairs.length; j += 2) idx.push(j);
  idx.sort((x, y) => pairs[x] - pairs[y]);
  const out: number[] = [];
  for (const j of idx) {
    const n = out.length;
    if (n > 0 && pairs[j] <= out[n - 1]) { if (pairs[j + 1] > out[n - 1]) out[n - 1] = pairs[j + 1]; }
    else out.push(pairs[j], pairs[j + 1]);
  }
  return out;
}

/** Sorts findings and unites overlapping ones; a union takes the kind of its highest-priority part. */
export function mergeFindings(found: Finding[]): Finding[] {
  found.sort((a, b) => a.start - b.start || b.end - a.end);
  const out: Finding[] = [];
  for (const f of found) {
    const last = out[out.length - 1];
    if (last && f.start < last.end) {
      if (f.end > last.end) last.end = f.end;
      last.anchor = Math.min(last.anchor ?? last.start, f.anchor ?? f.start);
      if (f.priority > last.priority) { last.priority = f.priority; last.kind = f.kind; }
    } else out.push({ ...f });
  }
  return out;
}

function anchorWindows(text: string, from: number, to: number, a: Anchor, finder: LiteralFinder): number[] {
  const leftMax = Math.min(a.leftMax, CUSTOM_MATCH_CAP), rightMax = Math.min(a.rightMax, CUSTOM_MATCH_CAP);
  const out: number[] = [];
  let done = from; // text before this is inside an earlier window: never rescanned, so the whole pass is linear
  let i = finder.next(text, from);
  while (i >= 0 && i < to) {
    let ws = i;
    const lo = Math.max(done, i - leftMax);
    while (ws > lo && inSet(a.leftSet, text.charCodeAt(ws - 1))) ws--;
    let we = Math.max(i + a.literal.length, done);
    const hi = Math.min(to, i + a.literal.length + rightMax);
    while (we < hi && inSet(a.rightSet, text.charCodeAt(we))) we++;
    const n = out.length;
    if (n > 0 && ws <= out[n - 1]) out[n - 1] = Math.max(out[n - 1], we);
    else out.push(ws, we);
    done = Math.max(done, we);
    i = finder.next(text, i + 1);
  }
  return out;
}

function inSet(ranges: number[], c: number): boolean {
  for (let i = 0; i < ranges.length; i += 2) {
    if (c < ranges[i]) return false;
    if (c <= ranges[i + 1]) return true;
  }
  return false;
}
