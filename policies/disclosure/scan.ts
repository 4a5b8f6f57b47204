// The compiled detector set: finds, merges and replaces secrets in text; tells streams what to hold back.
import { capRepeats, holdSource, maxLen, requiredLiteral, type Anchor } from './regex/analyze.js';
import { compileNfa, NfaScanner, type Program } from './regex/nfa.js';
import { parseRegex } from './regex/parse.js';
import { MAX_PATTERN_STATES, splitFlags } from './safety.js';
import type { DetectorSpec } from './detectors.js';
import { isPlaceholder } from './validators.js';
import { asciiTable, candidates, LiteralFinder, compileTrigger, type CompiledTrigger, type TriggerCache } from './prefilter.js';

/** Default bound for unbounded repeats when holding back stream text. */
export const DEFAULT_HOLD_CAP = 512;
/** Longest text a custom pattern is guaranteed to cover in one match. */
export const CUSTOM_MATCH_CAP = 4096;
/** No detector makes a stream wait on more than this many characters. */
export const HOLD_LIMIT = 8448;

/** [start, end) is redacted; `anchor` (<= start) is where the regex match began, so a stream re-finds it from there. */
export interface Finding { start: number; end: number; kind: string; priority: number; anchor?: number }

interface Builtin {
  kind: string; priority: number; re: RegExp; hold: RegExp; holdLen: number;
  groups: number[] | undefined; validate: DetectorSpec['validate']; hint: RegExp | undefined;
  fast: { literal: string; re: RegExp; groups: number[] | undefined; prev: Uint8Array | null; next: Uint8Array | null } | null;
  /** Where matches can start, with `sticky` (the source, sticky) run at each such position. */
  at: CompiledTrigger | null; sticky: RegExp | null;
}

interface Custom {
  kind: string; priority: number; prog: Program; anchor: Anchor | null; finder: LiteralFinder | null; nfa: NfaScanner;
  /** The same pattern in V8, used only on short windows where backtracking is bounded by the window length. */
  small: RegExp | null;
}

/** Windows up to this length run in V8 (at most ~n^2 = 4096 steps each); longer ones run in the NFA. */
const SMALL_WINDOW = 64;

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
  };
}

export function compileCustom(name: string, source: string): Custom {
  const { body, caseInsensitive } = splitFlags(source);
  const ast = parseRegex(body);
  const prog = compileNfa(ast, caseInsensitive, MAX_PATTERN_STATES);
  const anchor = requiredLiteral(ast, caseInsensitive);
  return {
    kind: name, priority: 20, prog, anchor, finder: anchor ? new LiteralFinder(anchor.literal) : null, nfa: new NfaScanner(prog, CUSTOM_MATCH_CAP),
    small: prog.closures ? new RegExp(body, caseInsensitive ? 'gi' : 'g') : null,
  };
}

export class DetectorSet {
  readonly holdMax: number;
  private readonly markers = new Map<string, string>();

  constructor(readonly builtins: Builtin[], readonly customs: Custom[], private readonly replacement: string) {
    this.holdMax = Math.max(0, ...builtins.map((b) => b.holdLen), customs.length ? CUSTOM_MATCH_CAP : 0);
  }

  marker(kind: string): string {
    let m = this.markers.get(kind);
    if (m === undefined) { m = this.replacement.split('{kind}').join(kind); this.markers.set(kind, m); }
    return m;
  }

  /** Built-in findings that start at or after `from` (earlier text is context for look-behinds). */
  findBuiltins(text: string, from: number, out: Finding[]): void {
    const cache: TriggerCache = new Map();
    for (const d of this.builtins) {
      if (d.fast) { this.findAnchored(d, text, from, out); continue; }
      if (d.at) { this.findTriggered(d, text, from, candidates(text, from, d.at, cache), out); continue; }
      if (d.hint && !d.hint.test(from === 0 ? text : text.slice(from))) continue;
      const re = d.re;
      re.lastIndex = from;
      let m: RegExpExecArray | null;
      while ((m = re.exec(text)) !== null) {
        if (m[0].length === 0) { re.lastIndex++; continue; }
        let start = m.index, end = m.index + m[0].length;
        if (d.groups) {
          for (const g of d.groups) {
            const span = m.indices?.[g];
            if (span) { start = span[0]; end = span[1]; break; }
          }
        }
        if (d.validate && !d.validate(text.slice(start, end), m)) continue;
        out.push({ start, end, kind: d.kind, priority: d.priority, anchor: m.index });
      }
    }
  }

