// Forwarding: hop-by-hop headers dropped both ways, X-Forwarded-For/-Proto and trust_proxy, rewritten bodies' Content-Length.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, basePolicy, auth, postJson, USER_KEY, type Harness } from '../../dev/harness.js';
import { rawRequest, requestLines } from '../helpers/http.js';

let direct: Harness; // trust_proxy = []
let behind: Harness; // trust_proxy = ["127.0.0.1/32"]: a local reverse proxy in front
before(async () => {
  direct = await startHarness();
  behind = await startHarness({ policy: (u, d) => basePolicy(u, d).replace('[server]\n', '[server]\ntrust_proxy = ["127.0.0.1/32"]\n') });
});
after(async () => {
  await direct.close();
  await behind.close();
});
beforeEach(() => {
  direct.double.misbehave(null);
  behind.double.misbehave(null);
});

const chatBody = JSON.stringify({ model: 'llama3-8b-instruct', messages: [{ role: 'user', content: 'hi' }] });

test('hop-by-hop request headers (fixed list and those named in Connection) are not forwarded', async () => {
  const r = await rawRequest(`${direct.url}/v1/chat/completions`, {
    method: 'POST',
    headers: {
      ...auth(USER_KEY),
      'Content-Type': 'application/json',
      Connection: 'keep-alive, X-Hop-Secret, X-Request-ID',
      'X-Request-ID': 'hop-test-1',
      'X-Hop-Secret': 'only-for-the-next-hop',
      'Keep-Alive': 'timeout=99',
      TE: 'trailers',
      Trailer: 'X-Checksum',
      'Proxy-Authorization': 'Basic cHJveHk6c2VjcmV0',
      'Proxy-Connection': 'keep-alive',
      'X-End-To-End': 'kept',
    },
    body: chatBody,
  });
  assert.equal(r.status, 200, r.body);
  const up = direct.double.lastRequest()!.headers;
  for (const name of ['keep-alive', 'te', 'trailer', 'proxy-authorization', 'proxy-connection', 'x-hop-secret']) {
    assert.equal(up[name], undefined, `${name} must not be forwarded`);
  }
  assert.ok(!String(up.connection ?? '').toLowerCase().includes('x-hop-secret'));
  assert.equal(up['x-end-to-end'], 'kept', 'end-to-end headers pass');
  assert.equal(up['x-request-id'], 'hop-test-1', 'listing X-Request-ID in Connection cannot strip the request id');
});

test('hop-by-hop response headers of the upstream are not passed to the client', async () => {
  direct.double.misbehave({
    kind: 'status',
    status: 200,
    body: '{"object":"list","data":[]}',
    headers: { 'Content-Type': 'application/json', Connection: 'X-Up-Hop', 'X-Up-Hop': 'internal', 'Keep-Alive': 'timeout=99, max=1000', 'Proxy-Connection': 'keep-alive', 'X-Up-Kept': 'yes' },
  });
  const r = await rawRequest(`${direct.url}/v1/models`, { headers: auth(USER_KEY) });
  assert.equal(r.status, 200);
  assert.notEqual(r.headers['keep-alive'], 'timeout=99, max=1000');
  assert.equal(r.headers['proxy-connection'], undefined);
  assert.equal(r.headers['x-up-hop'], undefined, 'a header the upstream named in Connection is hop-by-hop');
  assert.equal(r.headers['x-up-kept'], 'yes');
  assert.equal(r.body, '{"object":"list","data":[]}');
});

test('trust_proxy = []: a spoofed X-Forwarded-For / -Proto / X-Real-IP / Forwarded is ignored', async () => {
  const r = await fetch(`${direct.url}/v1/models`, {
    headers: auth(USER_KEY, { 'X-Forwarded-For': '6.6.6.6', 'X-Forwarded-Proto': 'https', 'X-Real-IP': '6.6.6.6', Forwarded: 'for=6.6.6.6;proto=https', 'X-Forwarded-Host': 'evil.test' }),
  });
  assert.equal(r.status, 200);
  await r.text();
  const up = direct.double.lastRequest()!.headers;
  assert.equal(up['x-forwarded-for'], '127.0.0.1');
  assert.equal(up['x-forwarded-proto'], 'http');
  assert.equal(up['x-real-ip'], undefined);
  assert.equal(up.forwarded, undefined);
  assert.equal(up['x-forwarded-host'], undefined);
  const last = requestLines(await direct.auditLines()).at(-1)!;
  assert.equal(last.source?.ip, '127.0.0.1', 'the audit names the real peer');
});

