// lollms-guard's own API keys (gen-key format) are redacted wherever an answer could echo one (black-box finding F1).
// Streams redact exactly what buffered redaction does (disclosure-stream-equal.test.ts), so text cases suffice here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileDisclosure } from '../../../../policies/disclosure/index.js';
import { newKey } from '../../../../proxy/keys.js';
import { baseDisclosure } from '../../../helpers/corpus.js';

const r = compileDisclosure(baseDisclosure);

test('keys made by gen-key are redacted alone, in prose, in headers and in JSON', () => {
  for (let i = 0; i < 300; i++) {
    const key = newKey();
    for (const text of [key, `use ${key} as the bearer`, `Authorization: Bearer ${key}\n`, `{"api_key": "${key}"}`, `(${key})`]) {
      const out = r.redactText(text).text;
      assert.ok(!out.includes(key.slice(3)), `${text} -> ${out}`);
      assert.match(out, /\[REDACTED:/);
    }
  }
});

test('identifiers that merely start with lg_ are left alone', () => {
  for (const text of ['lg_config = load()', 'call lg_init() first', 'lg_' + 'a'.repeat(43)]) assert.equal(r.redactText(text).text, text);
});
