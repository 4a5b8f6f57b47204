// Environment overrides of policy values (LOLLMSBOT_*, LOLLMS_HOST_ADDRESS, LOLLMS_GUARD__A__B=value).
import { parse as parseToml, TomlDate } from 'smol-toml';
import { isPlainObject, type PlainObject } from './merge.js';
import type { LocatedProblem } from './toml-locate.js';

/** One override: the env var, the policy path it sets and the value (already typed). */
export interface EnvOverride {
  readonly env: string;
  readonly path: readonly string[];
  readonly value: unknown;
}

export interface EnvReadResult {
  readonly overrides: EnvOverride[];
  readonly problems: LocatedProblem[];
  readonly warnings: string[];
}

/** Prefix of the general form; two underscores also separate levels (LOLLMS_GUARD_REDIS_URL is not one). */
export const GENERAL_PREFIX = 'LOLLMS_GUARD__';
/** The one extra admin key the server accepts; never a policy value, only its length is checked here. */
export const API_KEY_ENV = 'LOLLMSBOT_API_KEY';
const UNSAFE = new Set(['__proto__', 'constructor', 'prototype']);

interface SchemaNode {
  type?: string;
  enum?: unknown[];
  properties?: Record<string, SchemaNode>;
  additionalProperties?: boolean | SchemaNode;
  items?: SchemaNode;
}

/** The schema node describing `segs`, if the schema names it. */
export function schemaAt(schema: unknown, segs: readonly string[]): SchemaNode | undefined {
  let node = schema as SchemaNode | undefined;
  for (const s of segs) {
    if (!node) return undefined;
    if (node.type === 'array') node = node.items;
    else if (node.properties && Object.prototype.hasOwnProperty.call(node.properties, s)) node = node.properties[s];
    else node = typeof node.additionalProperties === 'object' ? node.additionalProperties : undefined;
  }
  return node;
}

const splitList = (v: string): string[] => v.split(',').map((s) => s.trim()).filter((s) => s !== '');

/** Converts TOML dates to strings so that parsed values are plain JSON data. */
export function plainDates(v: unknown): unknown {
  if (v instanceof TomlDate) return v.toISOString();
  if (Array.isArray(v)) return v.map(plainDates);
  if (isPlainObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plainDates(x)]));
  return v;
}

/**
 * Value of the general form: a TOML value if the text is one (number, boolean, array, "quoted"),
 * else the plain string. Where the schema wants a string the raw text wins (so "1.2" stays "1.2"),
 * and where it wants a list of strings a comma-separated text is accepted.
 */
export function parseEnvValue(raw: string, node: SchemaNode | undefined): unknown {
  let parsed: unknown = raw;
  try {
    const doc = parseToml(`v = ${raw}`, { unsafeKeyBehaviour: 'throw' });
    if (Object.keys(doc).length === 1) parsed = plainDates(doc.v);
  } catch { /* not a TOML value: a plain string */ }
  const wantsString = node?.type === 'string' || (node?.enum?.every((e) => typeof e === 'string') ?? false);
  if (wantsString && typeof parsed !== 'string') return raw;
  if (node?.type === 'array' && !Array.isArray(parsed) && node.items?.type === 'string') return splitList(raw);
  return parsed;
}

/** Reads every override the environment carries, in the order they are applied. */
export function readEnvOverrides(env: NodeJS.ProcessEnv, schema: unknown): EnvReadResult {
  const overrides: EnvOverride[] = [];
  const problems: LocatedProblem[] = [];
  const warnings: string[] = [];
  const named = (name: string, path: string[], conv: (v: string) => unknown): void => {
    const v = env[name];
    if (v === undefined || v.trim() === '') return;
    overrides.push({ env: name, path, value: conv(v.trim()) });
  };
  named('LOLLMS_HOST_ADDRESS', ['upstream', 'url'], (v) => v);
  named('LOLLMSBOT_HOST', ['server', 'host'], (v) => v);
  named('LOLLMSBOT_PORT', ['server', 'port'], (v) => (/^[+-]?\d+$/.test(v) ? Number(v) : v));
  named('LOLLMSBOT_CORS_ORIGINS', ['security', 'cors', 'origins'], splitList);

  const general = Object.keys(env).filter((k) => k.startsWith(GENERAL_PREFIX)).sort();
  for (const name of general) {
    const raw = env[name] ?? '';
    const segs = name.slice(GENERAL_PREFIX.length).split('__').map((s) => s.toLowerCase());
    const bad = segs.find((s) => s === '' || UNSAFE.has(s));
    if (bad !== undefined) {
      problems.push({
        file: name, line: 0, col: 0, path: segs.join('.'), env: name,
        message: `cannot map ${name} to a policy key; write levels as ${GENERAL_PREFIX}SECTION__KEY (two underscores between levels), e.g. ${GENERAL_PREFIX}SECURITY__MODE=permissive`,
      });
      continue;
    }
    const value = parseEnvValue(raw, schemaAt(schema, segs));
    const clash = overrides.find((o) => o.path.join('.') === segs.join('.'));
    if (clash) warnings.push(`${name} overrides ${clash.env} for ${segs.join('.')}`);
    overrides.push({ env: name, path: segs, value });
  }
  return { overrides, problems, warnings };
}

/** Sets each override in `tree` (modified in place); returns problems for paths that cannot be set. */
export function applyEnvOverrides(tree: PlainObject, overrides: readonly EnvOverride[]): LocatedProblem[] {
  const problems: LocatedProblem[] = [];
  for (const o of overrides) {
    let cur: unknown = tree;
    let ok = true;
    for (let k = 0; k < o.path.length - 1 && ok; k++) {
      const s = o.path[k];
      if (Array.isArray(cur)) {
        const idx = Number(s);
        ok = Number.isInteger(idx) && idx >= 0 && idx < cur.length;
        if (ok) cur = cur[idx];
      } else if (isPlainObject(cur)) {
        if (cur[s] === undefined) cur[s] = {};
        cur = cur[s];
      } else ok = false;
    }
    const last = o.path[o.path.length - 1];
    if (ok && Array.isArray(cur)) {
      const idx = Number(last);
      ok = Number.isInteger(idx) && idx >= 0 && idx <= cur.length;
      if (ok) cur[idx] = o.value;
    } else if (ok && isPlainObject(cur)) {
      cur[last] = o.value;
    } else ok = false;
    if (!ok) {
      problems.push({
        file: o.env, line: 0, col: 0, path: o.path.join('.'), env: o.env,
        message: `cannot set ${o.path.join('.')}: a parent of it is not a table (or the array index is out of range); remove ${o.env} or fix the path`,
      });
    }
  }
  return problems;
}

/** LOLLMSBOT_API_KEY must be at least api_key_min_length characters (the key itself is never printed). */
export function checkEnvApiKey(env: NodeJS.ProcessEnv, minLength: number): LocatedProblem | null {
  const key = env[API_KEY_ENV];
  if (key === undefined || key === '' || key.length >= minLength) return null;
  return {
    file: API_KEY_ENV, line: 0, col: 0, env: API_KEY_ENV, path: 'security.authentication.api_key_min_length',
    message: `${API_KEY_ENV} is ${key.length} characters, shorter than api_key_min_length (${minLength}); use a longer key, e.g. one printed by \`lollms-guard gen-key\``,
  };
}
