// Maps dotted key paths of a TOML document to their line/column, and turns smol-toml parse errors into problems.
import { TomlError } from 'smol-toml';

export interface Position { readonly line: number; readonly col: number }

/** Same shape as PolicyProblem in load.ts (kept here to avoid an import cycle). */
export interface LocatedProblem {
  file: string; line: number; col: number; path: string; message: string; env?: string;
}

/** Joins key segments the way every policy message and origin map does. */
export const joinPath = (segs: readonly (string | number)[]): string => segs.join('.');

const BARE = /[A-Za-z0-9_-]/;
const ESCAPES: Record<string, string> = { b: '\b', t: '\t', n: '\n', f: '\f', r: '\r', e: '\x1b', '"': '"', '\\': '\\' };

/**
 * A lenient scanner over a document smol-toml already accepted: it only records where each key
 * (and each array element) starts. Array-of-tables elements get their index: `a.b.0.key`.
 */
class Locator {
  private i = 0;
  private readonly lineStarts: number[] = [0];
  readonly found = new Map<string, Position>();
  /** Resolved path of an array of tables -> number of elements seen so far. */
  private readonly aot = new Map<string, number>();

  constructor(private readonly src: string) {
    for (let k = 0; k < src.length; k++) if (src[k] === '\n') this.lineStarts.push(k + 1);
  }

