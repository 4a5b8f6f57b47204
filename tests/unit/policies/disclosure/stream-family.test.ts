// The stream rule for every field: a streamed chunk is redacted wherever the same JSON answer is (content parts,
// audio transcripts, tool-call names, Ollama object arguments, unknown fields); held NDJSON text goes out before
// the done line; SSE comments and event/id values carry no secret.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileDisclosure } from '../../../../policies/disclosure/index.js';
import { baseDisclosure } from '../../../helpers/corpus.js';

const r = compileDisclosure(baseDisclosure);
const KEY = 'AKIAQ3EGRBMHX7YTN4PL';

function run(format: 'sse' | 'ndjson', pieces: string[]): string {
  const s = r.createStreamRedactor(format, () => {});
  return Buffer.concat([...pieces.map((p) => s.push(Buffer.from(p))), s.end()]).toString();
}
const sse = (events: object[]): string => events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('') + 'data: [DONE]\n\n';
const chunk = (delta: object) => ({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: null }] });
const datas = (out: string) => out.split('\n\n').filter((e) => e.startsWith('data: {')).map((e) => JSON.parse(e.slice(6)) as Record<string, any>);

test('every field a JSON answer redacts is redacted in a streamed delta too', () => {
  const fields: Array<[string, object]> = [
    ['content parts', { content: [{ type: 'text', text: `a ${KEY}` }] }],
    ['audio transcript', { audio: { id: 'au_1', transcript: `t ${KEY}` } }],
    ['tool-call name', { tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: `n ${KEY}`, arguments: '{}' } }] }],
    ['legacy function_call', { function_call: { name: 'f', arguments: `{"k":"${KEY}"}` } }],
    ['annotations', { annotations: [{ type: 'url_citation', url_citation: { title: `x ${KEY}` } }] }],
    ['unknown field', { vendor_extra: { note: `v ${KEY}` } }],
    ['reasoning as an object', { reasoning: { summary: `s ${KEY}` } }],
    ['nested thinking parts', { content: [{ type: 'thinking', thinking: [{ type: 'text', text: `th ${KEY}` }] }] }],
  ];
  for (const [name, delta] of fields) {
    const answer = r.redactResponseJson({ choices: [{ index: 0, message: structuredClone(delta) }] }).body;
    assert.ok(!JSON.stringify(answer).includes(KEY), `${name}: the JSON answer is redacted (control)`);
    const out = run('sse', [sse([chunk(delta), { ...chunk({}), choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }])]);
    assert.ok(!out.includes(KEY), `${name}: stream leaks\n${out}`);
    for (const e of datas(out)) assert.ok(e.choices, `${name}: every event stays a chunk`);
  }
});

test('content parts and audio transcripts split across events are reassembled like one text', () => {
  for (const mk of [(t: string) => ({ content: [{ type: 'text', text: t }] }), (t: string) => ({ audio: { transcript: t } })]) {
    const out = run('sse', [sse([chunk(mk(`key ${KEY.slice(0, 9)}`)), chunk(mk(`${KEY.slice(9)} end`)), { ...chunk({}), choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }])]);
    assert.ok(!out.includes(KEY.slice(0, 9)), out);
    const text = datas(out).map((e) => {
      const d = e.choices[0].delta;
      if (Array.isArray(d.content)) return d.content.map((p: { text?: string }) => p.text ?? '').join('');
      return d.audio?.transcript ?? d.content ?? '';
    }).join('');
    assert.equal(text, 'key [REDACTED:aws_access_key] end');
  }
});

test('Ollama tool-call arguments as an object: redacted in a JSON answer and in NDJSON', () => {
  const message = { role: 'assistant', content: '', tool_calls: [{ function: { name: 'save', arguments: { note: `key ${KEY}`, n: 1 } } }] };
  const answer = r.redactResponseJson({ model: 'm', message: structuredClone(message), done: true }).body as any;
  assert.equal(answer.message.tool_calls[0].function.arguments.note, 'key [REDACTED:aws_access_key]');
  assert.equal(answer.message.tool_calls[0].function.arguments.n, 1);
  const out = run('ndjson', [`${JSON.stringify({ model: 'm', message, done: false })}\n{"model":"m","done":true}\n`]);
  assert.ok(!out.includes(KEY), out);
  assert.equal(JSON.parse(out.split('\n')[0]).message.tool_calls[0].function.arguments.note, 'key [REDACTED:aws_access_key]');
});

test('NDJSON: text held back goes out before a done line without text (message and response channels)', () => {
  const shapes: Array<[string, (t: string) => object]> = [
    ['message', (t) => ({ message: { role: 'assistant', content: t }, done: false })],
    ['response', (t) => ({ response: t, done: false })],
  ];
  for (const [name, mk] of shapes) {
    for (const end of ['{"done":true}\n', '{"done":true}']) {
      const out = run('ndjson', [`${JSON.stringify(mk(`key ${KEY.slice(0, 8)}`)).slice(0, -20)}`, `${JSON.stringify(mk(`key ${KEY.slice(0, 8)}`)).slice(-20)}\n`, end]);
      const lines = out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>);
      assert.equal(lines.findIndex((l) => l.done === true), lines.length - 1, `${name}: lines after done:\n${out}`);
      const text = lines.map((l) => (name === 'message' ? l.message?.content : l.response) ?? '').join('');
      assert.equal(text, `key ${KEY.slice(0, 8)}`);
    }
  }
});

test('SSE: comments, event names, ids and bare field names are redacted; clean ones are kept as sent', () => {
  const out = run('sse', [
    `: debug key ${KEY}\n\n`,
    `id: ${KEY}\nevent: e ${KEY}\ndata: {"choices":[{"index":0,"delta":{"content":"a"}}]}\n\n`,
    `${KEY}\n\n`,
    'data: [DONE]\n\n',
  ]);
  assert.ok(!out.includes(KEY), out);
  assert.match(out, /^: debug key \[REDACTED:aws_access_key\]\n\nid: \[REDACTED:aws_access_key\]\nevent: e \[REDACTED:aws_access_key\]\ndata: /);
  assert.match(out, /\n\n: \[REDACTED:aws_access_key\]\n\n/);
  const clean = ': keep-alive\r\n\r\nid: 7\r\nevent: message\r\ndata: {"choices":[{"index":0,"delta":{"content":"a"}}]}\r\n\r\ndata: [DONE]\r\n\r\n';
  assert.ok(run('sse', [clean]).startsWith(': keep-alive\r\n\r\nid: 7\r\nevent: message\r\ndata: '), 'clean lines are kept as sent');
});
