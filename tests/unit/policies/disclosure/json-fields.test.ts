// Request/response body walkers, audit records, error sniffing and stream-format detection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileDisclosure, detectStreamFormat, streamErrorTrailer, type DisclosureOptions } from '../../../../policies/disclosure/index.js';

const opts: DisclosureOptions = {
  enabled: true, redact_requests: true, redact_responses: true, replacement: '[REDACTED:{kind}]',
  sanitize_errors: true, hide_versions: true, filters: {}, patterns: { ticket: 'TCK-[0-9]{6}' },
};
const r = compileDisclosure(opts);
const KEY = 'ghp_' + 'Zq8Lw3Rt6Yp1Kd4Nv7Hs2Jb5Mx9Cf0Ga3Ue6Wi';

test('request bodies: chat strings and parts, completion prompts, embeddings, native fields', () => {
  const chat = r.redactRequestBody({ model: 'm', messages: [{ role: 'user', content: `use ${KEY}` }, { role: 'user', content: [{ type: 'text', text: 'mail a.b@acme-corp.com' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }] }] });
  const body = chat.body as { messages: Array<{ content: unknown }> };
  assert.equal(body.messages[0].content, 'use [REDACTED:github_token]');
  assert.deepEqual((body.messages[1].content as Array<{ text?: string }>)[0].text, 'mail [REDACTED:email]');
  assert.deepEqual(chat.records, [
    { kind: 'github_token', direction: 'request', location: 'messages[0].content', count: 1 },
    { kind: 'email', direction: 'request', location: 'messages[1].content[0].text', count: 1 },
  ]);
  assert.ok(!JSON.stringify(chat.records).includes(KEY));
  assert.deepEqual(r.redactRequestBody({ prompt: ['ok', 'ticket TCK-123456'] }).body, { prompt: ['ok', 'ticket [REDACTED:ticket]'] });
  assert.deepEqual(r.redactRequestBody({ input: 'host 10.2.3.4' }).body, { input: 'host [REDACTED:internal_ip]' });
  assert.deepEqual(r.redactRequestBody({ prompt: 'x', text: `k ${KEY}`, n_predict: 5 }).body, { prompt: 'x', text: 'k [REDACTED:github_token]', n_predict: 5 });
  const off = compileDisclosure({ ...opts, redact_requests: false });
  assert.deepEqual(off.redactRequestBody({ prompt: KEY }).records, []);
});

test('response bodies: choices, Ollama, bare JSON strings, tool-call arguments stay valid JSON', () => {
  const res = r.redactResponseJson({ id: 'chatcmpl-1', choices: [{ index: 0, message: { role: 'assistant', content: `key ${KEY}`, tool_calls: [{ function: { name: 'send', arguments: JSON.stringify({ to: 'x.y@acme-corp.com' }) } }] }, finish_reason: 'stop' }] });
  const msg = (res.body as { choices: Array<{ message: { content: string; tool_calls: Array<{ function: { arguments: string } }> } }> }).choices[0].message;
  assert.equal(msg.content, 'key [REDACTED:github_token]');
  assert.deepEqual(JSON.parse(msg.tool_calls[0].function.arguments), { to: '[REDACTED:email]' });
  assert.deepEqual(r.redactResponseJson({ choices: [{ text: 'at /home/bob/app/main.py' }] }).body, { choices: [{ text: 'at [REDACTED:file_path]' }] });
  assert.deepEqual(r.redactResponseJson({ message: { role: 'assistant', content: 'ssn 219-09-9991' }, done: true }).body, { message: { role: 'assistant', content: 'ssn [REDACTED:ssn]' }, done: true });
  assert.deepEqual(r.redactResponseJson({ response: 'card 4111 1111 1111 1111' }).body, { response: 'card [REDACTED:card_number]' });
  assert.equal(r.redactResponseJson(`bare ${KEY}`).body, 'bare [REDACTED:github_token]');
});

test('the replacement stays valid inside JSON string escaping and SSE framing', () => {
  const odd = compileDisclosure({ ...opts, replacement: '"<{kind}>"\n' });
  const s = odd.createStreamRedactor('sse', () => {});
  const out = Buffer.concat([s.push(Buffer.from(`data: ${JSON.stringify({ id: 'a', choices: [{ index: 0, delta: { content: `x ${KEY} y` }, finish_reason: 'stop' }] })}\n\n`)), s.end()]).toString();
  const content = out.split('\n\n').filter(Boolean).map((e) => JSON.parse(e.slice(6)).choices[0].delta.content).join('');
  assert.equal(content, 'x "<github_token>"\n y');
});

test('sensitive upstream errors are recognised', () => {
  assert.ok(r.looksSensitiveError('Traceback (most recent call last):\n  File "/srv/app/x.py", line 3, in <module>\nKeyError'));
  assert.ok(r.looksSensitiveError('Error: ECONNREFUSED 10.0.3.7:5432'));
  assert.ok(r.looksSensitiveError('    at Server.<anonymous> (/app/dist/server.js:10:5)'));
  assert.ok(!r.looksSensitiveError('{"error":{"message":"model not found","type":"invalid_request_error"}}'));
});

test('stream format is sniffed from the bytes, not trusted from the content type', () => {
  assert.equal(detectStreamFormat('text/event-stream', Buffer.from('Once upon a time')), 'text');
  assert.equal(detectStreamFormat('text/event-stream', Buffer.from('data: {"a":1}\n\n')), 'sse');
  assert.equal(detectStreamFormat('text/plain', Buffer.from(': ping\n\n')), 'sse');
  assert.equal(detectStreamFormat('application/json', Buffer.from('{"id":"c","choices":[]}\n{"id"')), 'ndjson');
  assert.equal(detectStreamFormat('application/x-ndjson', Buffer.from('{"model":"m","done":false}')), 'ndjson');
  assert.equal(detectStreamFormat(undefined, Buffer.from('{"model":"m","message":{}}\n')), 'ndjson');
  assert.match(streamErrorTrailer('sse').toString(), /^event: error\ndata: \{.*\}\n\ndata: \[DONE\]\n\n$/);
  assert.doesNotThrow(() => JSON.parse(streamErrorTrailer('ndjson').toString().trim()));
});

test('disabled sections pass everything through untouched', () => {
  const off = compileDisclosure({ ...opts, enabled: false });
  assert.equal(off.redactText(KEY).text, KEY);
  const s = off.createStreamRedactor('text', () => {});
  assert.equal(s.push(Buffer.from(KEY)).toString(), KEY);
});
