// Unit tests of the LoLLMS upstream test double: every endpoint, every stream format, the misbehaviours.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startLollmsDouble, DEFAULT_RESPONSE_TEXT, DOUBLE_TRACEBACK, type LollmsDouble, type DoubleOptions,
} from '../../../../dev/doubles/lollms-double.js';

async function withDouble(fn: (d: LollmsDouble) => Promise<void>, opts?: DoubleOptions): Promise<void> {
  const d = await startLollmsDouble(opts);
  try { await fn(d); } finally { await d.close(); }
}
const post = (d: LollmsDouble, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> =>
  fetch(d.url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

/** Read a body chunk by chunk, as the network delivered it. */
async function readChunks(res: Response): Promise<string[]> {
  const out: string[] = [];
  const dec = new TextDecoder();
  for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) out.push(dec.decode(c, { stream: true }));
  return out;
}
async function waitFor(cond: () => boolean, ms = 1000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('lollms_generate: plain text, unframed stream, leaky headers, recording', () => withDouble(async (d) => {
  const r = await post(d, '/lollms_generate', { prompt: 'secret prompt', n_predict: -1, stream: false });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('server'), 'uvicorn');
  assert.equal(r.headers.get('x-powered-by'), 'lollms');
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
  const text = await r.text();
  assert.equal(text, DEFAULT_RESPONSE_TEXT);
  assert.ok(!text.includes('secret prompt'));

  const s = await post(d, '/lollms_generate_with_images', { prompt: 'x', images: ['aGk='], stream: true });
  assert.match(s.headers.get('content-type') ?? '', /^text\/event-stream/);
  const chunks = await readChunks(s);
  assert.ok(chunks.length > 1, 'several network chunks');
  assert.equal(chunks.join(''), DEFAULT_RESPONSE_TEXT);
  assert.ok(!chunks.join('').includes('data:'));

  assert.equal(d.requests.length, 2);
  assert.equal(d.requests[0].method, 'POST');
  assert.equal(d.requests[0].url, '/lollms_generate');
  assert.equal(JSON.parse(d.requests[0].body).prompt, 'secret prompt');
  assert.equal(d.lastRequest()?.url, '/lollms_generate_with_images');
  assert.equal(d.lastRequest()?.headers['content-type'], 'application/json');
}));

test('n_predict / max_tokens truncate, setResponseText overrides', () => withDouble(async (d) => {
  assert.equal(await (await post(d, '/lollms_generate', { prompt: 'x', n_predict: 3 })).text(), 'Hello from the');
  d.setResponseText('custom answer here');
  const r = await (await post(d, '/v1/chat/completions', { messages: [], max_tokens: 2 })).json();
  assert.equal(r.choices[0].message.content, 'custom answer');
  d.setResponseText(null);
  assert.equal(await (await post(d, '/lollms_generate', { prompt: 'x' })).text(), DEFAULT_RESPONSE_TEXT);
}));

test('/v1/chat/completions non-streamed is OpenAI-shaped', () => withDouble(async (d) => {
  const r = await post(d, '/v1/chat/completions', { model: 'm1', messages: [{ role: 'user', content: 'hi there' }] });
  const j = await r.json();
  assert.match(j.id, /^chatcmpl-/);
  assert.equal(j.object, 'chat.completion');
  assert.equal(j.model, 'm1');
  assert.equal(typeof j.created, 'number');
  assert.deepEqual(j.choices[0].message, { role: 'assistant', content: DEFAULT_RESPONSE_TEXT });
  assert.equal(j.choices[0].finish_reason, 'stop');
  assert.equal(j.usage.total_tokens, j.usage.prompt_tokens + j.usage.completion_tokens);
  assert.ok(j.usage.prompt_tokens > 0);
}));

test('/v1/chat/completions streamed: legacy NDJSON by default', () => withDouble(async (d) => {
  const r = await post(d, '/v1/chat/completions', { messages: [{ role: 'user', content: 'hi' }], stream: true });
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
  const raw = await r.text();
  assert.ok(!raw.includes('data:') && !raw.includes('[DONE]'));
  const objs = raw.trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(objs.length > 10);
  assert.ok(objs.every((o) => o.object === 'chat.completion.chunk'));
  assert.equal(objs[0].choices[0].delta.role, 'assistant');
  assert.equal(objs.at(-1).choices[0].finish_reason, 'stop');
  const content = objs.map((o) => o.choices[0].delta.content ?? '').join('');
  assert.equal(content, DEFAULT_RESPONSE_TEXT);
  assert.ok(objs.slice(0, -1).every((o) => o.choices[0].delta.content.length <= 4));
}));

test('/v1/chat/completions streamed: SSE via query, header, option and setChatStream', async () => {
  const check = async (r: Response, usage: boolean): Promise<void> => {
    assert.match(r.headers.get('content-type') ?? '', /^text\/event-stream/);
    const events = (await r.text()).split('\n\n').filter((e) => e.length > 0);
    assert.ok(events.every((e) => e.startsWith('data: ')));
    assert.equal(events.at(-1), 'data: [DONE]');
    const objs = events.slice(0, -1).map((e) => JSON.parse(e.slice(6)));
    assert.equal(objs.map((o) => o.choices[0]?.delta.content ?? '').join(''), DEFAULT_RESPONSE_TEXT);
    const last = objs.at(-1);
    if (usage) {
      assert.deepEqual(last.choices, []);
      assert.ok(last.usage.completion_tokens > 0);
      assert.equal(objs.at(-2).choices[0].finish_reason, 'stop');
    } else {
      assert.equal(last.choices[0].finish_reason, 'stop');
      assert.ok(objs.every((o) => o.usage === undefined));
    }
  };
  const body = { messages: [{ role: 'user', content: 'hi' }], stream: true };
  await withDouble(async (d) => {
    await check(await post(d, '/v1/chat/completions?format=sse', body), false);
    await check(await post(d, '/v1/chat/completions', { ...body, stream_options: { include_usage: true } }, { 'x-double-format': 'sse' }), true);
    d.setChatStream('sse');
    await check(await post(d, '/v1/chat/completions', body), false);
    d.setChatStream('ndjson');
    assert.match((await post(d, '/v1/chat/completions', body)).headers.get('content-type') ?? '', /^application\/json/);
  });
  await withDouble(async (d) => check(await post(d, '/v1/chat/completions', body), false), { chatStream: 'sse' });
});

test('/v1/completions: bare JSON string, raw text stream', () => withDouble(async (d) => {
  const r = await post(d, '/v1/completions', { prompt: 'x' });
  assert.equal(await r.json(), DEFAULT_RESPONSE_TEXT);
  const s = await post(d, '/v1/completions', { prompt: 'x', stream: true });
  assert.equal(await s.text(), DEFAULT_RESPONSE_TEXT);
}));

test('Ollama-style /api/chat and /api/generate', () => withDouble(async (d) => {
  const lines = (await (await post(d, '/api/chat', { model: 'm', messages: [{ role: 'user', content: 'hi' }] })).text())
    .trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(lines.slice(0, -1).every((o) => o.done === false));
  const last = lines.at(-1);
  assert.equal(last.done, true);
  assert.ok(last.prompt_eval_count > 0 && last.eval_count > 0);
  assert.equal(lines.map((o) => o.message.content).join(''), DEFAULT_RESPONSE_TEXT);

  const g = await (await post(d, '/api/generate', { model: 'm', prompt: 'hi', stream: false })).json();
  assert.equal(g.done, true);
  assert.equal(g.response, DEFAULT_RESPONSE_TEXT);
  assert.ok(g.eval_count > 0);
  const gs = (await (await post(d, '/api/generate', { prompt: 'hi' })).text()).trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(gs.map((o) => o.response).join(''), DEFAULT_RESPONSE_TEXT);
}));

test('auxiliary endpoints, 404 and 405', () => withDouble(async (d) => {
  const get = async (p: string): Promise<unknown> => (await fetch(d.url + p)).json();
  assert.ok(Array.isArray(((await get('/api/tags')) as { models: unknown[] }).models));
  assert.ok(Array.isArray(await get('/list_models')));
  assert.equal(((await get('/get_active_model')) as { status: boolean }).status, true);
  assert.equal(typeof ((await get('/version')) as { version: string }).version, 'string');
  assert.deepEqual(await get('/get_generation_status'), { status: false });
  const models = (await get('/v1/models')) as { object: string; data: { id: string; object: string; owned_by: string }[] };
  assert.equal(models.object, 'list');
  assert.equal(models.data[0].object, 'model');
  assert.deepEqual(await (await post(d, '/stop_gen', {})).json(), { status: true });
  const tok = await (await post(d, '/lollms_tokenize', { prompt: 'a b c', return_named: false })).json();
  assert.equal(tok.raw_tokens.length, 3);
  const detok = await (await post(d, '/lollms_detokenize', { tokens: [1, 2], return_named: false })).json();
  assert.equal(typeof detok.text, 'string');
  const emb = await (await post(d, '/lollms_embed', { text: 'hello' })).json();
  assert.ok(emb.vector.length > 0 && emb.vector.every((n: unknown) => typeof n === 'number'));
  const oe = await (await post(d, '/v1/embeddings', { model: 'e', input: ['a', 'b'] })).json();
  assert.equal(oe.object, 'list');
  assert.equal(oe.data.length, 2);
  assert.equal(oe.data[1].object, 'embedding');
  const nf = await fetch(d.url + '/nope');
  assert.equal(nf.status, 404);
  assert.equal(nf.headers.get('server'), 'uvicorn');
  assert.deepEqual(await nf.json(), { detail: 'Not Found' });
  assert.equal((await fetch(d.url + '/lollms_generate')).status, 405);
  const bad = await fetch(d.url + '/lollms_generate', { method: 'POST', body: '{nope' });
  assert.equal(bad.status, 422);
}));

test('misbehaviour status: default traceback, custom body, reset with null', () => withDouble(async (d) => {
  d.misbehave({ kind: 'status', status: 500 });
  const r = await post(d, '/lollms_generate', { prompt: 'x' });
  assert.equal(r.status, 500);
  const body = await r.text();
  assert.equal(body, DOUBLE_TRACEBACK);
  assert.ok(body.includes('/home/lollms/lollms_core/lollms/server.py') && body.includes('192.168.1.20'));
  d.misbehave({ kind: 'status', status: 429, body: 'slow down', headers: { 'Retry-After': '7' } });
  const t = await fetch(d.url + '/version');
  assert.equal(t.status, 429);
  assert.equal(t.headers.get('retry-after'), '7');
  assert.equal(await t.text(), 'slow down');
  d.misbehave({ kind: 'status', status: 403 });
  assert.deepEqual(await (await fetch(d.url + '/v1/models')).json(), { detail: 'Forbidden' });
  d.misbehave(null);
  assert.equal((await fetch(d.url + '/version')).status, 200);
}));

test('misbehaviour garbage: 200 with non-JSON bytes', () => withDouble(async (d) => {
  d.misbehave({ kind: 'garbage' });
  const r = await post(d, '/v1/chat/completions', { messages: [] });
  assert.equal(r.status, 200);
  const text = await r.text();
  assert.throws(() => JSON.parse(text));
}));

test('misbehaviour reset_mid_stream: streamed and not streamed', () => withDouble(async (d) => {
  d.misbehave({ kind: 'reset_mid_stream' });
  const s = await post(d, '/v1/chat/completions', { messages: [], stream: true });
  assert.equal(s.status, 200);
  await assert.rejects(s.text());
  const n = await post(d, '/lollms_generate', { prompt: 'x' });
  await assert.rejects(n.text());
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(d.abortedRequests, 0, 'a reset by the double is not a client abort');
}));

test('misbehaviour slow_first_byte, and client abort is counted', () => withDouble(async (d) => {
  d.misbehave({ kind: 'slow_first_byte', ms: 150 });
  const t0 = Date.now();
  const r = await fetch(d.url + '/version');
  assert.ok(Date.now() - t0 >= 140, 'headers delayed');
  assert.equal(r.status, 200);
  await r.text();
  assert.equal(d.abortedRequests, 0);

  d.misbehave({ kind: 'slow_first_byte', ms: 5000 });
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 50);
  await assert.rejects(fetch(d.url + '/version', { signal: ac.signal }));
  await waitFor(() => d.abortedRequests === 1);
}));