  /**
   * The same findings as scanning with the global regex from `from`: every match starts at a
   * candidate, so the leftmost match at or after the cursor is the first candidate where it matches.
   */
  private findTriggered(d: Builtin, text: string, from: number, starts: ArrayLike<number>, out: Finding[]): void {
    const re = d.sticky!;
    let cursor = from;
    for (let k = 0; k < starts.length; k++) {
      const p = starts[k];
      if (p < cursor) continue;
      re.lastIndex = p;
      const m = re.exec(text);
      if (m === null) continue;
      if (m[0].length === 0) { cursor = p + 1; continue; }
      let start = p, end = p + m[0].length;
      cursor = end;
      if (d.groups) {
        for (const g of d.groups) {
          const span = m.indices?.[g];
          if (span) { start = span[0]; end = span[1]; break; }
        }
      }
      if (d.validate && !d.validate(text.slice(start, end), m)) continue;
      out.push({ start, end, kind: d.kind, priority: d.priority, anchor: p });
    }
  }

  /** Runs a sticky regex at each occurrence of the detector's literal; group 1 may extend the start leftwards. */
  private findAnchored(d: Builtin, text: string, from: number, out: Finding[]): void {
    const { literal, re, groups, prev, next } = d.fast!;
    const len = literal.length;
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
      let span: [number, number] | undefined;
      if (groups) {
        for (const g of groups) if ((span = m.indices?.[g])) break;
      } else {
        const left = m.indices?.[1];
        span = [left ? Math.max(from, left[0]) : m.index, end];
      }
      if (span && (!d.validate || d.validate(text.slice(span[0], span[1]), m))) {
        out.push({ start: span[0], end: span[1], kind: d.kind, priority: d.priority, anchor: Math.min(span[0], m.index) });
      }
      i = text.indexOf(literal, Math.max(i + 1, end));
    }
  }

  /** Custom-pattern findings inside text[from, to), run near each pattern's anchor literal. */
  findCustoms(text: string, from: number, to: number, out: Finding[]): void {
    for (const c of this.customs) {
      const windows = c.anchor ? anchorWindows(text, from, to, c.anchor, c.finder!) : [from, to];
      for (let i = 0; i < windows.length; i += 2) {
        const ws = windows[i], we = windows[i + 1];
        if (c.small && we - ws <= SMALL_WINDOW) {
          const piece = text.slice(ws, we);
          c.small.lastIndex = 0;
          let m: RegExpExecArray | null;
          while ((m = c.small.exec(piece)) !== null) {
            if (m[0].length === 0) { c.small.lastIndex++; continue; }
            if (!isPlaceholder(m[0])) out.push({ start: ws + m.index, end: ws + m.index + m[0].length, kind: c.kind, priority: c.priority });
          }
          continue;
        }
        c.nfa.reset(ws, ws > 0 ? text.charCodeAt(ws - 1) : -1);
        c.nfa.feed(text, ws, we);
        c.nfa.finish(we < text.length ? text.charCodeAt(we) : -1);
        const s = c.nfa.spans;
        for (let j = 0; j < s.length; j += 2) {
          if (!isPlaceholder(text.slice(s[j], s[j + 1]))) out.push({ start: s[j], end: s[j + 1], kind: c.kind, priority: c.priority });
        }
      }
    }
  }

  /**
   * Leftmost position at or after `from` where the rest of `text` could still grow into a
   * built-in finding; text.length when none.
   */
  holdStart(text: string, from: number): number {
    let best = text.length;
    for (const d of this.builtins) {
      const re = d.hold;
      re.lastIndex = Math.max(from, text.length - d.holdLen - 1);
      const m = re.exec(text);
      if (m && m.index < best) best = m.index;
    }
    return best;
  }

  redactText(text: string): { text: string; kinds: Map<string, number> } {
    const found: Finding[] = [];
    this.findBuiltins(text, 0, found);
    this.findCustoms(text, 0, text.length, found);
    const kinds = new Map<string, number>();
    if (found.length === 0) return { text, kinds };
    const merged = mergeFindings(found);
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
