// The concrete fixes of schema errors: the literal to write for a wrong type or an out-of-range value, double
// brackets for a table written where a list of tables belongs, and where a key that is unknown here does belong.
import { isPlainObject, type PlainObject } from './merge.js';

/**
 * A fix as the operator applies it: `toml` for a value written in a policy file, `envValue` (when there is one) for
 * a value that came from an environment variable ("set NAME=value").
 */
export interface Fix { readonly toml: string; readonly envValue?: string }

/** One place the schema defines: a table, an array of tables, or a key; `<name>` stands for a map's own keys. */
interface Place { readonly segs: readonly string[]; readonly kind: 'table' | 'tables' | 'key'; readonly parent: 'root' | 'table' | 'tables' }

/** Every place of the schema, computed once per schema (policy load compiles it once). */
export type SchemaIndex = readonly Place[];

export function indexSchema(schema: PlainObject): SchemaIndex {
  const out: Place[] = [];
  const walk = (node: PlainObject, segs: string[], parent: Place['parent']): void => {
    for (const [k, v] of Object.entries(obj(node.properties))) {
      const s = [...segs, k], child = obj(v), items = obj(child.items);
      if (child.type === 'object') {
        out.push({ segs: s, kind: 'table', parent });
        walk(child, s, 'table');
        const each = obj(child.additionalProperties);
        if (each.type === 'object') { out.push({ segs: [...s, '<name>'], kind: 'table', parent: 'table' }); walk(each, [...s, '<name>'], 'table'); }
      } else if (child.type === 'array' && items.type === 'object') {
        out.push({ segs: s, kind: 'tables', parent });
        walk(items, s, 'tables');
      } else out.push({ segs: s, kind: 'key', parent });
    }
  };
  walk(schema, [], 'root');
  return out;
}

const obj = (v: unknown): PlainObject => (isPlainObject(v) ? v : {});
const quoteKey = (k: string): string => (/^[A-Za-z0-9_<>-]+$/.test(k) ? k : JSON.stringify(k));
const isIndex = (s: string | number): boolean => typeof s === 'number' || /^\d+$/.test(s);
/** `[a.b]` or `[[a.b]]` for a table path of the data (array indices dropped). */
export const header = (segs: readonly (string | number)[], tables = false): string => {
  const p = segs.filter((s) => !isIndex(s)).map((s) => quoteKey(String(s))).join('.');
  return tables ? `[[${p}]]` : `[${p}]`;
};
/** How the section holding a data path is written: `[a.b]`, `[[a.b]]` (inside an array of tables) or "the top level". */
const sectionOf = (segs: readonly (string | number)[]): string =>
  segs.length === 0 ? 'the top level' : header(segs, isIndex(segs[segs.length - 1]));
const render = (p: Place): string => {
  if (p.kind !== 'key') return header(p.segs, p.kind === 'tables');
  const parent = p.segs.slice(0, -1);
  return parent.length === 0 ? p.segs[0] : `${quoteKey(p.segs[p.segs.length - 1])} under ${header(parent, p.parent === 'tables')}`;
};

/**
 * For a key unknown at `parent` whose name the schema defines elsewhere: "did you mean [upstream]? ...". The places
 * whose kind fits the value written (a table, a list of tables, a value) come first; at most three are named.
 */
export function elsewhere(index: SchemaIndex, parent: readonly (string | number)[], key: string, value: unknown): string | null {
  const found = index.filter((p) => p.segs[p.segs.length - 1] === key);
  if (found.length === 0) return null;
  const kind: Place['kind'] = isPlainObject(value) ? 'table' : Array.isArray(value) && value.length > 0 && value.every(isPlainObject) ? 'tables' : 'key';
  const fitting = found.filter((p) => p.kind === kind || (kind === 'tables' && p.kind === 'table') || (kind === 'table' && p.kind === 'tables'));
  const named = (fitting.length > 0 ? fitting : found).sort((a, b) => a.segs.length - b.segs.length).slice(0, 3).map(render);
  const here = sectionOf(parent);
  return `did you mean ${named.join(' or ')}? ${key} is not part of ${here}: move it there`;
}

