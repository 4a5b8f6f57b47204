// Black-box attack, round 2: each test is one confirmed finding (B1...), written as the behaviour that SHOULD hold.
// A real listening proxy (dev/harness.ts) in front of real upstreams over TCP: the LoLLMS double, or a raw
// net.Server that answers every request with fixed bytes (to play a broken or hostile upstream).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import http from 'node:http';
import { gzipSync } from 'node:zlib';
import { startHarness, basePolicy, auth, ADMIN_KEY, USER_KEY, type Harness } from '../../dev/harness.js';
import { startRawUpstream, type RawUpstream } from '../../dev/doubles/raw-upstream.js';

// A realistic-looking (random, not AWS's documented EXAMPLE, which the detector rightly ignores) access key id.
const AWS_KEY = 'AKIAQ3EGRBMHX7YTN4PL';

const opened: Array<{ close(): Promise<void> }> = [];
after(async () => {
  for (const o of opened.reverse()) await o.close();
});

const REDACT = `
[security.information_disclosure]
enabled = true
redact_responses = true
sanitize_errors = true
`;

/** A proxy in front of a raw upstream (the harness's own LoLLMS double is started too, unused). */
async function proxyFor(up: RawUpstream, extra = REDACT): Promise<Harness> {
  const h = await startHarness({ policy: (_u, dir) => basePolicy(up.url, dir, extra) });
  opened.push(h);
  return h;
}

const chat = (h: Harness, body: Record<string, unknown>, key = ADMIN_KEY): Promise<Response> =>
  fetch(`${h.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...auth(key) },
    body: JSON.stringify({ model: 'llama3-8b', messages: [{ role: 'user', content: 'hi' }], ...body }),
  });

// ---------------------------------------------------------------------------------------------------------------
// B1 (high): with `security.validation.json_only = false` (which docs/lollms.md requires for upload routes), a
// catalogue route forwards an application/json body that Node's JSON.parse refuses but Python's json.loads
// (Starlette `request.json()`, FastAPI) reads: NaN / Infinity literals, a UTF-8 BOM, UTF-16/32. The path-value
// and SSRF checks never see it.
test('B1: JSON that only Python can parse (NaN, BOM, UTF-16) is not forwarded to a path-taking LoLLMS route', async () => {
  const h = await startHarness({
    policy: (u, dir) =>
      basePolicy(u, dir, '\n[security.validation]\njson_only = false\n').replace(
        'allow = ["*"]',
        'allow = ["*", "POST /open_file", "POST /add_webpage"]',
      ),
  });
  opened.push(h);
  const send = (path: string, body: Buffer): Promise<Response> =>
    fetch(`${h.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...auth(ADMIN_KEY) }, body: new Uint8Array(body) });
  // control: the plain spelling is refused
  const plain = await send('/open_file', Buffer.from('{"path":"../../../etc/passwd"}'));
  assert.equal(plain.status, 400);
  await plain.text();
  const traversal = '{"path":"../../../etc/passwd"}';
  const shapes: Array<[string, string, Buffer]> = [
    ['NaN literal', '/open_file', Buffer.from('{"path":"../../../etc/passwd","x":NaN}')],
    ['-Infinity literal', '/open_file', Buffer.from('{"path":"../../../etc/passwd","x":-Infinity}')],
    ['UTF-8 BOM', '/open_file', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(traversal)])],
    ['UTF-16LE', '/open_file', Buffer.from(traversal, 'utf16le')],
    ['SSRF with NaN', '/add_webpage', Buffer.from('{"url":"http://169.254.169.254/latest/meta-data/","x":NaN}')],
  ];
  for (const [name, path, body] of shapes) {
    const n = h.double.requests.length;
    const r = await send(path, body);
    await r.text();
    assert.equal(r.status, 400, `${name}: answered ${r.status}`);
    assert.equal(h.double.requests.length, n, `${name}: reached the upstream`);
  }
});

