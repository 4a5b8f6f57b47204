// Loads policy files: TOML -> overlay merge -> env overrides -> schema + semantic checks -> frozen CompiledPolicy.
import { fileURLToPath } from 'node:url';
import { existsSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { parse as parseToml } from 'smol-toml';
import { createRequire } from 'node:module';
import type { Ajv as AjvClass, ErrorObject, ValidateFunction } from 'ajv';
import type { CompiledPolicy, Policy, ValueOrigin } from '../kernel/policy.js';
import { locateKeys, nearest, tomlErrorToProblem, joinPath, type Position } from './toml-locate.js';
import { mergeAll, getPath, hasPath, isPlainObject, deepFreeze, type PlainObject } from './merge.js';
import { readEnvOverrides, applyEnvOverrides, checkEnvApiKey, plainDates, type EnvOverride } from './env.js';
import { semanticFindings, policyWarnings, didYouMean, registerPatternCheck, secretPathProblem } from './semantic.js';
import { indexSchema, elsewhere, typeFix, rangeFix, type Fix, type SchemaIndex } from './schema-fixes.js';

export { registerPatternCheck };
export type { PatternCheck } from './semantic.js';

/** One thing wrong with a policy. Env problems: file = the variable name, line 0, env set. */
export interface PolicyProblem {
  file: string;
  line: number;
  col: number;
  /** Dotted key path ("" for syntax errors and unreadable files). */
  path: string;
  message: string;
  /** Set when the value came from this environment variable. */
  env?: string;
}

/** `file:line:col key.path: message` (or `env NAME key.path: message`). */
export function formatProblem(p: PolicyProblem): string {
  const where = p.env ? `env ${p.env}` : p.line > 0 ? `${p.file}:${p.line}:${p.col}` : p.file;
  return p.path ? `${where} ${p.path}: ${p.message}` : `${where}: ${p.message}`;
}

/** Thrown by loadPolicy with every problem found (never just the first). */
export class PolicyError extends Error {
  readonly problems: PolicyProblem[];
  constructor(problems: PolicyProblem[]) {
    super(`invalid policy (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map(formatProblem).join('\n')}`);
    this.name = 'PolicyError';
    this.problems = problems;
  }
}

/** config/policy.schema.json, relative to dist/policies/load.js (from source, ../config is tried too). */
export const SCHEMA_URL = new URL('../../config/policy.schema.json', import.meta.url);
const requireHere = createRequire(import.meta.url);

/** The first of these paths (relative to this file) that exists. */
const firstFile = (names: readonly string[]): string | undefined => names.find((n) => existsSync(fileURLToPath(new URL(n, import.meta.url))));

type Formats = Record<string, { type: 'string'; validate: (s: string) => boolean }>;
/** ajv's options for the policy schema, at run time and in scripts/schema-validator.mjs (which imports them). */
export const AJV_OPTIONS = Object.freeze({ allErrors: true, useDefaults: true, strict: true, verbose: true });
const FORMATS_FILES = ['../../policies/schema-formats.cjs', './schema-formats.cjs'];

/**
 * What a generated validator was built from: the schema text, these options and the formats' source. The build
 * writes it into the file (scripts/schema-validator.mjs); a validator whose digest differs is not used.
 */
export function validatorDigest(schemaText: string, formatsSource: string): string {
  return createHash('sha256').update(schemaText).update('\0').update(JSON.stringify(AJV_OPTIONS)).update('\0').update(formatsSource).digest('hex');
}

/**
 * The schema's validator: the one `npm run build` generated (scripts/schema-validator.mjs) when its digest says it was
 * built from this schema text, these options and these formats, else ajv compiling it now (loaded only then: ~20 MB resident and ~100 ms that a built install
 * does not spend). `runtime` forces the second, for the test that holds both equal.
 */
export function compileSchemaValidator(text: string, runtime = false): ValidateFunction {
  // The source tree's formats when there is one (a developer's edit counts), else the build's copy.
  const formatsFile = firstFile(FORMATS_FILES);
  if (!formatsFile) throw new Error('policies/schema-formats.cjs is missing');
  const digest = validatorDigest(text, readFileSync(new URL(formatsFile, import.meta.url), 'utf8'));
  const builtFile = runtime ? undefined : firstFile(['./policy-validator.cjs']);
  const built = builtFile ? requireHere(builtFile) as ValidateFunction & { buildDigest?: string } : undefined;
  if (built && built.buildDigest === digest) return built;
  const formats = requireHere(formatsFile) as Formats;
  const { Ajv } = requireHere('ajv') as { Ajv: typeof AjvClass };
  const ajv = new Ajv({ ...AJV_OPTIONS });
  for (const [name, f] of Object.entries(formats)) ajv.addFormat(name, f);
  return ajv.compile(JSON.parse(text) as PlainObject);
}

interface CompiledSchema { schema: PlainObject; validate: ValidateFunction; index: SchemaIndex }
let compiled: CompiledSchema | null = null;
function schemaValidator(): CompiledSchema {
  if (compiled) return compiled;
  const url = [SCHEMA_URL, new URL('../config/policy.schema.json', import.meta.url)].find((u) => existsSync(u)) ?? SCHEMA_URL;
  const file = fileURLToPath(url);
  let schema: PlainObject;
  let text: string;
  try {
    text = readFileSync(url, 'utf8');
    schema = JSON.parse(text) as PlainObject;
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? 'not valid JSON';
    throw new PolicyError([{ file, line: 0, col: 0, path: '', message: `cannot read the policy schema (${why}); it ships with lollms-guard as config/policy.schema.json: restore it (git checkout config/policy.schema.json, or reinstall)` }]);
  }
  compiled = { schema, validate: compileSchemaValidator(text), index: indexSchema(schema) };
  return compiled;
}

interface Layer { readonly file: string; readonly tree: PlainObject; readonly located: Map<string, Position> }
type Segs = readonly (string | number)[];
const isPrefix = (pre: Segs, segs: Segs): boolean => pre.length <= segs.length && pre.every((s, k) => String(s) === String(segs[k]));

/** Which layer provides `segs` (later files win; arrays and scalars replace), and the deepest prefix it writes. */
function provider(layers: readonly Layer[], segs: Segs): { layer: Layer; depth: number } | null {
  let candidates = layers;
  let best: { layer: Layer; depth: number } | null = null;
  for (let n = 1; n <= segs.length; n++) {
    const prefix = segs.slice(0, n);
    const defined = candidates.filter((l) => hasPath(l.tree, prefix));
    if (defined.length === 0) break;
    const last = defined[defined.length - 1];
    best = { layer: last, depth: n };
    candidates = isPlainObject(getPath(last.tree, prefix)) ? defined.filter((l) => isPlainObject(getPath(l.tree, prefix))) : [last];
  }
  return best;
}

/** Where a path's value came from: env, file (with position) or default. */
function originOf(layers: readonly Layer[], overrides: readonly EnvOverride[], segs: Segs): ValueOrigin & { exact: boolean } {
  const ov = [...overrides].reverse().find((o) => isPrefix(o.path, segs));
  if (ov) return { source: 'env', env: ov.env, exact: true };
  const p = provider(layers, segs);
  if (p) {
    const pos = nearest(p.layer.located, segs.slice(0, p.depth)) ?? { line: 1, col: 1 };
    return { source: 'file', file: p.layer.file, line: pos.line, col: pos.col, exact: p.depth === segs.length };
  }
  const created = [...overrides].reverse().find((o) => isPrefix(segs, o.path));
  if (created) return { source: 'env', env: created.env, exact: false };
  return { source: 'default', exact: false };
}

/** A located problem; a fix is written for where the value came from (`write key = 30` in a file, `set NAME=30` in env). */
function problemAt(layers: readonly Layer[], overrides: readonly EnvOverride[], segs: Segs, message: string, fix?: Fix): PolicyProblem {
  const o = originOf(layers, overrides, segs);
  const path = joinPath(segs);
  if (o.source === 'env') {
    const env = o.env ?? '';
    const text = fix?.envValue !== undefined ? `${message}; set ${env}=${fix.envValue}` : message;
    return { file: env, line: 0, col: 0, path, message: text, env: o.env };
  }
  const text = fix ? `${message}; ${fix.toml}` : message;
  if (o.source === 'file') return { file: o.file ?? '', line: o.line ?? 0, col: o.col ?? 0, path, message: text };
  return { file: layers[layers.length - 1]?.file ?? '(defaults)', line: 0, col: 0, path, message: text };
}

const show = (v: unknown): string => { const s = JSON.stringify(v) ?? String(v); return s.length > 80 ? `${s.slice(0, 77)}...` : s; };
const kindOf = (v: unknown): string =>
  Array.isArray(v) ? 'array' : isPlainObject(v) ? 'table' : typeof v === 'number' ? (Number.isInteger(v) ? 'integer' : 'float') : typeof v;
const TYPE_NAMES: Record<string, string> = { object: 'a table', array: 'an array' };
const PATTERN_HINTS: Record<string, string> = {
  sha256: 'the 64 hex digits printed by `lollms-guard hash-key` or `gen-key`',
  fingerprint_sha256: 'the hex SHA-256 fingerprint, e.g. from `openssl x509 -noout -fingerprint -sha256`',
};
const BOUNDS: Record<string, string> = { minimum: '>=', maximum: '<=', exclusiveMinimum: '>', exclusiveMaximum: '<' };
/** Messages of their own for values refused by a schema pattern, by key path (array indices as "[]"). */
const PATTERN_EXPLAINED: Record<string, (v: string) => string | null> = {
  'server.websocket.secret_paths.[]': secretPathProblem,
};

interface SchemaFinding { segs: string[]; message: string; fix?: Fix }

/** Turns one ajv error into a path, a message that names the bad value, and the fix. */
function describe(e: ErrorObject, index: SchemaIndex): SchemaFinding {
  const segs = e.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const p = e.params as Record<string, unknown>;
  const data = e.data;
  const last = segs[segs.length - 1] ?? '';
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(p.additionalProperty);
      const allowed = Object.keys((e.parentSchema?.properties ?? {}) as object);
      // the same name elsewhere in the schema (a misplaced section or key) before a look-alike here, then the list
      const there = elsewhere(index, segs, key, isPlainObject(data) ? data[key] : undefined);
      const near = didYouMean(key, allowed);
      const fix = there ?? (near ? `did you mean ${show(near)}?` : `allowed here: ${allowed.join(', ')}`);
      return { segs: [...segs, key], message: `unknown key ${show(key)}; ${fix}` };
    }
    case 'required':
      return { segs: [...segs, String(p.missingProperty)], message: `missing required key ${show(p.missingProperty)}; add it${PATTERN_HINTS[String(p.missingProperty)] ? ` (${PATTERN_HINTS[String(p.missingProperty)]})` : ''}` };
    case 'type': {
      const want = String(p.type);
      const tables = want === 'array' && isPlainObject(data) && (e.parentSchema?.items as PlainObject | undefined)?.type === 'object';
      return {
        segs,
        message: `must be ${tables ? 'an array of tables' : TYPE_NAMES[want] ?? want}, got ${tables ? 'a single table' : `${show(data)} (${kindOf(data)})`}`,
        fix: typeFix(segs, want, data, (e.parentSchema ?? {}) as PlainObject),
      };
    }
    case 'enum':
      return { segs, message: `must be one of ${(p.allowedValues as unknown[]).join(', ')}, got ${show(data)}` };
    case 'minLength':
      return { segs, message: p.limit === 1 ? 'must not be empty' : `must be at least ${p.limit} characters, got ${show(data)}` };
    case 'maxLength':
      return { segs, message: `must be at most ${p.limit} characters, got ${String(data).length}` };
    case 'minItems':
      return { segs, message: `must list at least ${p.limit} entr${p.limit === 1 ? 'y' : 'ies'}, got ${show(data)}` };
    case 'pattern': {
      const explained = PATTERN_EXPLAINED[segs.map((s) => (/^\d+$/.test(s) ? '[]' : s)).join('.')]?.(String(data));
      if (explained) return { segs, message: explained };
      return { segs, message: `must match /${p.pattern}/, got ${show(data)}${PATTERN_HINTS[last] ? `; use ${PATTERN_HINTS[last]}` : ''}` };
    }
    case 'format': {
      if (p.format === 'regex') {
        let why = 'invalid';
        try { new RegExp(String(data)); } catch (err) { why = (err as Error).message; }
        return { segs, message: `must be a valid regular expression, got ${show(data)} (${why}); check brackets and escapes (in TOML basic strings a backslash is written "\\\\")` };
      }
      if (p.format === 'date-or-datetime') {
        return { segs, message: `must be a date (2026-11-01) or a date-time (2026-11-01T00:00:00Z), got ${show(data)}` };
      }
      return { segs, message: `must be a valid ${p.format}, got ${show(data)}` };
    }
    default:
      if (BOUNDS[e.keyword]) {
        const schema = (e.parentSchema ?? {}) as PlainObject;
        const what = schema.type === 'integer' ? 'an integer' : 'a number';
        return { segs, message: `must be ${what} ${BOUNDS[e.keyword]} ${p.limit}, got ${show(data)}`, fix: rangeFix(segs, e.keyword, Number(p.limit), schema) };
      }
      return { segs, message: `${e.message ?? 'is invalid'}, got ${show(data)}` };
  }
}

