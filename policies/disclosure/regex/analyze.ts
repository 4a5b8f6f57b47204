// Static facts about a parsed pattern: lengths, re-emitted source and the hold-back ("could still become a match") regex.
import { caseVariants } from './fold.js';
import { complement, foldCase, normalize, type Node } from './parse.js';

/** Source of `node`; capture groups stay capturing only when `keepCaptures`. */
export function toSource(node: Node, keepCaptures = false): string {
  switch (node.t) {
    case 'char': return node.raw;
    case 'seq': return node.items.map((n) => toSource(n, keepCaptures)).join('');
    case 'alt': return node.alts.map((n) => toSource(n, keepCaptures)).join('|');
    case 'group': return `(${keepCaptures && node.capture ? '' : '?:'}${toSource(node.node, keepCaptures)})`;
    case 'rep': return wrap(toSource(node.node, keepCaptures), node.node) + quant(node.min, node.max) + (node.lazy ? '?' : '');
    case 'assert': return node.kind === 'b' ? '\\b' : node.kind === 'B' ? '\\B' : node.kind;
    case 'look': return `(?${node.ahead ? '' : '<'}${node.neg ? '!' : '='}${toSource(node.node, keepCaptures)})`;
    case 'backref': return node.raw;
  }
}

function quant(min: number, max: number): string {
  if (min === 0 && max === Infinity) return '*';
  if (min === 1 && max === Infinity) return '+';
  if (min === 0 && max === 1) return '?';
  if (min === max) return `{${min}}`;
  return `{${min},${max === Infinity ? '' : max}}`;
}

function wrap(src: string, node: Node): string {
  return node.t === 'char' || node.t === 'group' ? src : `(?:${src})`;
}

/** Shortest string length the node can match. */
export function minLen(node: Node): number {
  switch (node.t) {
    case 'char': return 1;
    case 'seq': return node.items.reduce((s, n) => s + minLen(n), 0);
    case 'alt': return Math.min(...node.alts.map(minLen));
    case 'group': return minLen(node.node);
    case 'rep': return node.min * minLen(node.node);
    default: return 0;
  }
}

/** Longest string length the node can match (Infinity when unbounded). */
export function maxLen(node: Node): number {
  switch (node.t) {
    case 'char': return 1;
    case 'seq': return node.items.reduce((s, n) => s + maxLen(n), 0);
    case 'alt': return Math.max(...node.alts.map(maxLen));
    case 'group': return maxLen(node.node);
    case 'rep': {
      const inner = maxLen(node.node);
      return inner === 0 || node.max === 0 ? 0 : node.max * inner;
    }
    case 'backref': return Infinity;
    default: return 0;
  }
}

/**
 * Regex source that matches, anchored at the end of the input, every non-empty text that is a
 * prefix of some match of `node` (complete matches included). Unbounded repeats are capped at
 * `cap` characters so the result only ever matches a bounded suffix (`cap` = Infinity: not capped).
 */
export function holdSource(node: Node, cap: number): string {
  return F(node, cap);
}

/** End of the whole input, whatever the `m` flag says. */
const END = '(?![\\s\\S])';

function F(node: Node, cap: number): string {
  switch (node.t) {
    case 'char': return `(?:${node.raw})?${END}`;
    case 'group': return F(node.node, cap);
    case 'alt': return `(?:${node.alts.map((n) => F(n, cap)).join('|')})`;
    case 'seq': return seqF(node.items, 0, cap);
    case 'rep': {
      const bound = Math.min(node.max, cap);
      if (node.node.t === 'char') return `${node.node.raw}${bound === Infinity ? '*' : `{0,${bound}}`}${END}`;
      const per = Math.max(1, minLen(node.node));
      const count = node.max === Infinity ? (cap === Infinity ? Infinity : Math.ceil(cap / per)) : node.max;
      const inner = toSource(node.node);
      const before = count === Infinity ? `(?:${inner})*` : count - 1 > 0 ? `(?:${inner}){0,${count - 1}}` : '';
      return `${before}${F(node.node, cap)}`;
    }
    case 'assert': return END;
    case 'look': return node.ahead ? END : `${toSource(node)}${END}`;
    case 'backref': throw new Error('back-references cannot be held back');
  }
}

function seqF(items: Node[], i: number, cap: number): string {
  if (i === items.length) return END;
  const item = items[i];
  const rest = seqF(items, i + 1, cap);
  if (item.t === 'look' && item.ahead) {
    // Text that could still complete the look-ahead waits; otherwise the assertion is decided now.
    return `(?:(?=${F(item.node, cap)})[\\s\\S]*${END}|${toSource(item)}${rest})`;
  }
  return `(?:${F(item, cap)}|${toSource(item)}${rest})`;
}

