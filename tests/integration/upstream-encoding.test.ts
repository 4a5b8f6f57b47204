// An upstream that compresses despite Accept-Encoding: identity, or leaks in its headers: real proxy, raw upstream
// over TCP. The answer is decoded before redaction (held and streamed, gzip and br), an unreadable coding is a 502,
// and a leaking header value is dropped on a plain answer and on a WebSocket 101.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import http from 'node:http';
import { createHash } from 'node:crypto';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { startHarness, basePolicy, auth, ADMIN_KEY, type Harness } from '../../dev/harness.js';
import { startRawUpstream } from '../../dev/doubles/raw-upstream.js';

const AWS_KEY = 'AKIAQ3EGRBMHX7YTN4PL';
const REDACT = `
[security.information_disclosure]
enabled = true
redact_responses = true
sanitize_errors = true
`;
const opened: Array<{ close(): Promise<void> }> = [];
after(async () => {
  for (const o of opened.reverse()) await o.close();
});

/** A raw upstream (dev/doubles/raw-upstream.ts), closed after the file's tests; its URL. */
async function rawUpstream(reply: (head: string, s: net.Socket) => void): Promise<string> {
  const up = await startRawUpstream(reply);
  opened.push(up);
  return up.url;
}

async function proxy(url: string, extra = REDACT, routes?: string): Promise<Harness> {
  const h = await startHarness({ policy: (_u, dir) => { const p = basePolicy(url, dir, extra); return routes ? p.replace('"POST /api/chat"]', `"POST /api/chat", ${routes}]`) : p; } });
  opened.push(h);
  return h;
}

const chat = (h: Harness, body: Record<string, unknown> = {}): Promise<Response> =>
  fetch(`${h.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...auth(ADMIN_KEY) },
    body: JSON.stringify({ model: 'llama3-8b', messages: [{ role: 'user', content: 'hi' }], ...body }),
  });

const doc = JSON.stringify({ choices: [{ message: { role: 'assistant', content: `key ${AWS_KEY} end` } }] });

test('a gzip or br answer is decoded, redacted and sent without Content-Encoding', async () => {
  for (const [coding, z] of [['gzip', gzipSync(doc)], ['br', brotliCompressSync(doc)]] as const) {
    const url = await rawUpstream((_h, s) => {
      s.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: ${coding}\r\nContent-Length: ${z.length}\r\n\r\n`);
      s.write(z);
    });
    const h = await proxy(url);
    const r = await chat(h);
    assert.equal(r.status, 200, coding);
    assert.equal(r.headers.get('content-encoding'), null, coding);
    const body = (await r.json()) as { choices: Array<{ message: { content: string } }> };
    assert.ok(!JSON.stringify(body).includes(AWS_KEY), coding);
    assert.match(body.choices[0]!.message.content, /^key \[REDACTED:aws_access_key\] end$/, coding);
  }
});

test('a gzip SSE stream is decoded and redacted piece by piece', async () => {
  const events = ['a ', `key ${AWS_KEY}`, ' end'].map((c) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: c } }] })}\n\n`).join('') + 'data: [DONE]\n\n';
  const z = gzipSync(events);
  const url = await rawUpstream((_h, s) => {
    s.write('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Encoding: gzip\r\nConnection: close\r\n\r\n');
    s.write(z.subarray(0, 10));
    setTimeout(() => s.end(z.subarray(10)), 30);
  });
  const h = await proxy(url);
  const r = await chat(h, { stream: true });
  assert.equal(r.headers.get('content-encoding'), null);
  const text = await r.text();
  assert.ok(!text.includes(AWS_KEY), text);
  assert.ok(text.includes('data: [DONE]'), text);
  const content = text.split('\n').filter((l) => l.startsWith('data: {')).map((l) => (JSON.parse(l.slice(6)) as { choices: Array<{ delta: { content?: string } }> }).choices[0]!.delta.content ?? '').join('');
  assert.equal(content, 'a key [REDACTED:aws_access_key] end');
});

test('an encoding the proxy cannot read, or corrupt gzip, is a 502 upstream_error; the bytes stay out', async () => {
  for (const [coding, bytes] of [['zstd', Buffer.from(doc)], ['gzip', Buffer.from(doc)]] as const) {
    const url = await rawUpstream((_h, s) => {
      s.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: ${coding}\r\nContent-Length: ${bytes.length}\r\n\r\n`);
      s.write(bytes);
    });
    for (const extra of [REDACT, '']) {
      const h = await proxy(url, extra);
      const r = await chat(h);
      const text = await r.text();
      assert.equal(r.status, 502, `${coding} ${extra ? 'redacting' : 'plain'}: ${text}`);
      assert.equal((JSON.parse(text) as { error: { code: string } }).error.code, 'upstream_error');
      assert.ok(!text.includes(AWS_KEY));
    }
  }
});

