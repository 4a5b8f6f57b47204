// A linear-time matcher (Thompson NFA, Pike-style simulation) for operator-supplied patterns; works on streams.
import { foldCase, normalize, type CharSet, type Node } from './parse.js';

const CHAR = 0, SPLIT = 1, ASSERT = 2, MATCH = 3;
const A_BOL = 0, A_EOL = 1, A_WORD = 2, A_NOTWORD = 3;

export class PatternTooLargeError extends Error {}

interface Matcher { ascii: Uint32Array; ranges: number[]; neg: boolean }

/** A compiled NFA. */
export interface Program {
  op: number[]; a: number[]; b: number[];
  sets: Matcher[]; start: number;
  /** Bit i set when ASCII code i can begin a match (non-ASCII always may). */
  first: Uint32Array;
  /** Without assertions: per state, the char states its epsilon closure reaches, and whether it reaches the match. */
  closures: Int32Array[] | null;
  reachesMatch: Uint8Array | null;
  match: number;
}

function matcher(set: CharSet, ci: boolean): Matcher {
  const ranges = ci ? foldCase(normalize(set.ranges)) : set.ranges;
  const ascii = new Uint32Array(4);
  for (let i = 0; i < ranges.length; i += 2) {
    for (let c = ranges[i]; c <= Math.min(ranges[i + 1], 127); c++) ascii[c >> 5] |= 1 << (c & 31);
  }
  return { ascii, ranges, neg: set.neg };
}

function has(m: Matcher, c: number): boolean {
  let inside: boolean;
  if (c < 128) inside = (m.ascii[c >> 5] & (1 << (c & 31))) !== 0;
  else {
    inside = false;
    const r = m.ranges;
    for (let i = 0; i < r.length; i += 2) if (c >= r[i] && c <= r[i + 1]) { inside = true; break; }
  }
  return inside !== m.neg;
}

/** Compiles an AST (no look-arounds, no back-references) to an NFA of at most `limit` states. */
export function compileNfa(ast: Node, ci: boolean, limit = 20000): Program {
  const op: number[] = [], a: number[] = [], b: number[] = [];
  const sets: Matcher[] = [];
  const add = (o: number, x: number, y: number): number => {
    if (op.length >= limit) throw new PatternTooLargeError(`pattern needs more than ${limit} automaton states`);
    op.push(o); a.push(x); b.push(y);
    return op.length - 1;
  };
  const comp = (node: Node, next: number): number => {
    switch (node.t) {
      case 'char': sets.push(matcher(node.set, ci)); return add(CHAR, sets.length - 1, next);
      case 'seq': { let s = next; for (let i = node.items.length - 1; i >= 0; i--) s = comp(node.items[i], s); return s; }
      case 'alt': {
        let s = comp(node.alts[node.alts.length - 1], next);
        for (let i = node.alts.length - 2; i >= 0; i--) s = add(SPLIT, comp(node.alts[i], next), s);
        return s;
      }
      case 'group': return comp(node.node, next);
      case 'rep': {
        let s = next;
        if (node.max === Infinity) {
          const loop = add(SPLIT, -1, next);
          a[loop] = comp(node.node, loop);
          s = loop;
        } else {
          for (let i = 0; i < node.max - node.min; i++) s = add(SPLIT, comp(node.node, s), next);
        }
        for (let i = 0; i < node.min; i++) s = comp(node.node, s);
        return s;
      }
      case 'assert': {
        const k = node.kind === '^' ? A_BOL : node.kind === '$' ? A_EOL : node.kind === 'b' ? A_WORD : A_NOTWORD;
        return add(ASSERT, k, next);
      }
      default: throw new Error(`unsupported in the linear engine: ${node.t}`);
    }
  };
  const match = add(MATCH, 0, 0);
  const start = comp(ast, match);
  const first = new Uint32Array(4);
  const seen = new Set<number>();
  const stack = [start];
  while (stack.length) {
    const s = stack.pop()!;
    if (seen.has(s)) continue;
    seen.add(s);
    if (op[s] === SPLIT) stack.push(a[s], b[s]);
    else if (op[s] === ASSERT) stack.push(b[s]);
    else if (op[s] === CHAR) {
      const m = sets[a[s]];
      for (let c = 0; c < 128; c++) if (has(m, c)) first[c >> 5] |= 1 << (c & 31);
    } else first.fill(0xffffffff);
  }
  let closures: Int32Array[] | null = null;
  let reachesMatch: Uint8Array | null = null;
  if (!op.includes(ASSERT)) {
    closures = [];
    reachesMatch = new Uint8Array(op.length);
    for (let s = 0; s < op.length; s++) {
      const out: number[] = [];
      const seenHere = new Set<number>();
      const st = [s];
      while (st.length) {
        const x = st.pop()!;
        if (seenHere.has(x)) continue;
        seenHere.add(x);
        if (op[x] === SPLIT) st.push(b[x], a[x]);
        else if (op[x] === CHAR) out.push(x);
        else if (op[x] === MATCH) reachesMatch[s] = 1;
      }
      closures.push(Int32Array.from(out));
    }
  }
  return { op, a, b, sets, start, first, closures, reachesMatch, match };
}

