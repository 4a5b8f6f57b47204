// Editors (Taplo / Even Better TOML) show the schema's descriptions: every key has one, and the
// project's complete example policy (config/reference.toml) sets every key the schema knows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import { REFERENCE_POLICY, REPO_ROOT } from '../../../dev/paths.js';

type Node = Record<string, unknown>;
const schema = JSON.parse(readFileSync(join(REPO_ROOT, 'config/policy.schema.json'), 'utf8')) as Node;
const isObject = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);

test('every key of config/policy.schema.json has a description', () => {
  const missing: string[] = [];
  const walk = (n: Node, path: string): void => {
    if (path && !path.endsWith('[]') && typeof n.description !== 'string') missing.push(path);
    for (const [k, v] of Object.entries((n.properties ?? {}) as Record<string, Node>)) walk(v, path ? `${path}.${k}` : k);
    if (isObject(n.additionalProperties)) walk(n.additionalProperties, `${path}.*`);
    if (isObject(n.items)) walk(n.items, `${path}[]`);
  };
  walk(schema, '');
  assert.deepEqual(missing, []);
});

/**
 * Key paths of the schema that `value` leaves unset. Arrays of tables and maps (roles.*) count as set
 * when their entries, taken together, set every key of the item schema.
 */
function unsetKeys(n: Node, value: unknown, path: string, out: string[]): string[] {
  const props = (n.properties ?? {}) as Record<string, Node>;
  const objectLike = n.type === 'object' || Object.keys(props).length > 0 || isObject(n.additionalProperties);
  if (objectLike) {
    if (value === undefined && path) out.push(path);
    const v = isObject(value) ? value : {};
    for (const [k, sub] of Object.entries(props)) unsetKeys(sub, v[k], path ? `${path}.${k}` : k, out);
    if (isObject(n.additionalProperties)) {
      const entries = Object.values(v);
      if (entries.length === 0) out.push(`${path}.*`);
      else if (entries.every(isObject)) unsetKeys(n.additionalProperties, Object.assign({}, ...entries), `${path}.*`, out);
    }
  } else if (n.type === 'array' && isObject(n.items) && (n.items.type === 'object' || n.items.properties)) {
    const entries = Array.isArray(value) ? value.filter(isObject) : [];
    if (entries.length === 0) out.push(`${path}[]`);
    else unsetKeys(n.items, Object.assign({}, ...entries), `${path}[]`, out);
  } else if (value === undefined) out.push(path);
  return out;
}

test('config/reference.toml sets every key of the schema', () => {
  const doc = parse(readFileSync(REFERENCE_POLICY, 'utf8'));
  assert.deepEqual(unsetKeys(schema, doc, '', []), [], 'add these keys to config/reference.toml, with a comment saying what they do');
});

test('the completeness check notices a missing key', () => {
  const doc = parse(readFileSync(REFERENCE_POLICY, 'utf8')) as Node;
  delete ((doc.security as Node).cors as Node).max_age_seconds;
  for (const r of Object.values(((doc.security as Node).authorization as Node).roles as Node)) delete (r as Node).deny;
  assert.deepEqual(unsetKeys(schema, doc, '', []), ['security.authorization.roles.*.deny', 'security.cors.max_age_seconds']);
});
