// Validate-time checks on operator patterns: syntax, empty matches, catastrophic backtracking shapes, size.
import { minLen } from './regex/analyze.js';
import { parseRegex, RegexSyntaxError, type Node } from './regex/parse.js';
import { compileNfa, PatternTooLargeError } from './regex/nfa.js';

/** Largest automaton an operator pattern may compile to. */
export const MAX_PATTERN_STATES = 20000;

export interface ParsedPattern { ast: Node; caseInsensitive: boolean; body: string }

/** Splits an optional leading `(?i)` (accepted for operators used to PCRE/Python) from the body. */
export function splitFlags(source: string): { body: string; caseInsensitive: boolean } {
  return source.startsWith('(?i)') ? { body: source.slice(4), caseInsensitive: true } : { body: source, caseInsensitive: false };
}

/**
 * Returns null when the pattern is safe to use, else a message naming the problem and a fix.
 * Accepted patterns run in a linear-time engine; shapes that would backtrack catastrophically in
 * an ordinary engine are still refused so a policy never carries one.
 */
export function checkPatternSafety(name: string, source: string): string | null {
  const problem = findProblem(source);
  return problem ? `pattern "${name}" = ${JSON.stringify(source)}: ${problem}` : null;
}

function findProblem(source: string): string | null {
  if (typeof source !== 'string' || source.length === 0) return 'is empty. Fix: give a regular expression such as "tok_[A-Za-z0-9]{32}"';
  if (source.length > 4096) return 'is longer than 4096 characters. Fix: split it into several named patterns';
  const { body, caseInsensitive } = splitFlags(source);
  try {
    new RegExp(body);
  } catch (e) {
    return `is not a valid JavaScript regular expression (${(e as Error).message}). Fix: check brackets and escapes; in TOML basic strings a backslash is written "\\\\"`;
  }
  let ast: Node;
  try {
    ast = parseRegex(body);
  } catch (e) {
    if (e instanceof RegexSyntaxError) return `cannot be parsed (${e.message}). Fix: use plain classes, groups, alternation and quantifiers`;
    throw e;
  }
  const unsupported = findUnsupported(ast);
  if (unsupported) return unsupported;
  if (minLen(ast) === 0) return 'can match empty text, so it would redact nothing useful. Fix: require at least one character, e.g. use "+" instead of "*"';
  const catastrophic = findCatastrophic(ast, false);
  if (catastrophic) return catastrophic;
  try {
    compileNfa(ast, caseInsensitive, MAX_PATTERN_STATES);
  } catch (e) {
    if (e instanceof PatternTooLargeError) return `is too large (${e.message}). Fix: lower the bounds of {n,m} repeats`;
    throw e;
  }
  return null;
}

function findUnsupported(node: Node): string | null {
  switch (node.t) {
    case 'backref': return `uses a back-reference (${node.raw}), which cannot run in linear time. Fix: repeat the sub-pattern instead`;
    case 'look': return 'uses a look-around assertion, which is not supported. Fix: drop it, or match the context as part of the pattern (redaction then covers it too)';
    case 'seq': for (const n of node.items) { const p = findUnsupported(n); if (p) return p; } return null;
    case 'alt': for (const n of node.alts) { const p = findUnsupported(n); if (p) return p; } return null;
    case 'group': case 'rep': return findUnsupported(node.node);
    default: return null;
  }
}

/** Shapes that backtrack exponentially: a repeat inside a repeat, overlapping alternatives inside a repeat. */
function findCatastrophic(node: Node, insideRepeat: boolean): string | null {
  switch (node.t) {
    case 'rep': {
      const repeats = node.max > 1;
      if (insideRepeat && node.max === Infinity) {
        return 'has a repeat nested inside another repeat (like "(a+)+"), which can backtrack catastrophically. Fix: repeat only the inner item, e.g. "(a+)+" becomes "a+", "(\\w+\\s?)+" becomes "[\\w\\s]+"';
      }
      if (repeats) {
        const alt = findOverlap(node.node);
        if (alt) return alt;
      }
      return findCatastrophic(node.node, insideRepeat || repeats);
    }
    case 'seq': for (const n of node.items) { const p = findCatastrophic(n, insideRepeat); if (p) return p; } return null;
    case 'alt': for (const n of node.alts) { const p = findCatastrophic(n, insideRepeat); if (p) return p; } return null;
    case 'group': return findCatastrophic(node.node, insideRepeat);
    default: return null;
  }
}

function findOverlap(node: Node): string | null {
  if (node.t === 'group') return findOverlap(node.node);
  if (node.t !== 'alt') return null;
  const firsts = node.alts.map(firstSet);
  for (let i = 0; i < firsts.length; i++) {
    for (let j = i + 1; j < firsts.length; j++) {
      if (intersects(firsts[i], firsts[j])) {
        return 'repeats a group whose alternatives can start with the same character (like "(a|ab)*"), which can backtrack catastrophically. Fix: make the alternatives start differently, or use one character class such as "[ab]+"';
      }
    }
  }
  return null;
}

/** Approximate set of first characters: 128 ASCII bits plus "some non-ASCII" bit. */
function firstSet(node: Node): boolean[] {
  const out = new Array<boolean>(129).fill(false);
  const visit = (n: Node): boolean => { // returns whether n can match empty
    switch (n.t) {
      case 'char': {
        const r = n.set.ranges;
        for (let c = 0; c < 128; c++) {
          let inside = false;
          for (let i = 0; i < r.length; i += 2) if (c >= r[i] && c <= r[i + 1]) { inside = true; break; }
          if (inside !== n.set.neg) out[c] = true;
        }
        out[128] = n.set.neg || r.length === 0 || r[r.length - 1] >= 128;
        return false;
      }
      case 'seq': for (const i of n.items) if (!visit(i)) return false; return true;
      case 'alt': { let e = false; for (const a of n.alts) e = visit(a) || e; return e; }
      case 'group': return visit(n.node);
      case 'rep': return visit(n.node) || n.min === 0;
      default: return true;
    }
  };
  if (visit(node)) out.fill(true); // an alternative that can be empty overlaps everything
  return out;
}

function intersects(a: boolean[], b: boolean[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] && b[i]) return true;
  return false;
}

/**
 * For a pattern V8's own backtracking engine runs on request input (security.validation.user_id_pattern): the shapes
 * that backtrack catastrophically, with their fix; null when none is found (or the pattern is beyond this parser,
 * e.g. Unicode property escapes it reads as plain characters are still analysed as such).
 */
export function backtrackingProblem(source: string): string | null {
  let ast: Node;
  try { ast = parseRegex(source); } catch { return null; }
  return findCatastrophic(ast, false);
}

/**
 * Where a pattern is anchored: `start`/`end` when every alternative begins with "^" / ends with "$", `alternation`
 * when its top level has several alternatives; null when this parser cannot read it.
 */
export function anchoring(source: string): { start: boolean; end: boolean; alternation: boolean } | null {
  let ast: Node;
  try { ast = parseRegex(source); } catch { return null; }
  while (ast.t === 'group') ast = ast.node;
  const alts = ast.t === 'alt' ? ast.alts : [ast];
  const items = (n: Node): Node[] => (n.t === 'seq' ? n.items : [n]);
  const is = (n: Node | undefined, kind: '^' | '$'): boolean => n?.t === 'assert' && n.kind === kind;
  return {
    start: alts.every((a) => is(items(a)[0], '^')),
    end: alts.every((a) => { const i = items(a); return is(i[i.length - 1], '$'); }),
    alternation: alts.length > 1,
  };
}
