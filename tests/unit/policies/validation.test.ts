// The validation stage run directly on request bodies (tests/helpers/stage.ts): one table row per check with
// its code, and the property that whatever is accepted is a plain JSON value the upstream reads the same way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { RequestHandler } from 'express';
import { createValidation, jsonDepth } from '../../../policies/validation.js';
import { policyFrom, runStage } from '../../helpers/stage.js';

const POLICY = policyFrom(`
[security]
mode = "enforce"

[security.validation]
enabled = true
max_input_length = 20
reject_null_bytes = true
normalize_unicode = true
user_id_pattern = "^[A-Za-z0-9_@.-]{1,16}$"
json_only = true
max_json_depth = 8
`);
const VALIDATE = createValidation(POLICY.raw.security.validation);
const JSON_TYPE = { 'content-type': 'application/json' };

const nest = (n: number): string => '['.repeat(n) + ']'.repeat(n);
const chat = (content: string, extra = ''): string => `{"model":"m","messages":[{"role":"user","content":${JSON.stringify(content)}}]${extra}}`;

/** [name, body, headers, expected code or null = accepted] */
type Row = readonly [name: string, body: string, headers: Readonly<Record<string, string>>, code: string | null];

const ROWS: readonly Row[] = [
  ['plain chat', chat('hello'), JSON_TYPE, null],
  // depth: max_json_depth = 8 (the object itself counts)
  ['depth at the limit', `{"a":${nest(7)}}`, JSON_TYPE, null],
  ['depth over the limit', `{"a":${nest(8)}}`, JSON_TYPE, 'json_too_deep'],
  ['brackets inside strings do not count', `{"a":${JSON.stringify('['.repeat(50))}}`, JSON_TYPE, null],
  ['escaped quote does not end the string', `{"a":"\\"[[[[[[[[[["}`, JSON_TYPE, null],
  // NUL characters anywhere in a string
  ['NUL in content', chat('a\u0000b'), JSON_TYPE, 'null_bytes'],
  ['NUL deep in an object', '{"model":"m","x":{"y":["\\u0000"]}}', JSON_TYPE, 'null_bytes'],
  // user id pattern
  ['user id that fits', chat('hi', ',"user":"alice@example"'), JSON_TYPE, null],
  ['user id with a space', chat('hi', ',"user":"alice smith"'), JSON_TYPE, 'invalid_user_id'],
  ['user id too long', chat('hi', `,"user":"${'a'.repeat(17)}"`), JSON_TYPE, 'invalid_user_id'],
  ['user id not a string', chat('hi', ',"user":42'), JSON_TYPE, 'invalid_user_id'],
  // prompt length (max_input_length = 20), over every prompt field
  ['prompt at the limit', chat('x'.repeat(20)), JSON_TYPE, null],
  ['prompt over the limit', chat('x'.repeat(21)), JSON_TYPE, 'input_too_long'],
  ['two messages over the limit together', '{"messages":[{"content":"0123456789"},{"content":"0123456789a"}]}', JSON_TYPE, 'input_too_long'],
  ['completion prompt over the limit', `{"prompt":"${'p'.repeat(21)}"}`, JSON_TYPE, 'input_too_long'],
  ['content parts over the limit', `{"messages":[{"content":[{"type":"text","text":"${'t'.repeat(21)}"}]}]}`, JSON_TYPE, 'input_too_long'],
  // media type
  ['text/plain body', chat('hi'), { 'content-type': 'text/plain' }, 'unsupported_media_type'],
  ['vendor +json type', chat('hi'), { 'content-type': 'application/vnd.api+json' }, null],
  ['no content type', chat('hi'), {}, null],
  // what is not one JSON object
  ['not JSON', '{"model":', JSON_TYPE, 'invalid_json'],
  ['an array', '[1,2]', JSON_TYPE, 'body_not_object'],
  ['a string', '"hi"', JSON_TYPE, 'body_not_object'],
  // duplicates and spellings parsers disagree on
  ['duplicate key', '{"model":"a","model":"b"}', JSON_TYPE, 'duplicate_json_key'],
  ['duplicate nested key', '{"messages":[{"content":"a","content":"b"}]}', JSON_TYPE, 'duplicate_json_key'],
  ['lone surrogate', '{"model":"\\ud800"}', JSON_TYPE, 'invalid_unicode'],
];

async function check(stage: RequestHandler, [name, body, headers, code]: Row): Promise<void> {
  const r = await runStage(stage, { method: 'POST', url: '/v1/chat/completions', headers, body }, POLICY);
  if (code === null) {
    assert.equal(r.nextCalled, true, `${name}: ${JSON.stringify(r.body)}`);
    assert.equal(r.status, undefined, name);
  } else {
    assert.equal(r.nextCalled, false, `${name}: accepted`);
    assert.equal(r.headers['x-error-code'], code, name);
    assert.equal((r.body as { error: { code: string } }).error.code, code, name);
    assert.ok(r.status === 400 || r.status === 415, `${name}: ${r.status}`);
  }
}

test('validation: each check with its code', async () => {
  for (const row of ROWS) await check(VALIDATE, row);
});

test('validation: the table can fail (a flipped row is caught)', async () => {
  await assert.rejects(check(VALIDATE, ['depth over the limit, expected accepted', `{"a":${nest(8)}}`, JSON_TYPE, null]));
  await assert.rejects(check(VALIDATE, ['NUL, expected another code', chat('a\u0000b'), JSON_TYPE, 'invalid_user_id']));
});