/** Schema errors, one per path and reason (a wrong type hides the other complaints about the same value). */
function schemaFindings(errors: readonly ErrorObject[], index: SchemaIndex): SchemaFinding[] {
  const typeBad = new Set(errors.filter((e) => e.keyword === 'type').map((e) => e.instancePath));
  const seen = new Set<string>();
  const out: SchemaFinding[] = [];
  for (const e of errors) {
    if (typeBad.has(e.instancePath) && e.keyword !== 'type') continue;
    const d = describe(e, index);
    const key = `${joinPath(d.segs)}\0${d.message}`;
    if (!seen.has(key)) { seen.add(key); out.push(d); }
  }
  return out;
}

function readLayer(file: string, problems: PolicyProblem[]): Layer | null {
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch (e) {
    const err = e as NodeJS.ErrnoException;
    problems.push({ file, line: 0, col: 0, path: '', message: `cannot read policy file (${err.code ?? err.message}); check the path and permissions` });
    return null;
  }
  try {
    const tree = plainDates(parseToml(text, { unsafeKeyBehaviour: 'throw' })) as PlainObject;
    const located = locateKeys(text, (e) => problems.push({
      file, line: e.line, col: e.col, path: '',
      message: /invalid date/i.test(e.message)
        ? 'invalid date: no such day (TOML would roll it over to the next month); write a real calendar date, e.g. 2026-02-28'
        : `invalid TOML: ${e.message}; fix the syntax at this position`,
    }));
    return { file, tree, located };
  } catch (e) {
    problems.push(tomlErrorToProblem(file, e));
    return null;
  }
}

