// A body the proxy re-serialises (a redacted prompt, a redacted answer) keeps numbers a double cannot hold as written.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, basePolicy, auth, ADMIN_KEY, type Harness } from '../../dev/harness.js';
import { startRawUpstream, type RawUpstream } from '../../dev/doubles/raw-upstream.js';

const AWS_KEY = 'AKIAQ3EGRBMHX7YTN4PL';
const REDACT = `
[security.information_disclosure]
enabled = true
redact_requests = true
redact_responses = true
`;
const opened: Array<{ close(): Promise<void> }> = [];
after(async () => {
  for (const o of opened.reverse()) await o.close();
});

const ANSWER = `{"id":"chatcmpl-1","created":12345678901234567891,"choices":[{"index":0,"message":{"role":"assistant","content":"key ${AWS_KEY} end"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":5,"total_tokens":8},"x_score":0.12345678901234567890123,"x_big":1e400}`;

async function setup(): Promise<{ h: Harness; up: RawUpstream }> {
  const up = await startRawUpstream((_head, s) => {
    s.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(ANSWER)}\r\n\r\n${ANSWER}`);
  });
  opened.push(up);
  const h = await startHarness({ policy: (_u, dir) => basePolicy(up.url, dir, REDACT) });
  opened.push(h);
  return { h, up };
}

test('a redacted prompt is forwarded with its big seed and exponent as written; a redacted answer keeps its big numbers', async () => {
  const { h, up } = await setup();
  const body = `{"model":"llama3-8b","seed":12345678901234567890,"logit_bias":{"50256":-1e400},"messages":[{"role":"user","content":"my key is ${AWS_KEY}"}]}`;
  const r = await fetch(`${h.url}/v1/chat/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...auth(ADMIN_KEY) }, body });
  const text = await r.text();
  assert.equal(r.status, 200, text);
  const sent = Buffer.concat(up.received).toString('utf8');
  assert.ok(!sent.includes(AWS_KEY), 'the prompt was redacted (so the body was re-serialised)');
  assert.match(sent, /"seed":12345678901234567890[,}]/);
  assert.match(sent, /"50256":-1e400[,}]/);
  assert.ok(!text.includes(AWS_KEY), text);
  assert.match(text, /"created":12345678901234567891,/);
  assert.match(text, /"x_score":0\.12345678901234567890123,/);
  assert.match(text, /"x_big":1e400}/);
});

test('a redacted SSE event and redacted tool arguments keep their big numbers', async () => {
  const args = JSON.stringify({ account: 1, note: `use ${AWS_KEY}` }).replace('"account":1', '"account":98765432109876543210');
  const events = [
    `{"id":"c1","created":12345678901234567891,"choices":[{"index":0,"delta":{"content":"key ${AWS_KEY} end"}}]}`,
    `{"id":"c1","created":12345678901234567891,"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"t1","type":"function","function":{"name":"f","arguments":${JSON.stringify(args)}}}]}}]}`,
  ].map((e) => `data: ${e}\n\n`).join('') + 'data: [DONE]\n\n';
  const up = await startRawUpstream((_head, s) => {
    s.end(`HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n${events}`);
  });
  opened.push(up);
  const h = await startHarness({ policy: (_u, dir) => basePolicy(up.url, dir, REDACT) });
  opened.push(h);
  const r = await fetch(`${h.url}/v1/chat/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...auth(ADMIN_KEY) }, body: '{"model":"llama3-8b","stream":true,"messages":[{"role":"user","content":"hi"}]}' });
  const text = await r.text();
  assert.ok(!text.includes(AWS_KEY), text);
  assert.ok(text.includes('[REDACTED:aws_access_key]'), text);
  assert.equal(text.match(/"created":12345678901234567891,/g)?.length, 2, text);
  assert.match(text, /\\"account\\":98765432109876543210,/);
});