/** Replaces every unbounded repeat by an upper bound of `cap` repetitions. */
export function capRepeats(node: Node, cap: number): Node {
  switch (node.t) {
    case 'seq': return { t: 'seq', items: node.items.map((n) => capRepeats(n, cap)) };
    case 'alt': return { t: 'alt', alts: node.alts.map((n) => capRepeats(n, cap)) };
    case 'group': return { ...node, node: capRepeats(node.node, cap) };
    case 'look': return { ...node, node: capRepeats(node.node, cap) };
    case 'rep': return { ...node, node: capRepeats(node.node, cap), max: Math.min(node.max, Math.max(cap, node.min)) };
    default: return node;
  }
}

/** Flattens groups-without-capture and nested sequences into one item list. */
export function topItems(node: Node): Node[] {
  if (node.t === 'group') return topItems(node.node);
  if (node.t === 'seq') return node.items.flatMap((n) => (n.t === 'group' && n.node.t === 'seq' ? topItems(n) : [n]));
  return [node];
}

/** The single code unit a char node stands for, or null when it is a class. */
export function singleCode(node: Node): number | null {
  if (node.t !== 'char' || node.set.neg) return null;
  const r = node.set.ranges;
  return r.length === 2 && r[0] === r[1] ? r[0] : null;
}

export interface Anchor {
  literal: string; leftMax: number; rightMax: number;
  /** Every character a match can hold left / right of the literal (normalised ranges). */
  leftSet: number[]; rightSet: number[];
}

/** Union of the characters any char node under `nodes` accepts, as normalised ranges. */
export function charUnion(nodes: Node[], ci: boolean): number[] {
  const pairs: number[] = [];
  const visit = (n: Node): void => {
    switch (n.t) {
      case 'char': pairs.push(...(n.set.neg ? complement(n.set.ranges) : n.set.ranges)); break;
      case 'seq': n.items.forEach(visit); break;
      case 'alt': n.alts.forEach(visit); break;
      case 'group': case 'rep': case 'look': visit(n.node); break;
      default: break;
    }
  };
  nodes.forEach(visit);
  const set = normalize(pairs);
  return ci ? foldCase(set) : set;
}

/**
 * A literal that every match contains, with how far a match can reach left and right of it.
 * Used to run a pattern only near the literal's occurrences. Null when there is none.
 */
export function requiredLiteral(node: Node, caseInsensitive: boolean): Anchor | null {
  const items = topItems(node);
  let best: { from: number; to: number; score: number } | null = null;
  for (let i = 0; i < items.length; i++) {
    let j = i;
    while (j < items.length && singleCode(items[j]) !== null) j++;
    if (j > i) {
      const lit = items.slice(i, j).map((n) => String.fromCharCode(singleCode(n)!)).join('');
      // The finder compares code units exactly: under (?i) a literal with any cased letter cannot anchor.
      if (!(caseInsensitive && [...lit].some((ch) => caseVariants(ch.charCodeAt(0)).length > 0))) {
        const score = lit.length * 4 - (/^[\s.,\-_:/]$/.test(lit) ? 3 : 0);
        if (!best || score > best.score) best = { from: i, to: j, score };
      }
      i = j;
    }
  }
  if (!best) return null;
  const literal = items.slice(best.from, best.to).map((n) => String.fromCharCode(singleCode(n)!)).join('');
  const leftMax = items.slice(0, best.from).reduce((s, n) => s + maxLen(n), 0);
  const rightMax = items.slice(best.to).reduce((s, n) => s + maxLen(n), 0);
  return {
    literal, leftMax, rightMax,
    leftSet: charUnion(items.slice(0, best.from), caseInsensitive),
    rightSet: charUnion(items.slice(best.to), caseInsensitive),
  };
}

/**
 * Characters a non-empty match of `node` can start with, and, for a look-ahead at the start, what
 * its body can start with: the hold-back regex (holdSource) can only start at such a character too.
 * ASCII as a table; `other` is true when any code unit >= 128 is possible. A stream skips a detector
 * when the new text holds none of these characters.
 */
export interface FirstChars { ascii: Uint8Array; other: boolean }

export function firstChars(node: Node, ci: boolean): FirstChars {
  const pairs: number[] = [];
  // Returns whether `n` can match the empty string (so what follows it can start the match too).
  const visit = (n: Node): boolean => {
    switch (n.t) {
      case 'char': pairs.push(...(n.set.neg ? complement(n.set.ranges) : n.set.ranges)); return false;
      case 'seq': for (const x of n.items) if (!visit(x)) return false; return true;
      case 'alt': { let empty = false; for (const x of n.alts) if (visit(x)) empty = true; return empty; }
      case 'group': return visit(n.node);
      case 'rep': return visit(n.node) || n.min === 0;
      case 'look': if (n.ahead) visit(n.node); return true;
      case 'assert': return true;
      case 'backref': pairs.push(0, 0xffff); return true;
    }
  };
  visit(node);
  const set = ci ? foldCase(normalize(pairs)) : normalize(pairs);
  const ascii = new Uint8Array(128);
  let other = false;
  for (let i = 0; i < set.length; i += 2) {
    for (let c = set[i]; c <= Math.min(set[i + 1], 127); c++) ascii[c] = 1;
    if (set[i + 1] >= 128) other = true;
  }
  return { ascii, other };
}
