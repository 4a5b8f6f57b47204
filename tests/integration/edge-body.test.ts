// Body limits against a real proxy: a declared length over the limit is refused unread; chunked bodies are cut at it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startHarness, basePolicy, ADMIN_KEY, auth, postJson, type Harness } from '../../dev/harness.js';
import { requestLines, sleep } from '../helpers/http.js';

let h: Harness;
let port: number;
before(async () => {
  h = await startHarness({ policy: (u, d) => basePolicy(u, d).replace('shutdown_grace_seconds = 2', 'shutdown_grace_seconds = 2\nmax_body_bytes = 1000') });
  port = Number(new URL(h.url).port);
});
after(async () => {
  await h.close();
});

const HEAD = `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_KEY}\r\nContent-Type: application/json\r\n`;

/** Sends `head`, then `more` (if any); resolves with what came back and whether the proxy closed the socket. */
function exchange(head: string, more?: (s: net.Socket) => void): Promise<{ data: string; closed: boolean; firstAnswerMs: number }> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let data = '';
    let t0 = 0;
    let first = -1;
    s.on('error', () => {});
    s.on('data', (d) => {
      if (first < 0) first = Date.now() - t0;
      data += d.toString('latin1');
    });
    s.on('connect', () => {
      t0 = Date.now();
      s.write(head);
      more?.(s);
    });
    const give = setTimeout(() => {
      s.destroy();
      resolve({ data, closed: false, firstAnswerMs: first });
    }, 8_000);
    s.on('close', () => {
      clearTimeout(give);
      resolve({ data, closed: true, firstAnswerMs: first });
    });
  });
}

async function lastLine(): Promise<Record<string, any>> {
  await sleep(100);
  return requestLines(await h.auditLines()).pop()!;
}

test('a declared Content-Length over max_body_bytes gets 413 at once, no body byte sent, connection closed', async () => {
  const n = h.double.requests.length;
  const r = await exchange(`${HEAD}Content-Length: 5000\r\n\r\n`);
  assert.ok(r.closed, 'the proxy closed the connection without waiting for the body');
  assert.match(r.data, /^HTTP\/1\.1 413 /);
  assert.match(r.data, /Connection: close/i);
  assert.match(r.data, /"code":"body_too_large"/);
  assert.equal(h.double.requests.length, n);
  const line = await lastLine();
  assert.equal(line.http.response.status_code, 413);
  assert.equal(line.event.reason, 'body_too_large');
});

test('Expect: 100-continue with a declared length over the limit gets 413, never a 100 Continue', async () => {
  const r = await exchange(`${HEAD}Expect: 100-continue\r\nContent-Length: 5000\r\n\r\n`);
  assert.match(r.data, /^HTTP\/1\.1 413 /);
  assert.doesNotMatch(r.data, /100 Continue/);
  assert.ok(r.closed);
});

test('Expect: 100-continue within the limit is invited and served', async () => {
  const body = JSON.stringify({ model: 'llama3-8b', messages: [{ role: 'user', content: 'hi' }] });
  const r = await exchange(`${HEAD}Expect: 100-continue\r\nConnection: close\r\nContent-Length: ${body.length}\r\n\r\n`, (s) => {
    s.once('data', () => s.write(body));
  });
  assert.match(r.data, /^HTTP\/1\.1 100 Continue/);
  assert.match(r.data, /HTTP\/1\.1 200 /);
});

test('the declared-length check comes before authentication: no key, still 413 (nothing read)', async () => {
  const r = await exchange(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n`);
  assert.match(r.data, /^HTTP\/1\.1 413 /);
  assert.ok(r.closed);
});

test('a chunked body crossing max_body_bytes gets 413 and the connection closes; the audit says the same', async () => {
  const n = h.double.requests.length;
  const r = await exchange(`${HEAD}Transfer-Encoding: chunked\r\n\r\n`, (s) => {
    for (let i = 0; i < 5; i++) s.write('1f4\r\n' + 'a'.repeat(500) + '\r\n');
  });
  assert.ok(r.closed);
  assert.match(r.data, /^HTTP\/1\.1 413 /);
  assert.match(r.data, /"code":"body_too_large"/);
  assert.equal(h.double.requests.length, n);
  const line = await lastLine();
  assert.equal(line.http.response.status_code, 413);
  assert.equal(line.event.reason, 'body_too_large');
});

test('a chunked body within the limit is read whole and forwarded', async () => {
  const body = JSON.stringify({ model: 'llama3-8b', messages: [{ role: 'user', content: 'hi' }] });
  const r = await exchange(`${HEAD}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n`, (s) => {
    s.write(`${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`);
  });
  assert.match(r.data, /^HTTP\/1\.1 200 /);
  assert.equal(JSON.parse(h.double.lastRequest()!.body).model, 'llama3-8b');
});

test('a body at exactly max_body_bytes passes the size check', async () => {
  const base = { model: 'llama3-8b', messages: [{ role: 'user', content: '' }] };
  const pad = 1000 - JSON.stringify(base).length;
  base.messages[0].content = 'x'.repeat(pad);
  const text = JSON.stringify(base);
  assert.equal(text.length, 1000);
  const r = await postJson(`${h.url}/v1/chat/completions`, text, auth(ADMIN_KEY));
  assert.equal(r.status, 200);
  await r.text();
});

test('a compressed body is refused with 415, as before', async () => {
  const r = await exchange(`${HEAD}Content-Encoding: gzip\r\nContent-Length: 10\r\n\r\n0123456789`);
  assert.match(r.data, /^HTTP\/1\.1 415 /);
});