// ---------------------------------------------------------------------------------------------------------------
// B2 (high): an upstream that ignores `Accept-Encoding: identity` and gzips its answer: the proxy relays the
// compressed bytes with `Content-Encoding: gzip`; every HTTP client decompresses, so the secret answer redaction
// should have removed arrives intact. (Streamed, the compressed bytes are also corrupted: decoded as UTF-8.)
test('B2: a gzip-compressed upstream answer is still redacted (or refused), never relayed with the secret', async () => {
  const up = await startRawUpstream((_head, s) => {
    const z = gzipSync(JSON.stringify({ choices: [{ message: { role: 'assistant', content: `key ${AWS_KEY}` } }] }));
    s.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: ${z.length}\r\n\r\n`);
    s.write(z);
  });
  opened.push(up);
  const h = await proxyFor(up);
  const r = await chat(h, {});
  const text = await r.text(); // fetch decompresses gzip
  assert.ok(!text.includes(AWS_KEY), `answer ${r.status} leaks the key: ${text}`);
});

// ---------------------------------------------------------------------------------------------------------------
// B3 (medium): upstream response headers are relayed without redaction: a credential, a stack frame and a
// server path in an upstream header reach the client (on plain answers and on a WebSocket 101).
test('B3: secrets, stack frames and server paths in upstream response headers do not reach the client', async () => {
  const up = await startRawUpstream((_head, s) => {
    s.write(
      'HTTP/1.1 200 OK\r\n' +
        `X-Debug: key ${AWS_KEY}\r\n` +
        'X-Trace: File "/home/lollms/lollms_core/lollms/server.py", line 412, in lollms_generate\r\n' +
        'Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}',
    );
  });
  opened.push(up);
  const h = await proxyFor(up);
  const r = await chat(h, {});
  await r.text();
  const all = [...r.headers.entries()].map(([k, v]) => `${k}: ${v}`).join('\n');
  assert.ok(!all.includes(AWS_KEY), `a header leaks the key:\n${all}`);
  assert.ok(!all.includes('/home/lollms'), `a header leaks a server path:\n${all}`);
});

// ---------------------------------------------------------------------------------------------------------------
// B4 (low): NDJSON (Ollama) stream whose final `{"done":true}` line carries no `message`: the text the redactor
// held back is sent AFTER the done line, so ollama-js and other clients that stop at `done` lose the answer's end.
test('B4: no NDJSON content line is sent after the done line', async () => {
  const up = await startRawUpstream((_head, s) => {
    s.write('HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nConnection: close\r\n\r\n');
    s.write(`{"message":{"role":"assistant","content":"key ${AWS_KEY.slice(0, 8)}`);
    setTimeout(() => {
      s.write(`${AWS_KEY.slice(8)}"},"done":false}\n{"done":true}\n`);
      s.end();
    }, 50);
  });
  opened.push(up);
  const h = await proxyFor(up);
  const r = await fetch(`${h.url}/api/chat`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...auth(ADMIN_KEY) },
    body: JSON.stringify({ model: 'llama3-8b', messages: [{ role: 'user', content: 'hi' }] }),
  });
  const lines = (await r.text()).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  const done = lines.findIndex((l) => l.done === true);
  assert.ok(done >= 0, 'a done line');
  assert.equal(done, lines.length - 1, `lines after done: ${JSON.stringify(lines.slice(done + 1))}`);
  assert.ok(!JSON.stringify(lines).includes(AWS_KEY));
});