test('misbehaviour stall_after_headers and chunk_delay; abort mid-stream stops writing', () => withDouble(async (d) => {
  d.misbehave({ kind: 'stall_after_headers', ms: 200 });
  const t0 = Date.now();
  const r = await post(d, '/lollms_generate', { prompt: 'x', stream: true });
  assert.ok(Date.now() - t0 < 150, 'headers arrive promptly');
  assert.equal(await r.text(), DEFAULT_RESPONSE_TEXT);
  assert.ok(Date.now() - t0 >= 190, 'body stalled');

  d.misbehave({ kind: 'chunk_delay', ms: 30 });
  const s = await post(d, '/api/chat', { messages: [] });
  const reader = (s.body as ReadableStream<Uint8Array>).getReader();
  await reader.read();
  const t1 = Date.now();
  await reader.cancel();
  await waitFor(() => d.abortedRequests === 1);
  assert.ok(Date.now() - t1 < 300, 'abort noticed long before the ~1 s stream would have ended');
  d.misbehave(null);
}));

test('close() destroys open sockets', async () => {
  const d = await startLollmsDouble();
  d.misbehave({ kind: 'stall_after_headers', ms: 5000 });
  const r = await post(d, '/lollms_generate', { prompt: 'x', stream: true });
  assert.equal(d.openConnections(), 1);
  const t0 = Date.now();
  await d.close();
  assert.ok(Date.now() - t0 < 500);
  await assert.rejects(r.text());
});
