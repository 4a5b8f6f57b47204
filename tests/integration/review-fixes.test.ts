// Regressions from the security review: body fields a server reads, answer shapes a model controls, leaky headers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startHarness, basePolicy, auth, postJson, USER_KEY, type Harness } from '../../dev/harness.js';

const KEY = 'sk-' + 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8';
let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h.close();
});

test('model_name is checked too: a listed model cannot smuggle a forbidden model_name', async () => {
  const r = await postJson(`${h.url}/lollms_generate`, { model: 'llama3-8b', model_name: 'forbidden-model', prompt: 'hi', n_predict: 10 }, auth(USER_KEY));
  assert.equal(r.status, 403);
  assert.equal(((await r.json()) as { code: string }).code, 'model_not_allowed'); // native LoLLMS shape
});

test('the token cap lands in the field the endpoint reads, whatever other field is present', async () => {
  const a = await postJson(`${h.url}/v1/chat/completions`, { model: 'llama3-8b', messages: [{ role: 'user', content: 'hi' }], n_predict: 5 }, auth(USER_KEY));
  await a.text();
  // The endpoint's own field is written, with the client's smaller limit from the other field (docs/clients.md).
  assert.equal(JSON.parse(h.double.lastRequest()!.body).max_tokens, 5);
  const b = await postJson(`${h.url}/lollms_generate`, { prompt: 'hi', max_tokens: 5 }, auth(USER_KEY));
  await b.text();
  assert.equal(JSON.parse(h.double.lastRequest()!.body).n_predict, 5);
  const d = await postJson(`${h.url}/lollms_generate`, { prompt: 'hi', max_tokens: -1 }, auth(USER_KEY));
  await d.text();
  assert.equal(JSON.parse(h.double.lastRequest()!.body).n_predict, 512, 'no limit in the other field: the cap');
  const c = await postJson(`${h.url}/v1/chat/completions`, { model: 'llama3-8b', messages: [{ role: 'user', content: 'hi' }], max_tokens: '99999' }, auth(USER_KEY));
  assert.equal(c.status, 403, 'numeric strings count');
  await c.text();
});

test('with json_only = false, a JSON body labelled text/plain is still checked', async () => {
  const x = await startHarness({ policy: (u, d) => basePolicy(u, d) + '\n[security.validation]\njson_only = false\n' });
  try {
    const r = await fetch(`${x.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...auth(USER_KEY), 'Content-Type': 'text/plain' },
      body: JSON.stringify({ model: 'forbidden', messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(r.status, 403);
    await r.text();
    assert.equal(x.double.requests.length, 0);
  } finally {
    await x.close();
  }
});

test('a model answering "in JSON" on a text endpoint is still redacted, streamed or not', async () => {
  h.double.setResponseText(`{"answer":"the key is ${KEY}"}`);
  try {
    const r = await postJson(`${h.url}/lollms_generate`, { prompt: 'hi' }, auth(USER_KEY));
    const t = await r.text();
    assert.ok(!t.includes(KEY), 'non-streamed');
    h.double.setResponseText(`: note\nthe key is ${KEY}\n\n`);
    const s = await postJson(`${h.url}/lollms_generate`, { prompt: 'hi', stream: true }, auth(USER_KEY));
    const st = await s.text();
    assert.ok(!st.includes(KEY), 'streamed with an SSE-looking start');
  } finally {
    h.double.setResponseText(null);
  }
});

test('"stream": "true" streams instead of being buffered', async () => {
  h.double.misbehave({ kind: 'chunk_delay', ms: 40 });
  try {
    const t0 = Date.now();
    const r = await postJson(`${h.url}/v1/chat/completions`, { model: 'llama3-8b', messages: [{ role: 'user', content: 'hi' }], stream: 'true' }, auth(USER_KEY));
    const reader = r.body!.getReader();
    await reader.read();
    const first = Date.now() - t0;
    while (!(await reader.read()).done);
    const total = Date.now() - t0;
    assert.ok(first < total / 2, `first byte at ${first} ms of ${total} ms`);
    assert.equal(JSON.parse(h.double.lastRequest()!.body).stream, true, 'the upstream gets a boolean');
  } finally {
    h.double.misbehave(null);
  }
});

/** An upstream whose answers the test writes: logprobs, Responses-API events, redirects to itself. */
async function customUpstream(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.url === '/v1/models') {
      res.writeHead(307, { Location: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/models/`, 'X-Upstream-Host': '10.1.2.3:9600' });
      return res.end();
    }
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const j = JSON.parse(body) as { stream?: boolean };
      if (j.stream) {
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        res.write(`data: ${JSON.stringify({ type: 'response.output_text.delta', delta: `key ${KEY}` })}\n\n`);
        res.end('data: [DONE]\n\n');
        return;
      }
      const tokens = ['the ', 'key ', KEY.slice(0, 6), KEY.slice(6, 20), KEY.slice(20)];
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'the key is hidden' }, logprobs: { content: tokens.map((t) => ({ token: t, logprob: -0.1 })) }, finish_reason: 'stop' }] }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(() => r())) };
}

test('logprobs, unknown stream shapes and upstream-pointing headers do not leak', async () => {
  const up = await customUpstream();
  const x = await startHarness({ policy: (_u, d) => basePolicy(up.url, d) });
  try {
    const j = await postJson(`${x.url}/v1/chat/completions`, { model: 'llama3-8b', messages: [{ role: 'user', content: 'hi' }], logprobs: true }, auth(USER_KEY));
    const jt = await j.text();
    assert.ok(!jt.includes(KEY.slice(6, 20)), 'logprobs tokens');
    const s = await postJson(`${x.url}/v1/chat/completions`, { model: 'llama3-8b', messages: [{ role: 'user', content: 'hi' }], stream: true }, auth(USER_KEY));
    assert.ok(!(await s.text()).includes(KEY), 'Responses-API shaped event');
    const m = await fetch(`${x.url}/v1/models`, { headers: auth(USER_KEY), redirect: 'manual' });
    assert.equal(m.headers.get('location'), '/v1/models/');
    assert.equal(m.headers.get('x-upstream-host'), null);
  } finally {
    await x.close();
    await up.close();
  }
});

test('a role limited to some models must name one: model absent or null on a chat request is refused (black-box round 11)', async () => {
  for (const body of [{ messages: [{ role: 'user', content: 'hi' }] }, { model: null, messages: [{ role: 'user', content: 'hi' }] }]) {
    const r = await postJson(`${h.url}/v1/chat/completions`, body, auth(USER_KEY));
    assert.equal(r.status, 403);
    assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'model_not_allowed');
  }
  // A listed model still passes; native LoLLMS generation names no model by design and still passes.
  const ok = await postJson(`${h.url}/v1/chat/completions`, { model: 'llama3-8b', messages: [{ role: 'user', content: 'hi' }] }, auth(USER_KEY));
  assert.equal(ok.status, 200);
  await ok.text();
  const native = await postJson(`${h.url}/lollms_generate`, { prompt: 'hi' }, auth(USER_KEY));
  assert.equal(native.status, 200);
  await native.text();
});
