// Keyed secrets (NAME=value, "name": "value", curl -u) longer than 256 characters are redacted whole, on every channel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileDisclosure } from '../../../../policies/disclosure/index.js';
import { baseDisclosure } from '../../../helpers/corpus.js';
import { decode, encode, FORMATS, pieces, run } from '../../../helpers/stream-codec.js';

const r = compileDisclosure(baseDisclosure);
/** Random-looking token text; `TAIL` marks the part past character 256 that must not survive. */
const value = (n: number): string => 'aB3dE6xY9qR7'.repeat(Math.ceil(n / 12)).slice(0, n - 4) + 'TAIL';

test('a bare value past 256 characters is redacted to its end', () => {
  for (const n of [257, 300, 1000, 5000]) {
    for (const name of ['password', 'API_TOKEN', 'client_secret']) {
      const out = r.redactText(`${name}=${value(n)}\n`).text;
      assert.ok(!out.includes('TAIL') && !out.includes('aB3dE6'), `${name} ${n}: ${out.slice(0, 120)}`);
      assert.match(out, /^[A-Za-z_]+=\[REDACTED:(password|secret)\]\n$/);
    }
  }
});

test('a quoted value past 256 characters (a long JSON string value) is redacted', () => {
  for (const n of [257, 300, 1000, 5000]) {
    const json = JSON.stringify({ note: 'config', password: value(n), db: { api_key: value(n) } });
    const out = r.redactText(json).text;
    assert.equal(out, '{"note":"config","password":"[REDACTED:password]","db":{"api_key":"[REDACTED:secret]"}}', `${n}`);
    for (const q of ["'", '`']) assert.ok(!r.redactText(`secret_key = ${q}${value(n)}${q}`).text.includes('TAIL'), `${q} ${n}`);
  }
});

test('in a request body and a JSON answer the long value is gone', () => {
  const inner = JSON.stringify({ service: 'db', password: value(400) });
  const req = r.redactRequestBody({ messages: [{ role: 'user', content: `here is my config: ${inner}` }] });
  assert.ok(!JSON.stringify(req.body).includes('TAIL'));
  assert.ok(!JSON.stringify(req.body).includes('aB3dE6'));
  const res = r.redactResponseJson({ choices: [{ message: { role: 'assistant', content: `export API_TOKEN=${value(600)}` } }] });
  assert.ok(!JSON.stringify(res.body).includes('TAIL'));
});

test('curl -u user:password with a password past 256 characters', () => {
  const out = r.redactText(`curl -u admin:${value(400)} https://example.com`).text;
  assert.equal(out, 'curl -u admin:[REDACTED:password] https://example.com');
});

test('streamed: the tail past 256 characters does not leak on SSE, NDJSON or text', () => {
  for (const n of [300, 900, 3000]) {
    const t = `config: {"password": "${value(n)}"}\nAPI_TOKEN=${value(n)}\nend\n`;
    for (const format of FORMATS) {
      for (const step of [1, 7, 64, 500]) {
        const cuts = Array.from({ length: Math.ceil(t.length / step) }, (_, i) => i * step);
        const got = decode(format, run(r, format, Buffer.from(encode(format, pieces(t, cuts)), 'utf8'), []));
        assert.ok(!got.includes('TAIL') && !got.includes('aB3dE6'), `${format} n=${n} step=${step}: ${got.slice(0, 200)}`);
        if (n < 1000) assert.equal(got, r.redactText(t).text, `${format} n=${n} step=${step}: streamed equals buffered`);
      }
    }
  }
});
