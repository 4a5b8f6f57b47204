// Parses the JavaScript regular-expression dialect used by detectors into a small AST.
import { addCaseVariants } from './fold.js';

export type Node =
  | { t: 'char'; raw: string; set: CharSet }
  | { t: 'seq'; items: Node[] }
  | { t: 'alt'; alts: Node[] }
  | { t: 'rep'; node: Node; min: number; max: number; lazy: boolean }
  | { t: 'group'; node: Node; capture: boolean }
  | { t: 'assert'; kind: '^' | '$' | 'b' | 'B' }
  | { t: 'look'; ahead: boolean; neg: boolean; node: Node }
  | { t: 'backref'; raw: string };

/** A set of UTF-16 code units: sorted, non-overlapping [lo, hi] pairs, optionally negated. */
export interface CharSet { ranges: number[]; neg: boolean }

export class RegexSyntaxError extends Error {
  constructor(message: string, readonly at: number) { super(`${message} at offset ${at}`); }
}

const DIGIT = [0x30, 0x39];
const WORD = [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a];
const SPACE = [0x09, 0x0d, 0x20, 0x20, 0xa0, 0xa0, 0x1680, 0x1680, 0x2000, 0x200a,
  0x2028, 0x2029, 0x202f, 0x202f, 0x205f, 0x205f, 0x3000, 0x3000, 0xfeff, 0xfeff];
const LINE_TERMINATORS = [0x0a, 0x0a, 0x0d, 0x0d, 0x2028, 0x2029];

/** Normalises a list of [lo, hi] pairs: sorted and merged. */
export function normalize(pairs: number[]): number[] {
  const list: Array<[number, number]> = [];
  for (let i = 0; i < pairs.length; i += 2) list.push([pairs[i], pairs[i + 1]]);
  list.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (const [lo, hi] of list) {
    const n = out.length;
    if (n > 0 && lo <= out[n - 1] + 1) out[n - 1] = Math.max(out[n - 1], hi);
    else out.push(lo, hi);
  }
  return out;
}

/** The complement of normalised pairs within the UTF-16 code-unit range. */
export function complement(pairs: number[]): number[] {
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i < pairs.length; i += 2) {
    if (pairs[i] > next) out.push(next, pairs[i] - 1);
    next = pairs[i + 1] + 1;
  }
  if (next <= 0xffff) out.push(next, 0xffff);
  return out;
}

/** Adds every other case of every letter in the set (the `i` flag), with JavaScript's case equivalence. */
export function foldCase(pairs: number[]): number[] {
  return normalize(pairs.concat(addCaseVariants(normalize(pairs))));
}