const isWord = (c: number): boolean =>
  (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isEol = (c: number): boolean => c === 10 || c === 13 || c === 0x2028 || c === 0x2029;

/**
 * Per-position scratch of every scanner (the closure's state list and its marks): a scanner uses it
 * only within one step, so all scanners share one, sized to the largest program. `gen` stamps the
 * states visited by one closure and is shared too, so a stamp is never reused while marks carry it.
 */
const scratch = { size: 0, mark: new Int32Array(0), clist: new Int32Array(0), cstart: new Float64Array(0), gen: 0, stack: [] as number[] };
const NO_INT = new Int32Array(0), NO_FLOAT = new Float64Array(0);

function scratchFor(n: number): typeof scratch {
  if (scratch.size < n) {
    scratch.size = n;
    scratch.mark = new Int32Array(n); scratch.clist = new Int32Array(n); scratch.cstart = new Float64Array(n);
    scratch.gen = 0;
  }
  // Stamps stay below 2^31 (the marks are 32-bit): start again from clean marks before that.
  if (scratch.gen > 0x3fffffff) { scratch.mark.fill(0); scratch.gen = 0; }
  return scratch;
}

/**
 * Simulates the NFA over text fed in pieces. Reports the union of all match spans (absolute
 * offsets); a match is credited at most `cap` characters back from its end, which bounds memory
 * and hold-back. Runs in O(text length x states).
 *
 * Memory: a scanner's own thread lists are allocated when a character first can start a match,
 * and the per-position scratch is shared (see `scratch`). A stream has a scanner per operator
 * pattern and text channel; with the bench's ten patterns, which never match its answers, this and the
 * SSE redactor's lazy raw channel took a stream's redaction state from 42 KB of heap and 9.7 KB of array
 * buffers to 8.1 and 0.5 KB (1,000 SSE streams in-process after two events each, after a full GC).
 */
export class NfaScanner {
  // Threads waiting before position `pos` (state, start), ordered by start; allocated on first use.
  private cur: Int32Array = NO_INT;
  private curStart: Float64Array = NO_FLOAT;
  private curN = 0;
  private nxt: Int32Array = NO_INT;
  private nxtStart: Float64Array = NO_FLOAT;
  // How many char states the last closure reached (in the shared scratch).
  private cN = 0;
  pos = 0;
  private prev = -1;
  /** Pairs [start, end) of matched text, in discovery order. */
  spans: number[] = [];
  private readonly size: number;

  constructor(private readonly prog: Program, private readonly cap: number) {
    this.size = prog.op.length + 1;
  }

  private allocate(): void {
    const n = this.size;
    this.cur = new Int32Array(n); this.curStart = new Float64Array(n);
    this.nxt = new Int32Array(n); this.nxtStart = new Float64Array(n);
  }

  reset(pos: number, prevCode: number): void {
    this.curN = 0;
    this.pos = pos; this.prev = prevCode;
    if (this.spans.length) this.spans = [];
  }

  /** Earliest start of a partial match still alive, or Infinity. */
  minLiveStart(): number {
    return this.curN ? this.curStart[0] : Infinity;
  }

  /** Consumes text[from, to). */
  feed(text: string, from = 0, to = text.length): void {
    const first = this.prog.first;
    const fast = this.prog.closures !== null;
    for (let i = from; i < to; i++) {
      const c = text.charCodeAt(i);
      if (this.curN === 0 && c < 128 && (first[c >> 5] & (1 << (c & 31))) === 0) {
        this.prev = c; this.pos++;
        continue;
      }
      if (this.cur === NO_INT) this.allocate();
      if (fast) this.fastClosure(); else this.closure(c);
      this.step(c);
      this.prev = c; this.pos++;
    }
  }

  /** Ends the input: `nextCode` is the character after it (-1 for none). Drops live threads. */
  finish(nextCode = -1): void {
    if (this.cur === NO_INT) this.allocate();
    if (this.prog.closures) this.fastClosure(); else this.closure(nextCode);
    this.curN = 0;
  }

  /** Records [start, end), uniting it with the previous span when they overlap (ends only grow). */
  private report(start: number, end: number): void {
    const sp = this.spans, n = sp.length;
    if (n > 0 && start <= sp[n - 1]) {
      if (start < sp[n - 2]) sp[n - 2] = start;
      sp[n - 1] = end;
    } else sp.push(start, end);
  }

  private seed(): void {
    this.cur[this.curN] = this.prog.start;
    this.curStart[this.curN++] = this.pos;
  }

  private closure(next: number): void {
    const { op, a, b } = this.prog;
    const sc = scratchFor(this.size);
    const gen = ++sc.gen;
    const mark = sc.mark, stack = sc.stack, clist = sc.clist, cstart = sc.cstart;
    this.cN = 0;
    const p = this.pos;
    this.seed();
    for (let t = 0; t < this.curN; t++) {
      const start = this.curStart[t];
      stack.push(this.cur[t]);
      while (stack.length) {
        const s = stack.pop()!;
        if (mark[s] === gen) continue;
        mark[s] = gen;
        switch (op[s]) {
          case CHAR: clist[this.cN] = s; cstart[this.cN++] = start; break;
          case SPLIT: stack.push(b[s], a[s]); break;
          case MATCH: if (p > start) this.report(start, p); break;
          case ASSERT: {
            const k = a[s];
            const ok = k === A_BOL ? this.prev < 0 || isEol(this.prev)
              : k === A_EOL ? next < 0 || isEol(next)
                : (this.prev >= 0 && isWord(this.prev)) !== (next >= 0 && isWord(next)) ? k === A_WORD : k === A_NOTWORD;
            if (ok) stack.push(b[s]);
            break;
          }
        }
      }
    }
  }

  /** Closure through precomputed epsilon lists (patterns without assertions). */
  private fastClosure(): void {
    const closures = this.prog.closures!, reaches = this.prog.reachesMatch!, matchState = this.prog.match;
    const sc = scratchFor(this.size);
    const gen = ++sc.gen;
    const mark = sc.mark, clist = sc.clist, cstart = sc.cstart, cur = this.cur, curStart = this.curStart;
    let cN = 0;
    const p = this.pos;
    this.seed();
    const n = this.curN;
    for (let t = 0; t < n; t++) {
      const s = cur[t], start = curStart[t];
      if (reaches[s] === 1 && mark[matchState] !== gen) {
        mark[matchState] = gen;
        if (p > start) this.report(start, p);
      }
      const list = closures[s];
      for (let k = 0; k < list.length; k++) {
        const x = list[k];
        if (mark[x] !== gen) { mark[x] = gen; clist[cN] = x; cstart[cN++] = start; }
      }
    }
    this.cN = cN;
  }

  private step(c: number): void {
    const { a, b, sets } = this.prog;
    const nxt = this.nxt, nxtStart = this.nxtStart, clist = scratch.clist, cstart = scratch.cstart;
    let n = 0;
    const floor = this.pos + 1 - this.cap;
    for (let i = 0; i < this.cN; i++) {
      const s = clist[i];
      if (has(sets[a[s]], c)) {
        nxt[n] = b[s];
        const st = cstart[i];
        nxtStart[n++] = st < floor ? floor : st;
      }
    }
    this.nxt = this.cur; this.nxtStart = this.curStart;
    this.cur = nxt; this.curStart = nxtStart;
    this.curN = n;
  }
}
