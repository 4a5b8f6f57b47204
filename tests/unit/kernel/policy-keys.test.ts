// Issue 13: a decision's rule is a key path of config/policy.schema.json. The generated PolicyKey type holds
// them; the run-time walker (used over the case suite's audit lines) accepts exactly those.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../../dev/paths.js';
import { isSchemaKey } from '../../helpers/policy-keys.js';

const GENERATED = readFileSync(join(REPO_ROOT, 'kernel', 'generated', 'policy-types.ts'), 'utf8');
const union = GENERATED.slice(GENERATED.indexOf('export type PolicyKey ='));
const keys = [...union.matchAll(/\| `([^`]+)`/g)].map((m) => m[1]!);

test('PolicyKey lists the schema key paths, map entries as ${string}', () => {
  assert.ok(keys.length > 150, `${keys.length} keys`);
  for (const k of ['server.port', 'security.validation.max_input_length', 'security.authentication.keys', 'security.authorization.roles.${string}.allow', 'debug.bypass_rate_limits']) {
    assert.ok(keys.includes(k), k);
  }
  for (const k of keys) assert.ok(isSchemaKey(k.replaceAll('${string}', 'somerole')), `${k} is a schema key`);
});

test('the run-time check refuses what is not a key path', () => {
  for (const bad of ['validation.max_input_length', 'roles.user.allow', 'security.authentication.keys[team-app]', 'security.authentication.keys.0.id',
    'lollms catalogue settings', 'security.authentication.oidc[0] https://idp', 'store', 'temporary_ban', '', 'security.', 'security.validation.max_input_length.x']) {
    assert.equal(isSchemaKey(bad), false, bad);
  }
  for (const good of ['security', 'security.authorization.roles.user.max_tokens', 'security.headers.values.X-Frame-Options', 'upstream.circuit_breaker']) {
    assert.equal(isSchemaKey(good), true, good);
  }
});