/** Parses `source`; throws RegexSyntaxError on malformed input. */
export function parseRegex(source: string): Node {
  let pos = 0;
  const fail = (msg: string): never => { throw new RegexSyntaxError(msg, pos); };
  const peek = (): string => source[pos];

  function parseAlt(): Node {
    const alts: Node[] = [parseSeq()];
    while (peek() === '|') { pos++; alts.push(parseSeq()); }
    return alts.length === 1 ? alts[0] : { t: 'alt', alts };
  }

  function parseSeq(): Node {
    const items: Node[] = [];
    while (pos < source.length && peek() !== '|' && peek() !== ')') {
      const start = pos;
      let atom = parseAtom();
      for (;;) {
        const q = parseQuantifier();
        if (!q) break;
        if (atom.t === 'assert' || atom.t === 'look') fail('nothing to repeat');
        if (atom.t === 'rep') fail(`nested quantifier "${source.slice(start, pos)}"`);
        atom = { t: 'rep', node: atom, min: q.min, max: q.max, lazy: q.lazy };
      }
      items.push(atom);
    }
    return items.length === 1 ? items[0] : { t: 'seq', items };
  }

  function parseQuantifier(): { min: number; max: number; lazy: boolean } | null {
    const c = peek();
    let min: number, max: number;
    if (c === '*') { min = 0; max = Infinity; pos++; }
    else if (c === '+') { min = 1; max = Infinity; pos++; }
    else if (c === '?') { min = 0; max = 1; pos++; }
    else if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(pos));
      if (!m) return null;
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
      if (max < min) fail('numbers out of order in {} quantifier');
      pos += m[0].length;
    } else return null;
    let lazy = false;
    if (peek() === '?') { lazy = true; pos++; }
    return { min, max, lazy };
  }

  function parseAtom(): Node {
    const start = pos;
    const c = source[pos++];
    const char = (pairs: number[], neg = false): Node =>
      ({ t: 'char', raw: source.slice(start, pos), set: { ranges: normalize(pairs), neg } });
    switch (c) {
      case '^': return { t: 'assert', kind: '^' };
      case '$': return { t: 'assert', kind: '$' };
      case '.': return char(LINE_TERMINATORS, true);
      case '[': return parseClass(start);
      case '(': return parseGroup();
      case ')': return fail('unmatched ")"');
      case '*': case '+': case '?': return fail('nothing to repeat');
      case '\\': {
        if (pos >= source.length) fail('\\ at end of pattern');
        const e = source[pos];
        if (e === 'b' || e === 'B') { pos++; return { t: 'assert', kind: e }; }
        if (/[1-9]/.test(e)) { while (/\d/.test(source[pos] ?? '')) pos++; return { t: 'backref', raw: source.slice(start, pos) }; }
        if (e === 'k' && source[pos + 1] === '<') {
          const end = source.indexOf('>', pos);
          if (end < 0) fail('unterminated \\k<name>');
          pos = end + 1;
          return { t: 'backref', raw: source.slice(start, pos) };
        }
        const esc = parseEscape();
        return char(esc.pairs, esc.neg);
      }
      default: {
        const code = c.charCodeAt(0);
        return char([code, code]);
      }
    }
  }

  /** Parses the escape after a backslash (pos at the escaped character). */
  function parseEscape(inClass = false): { pairs: number[]; neg: boolean } {
    const e = source[pos++];
    const one = (code: number) => ({ pairs: [code, code], neg: false });
    switch (e) {
      case 'd': return { pairs: DIGIT, neg: false };
      case 'D': return { pairs: DIGIT, neg: true };
      case 'w': return { pairs: WORD, neg: false };
      case 'W': return { pairs: WORD, neg: true };
      case 's': return { pairs: SPACE, neg: false };
      case 'S': return { pairs: SPACE, neg: true };
      case 'n': return one(10);
      case 'r': return one(13);
      case 't': return one(9);
      case 'v': return one(11);
      case 'f': return one(12);
      case '0': return one(0);
      case 'b': return inClass ? one(8) : fail('\\b not allowed here');
      case 'x': case 'u': {
        const len = e === 'x' ? 2 : 4;
        const hex = source.slice(pos, pos + len);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== len) fail(`bad \\${e} escape`);
        pos += len;
        return one(parseInt(hex, 16));
      }
      case 'c': {
        const l = source[pos];
        if (l && /[a-zA-Z]/.test(l)) { pos++; return one(l.charCodeAt(0) % 32); }
        return one('\\'.charCodeAt(0));
      }
      default: return one(e.charCodeAt(0));
    }
  }

  function parseClass(start: number): Node {
    let neg = false;
    if (peek() === '^') { neg = true; pos++; }
    const pairs: number[] = [];
    let first = true;
    const atom = (): { pairs: number[]; single: number | null } => {
      const c = source[pos++];
      if (c === '\\') {
        const esc = parseEscape(true);
        if (esc.neg) return { pairs: complement(normalize(esc.pairs)), single: null };
        const single = esc.pairs.length === 2 && esc.pairs[0] === esc.pairs[1] ? esc.pairs[0] : null;
        return { pairs: esc.pairs, single };
      }
      const code = c.charCodeAt(0);
      return { pairs: [code, code], single: code };
    };
    while (pos < source.length && (peek() !== ']' || false)) {
      first = false;
      const a = atom();
      if (peek() === '-' && source[pos + 1] !== ']' && pos + 1 < source.length && a.single !== null) {
        const save = pos;
        pos++;
        const b = atom();
        if (b.single === null) { pos = save; pairs.push(...a.pairs); continue; }
        if (b.single < a.single) fail('range out of order in character class');
        pairs.push(a.single, b.single);
      } else pairs.push(...a.pairs);
    }
    void first;
    if (peek() !== ']') fail('unterminated character class');
    pos++;
    return { t: 'char', raw: source.slice(start, pos), set: { ranges: normalize(pairs), neg } };
  }

  function parseGroup(): Node {
    if (peek() === '?') {
      const two = source.slice(pos, pos + 3);
      if (source[pos + 1] === ':') { pos += 2; return group(false); }
      if (source[pos + 1] === '=' || source[pos + 1] === '!') {
        const neg = source[pos + 1] === '!';
        pos += 2;
        return look(true, neg);
      }
      if (two === '?<=' || two === '?<!') { pos += 3; return look(false, two === '?<!'); }
      if (source[pos + 1] === '<') {
        const end = source.indexOf('>', pos);
        if (end < 0 || !/^[A-Za-z_$][\w$]*$/.test(source.slice(pos + 2, end))) fail('bad group name');
        pos = end + 1;
        return group(true);
      }
      fail('unsupported group syntax "(?' + (source[pos + 1] ?? '') + '"');
    }
    return group(true);
  }

  function group(capture: boolean): Node {
    const node = parseAlt();
    if (peek() !== ')') fail('missing ")"');
    pos++;
    return { t: 'group', node, capture };
  }

  function look(ahead: boolean, neg: boolean): Node {
    const node = parseAlt();
    if (peek() !== ')') fail('missing ")"');
    pos++;
    return { t: 'look', ahead, neg, node };
  }

  const ast = parseAlt();
  if (pos < source.length) fail('unmatched ")"');
  return ast;
}