const NUMBER_PREFIX = /^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)/i;
const TRUE_WORDS = /^(true|yes|on|1)$/i, FALSE_WORDS = /^(false|no|off|0)$/i;

/** `write key = literal (note)`, or for an array element `write literal (note)`; the env form sets the bare value. */
function write(segs: readonly string[], literal: string, note = '', envValue: string | undefined = literal): Fix {
  const key = segs[segs.length - 1] ?? '';
  const lhs = isIndex(key) || key === '' ? '' : `${quoteKey(key)} = `;
  return { toml: `write ${lhs}${literal}${note ? ` (${note})` : ''}`, envValue };
}

/** The fix of a value of the wrong type, built from the value given where it can be (a quoted number unquoted...). */
export function typeFix(segs: readonly string[], want: string, data: unknown, schema: PlainObject): Fix | undefined {
  const dflt = schema.default;
  if (want === 'integer' || want === 'number') {
    const m = typeof data === 'string' ? NUMBER_PREFIX.exec(data) : null;
    let n = typeof data === 'number' ? data : m ? Number(m[1]) : typeof dflt === 'number' ? dflt : typeof schema.minimum === 'number' ? schema.minimum : 1;
    if (want === 'integer' && !Number.isInteger(n)) n = Math.round(n);
    const what = want === 'integer' ? 'a whole number' : 'a number';
    const note = typeof data !== 'string' ? what : m && m[0].length === data.length ? 'no quotes' : `${what}, no quotes`;
    return write(segs, String(n), note);
  }
  if (want === 'boolean') {
    const word = typeof data === 'string' || typeof data === 'number' ? String(data).trim() : '';
    const b = TRUE_WORDS.test(word) ? true : FALSE_WORDS.test(word) ? false : undefined;
    if (b === undefined) return write(segs, 'true', 'or false; no quotes');
    return write(segs, String(b), typeof data === 'string' ? 'no quotes' : 'a boolean, not a number');
  }
  if (want === 'string' && (typeof data === 'number' || typeof data === 'boolean')) {
    return write(segs, JSON.stringify(String(data)), 'in quotes', String(data));
  }
  if (want === 'array') {
    const items = obj(schema.items);
    if (items.type === 'object' && isPlainObject(data)) {
      return { toml: `write ${header(segs, true)} (double brackets): one per entry, each followed by its keys` };
    }
    if (typeof data === 'string' || typeof data === 'number' || typeof data === 'boolean') {
      return write(segs, `[${JSON.stringify(data)}]`, 'a list, in square brackets', String(data));
    }
  }
  if (want === 'object' && Array.isArray(data) && data.every(isPlainObject)) {
    return { toml: `write ${header(segs)} (single brackets): this is one table, not a list of entries` };
  }
  return undefined;
}

/** The nearest value inside a minimum/maximum bound (the default, when it is inside an exclusive bound). */
export function rangeFix(segs: readonly string[], keyword: string, limit: number, schema: PlainObject): Fix {
  const integer = schema.type === 'integer';
  const dflt = typeof schema.default === 'number' ? schema.default : undefined;
  switch (keyword) {
    case 'minimum': return write(segs, String(limit), 'or more');
    case 'maximum': return write(segs, String(limit), 'or less');
    case 'exclusiveMinimum':
      if (dflt !== undefined && dflt > limit) return write(segs, String(dflt), `the default; any ${integer ? 'integer' : 'number'} above ${limit}`);
      return write(segs, String(limit + 1), 'or more');
    default:
      if (dflt !== undefined && dflt < limit) return write(segs, String(dflt), `the default; any ${integer ? 'integer' : 'number'} below ${limit}`);
      return write(segs, String(limit - 1), 'or less');
  }
}