// ---------------------------------------------------------------------------------------------------------------
// B5 (low): a `stream: true` request answered by a plain (non-streamed) JSON object: with answer redaction on, the
// proxy cuts the object's text and appends a synthetic NDJSON delta line: the client gets two JSON documents
// under `Content-Type: application/json`, which JSON.parse refuses.
test('B5: a JSON answer to a stream:true request stays one valid JSON document', async () => {
  const up = await startRawUpstream((_head, s) => {
    const b = JSON.stringify({ choices: [{ message: { role: 'assistant', content: `key ${AWS_KEY} end` } }] });
    s.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${b.length}\r\n\r\n${b}`);
  });
  opened.push(up);
  const h = await proxyFor(up);
  const r = await chat(h, { stream: true });
  const text = await r.text();
  assert.ok(!text.includes(AWS_KEY));
  assert.doesNotThrow(() => JSON.parse(text), `not one JSON document: ${text}`);
});

// ---------------------------------------------------------------------------------------------------------------
// B6 (low): path values with C1 control characters (U+0080-U+009F, e.g. NEL U+0085, a line break for YAML and
// Python's str.splitlines) or U+2028 pass, while docs/lollms.md says control characters are refused.
test('B6: C1 control characters and line separators in LoLLMS path values are refused', async () => {
  const h = await startHarness({ policy: (u, dir) => basePolicy(u, dir).replace('allow = ["*"]', 'allow = ["*", "POST /open_file"]') });
  opened.push(h);
  for (const ch of ['\u0001', '\u0085', '\u009b', '\u2028']) {
    const n = h.double.requests.length;
    const r = await fetch(`${h.url}/open_file`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...auth(ADMIN_KEY) },
      body: JSON.stringify({ path: `notes${ch}x.txt` }),
    });
    await r.text();
    assert.equal(r.status, 400, `U+${ch.charCodeAt(0).toString(16).padStart(4, '0')}: ${r.status}`);
    assert.equal(h.double.requests.length, n);
  }
});

// ---------------------------------------------------------------------------------------------------------------
// B7 (medium): the stream rule ("a streamed answer is redacted exactly as the same text redacted at once") fails for
// fields the JSON answer path does redact: `delta.content` as an array of parts and `delta.audio.transcript`
// are relayed with the secret on SSE, while the same fields in a JSON answer are redacted.
test('B7: streamed content-part arrays and audio transcripts are redacted as in a JSON answer', async () => {
  const up = await startRawUpstream((_head, s) => {
    s.write('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n');
    s.write(`data: {"choices":[{"index":0,"delta":{"content":[{"type":"text","text":"arr ${AWS_KEY}"}]}}]}\n\n`);
    s.write(`data: {"choices":[{"index":0,"delta":{"audio":{"transcript":"tr ${AWS_KEY}"}}}]}\n\n`);
    s.write('data: [DONE]\n\n');
    s.end();
  });
  opened.push(up);
  const h = await proxyFor(up);
  const r = await chat(h, { stream: true });
  const text = await r.text();
  assert.ok(!text.includes(AWS_KEY), `stream leaks the key:\n${text}`);
});

// ---------------------------------------------------------------------------------------------------------------
// B8 (medium): Ollama sends tool-call arguments as a JSON object (`message.tool_calls[].function.arguments`), not a
// string as OpenAI does; those strings are never redacted, in a JSON answer or an NDJSON stream.
test('B8: Ollama tool-call arguments (an object) are redacted, JSON and NDJSON', async () => {
  const msg = { role: 'assistant', content: '', tool_calls: [{ function: { name: 'save', arguments: { note: `key ${AWS_KEY}` } } }] };
  for (const stream of [false, true]) {
    const up = await startRawUpstream((_head, s) => {
      const b = stream
        ? `${JSON.stringify({ model: 'm', message: msg, done: false })}\n${JSON.stringify({ model: 'm', message: { role: 'assistant', content: '' }, done: true })}\n`
        : JSON.stringify({ model: 'm', message: msg, done: true });
      s.write(`HTTP/1.1 200 OK\r\nContent-Type: ${stream ? 'application/x-ndjson' : 'application/json'}\r\nContent-Length: ${Buffer.byteLength(b)}\r\n\r\n${b}`);
    });
    opened.push(up);
    const h = await proxyFor(up);
    const r = await fetch(`${h.url}/api/chat`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...auth(ADMIN_KEY) },
      body: JSON.stringify({ model: 'llama3-8b', messages: [{ role: 'user', content: 'hi' }], stream }),
    });
    const text = await r.text();
    assert.ok(!text.includes(AWS_KEY), `stream=${stream} leaks the key:\n${text}`);
  }
});

// ---------------------------------------------------------------------------------------------------------------
// B9 (low): SSE comment lines and `event:` / `id:` field values are relayed without redaction.
test('B9: SSE comments, event names and ids do not carry a secret to the client', async () => {
  const up = await startRawUpstream((_head, s) => {
    s.write('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n');
    s.write(`: debug key ${AWS_KEY}\n\n`);
    s.write(`id: ${AWS_KEY}\ndata: {"choices":[{"index":0,"delta":{"content":"a"}}]}\n\n`);
    s.write('data: [DONE]\n\n');
    s.end();
  });
  opened.push(up);
  const h = await proxyFor(up);
  const r = await chat(h, { stream: true });
  const text = await r.text();
  assert.ok(!text.includes(AWS_KEY), `stream leaks the key:\n${text}`);
});

// ---------------------------------------------------------------------------------------------------------------
// B10 (medium): a role's `max_tokens` cap bounds each choice, not the request: `n` (chat, completions) and
// `best_of` (completions) are forwarded unbounded, so a user capped at 512 asks for 128 x 512 tokens in one call.
test('B10: n / best_of cannot multiply a role token cap', async () => {
  const h = await startHarness();
  opened.push(h);
  const shapes: Array<[string, Record<string, unknown>]> = [
    ['/v1/chat/completions', { model: 'llama3-8b', messages: [{ role: 'user', content: 'hi' }], max_tokens: 512, n: 128 }],
    ['/v1/completions', { model: 'llama3-8b', prompt: 'hi', max_tokens: 512, n: 1, best_of: 128 }],
  ];
  for (const [path, body] of shapes) {
    const n = h.double.requests.length;
    const r = await fetch(`${h.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...auth(USER_KEY) }, body: JSON.stringify(body) });
    await r.text();
    if (h.double.requests.length === n) continue; // refused: fine
    const sent = JSON.parse(h.double.lastRequest()!.body) as Record<string, number>;
    const choices = Math.max(Number(sent.n ?? 1), Number(sent.best_of ?? 1));
    assert.ok(choices * Number(sent.max_tokens) <= 512, `${path}: forwarded ${JSON.stringify(sent)} (up to ${choices * Number(sent.max_tokens)} tokens)`);
  }
});

// Keep the unused import list honest for older TS settings.
void http;
