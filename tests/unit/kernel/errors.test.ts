// The error catalogue in code and docs/errors.md list the same codes, with the same statuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERRORS, errorBody } from '../../../kernel/errors.js';
import { REPO_ROOT } from '../../../dev/paths.js';

const doc = readFileSync(join(REPO_ROOT, 'docs/errors.md'), 'utf8');
const rows = new Map<string, number>();
for (const m of doc.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \|/gm)) rows.set(m[1], Number(m[2]));

test('every code in kernel/errors.ts is documented with its status', () => {
  for (const [code, e] of Object.entries(ERRORS)) {
    assert.equal(rows.get(code), e.status, `docs/errors.md row for ${code}`);
  }
});

test('every documented code exists in kernel/errors.ts', () => {
  for (const code of rows.keys()) assert.ok(code in ERRORS, `${code} is documented but not in the catalogue`);
});

test('error bodies are OpenAI-shaped and carry no path or version', () => {
  for (const code of Object.keys(ERRORS) as Array<keyof typeof ERRORS>) {
    const b = JSON.parse(errorBody(code)) as { error: Record<string, unknown> };
    assert.deepEqual(Object.keys(b.error).sort(), ['code', 'message', 'type']);
    assert.equal(b.error.code, code);
    assert.doesNotMatch(String(b.error.message), /\/\w+\/|\d+\.\d+\.\d+|node|express/i);
  }
});
