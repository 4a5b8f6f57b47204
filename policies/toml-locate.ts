// Maps dotted key paths of a TOML document to their line/column (toml-eslint-parser's tree), and turns smol-toml parse errors into problems.
import { TomlError } from 'smol-toml';
import { parseTOML, type AST } from 'toml-eslint-parser';

export interface Position { readonly line: number; readonly col: number }

/** Same shape as PolicyProblem in load.ts (kept here to avoid an import cycle). */
export interface LocatedProblem {
  file: string; line: number; col: number; path: string; message: string; env?: string;
}

/** Joins key segments the way every policy message and origin map does. */
export const joinPath = (segs: readonly (string | number)[]): string => segs.join('.');

type TomlNode = AST.TOMLContentNode;
const keyName = (k: AST.TOMLBare | AST.TOMLQuoted): string => (k.type === 'TOMLBare' ? k.name : k.value);
const at = (n: { loc: { start: { line: number; column: number } } }): Position => ({ line: n.loc.start.line, col: n.loc.start.column + 1 });

/**
 * Every key path (tables, keys, array elements) of `source` -> where it is first written.
 * Array-of-tables elements get their index: `a.b.0.key`. The positions come from toml-eslint-parser's
 * syntax tree (its `resolvedKey` already numbers array-of-tables elements); smol-toml stays the parser
 * whose values the policy uses, so a document only one of them accepts is reported by smol-toml first.
 */
export function locateKeys(source: string, onSyntaxError?: (e: { line: number; col: number; message: string }) => void): Map<string, Position> {
  const found = new Map<string, Position>();
  const record = (segs: readonly (string | number)[], pos: Position): void => {
    const key = joinPath(segs);
    if (!found.has(key)) found.set(key, pos);
  };
  const keyValue = (base: readonly (string | number)[], kv: AST.TOMLKeyValue): void => {
    const segs = kv.key.keys.map(keyName);
    for (let n = 1; n <= segs.length; n++) record([...base, ...segs.slice(0, n)], at(kv));
    value([...base, ...segs], kv.value);
  };
  const value = (path: readonly (string | number)[], v: TomlNode): void => {
    if (v.type === 'TOMLArray') {
      v.elements.forEach((e, i) => { record([...path, i], at(e)); value([...path, i], e); });
    } else if (v.type === 'TOMLInlineTable') {
      for (const kv of v.body) keyValue(path, kv);
    }
  };
  let program: AST.TOMLProgram;
  try { program = parseTOML(source); } catch (e) {
    // smol-toml reports the syntax errors both see; this one is stricter on dates (2026-02-30, which smol-toml
    // would roll over to 2026-03-02), so what only it refuses is reported from here.
    const err = e as { lineNumber?: number; column?: number; message?: string };
    onSyntaxError?.({ line: err.lineNumber ?? 0, col: err.column ?? 0, message: String(err.message ?? e) });
    return found;
  }
  for (const item of program.body[0].body) {
    if (item.type === 'TOMLKeyValue') { keyValue([], item); continue; }
    const table = item.resolvedKey;
    for (let n = 1; n <= table.length; n++) record(table.slice(0, n), at(item));
    for (const kv of item.body) keyValue(table, kv);
  }
  return found;
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
