// Streamed answers pass through unbuffered (SSE, NDJSON, unframed text), never relying on [DONE]; a client that leaves aborts upstream.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import { startHarness, auth, postJson, USER_KEY, type Harness } from '../../dev/harness.js';
import { timedChunks, waitFor, requestLines, sleep } from '../helpers/http.js';

const TEXT = 'ab cde fg hij';
const DELAY = 100;

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h.close();
});
beforeEach(() => {
  h.double.misbehave(null);
  h.double.setResponseText(TEXT);
  h.double.setChatStream('ndjson');
});

const chat = { model: 'llama3-8b-instruct', messages: [{ role: 'user', content: 'hi' }], stream: true };

/** Asserts the first bytes came out as soon as the upstream sent them, long before the stream ended. */
function assertUnbuffered(chunks: Array<{ at: number }>, what: string): void {
  assert.ok(chunks.length >= 3, `${what}: arrived in ${chunks.length} chunk(s), so it was buffered`);
  const first = chunks[0].at;
  const last = chunks[chunks.length - 1].at;
  // The upstream spaces its chunks DELAY ms apart: a buffered answer would arrive all at once at the end.
  assert.ok(last - first >= 2 * DELAY, `${what}: first at ${first} ms, last at ${last} ms`);
}

test('SSE (new lollms) streams through chunk by chunk, [DONE] included', async () => {
  h.double.setChatStream('sse');
  h.double.misbehave({ kind: 'chunk_delay', ms: DELAY });
  const t0 = Date.now();
  const r = await postJson(`${h.url}/v1/chat/completions`, chat, auth(USER_KEY));
  assert.equal(r.status, 200);
  assert.match(String(r.headers.get('content-type')), /text\/event-stream/);
  assert.equal(r.headers.get('content-length'), null);
  const chunks = await timedChunks(r, t0);
  assertUnbuffered(chunks, 'SSE');
  const events = chunks.map((c) => c.text).join('').split('\n\n').filter(Boolean);
  assert.equal(events.at(-1), 'data: [DONE]');
  const text = events
    .slice(0, -1)
    .map((e) => JSON.parse(e.replace(/^data: /, '')).choices[0]?.delta?.content ?? '')
    .join('');
  assert.equal(text, TEXT);
});

test('NDJSON (legacy chat) streams through and ends fine without [DONE]', async () => {
  h.double.misbehave({ kind: 'chunk_delay', ms: DELAY });
  const t0 = Date.now();
  const r = await postJson(`${h.url}/v1/chat/completions`, chat, auth(USER_KEY));
  assert.equal(r.status, 200);
  const chunks = await timedChunks(r, t0);
  assertUnbuffered(chunks, 'NDJSON');
  const all = chunks.map((c) => c.text).join('');
  assert.ok(!all.includes('[DONE]'));
  const lines = all.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  assert.equal(lines.map((l) => l.choices[0].delta.content ?? '').join(''), TEXT);
  assert.equal(lines.at(-1).choices[0].finish_reason, 'stop');
  const last = requestLines(await h.auditLines()).at(-1)!;
  assert.equal(last.http.response.status_code, 200);
  assert.notEqual(last.lollms_guard?.aborted, true, 'a stream without [DONE] is complete, not aborted');
});

test('unframed text (/lollms_generate, labelled text/event-stream) streams through unchanged', async () => {
  h.double.misbehave({ kind: 'chunk_delay', ms: DELAY });
  const t0 = Date.now();
  const r = await postJson(`${h.url}/lollms_generate`, { prompt: 'hi', stream: true, n_predict: 50 }, auth(USER_KEY));
  assert.equal(r.status, 200);
  const chunks = await timedChunks(r, t0);
  assertUnbuffered(chunks, 'text');
  assert.equal(chunks.map((c) => c.text).join(''), TEXT, 'no framing added or removed');
});

test('unframed text without spaces (CJK) is not held back until the end', async () => {
  const cjk = '这是一个没有空格的中文回答用来检查代理不会缓冲';
  h.double.setResponseText(cjk);
  h.double.misbehave({ kind: 'chunk_delay', ms: DELAY });
  const t0 = Date.now();
  const r = await postJson(`${h.url}/lollms_generate`, { prompt: 'hi', stream: true }, auth(USER_KEY));
  const chunks = await timedChunks(r, t0);
  assertUnbuffered(chunks, 'CJK text');
  assert.equal(chunks.map((c) => c.text).join(''), cjk);
});

test('Ollama-style NDJSON (/api/chat, streamed by default) streams through', async () => {
  h.double.misbehave({ kind: 'chunk_delay', ms: DELAY });
  const t0 = Date.now();
  const r = await postJson(`${h.url}/api/chat`, { model: 'llama3-8b-instruct', messages: [{ role: 'user', content: 'hi' }] }, auth(USER_KEY));
  assert.equal(r.status, 200);
  const chunks = await timedChunks(r, t0);
  assertUnbuffered(chunks, 'ollama');
  const objs = chunks.map((c) => c.text).join('').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  assert.equal(objs.at(-1).done, true);
});

/** A client on its own connection (node:http, no pool), so "going away" closes exactly that socket. */
function openStream(path: string, body: unknown, headers: Record<string, string> = {}): { req: http.ClientRequest; response: Promise<http.IncomingMessage> } {
  const req = http.request(`${h.url}${path}`, { method: 'POST', agent: false, headers: { 'Content-Type': 'application/json', ...auth(USER_KEY), ...headers } });
  req.on('error', () => undefined);
  const response = once(req, 'response').then(([res]) => res as http.IncomingMessage);
  response.catch(() => undefined);
  req.end(JSON.stringify(body));
  return { req, response };
}

test('a client that goes away mid-stream aborts the upstream request at once, and the audit says aborted', async () => {
  h.double.misbehave({ kind: 'chunk_delay', ms: 400 });
  const before = h.double.abortedRequests;
  const { req, response } = openStream('/v1/chat/completions', chat, { 'X-Request-ID': 'abort-me-1' });
  const res = await response;
  assert.equal(res.statusCode, 200);
  await once(res, 'data');
  req.destroy();
  const t0 = Date.now();
  assert.ok(await waitFor(() => h.double.abortedRequests > before, 1000), 'the upstream request was aborted');
  assert.ok(Date.now() - t0 < 250, `upstream aborted after ${Date.now() - t0} ms`);
  await sleep(30);
  const line = requestLines(await h.auditLines()).find((l) => l.http?.request?.id === 'abort-me-1');
  assert.ok(line, 'the aborted stream has its audit line');
  assert.equal(line.lollms_guard?.aborted, true);
});

test('a client that goes away before the first byte also aborts the upstream request at once', async () => {
  h.double.misbehave({ kind: 'slow_first_byte', ms: 1500 });
  const before = h.double.abortedRequests;
  const seenBefore = h.double.requests.length;
  const { req } = openStream('/v1/chat/completions', chat);
  assert.ok(await waitFor(() => h.double.requests.length > seenBefore, 1000), 'the request reached the upstream');
  req.destroy();
  const t0 = Date.now();
  assert.ok(await waitFor(() => h.double.abortedRequests > before, 1000), 'the upstream request was aborted');
  assert.ok(Date.now() - t0 < 250, `upstream aborted after ${Date.now() - t0} ms`);
});
