// An answer in another charset than UTF-8 is read as what it is, redacted and sent as UTF-8; one no decoder knows is refused.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, basePolicy, auth, ADMIN_KEY, type Harness } from '../../dev/harness.js';
import { startRawUpstream } from '../../dev/doubles/raw-upstream.js';

const GH = 'ghp_' + 'Zq3Lm8Rt2Vw6Xy1Nb5Kc9Pd4Hf7Js0GaUe3I';
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

/** A proxy in front of an upstream that answers every request with `type` and `body` (chunked when `split`). */
async function behind(type: string | null, body: Buffer, split = false): Promise<Harness> {
  const up = await startRawUpstream((_h, s) => {
    const head = `HTTP/1.1 200 OK\r\n${type === null ? '' : `Content-Type: ${type}\r\n`}`;
    if (!split) return void s.write(`${head}Content-Length: ${body.length}\r\n\r\n`), void s.write(body);
    s.write(`${head}Transfer-Encoding: chunked\r\n\r\n`);
    // Odd cuts: a UTF-16 code unit and a surrogate pair are split between chunks.
    for (let i = 0; i < body.length; i += 7) { const c = body.subarray(i, i + 7); s.write(`${c.length.toString(16)}\r\n`); s.write(c); s.write('\r\n'); }
    s.write('0\r\n\r\n');
  });
  opened.push(up);
  const h = await startHarness({ policy: (_u, dir) => basePolicy(up.url, dir, REDACT) });
  opened.push(h);
  return h;
}

const chat = (h: Harness, stream = false): Promise<Response> => fetch(`${h.url}/v1/chat/completions`, {
  method: 'POST', headers: { 'Content-Type': 'application/json', ...auth(ADMIN_KEY) },
  body: JSON.stringify({ model: 'llama3-8b', stream, messages: [{ role: 'user', content: 'hi' }] }),
});
const doc = JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content: `é 😀 key ${GH} end` } }] });
const utf16be = (t: string): Buffer => Buffer.from(t, 'utf16le').swap16();

test('JSON declared UTF-16 (LE, BE, with a BOM) or found UTF-16 by its bytes is redacted and sent as UTF-8', async () => {
  const cases: Array<[string | null, Buffer]> = [
    ['application/json; charset=utf-16le', Buffer.from(doc, 'utf16le')],
    ['application/json; charset="UTF-16BE"', utf16be(doc)],
    ['application/json; charset=utf-16', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(doc, 'utf16le')])],
    ['application/json', Buffer.from(doc, 'utf16le')],
    [null, utf16be(doc)],
  ];
  for (const [type, body] of cases) {
    for (const split of [false, true]) {
      const h = await behind(type, body, split);
      const r = await chat(h);
      const raw = Buffer.from(await r.arrayBuffer());
      const text = raw.toString('utf8');
      assert.equal(r.status, 200, `${type}: ${text}`);
      assert.ok(!raw.includes(Buffer.from(GH, 'utf16le')) && !text.includes(GH), `${type}: leaked`);
      if (type?.includes('charset')) assert.match(r.headers.get('content-type') ?? '', /charset=utf-8/i, String(type));
      assert.equal((JSON.parse(text) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content, 'é 😀 key [REDACTED:github_token] end', `${type} split=${split}`);
    }
  }
});

test('a UTF-16 SSE stream is decoded piece by piece and redacted; latin-1 text comes out as the same characters in UTF-8', async () => {
  const events = ['a ', `key ${GH}`, ' é end'].map((c) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: c } }] })}\n\n`).join('') + 'data: [DONE]\n\n';
  const h = await behind('text/event-stream; charset=utf-16le', Buffer.from(events, 'utf16le'), true);
  const r = await chat(h, true);
  const text = await r.text();
  assert.ok(!text.includes(GH), text);
  const content = text.split('\n').filter((l) => l.startsWith('data: {')).map((l) => (JSON.parse(l.slice(6)) as { choices: Array<{ delta: { content?: string } }> }).choices[0]!.delta.content ?? '').join('');
  assert.equal(content, 'a key [REDACTED:github_token] é end');
  const latin = await behind('text/plain; charset=iso-8859-1', Buffer.from('café crème', 'latin1'));
  const lr = await chat(latin);
  assert.equal(await lr.text(), 'café crème');
  assert.match(lr.headers.get('content-type') ?? '', /charset=utf-8/i);
});

test('a charset no decoder knows (UTF-7, UTF-32 JSON) is refused, not relayed', async () => {
  for (const [type, body] of [['text/plain; charset=utf-7', Buffer.from(`key ghp+AF8-${GH.slice(4)}`)], ['application/json', Buffer.from(doc.split('').map((c) => `\0\0\0${c}`).join(''), 'latin1')]] as const) {
    const h = await behind(type, body);
    const r = await chat(h);
    const text = await r.text();
    assert.equal(r.status, 502, `${type}: ${text}`);
    assert.ok(!text.includes(GH.slice(4)), text);
  }
});

test('a UTF-16 byte order mark wins over charset=utf-8, as in browsers: held and streamed, decoded before redaction', async () => {
  const bom = (t: string): Buffer => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(t, 'utf16le')]);
  for (const type of ['application/json; charset=utf-8', 'text/plain; charset=utf-8']) {
    const h = await behind(type, bom(type.startsWith('text') ? `key ${GH} end` : doc), true);
    const r = await chat(h);
    const raw = Buffer.from(await r.arrayBuffer());
    assert.ok(!raw.includes(Buffer.from(GH, 'utf16le')) && !raw.toString('utf8').includes(GH), type);
    assert.ok(raw.toString('utf8').includes('[REDACTED:github_token]'), `${type}: ${raw.toString('utf8')}`);
  }
  const events = [`key ${GH}`, ' end'].map((c) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: c } }] })}\n\n`).join('') + 'data: [DONE]\n\n';
  const h = await behind('text/event-stream; charset=utf-8', bom(events), true);
  const text = await (await chat(h, true)).text();
  assert.ok(!text.includes(GH) && !Buffer.from(text, 'latin1').includes(Buffer.from(GH, 'utf16le')), text);
  assert.ok(text.includes('[REDACTED:github_token]'), text);
});