test('a WebSocket 101 loses a header whose value carries a credential or a server path', async () => {
  const url = await rawUpstream((head, s) => {
    const key = /sec-websocket-key:\s*(\S+)/i.exec(head)?.[1] ?? '';
    const accept = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
    s.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nX-Debug: key ${AWS_KEY}\r\nX-Trace: File "/home/lollms/lollms_core/server.py", line 4\r\nX-Fine: yes\r\n\r\n`);
  });
  const h = await proxy(url, REDACT, '"GET /ws/dm/*"');
  const headers = await new Promise<http.IncomingHttpHeaders>((resolve, reject) => {
    const req = http.request(`${h.url}/ws/dm/x`, {
      headers: { ...auth(ADMIN_KEY), Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' },
    });
    req.on('upgrade', (res, sock) => {
      sock.destroy();
      resolve(res.headers);
    });
    req.on('response', (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
    req.on('error', reject);
    req.end();
  });
  const all = JSON.stringify(headers);
  assert.equal(headers['x-fine'], 'yes', all);
  assert.ok(!all.includes(AWS_KEY) && !all.includes('/home/lollms'), all);
});

// Review of the undici leg (2026-12-02): error answers, body timeouts, empty and raw-deflate bodies, redirects.
test('an error that replaces the answer carries none of the upstream headers (Location, ETag, Content-Disposition)', async () => {
  const url = await rawUpstream((_h, s) => {
    s.write(`HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nETag: "abc"\r\nContent-Disposition: attachment; filename=x\r\nContent-Type: application/json\r\nContent-Encoding: zstd\r\nContent-Length: 2\r\n\r\n{}`);
  });
  const h = await proxy(url);
  const r = await chat(h);
  await r.text();
  assert.equal(r.status, 502);
  for (const name of ['location', 'etag', 'content-disposition', 'content-encoding']) assert.equal(r.headers.get(name), null, name);
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
});

test('an upstream body that stalls past upstream.timeout_seconds is a 504 upstream_timeout', async () => {
  const url = await rawUpstream((_h, s) => {
    s.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"cho');
  });
  const h = await proxy(url);
  const r = await chat(h);
  const text = await r.text();
  assert.equal(r.status, 504, text);
  assert.equal((JSON.parse(text) as { error: { code: string } }).error.code, 'upstream_timeout');
});

test('an empty gzip body and raw deflate (what many servers send as "deflate") are read, not refused', async () => {
  const { deflateRawSync } = await import('node:zlib');
  const raw = deflateRawSync(doc);
  for (const [coding, bytes, status] of [['gzip', Buffer.alloc(0), 200], ['deflate', raw, 200]] as const) {
    const url = await rawUpstream((_h, s) => {
      s.write(`HTTP/1.1 ${status} OK\r\nContent-Type: application/json\r\nContent-Encoding: ${coding}\r\nContent-Length: ${bytes.length}\r\n\r\n`);
      s.write(bytes);
    });
    const h = await proxy(url);
    const r = await chat(h);
    const text = await r.text();
    assert.equal(r.status, 200, `${coding}: ${text}`);
    assert.ok(!text.includes(AWS_KEY), coding);
    if (bytes.length > 0) assert.match(text, /\[REDACTED:aws_access_key\]/, coding);
  }
});

test('a redirect elsewhere whose URL carries a key is not relayed', async () => {
  const url = await rawUpstream((_h, s) => {
    s.write(`HTTP/1.1 307 Temporary Redirect\r\nLocation: https://files.example.com/get?token=${AWS_KEY}\r\nContent-Length: 0\r\n\r\n`);
  });
  const h = await proxy(url);
  const r = await fetch(`${h.url}/v1/chat/completions`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'Content-Type': 'application/json', ...auth(ADMIN_KEY) },
    body: JSON.stringify({ model: 'llama3-8b', messages: [{ role: 'user', content: 'hi' }] }),
  });
  await r.text();
  assert.ok(!(r.headers.get('location') ?? '').includes(AWS_KEY), r.headers.get('location') ?? '');
});

test('an answer with a key twice goes out as parsed: the shadowed copy (never redacted) is not relayed', async () => {
  const ghp = 'ghp_' + 'Zq3Lm8Rt2Vw6Xy1Nb5Kc9Pd4Hf7Js0GaUe3I';
  // The second: a lone surrogate escape first, which the check used to stop at (review of this change).
  for (const answer of [
    `{"choices":[{"index":0,"message":{"role":"assistant","content":"${ghp}","content":"ok"}}],"created":12345678901234567891}`,
    `{"x":"\\ud800","choices":[{"index":0,"message":{"role":"assistant","content":"${ghp}","content":"ok"}}],"created":12345678901234567891}`,
  ]) {
  const url = await rawUpstream((_h, s) => {
    s.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(answer)}\r\n\r\n${answer}`);
  });
  const h = await proxy(url);
  for (const stream of [false, true]) {
    const r = await chat(h, stream ? { stream: true } : {});
    const text = await r.text();
    assert.equal(r.status, 200, text);
    assert.ok(!text.includes(ghp), `stream=${stream}: ${text}`);
    assert.equal((JSON.parse(text) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content, 'ok');
    assert.match(text, /"created":12345678901234567891/);
  }
  }
});