test('trust_proxy = ["127.0.0.1/32"]: the X-Forwarded-For of the trusted peer is believed and extended', async () => {
  const r = await fetch(`${behind.url}/v1/models`, { headers: auth(USER_KEY, { 'X-Forwarded-For': '203.0.113.7', 'X-Forwarded-Proto': 'https' }) });
  assert.equal(r.status, 200);
  await r.text();
  const up = behind.double.lastRequest()!.headers;
  assert.equal(up['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
  assert.equal(up['x-forwarded-proto'], 'https');
  const last = requestLines(await behind.auditLines()).at(-1)!;
  assert.equal(last.source?.ip, '203.0.113.7', 'the audit line names the client from X-Forwarded-For');
});

test('trust_proxy: only the trusted hops are skipped; a client-forged prefix is not believed', async () => {
  const r = await fetch(`${behind.url}/v1/models`, { headers: auth(USER_KEY, { 'X-Forwarded-For': '6.6.6.6, 203.0.113.8' }) });
  await r.text();
  const last = requestLines(await behind.auditLines()).at(-1)!;
  assert.equal(last.source?.ip, '203.0.113.8', 'the right-most untrusted address is the client');
  assert.equal(behind.double.lastRequest()!.headers['x-forwarded-for'], '6.6.6.6, 203.0.113.8, 127.0.0.1');
});

test('a chunked request body is forwarded with a Content-Length and no Transfer-Encoding', async () => {
  const r = await rawRequest(`${direct.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { ...auth(USER_KEY), 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' },
    body: chatBody,
  });
  assert.equal(r.status, 200, r.body);
  const up = direct.double.lastRequest()!;
  assert.equal(up.headers['transfer-encoding'], undefined);
  assert.equal(Number(up.headers['content-length']), Buffer.byteLength(up.body));
});

test('the body the chain rewrote (token cap written in, NFC) is what is sent, with its own Content-Length', async () => {
  const body = { model: 'llama3-8b-instruct', messages: [{ role: 'user', content: 'nai\u0308ve' }] };
  const r = await postJson(`${direct.url}/v1/chat/completions`, body, auth(USER_KEY));
  assert.equal(r.status, 200);
  await r.text();
  const up = direct.double.lastRequest()!;
  const sent = JSON.parse(up.body);
  assert.equal(sent.max_tokens, 512, 'the role cap was written in');
  assert.equal(sent.messages[0].content, 'na\u00efve');
  assert.equal(Number(up.headers['content-length']), Buffer.byteLength(up.body));
  assert.notEqual(Buffer.byteLength(up.body), Buffer.byteLength(JSON.stringify(body)), 'the length changed with the rewrite');
});

test('an untouched body is forwarded byte for byte', async () => {
  const text = '{ "model" : "llama3-8b-instruct",  "messages": [{"role":"user","content":"hi"}], "max_tokens": 10 }';
  const r = await postJson(`${direct.url}/v1/chat/completions`, text, auth(USER_KEY));
  assert.equal(r.status, 200);
  await r.text();
  assert.equal(direct.double.lastRequest()!.body, text);
});

test('provider credential headers and any header whose value holds a secret are not forwarded; ordinary ones are', async () => {
  const key = 'sk-proj-' + 'Qm7Rt2Vw6Xy1Nb5Kc9Pd4Hf7Js0GaUe3I8Lz';
  const r = await rawRequest(`${direct.url}/v1/chat/completions`, {
    method: 'POST',
    headers: {
      ...auth(USER_KEY), 'Content-Type': 'application/json',
      'api-key': 'azure-key-0123456789abcdef', 'x-goog-api-key': 'AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q', 'Ocp-Apim-Subscription-Key': '0123456789abcdef0123456789abcdef',
      'X-Custom-Auth': key, 'X-Debug': `token=${key}`,
      'X-Stainless-OS': 'Linux', 'X-Team': 'search-backend', 'OpenAI-Organization': 'org-abc123',
    },
    body: chatBody,
  });
  assert.equal(r.status, 200, r.body);
  const up = direct.double.lastRequest()!.headers;
  for (const name of ['api-key', 'x-goog-api-key', 'ocp-apim-subscription-key', 'x-custom-auth', 'x-debug']) assert.equal(up[name], undefined, `${name} must not be forwarded`);
  assert.ok(!JSON.stringify(up).includes(key));
  assert.equal(up['x-stainless-os'], 'Linux');
  assert.equal(up['x-team'], 'search-backend');
  assert.equal(up['openai-organization'], 'org-abc123');
  await new Promise((res) => setTimeout(res, 50));
  const line = requestLines(await direct.auditLines()).pop()!;
  assert.ok(JSON.stringify(line).includes('header:x-custom-auth'), 'the audit names the dropped header');
  assert.ok(!JSON.stringify(line).includes(key), 'never its value');
});
