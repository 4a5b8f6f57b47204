// Property tests: corpus lines split at random points across SSE, NDJSON and text streams never leak a secret.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compileDisclosure, type DisclosureOptions, type RedactionRecord } from '../../../../policies/disclosure/index.js';
import { corpus, baseDisclosure } from '../../../helpers/corpus.js';
import { REFERENCE_PATTERNS } from '../../../helpers/reference-patterns.js';
import { decode, encode, pieces, run, type Format } from '../../../helpers/stream-codec.js';

const base: DisclosureOptions = baseDisclosure;
const builtinOnly = compileDisclosure(base);
const reference = compileDisclosure({
  ...base,
  patterns: { ...REFERENCE_PATTERNS },
});

const leaky = corpus.items.filter((i) => i.category !== 'benign');
const lines = corpus.items.map((i) => i.text);

test('streams redact exactly like whole-text redaction, whatever the split points', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...lines),
      fc.constantFrom<Format>('sse', 'ndjson-openai', 'ndjson-ollama', 'text'),
      fc.array(fc.nat(), { maxLength: 40 }),
      fc.array(fc.nat(), { maxLength: 40 }),
      (text, format, cuts, byteCuts) => {
        const bytes = Buffer.from(encode(format, pieces(text, cuts)), 'utf8');
        const got = decode(format, run(builtinOnly, format, bytes, byteCuts, []));
        assert.equal(got, builtinOnly.redactText(text).text);
      },
    ),
    { numRuns: 1500 },
  );
});

test('no secret reaches the client with the reference policy (built-ins plus custom patterns)', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...leaky),
      fc.constantFrom<Format>('sse', 'ndjson-openai', 'ndjson-ollama', 'text'),
      fc.array(fc.nat(), { maxLength: 60 }),
      fc.array(fc.nat(), { maxLength: 60 }),
      (item, format, cuts, byteCuts) => {
        const records: RedactionRecord[] = [];
        const raw = run(reference, format, Buffer.from(encode(format, pieces(item.text, cuts)), 'utf8'), byteCuts, records);
        const text = decode(format, raw);
        for (const secret of item.secrets) {
          assert.ok(!text.includes(secret), `${item.id} leaked in ${format}`);
          assert.ok(!raw.includes(JSON.stringify(secret).slice(1, -1)), `${item.id} leaked raw in ${format}`);
          // No sizeable fragment of the secret survives either.
          for (let i = 0; i + 12 <= secret.length; i += 6) assert.ok(!text.includes(secret.slice(i, i + 12)), `${item.id} fragment leaked`);
        }
        assert.ok(records.length > 0 && records.every((r) => r.location === 'stream' && r.direction === 'response' && r.count > 0));
        assert.ok(!JSON.stringify(records).includes(item.secrets[0]));
      },
    ),
    { numRuns: 1000 },
  );
});

test('text that cannot start a secret is sent at once; only a bounded tail waits', () => {
  const s = builtinOnly.createStreamRedactor('text', () => {});
  assert.equal(s.push(Buffer.from('Hello there, the answer is ')).toString(), 'Hello there, the answer is ');
  assert.equal(s.push(Buffer.from('forty two')).toString(), 'forty ');
  const held = s.push(Buffer.from(' and the key sk-proj-'));
  assert.equal(held.toString(), 'two and the key ');
  assert.equal(s.push(Buffer.from('Q8fLm2ZxR7tB9wK4nH6jP3vC1dY5sA0gE8uT2iO7 done.')).toString(), '[REDACTED:openai_key] ');
  assert.equal(s.end().toString(), 'done.');
  assert.ok(builtinOnly.maxHold > 0 && builtinOnly.maxHold <= 8448);
});

