// The policy schema's validator generated at build time (scripts/schema-validator.mjs) against ajv compiling the same
// schema at run time (the loader's fallback): same verdict, same errors, same defaults filled in, for the project's
// example policy and for random damage done to it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { parse } from 'smol-toml';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { compileSchemaValidator, validatorDigest } from '../../../policies/load.js';
import { REPO_ROOT } from '../../../dev/paths.js';

const text = readFileSync(join(REPO_ROOT, 'config/policy.schema.json'), 'utf8');
const built = compileSchemaValidator(text);
const runtime = compileSchemaValidator(text, true);
const reference = JSON.parse(JSON.stringify(parse(readFileSync(join(REPO_ROOT, 'config/reference.toml'), 'utf8')))) as Record<string, unknown>;

const shape = (e: ErrorObject): unknown => ({ path: e.instancePath, schemaPath: e.schemaPath, keyword: e.keyword, params: e.params, message: e.message, data: e.data });

function judge(v: ValidateFunction, doc: unknown): { ok: boolean; errors: unknown[]; after: unknown } {
  const copy = structuredClone(doc);
  const ok = v(copy) as boolean;
  return { ok, errors: (v.errors ?? []).map(shape), after: copy };
}

/** Every path into the reference policy (object keys and array indexes), for the damage below. */
function paths(v: unknown, at: Array<string | number> = [], out: Array<Array<string | number>> = []): Array<Array<string | number>> {
  out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
  return out;
}
const ALL = paths(reference).filter((p) => p.length > 0);

function damaged(path: Array<string | number>, how: 'set' | 'delete' | 'extra', value: unknown): unknown {
  const doc = structuredClone(reference) as Record<string | number, unknown>;
  let node = doc;
  for (const seg of path.slice(0, -1)) node = node[seg] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (how === 'set') node[last] = value;
  else if (how === 'delete') { if (Array.isArray(node)) node.splice(Number(last), 1); else delete node[last]; }
  else if (node[last] !== null && typeof node[last] === 'object' && !Array.isArray(node[last])) (node[last] as Record<string, unknown>).not_a_key = value;
  return doc;
}

test('the build made the validator from this schema, and the loader uses it', () => {
  assert.equal(typeof (built as { buildDigest?: unknown }).buildDigest, 'string', 'dist/policies/policy-validator.cjs is missing or stale: run npm run build');
  assert.equal((runtime as { buildDigest?: unknown }).buildDigest, undefined);
});

test('the example policy and an empty one: same verdict and the same defaults either way', () => {
  for (const doc of [reference, {}, { server: {} }, { security: { authentication: { keys: [] } } }]) {
    assert.deepEqual(judge(built, doc), judge(runtime, doc));
  }
  assert.equal(judge(built, reference).ok, true);
});

test('property: any one value replaced, removed or joined by an unknown key gives the same errors and defaults', () => {
  const value = fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom('', 'abc', '2026-02-30', '2026-11-01', '2026-11-01T10:00:00Z', '(unclosed', 'a\\Z', '^ok$', -1, 0, 1.5, 2 ** 40, true, null, [], {}),
  );
  fc.assert(fc.property(fc.constantFrom(...ALL), fc.constantFrom('set', 'delete', 'extra') as fc.Arbitrary<'set' | 'delete' | 'extra'>, value, (path, how, v) => {
    const doc = damaged(path, how, v);
    assert.deepEqual(judge(built, doc), judge(runtime, doc));
  }), { numRuns: 600 });
});

test('the verdicts differ where they should: a damaged policy fails both ways', () => {
  const doc = damaged(['server', 'port'], 'set', 'eighty');
  assert.equal(judge(built, doc).ok, false);
  assert.equal(judge(runtime, doc).ok, false);
});

test('a schema edited since the build is compiled at run time, not judged by the stale validator', () => {
  const edited = text.replace('"description": "Listener of the proxy."', '"description": "Listener of the proxy (edited)."');
  assert.notEqual(edited, text);
  assert.equal((compileSchemaValidator(edited) as { buildDigest?: unknown }).buildDigest, undefined);
});

test('the digest covers the formats and the options too: an edited format is not judged by the stale validator', () => {
  const formats = readFileSync(join(REPO_ROOT, 'policies/schema-formats.cjs'), 'utf8');
  const digest = (built as { buildDigest?: string }).buildDigest;
  assert.equal(validatorDigest(text, formats), digest);
  assert.notEqual(validatorDigest(text, formats + '\n// edited'), digest);
});
