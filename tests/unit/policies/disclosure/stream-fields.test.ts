// Streams with several fields: reasoning is released before the answer starts, token logprobs survive redaction, typed events reassemble secrets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileDisclosure } from '../../../../policies/disclosure/index.js';
import { baseDisclosure } from '../../../helpers/corpus.js';
import { REFERENCE_PATTERNS } from '../../../helpers/reference-patterns.js';

const r = compileDisclosure({ ...baseDisclosure, patterns: REFERENCE_PATTERNS });
const GH = 'ghp_' + 'aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5';

function sse(events: object[]): Buffer {
  return Buffer.from(events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('') + 'data: [DONE]\n\n');
}
function runSse(bytes: Buffer): Array<Record<string, any>> {
  const s = r.createStreamRedactor('sse', () => {});
  const out = Buffer.concat([s.push(bytes), s.end()]).toString();
  return out.split('\n\n').filter((e) => e && !e.includes('[DONE]')).map((e) => JSON.parse(e.split('\n').find((l) => l.startsWith('data: '))!.slice(6)));
}
const chunk = (delta: object, extra: object = {}) => ({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: null, ...extra }] });

test('reasoning held back is released before the answer begins: fields keep the upstream order', () => {
  const events = runSse(sse([
    chunk({ reasoning_content: 'Let me think about ' }), chunk({ reasoning_content: 'ops@acme-corp' }),
    chunk({ content: 'The answer is 42.' }), { ...chunk({}), choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
  ]));
  const order: string[] = [];
  for (const e of events) {
    const d = e.choices?.[0]?.delta ?? {};
    if (d.reasoning_content) order.push('reasoning');
    if (d.content) order.push('content');
  }
  const firstContent = order.indexOf('content');
  assert.ok(firstContent > 0 && !order.slice(firstContent).includes('reasoning'), `order ${order.join(',')}`);
  const reasoning = events.map((e) => e.choices?.[0]?.delta?.reasoning_content ?? '').join('');
  assert.equal(reasoning, 'Let me think about ops@acme-corp');
  assert.equal(events.map((e) => e.choices?.[0]?.delta?.content ?? '').join(''), 'The answer is 42.');
});

test('token logprobs stay in redacting streams; a secret split over tokens is redacted in them too', () => {
  const pieces = ['token ', GH.slice(0, 10), GH.slice(10, 25), GH.slice(25), ' ok'];
  const lp = (t: string) => ({ content: [{ token: t, logprob: -0.1, bytes: [...Buffer.from(t)], top_logprobs: [{ token: t, logprob: -0.1, bytes: [] }] }] });
  const events = runSse(sse([...pieces.map((p) => chunk({ content: p }, { logprobs: lp(p) })), { ...chunk({}), choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }]));
  const text = events.map((e) => e.choices?.[0]?.delta?.content ?? '').join('');
  assert.equal(text, 'token [REDACTED:github_token] ok');
  const tokens = events.flatMap((e) => e.choices?.[0]?.logprobs?.content ?? []);
  assert.equal(tokens.length, pieces.length, 'every token entry arrives');
  assert.equal(tokens.map((t: { token: string }) => t.token).join(''), text, 'tokens spell the redacted text');
  const raw = JSON.stringify(events);
  for (let i = 0; i + 10 <= GH.length; i += 5) assert.ok(!raw.includes(GH.slice(i, i + 10)), 'no piece of the secret in logprobs');
  assert.ok(tokens.every((t: { logprob: number }) => t.logprob === -0.1));
  assert.deepEqual(tokens[0].top_logprobs.length, 1, 'untouched tokens keep their alternatives');
});

test('Responses API: a secret split across output_text.delta events is reassembled and redacted; done events agree', () => {
  const ev = (type: string, extra: object) => ({ type, item_id: 'msg_1', output_index: 0, content_index: 0, ...extra });
  const full = `use ${GH} now`;
  const events = runSse(sse([
    { type: 'response.created', response: { id: 'resp_1', output: [] } },
    ev('response.output_text.delta', { delta: full.slice(0, 12) }), ev('response.output_text.delta', { delta: full.slice(12, 30) }), ev('response.output_text.delta', { delta: full.slice(30) }),
    ev('response.output_text.done', { text: full }),
    { type: 'response.completed', response: { id: 'resp_1', output: [{ type: 'message', content: [{ type: 'output_text', text: full }] }] } },
  ]));
  const deltas = events.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta).join('');
  assert.equal(deltas, 'use [REDACTED:github_token] now');
  assert.equal(events.find((e) => e.type === 'response.output_text.done')!.text, deltas);
  assert.equal(events.find((e) => e.type === 'response.completed')!.response.output[0].content[0].text, deltas);
  const doneAt = events.findIndex((e) => e.type === 'response.output_text.done');
  assert.ok(events.slice(doneAt).every((e) => e.type !== 'response.output_text.delta'), 'held text comes before done');
});

test('Messages API: a secret split across content_block_delta events is reassembled; thinking and text are separate blocks', () => {
  const d = (index: number, type: string, key: string, v: string) => ({ type: 'content_block_delta', index, delta: { type, [key]: v } });
  const events = runSse(sse([
    { type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', content: [] } },
    { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '' } },
    d(0, 'thinking_delta', 'thinking', 'mail ops@acme'), d(0, 'thinking_delta', 'thinking', '-corp.com later'),
    d(0, 'signature_delta', 'signature', 'c2lnbmF0dXJl'),
    { type: 'content_block_stop', index: 0 },
    { type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } },
    d(1, 'text_delta', 'text', `key ${GH.slice(0, 20)}`), d(1, 'text_delta', 'text', `${GH.slice(20)}.`),
    { type: 'content_block_stop', index: 1 }, { type: 'message_delta', delta: { stop_reason: 'end_turn' } }, { type: 'message_stop' },
  ]));
  const text = (i: number, k: string) => events.filter((e) => e.type === 'content_block_delta' && e.index === i && e.delta[k] !== undefined).map((e) => e.delta[k]).join('');
  assert.equal(text(0, 'thinking'), 'mail [REDACTED:email] later');
  assert.equal(text(1, 'text'), 'key [REDACTED:github_token].');
  assert.equal(text(0, 'signature'), 'c2lnbmF0dXJl');
  const stop0 = events.findIndex((e) => e.type === 'content_block_stop' && e.index === 0);
  assert.ok(events.slice(stop0).every((e) => !(e.type === 'content_block_delta' && e.index === 0)), 'block 0 text comes before its stop');
});