test('a token longer than any hold is redacted and its tail swallowed', () => {
  const s = builtinOnly.createStreamRedactor('text', () => {});
  let out = s.push(Buffer.from('key: sk-proj-'));
  const body = 'aB3'.repeat(4000);
  for (let i = 0; i < body.length; i += 7) out = Buffer.concat([out, s.push(Buffer.from(body.slice(i, i + 7)))]);
  out = Buffer.concat([out, s.push(Buffer.from(' end')), s.end()]);
  assert.equal(out.toString(), 'key: [REDACTED:openai_key] end');
});

test('SSE: held text is flushed into the finish chunk; ids, other fields and comments survive', () => {
  const s = builtinOnly.createStreamRedactor('sse', () => {});
  const ev = (content: string | null, finish: string | null) =>
    `id: 7\r\nevent: message\r\ndata: ${JSON.stringify({ id: 'c1', model: 'm', choices: [{ index: 0, delta: content === null ? {} : { content }, finish_reason: finish }] })}\r\n\r\n`;
  let out = s.push(Buffer.from(': keep-alive\r\n\r\n' + ev('mail me at jo', null)));
  out = Buffer.concat([out, s.push(Buffer.from(ev('e@acme-corp.com', null) + ev(null, 'stop') + 'data: [DONE]\r\n\r\n')), s.end()]);
  const text = out.toString();
  assert.ok(text.startsWith(': keep-alive\r\n\r\nid: 7\r\nevent: message\r\ndata: '));
  const contents = text.split('\r\n\r\n').filter((e) => e.includes('"choices"')).map((e) => JSON.parse(e.split('data: ')[1]).choices[0]);
  assert.equal(contents.map((c) => c.delta.content ?? '').join(''), 'mail me at [REDACTED:email]');
  assert.equal(contents.at(-1).finish_reason, 'stop');
  assert.ok(text.endsWith('data: [DONE]\r\n\r\n'));
});

test('SSE without a finish chunk or [DONE]: held text arrives in a synthetic chunk of the same id', () => {
  const s = builtinOnly.createStreamRedactor('sse', () => {});
  const out = Buffer.concat([
    s.push(Buffer.from(`data: ${JSON.stringify({ id: 'c9', object: 'chat.completion.chunk', model: 'm', choices: [{ index: 1, delta: { content: 'call 10.0.0' }, finish_reason: null }] })}\n\n`)),
    s.end(),
  ]).toString();
  const events = out.split('\n\n').filter(Boolean).map((e) => JSON.parse(e.slice(6)));
  assert.equal(events.length, 2);
  assert.equal(events[1].id, 'c9');
  assert.equal(events.map((e) => e.choices[0].delta.content).join(''), 'call 10.0.0');
});

test('SSE with raw text data lines and tool-call arguments', () => {
  const s = builtinOnly.createStreamRedactor('sse', () => {});
  const args = JSON.stringify({ to: 'ops@acme-corp.com', body: 'hi' });
  const tc = (a: string, finish: string | null) => `data: ${JSON.stringify({ id: 'x', choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: a } }] }, finish_reason: finish }] })}\n\n`;
  const out = Buffer.concat([s.push(Buffer.from(tc(args.slice(0, 12), null) + tc(args.slice(12), null) + tc('', 'tool_calls'))), s.end()]).toString();
  const joined = out.split('\n\n').filter(Boolean).map((e) => JSON.parse(e.slice(6)).choices[0].delta.tool_calls?.[0]?.function?.arguments ?? '').join('');
  assert.equal(joined, JSON.stringify({ to: '[REDACTED:email]', body: 'hi' }));
  const raw = builtinOnly.createStreamRedactor('sse', () => {});
  const rawOut = Buffer.concat([raw.push(Buffer.from('data: token ghp_' + 'A1b2C3d4'.repeat(4) + 'wxyz\n\n')), raw.end()]).toString();
  const events = rawOut.split('\n\n').filter(Boolean);
  assert.ok(events.every((e) => e.startsWith('data: ')));
  assert.equal(events.map((e) => e.slice(6)).join(''), 'token [REDACTED:github_token]');
});