/** Every leaf path of plain data; arrays of tables are recorded and entered, empty tables count as leaves. */
function leaves(v: unknown, segs: (string | number)[], out: (string | number)[][]): void {
  if (isPlainObject(v)) {
    const keys = Object.keys(v);
    if (keys.length === 0 && segs.length > 0) out.push(segs);
    for (const k of keys) leaves(v[k], [...segs, k], out);
  } else if (Array.isArray(v) && v.some(isPlainObject)) {
    out.push(segs);
    v.forEach((x, i) => leaves(x, [...segs, i], out));
  } else out.push(segs);
}

/** JSON with sorted keys, so equal policies hash equal. */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (isPlainObject(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${stableJson(v[k])}`).join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

/**
 * Reads, overlays (later files win), applies env overrides, validates and freezes a policy.
 * Throws PolicyError carrying every problem found.
 */
export function loadPolicy(files: string[], env: NodeJS.ProcessEnv = process.env): CompiledPolicy {
  const { schema, validate, index } = schemaValidator();
  const problems: PolicyProblem[] = [];
  const layers = files.map((f) => readLayer(f, problems)).filter((l): l is Layer => l !== null);
  const data = mergeAll(layers.map((l) => l.tree));

  const envRead = readEnvOverrides(env, schema);
  const overrides = envRead.overrides;
  problems.push(...envRead.problems, ...applyEnvOverrides(data, overrides));

  if (!validate(data)) {
    for (const f of schemaFindings(validate.errors ?? [], index)) problems.push(problemAt(layers, overrides, f.segs, f.message, f.fix));
  }
  for (const f of semanticFindings(data)) problems.push(problemAt(layers, overrides, f.path, f.message));
  const minLen = getPath(data, ['security', 'authentication', 'api_key_min_length']);
  const keyProblem = checkEnvApiKey(env, typeof minLen === 'number' ? minLen : 32);
  if (keyProblem) problems.push(keyProblem);

  if (problems.length > 0) {
    const rank = (p: PolicyProblem): number => (p.env ? files.length : Math.max(0, files.indexOf(p.file)));
    problems.sort((a, b) => rank(a) - rank(b) || a.line - b.line || a.col - b.col);
    throw new PolicyError(problems);
  }

  const origins = new Map<string, ValueOrigin>();
  const paths: (string | number)[][] = [];
  leaves(data, [], paths);
  for (const segs of paths) {
    const { exact, ...o } = originOf(layers, overrides, segs);
    origins.set(joinPath(segs), exact ? o : { source: 'default' });
  }
  const raw = deepFreeze(data) as unknown as Policy;
  const sec = raw.security;
  return deepFreeze({
    raw,
    files: [...files],
    hash: createHash('sha256').update(stableJson(raw)).digest('hex'),
    origins,
    warnings: [...envRead.warnings, ...policyWarnings(data, env)],
    mode: sec.enabled === false ? 'disabled' : sec.mode,
  });
}
