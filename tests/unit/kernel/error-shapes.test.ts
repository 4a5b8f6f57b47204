// errorBody in each route family's shape: same code and message, exactly the keys each family's clients read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERRORS, errorBody, type ErrorCode } from '../../../kernel/errors.js';

test('every code in the Ollama and native LoLLMS shapes', () => {
  for (const code of Object.keys(ERRORS) as ErrorCode[]) {
    const o = JSON.parse(errorBody(code, undefined, 'ollama')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(o).sort(), ['code', 'error']);
    assert.equal(o.error, ERRORS[code].message);
    assert.equal(o.code, code);
    const l = JSON.parse(errorBody(code, 'Kind: x.', 'lollms')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(l).sort(), ['code', 'error', 'status']);
    assert.equal(l.status, false);
    assert.equal(l.error, `${ERRORS[code].message} Kind: x.`);
    assert.equal(JSON.parse(errorBody(code)).error.code, code, 'OpenAI shape stays the default');
  }
});
