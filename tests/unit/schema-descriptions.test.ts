// Editors (Taplo / Even Better TOML) show the schema's descriptions: every key has one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/paths.js';

test('every key of config/policy.schema.json has a description', () => {
  const schema = JSON.parse(readFileSync(join(REPO_ROOT, 'config/policy.schema.json'), 'utf8')) as Record<string, unknown>;
  const missing: string[] = [];
  const walk = (n: Record<string, unknown>, path: string): void => {
    if (path && !path.endsWith('[]') && typeof n.description !== 'string') missing.push(path);
    for (const [k, v] of Object.entries((n.properties ?? {}) as Record<string, Record<string, unknown>>)) walk(v, path ? `${path}.${k}` : k);
    if (n.additionalProperties && typeof n.additionalProperties === 'object') walk(n.additionalProperties as Record<string, unknown>, `${path}.*`);
    if (n.items && typeof n.items === 'object') walk(n.items as Record<string, unknown>, `${path}[]`);
  };
  walk(schema, '');
  assert.deepEqual(missing, []);
});