  pos(offset: number): Position {
    let lo = 0, hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid] <= offset) lo = mid; else hi = mid - 1;
    }
    return { line: lo + 1, col: offset - this.lineStarts[lo] + 1 };
  }

  private record(segs: readonly (string | number)[], offset: number): void {
    const key = joinPath(segs);
    if (!this.found.has(key)) this.found.set(key, this.pos(offset));
  }

  private get ch(): string { return this.src[this.i] ?? ''; }

  private skipSpace(newlines: boolean): void {
    for (;;) {
      const c = this.ch;
      if (c === ' ' || c === '\t' || c === '\r' || (newlines && c === '\n')) this.i++;
      else if (c === '#') { while (this.i < this.src.length && this.ch !== '\n') this.i++; }
      else return;
    }
  }

  private skipLine(): void {
    while (this.i < this.src.length && this.ch !== '\n') this.i++;
  }

  /** Reads one key segment (bare, "basic" or 'literal'). */
  private segment(): string | null {
    const c = this.ch;
    if (c === '"' || c === "'") return this.string(false);
    const start = this.i;
    while (BARE.test(this.ch)) this.i++;
    return this.i > start ? this.src.slice(start, this.i) : null;
  }

  /** Dotted key: returns its segments and the offset where it starts. */
  private key(): { segs: string[]; at: number } | null {
    const at = this.i;
    const segs: string[] = [];
    for (;;) {
      this.skipSpace(false);
      const s = this.segment();
      if (s === null) return null;
      segs.push(s);
      this.skipSpace(false);
      if (this.ch !== '.') return { segs, at };
      this.i++;
    }
  }

  /** Reads a string starting at the quote; multi-line forms allowed where values are. */
  private string(allowMulti: boolean): string {
    const q = this.ch;
    const triple = allowMulti && this.src.startsWith(q.repeat(3), this.i);
    this.i += triple ? 3 : 1;
    let out = '';
    while (this.i < this.src.length) {
      const c = this.ch;
      if (triple ? this.src.startsWith(q.repeat(3), this.i) : c === q) {
        this.i += triple ? 3 : 1;
        // up to two extra quotes may close a multi-line string (""""" is legal)
        while (triple && this.ch === q) { out += q; this.i++; }
        return out;
      }
      if (!triple && c === '\n') return out;
      if (c === '\\' && q === '"') {
        const n = this.src[this.i + 1] ?? '';
        if (n === 'u' || n === 'U') {
          const len = n === 'u' ? 4 : 8;
          const cp = parseInt(this.src.slice(this.i + 2, this.i + 2 + len), 16);
          out += Number.isFinite(cp) ? String.fromCodePoint(cp) : '';
          this.i += 2 + len;
        } else {
          out += ESCAPES[n] ?? '';
          this.i += 2;
        }
        continue;
      }
      out += c;
      this.i++;
    }
    return out;
  }

  /** Resolves a header path: prefixes that are arrays of tables point at their last element. */
  private resolve(segs: readonly string[], lastIsAot: boolean): (string | number)[] {
    const out: (string | number)[] = [];
    segs.forEach((s, k) => {
      out.push(s);
      const key = joinPath(out);
      const isLast = k === segs.length - 1;
      if (isLast && lastIsAot) {
        const idx = this.aot.get(key) ?? 0;
        this.aot.set(key, idx + 1);
        out.push(idx);
      } else if (this.aot.has(key)) {
        out.push((this.aot.get(key) ?? 1) - 1);
      }
    });
    return out;
  }

  private value(path: (string | number)[]): void {
    this.skipSpace(false);
    const c = this.ch;
    if (c === '"' || c === "'") { this.string(true); return; }
    if (c === '[') {
      this.i++;
      for (let idx = 0; this.i < this.src.length; idx++) {
        this.skipSpace(true);
        if (this.ch === ']') { this.i++; return; }
        this.record([...path, idx], this.i);
        const before = this.i;
        this.value([...path, idx]);
        this.skipSpace(true);
        if (this.ch === ',') this.i++;
        else if (this.ch === ']') { this.i++; return; }
        else if (this.i === before) { this.i++; }
      }
      return;
    }
    if (c === '{') {
      this.i++;
      while (this.i < this.src.length) {
        this.skipSpace(true);
        if (this.ch === '}') { this.i++; return; }
        if (this.ch === ',') { this.i++; continue; }
        const k = this.key();
        if (!k) { this.i++; continue; }
        this.recordKey(path, k.segs, k.at);
        this.skipSpace(false);
        if (this.ch === '=') this.i++;
        this.value([...path, ...k.segs]);
      }
      return;
    }
    // number, boolean, date-time (which may contain one space): up to a delimiter
    while (this.i < this.src.length && !',]}\n#'.includes(this.ch)) this.i++;
  }

  private recordKey(base: readonly (string | number)[], segs: readonly string[], at: number): void {
    for (let k = 1; k <= segs.length; k++) this.record([...base, ...segs.slice(0, k)], at);
  }

  run(): Map<string, Position> {
    let table: (string | number)[] = [];
    while (this.i < this.src.length) {
      this.skipSpace(true);
      if (this.i >= this.src.length) break;
      const at = this.i;
      if (this.ch === '[') {
        const aot = this.src[this.i + 1] === '[';
        this.i += aot ? 2 : 1;
        const k = this.key();
        if (k) {
          table = this.resolve(k.segs, aot);
          for (let n = 1; n <= table.length; n++) this.record(table.slice(0, n), at);
        }
        this.skipLine();
        continue;
      }
      const k = this.key();
      if (!k) { this.skipLine(); continue; }
      this.recordKey(table, k.segs, k.at);
      this.skipSpace(false);
      if (this.ch !== '=') { this.skipLine(); continue; }
      this.i++;
      this.value([...table, ...k.segs]);
      this.skipSpace(false);
      if (this.src[this.i] !== '\n') this.skipLine();
    }
    return this.found;
  }
}

/** Every key path (tables, keys, array elements) of `source` -> where it is first written. */
export function locateKeys(source: string): Map<string, Position> {
  return new Locator(source).run();
}

/** Position of `segs`, or of its nearest located ancestor; null if none is written in the file. */
export function nearest(
  located: ReadonlyMap<string, Position>, segs: readonly (string | number)[],
): Position | null {
  for (let n = segs.length; n > 0; n--) {
    const p = located.get(joinPath(segs.slice(0, n)));
    if (p) return p;
  }
  return null;
}

/** Converts a smol-toml syntax error into a problem; other errors keep line 0. */
export function tomlErrorToProblem(file: string, err: unknown): LocatedProblem {
  if (err instanceof TomlError) {
    const first = err.message.split('\n')[0].replace(/^Invalid TOML document:\s*/, '');
    return {
      file, line: err.line, col: err.column, path: '',
      message: `invalid TOML: ${first}; fix the syntax at this position`,
    };
  }
  return { file, line: 0, col: 0, path: '', message: `cannot parse: ${(err as Error)?.message ?? String(err)}` };
}