test('validation: NFC and the stream flag are forwarded as checked', async () => {
  const r = await runStage(VALIDATE, { method: 'POST', url: '/v1/chat/completions', headers: JSON_TYPE, body: chat('e\u0301', ',"stream":"true"') }, POLICY);
  assert.equal(r.nextCalled, true);
  const m = (r.ctx.json!.messages as { content: string }[])[0];
  assert.equal(m.content, '\u00e9');
  assert.equal(r.ctx.json!.stream, true);
  assert.equal(r.ctx.forwardBody, undefined, 'the changed body is re-serialised, not forwarded as read');
});

test('validation: NFC applies to text written with \\u escapes in an all-ASCII body; ASCII text is left as sent', async () => {
  const raw = '{"model":"m","messages":[{"role":"user","content":"e\\u0301"},{"role":"user","content":"plain"}]}';
  assert.ok(/^[\x00-\x7f]*$/.test(raw));
  const r = await runStage(VALIDATE, { method: 'POST', url: '/v1/chat/completions', headers: JSON_TYPE, body: raw }, POLICY);
  const [a, b] = r.ctx.json!.messages as { content: string }[];
  assert.equal(a.content, '\u00e9');
  assert.equal(b.content, 'plain');
  const plain = await runStage(VALIDATE, { method: 'POST', url: '/v1/chat/completions', headers: JSON_TYPE, body: chat('plain ascii') }, POLICY);
  assert.ok(plain.ctx.forwardBody, 'nothing changed: the body is forwarded as read');
});

/** The byte-by-byte depth count jsonDepth replaced (strings skipped one byte at a time): the reference. */
function depthByBytes(buf: Buffer, limit: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

test('validation: jsonDepth counts what a byte-by-byte scan counts (quotes, backslash runs, unterminated strings)', () => {
  const text = fc.array(fc.constantFrom('"', '\\', '{', '}', '[', ']', 'a', ',', ':', 'é', '\\"'), { maxLength: 60 }).map((a) => a.join(''));
  fc.assert(fc.property(fc.oneof(text, fc.json({ maxDepth: 6 })), fc.integer({ min: 0, max: 8 }), (t, limit) => {
    const buf = Buffer.from(t);
    assert.equal(jsonDepth(buf, limit), depthByBytes(buf, limit), t);
  }), { numRuns: 3000 });
  assert.equal(jsonDepth(Buffer.from('{"a\\\\":[["\\"]"]]}'), 8), 3);
});

test('validation: in permissive mode a check is recorded and passes, depth still refused', async () => {
  const p = policyFrom('[security]\nmode = "permissive"\n[security.validation]\nmax_json_depth = 4\nmax_input_length = 5\n');
  const stage = createValidation(p.raw.security.validation);
  const long = await runStage(stage, { method: 'POST', url: '/v1/chat/completions', body: chat('toolong') }, p);
  assert.equal(long.nextCalled, true);
  assert.ok(long.ctx.decisions.some((d) => d.outcome === 'would_deny' && d.code === 'input_too_long'));
  const deep = await runStage(stage, { method: 'POST', url: '/v1/chat/completions', body: `{"a":${nest(4)}}` }, p);
  assert.equal(deep.nextCalled, false);
  assert.equal(deep.headers['x-error-code'], 'json_too_deep');
});

/** Request-like bodies: known fields mixed with arbitrary JSON. */
const bodyArb = fc.record(
  {
    model: fc.string({ maxLength: 8 }),
    user: fc.stringMatching(/^[A-Za-z0-9_@.-]{1,16}$/),
    messages: fc.array(fc.record({ role: fc.constantFrom('user', 'system'), content: fc.string({ maxLength: 6 }) }), { maxLength: 3 }),
    extra: fc.jsonValue({ maxDepth: 4 }),
    other: fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
  },
  { requiredKeys: [] },
);

const reads = (stage: RequestHandler) =>
  fc.asyncProperty(bodyArb, async (value) => {
    const raw = JSON.stringify(value);
    const r = await runStage(stage, { method: 'POST', url: '/v1/chat/completions', headers: JSON_TYPE, body: raw }, POLICY);
    if (!r.nextCalled) return;
    accepted++;
    const seen = r.ctx.json!;
    // What the proxy checked is plain JSON: it re-serialises to the same value...
    assert.deepEqual(JSON.parse(JSON.stringify(seen)), seen);
    // ...which is the value the client sent, up to NFC of its strings...
    const nfc = JSON.parse(raw.normalize('NFC'));
    assert.deepEqual(seen, nfc);
    // ...and sending it again is read the same way (a fixed point).
    const again = await runStage(stage, { method: 'POST', url: '/v1/chat/completions', headers: JSON_TYPE, body: JSON.stringify(seen) }, POLICY);
    assert.equal(again.nextCalled, true);
    assert.deepEqual(again.ctx.json, seen);
  });
let accepted = 0;

test('validation: any accepted body re-serialises to the same value', async () => {
  accepted = 0;
  await fc.assert(reads(VALIDATE), { numRuns: 400 });
  assert.ok(accepted > 100, `only ${accepted} of 400 bodies were accepted: the property tests too little`);
});

test('validation: the property catches a stage that alters what it accepted', async () => {
  // Mutant: drops the first key of the parsed body after the real checks.
  const lossy: RequestHandler = (req, res, next) =>
    VALIDATE(req, res, () => {
      const j = req.ctx.json;
      const k = j ? Object.keys(j)[0] : undefined;
      if (j && k !== undefined) delete j[k];
      next();
    });
  await assert.rejects(fc.assert(reads(lossy), { numRuns: 400 }), /Counterexample/);
});
