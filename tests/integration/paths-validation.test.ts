// Path tricks against allow/deny rules (sent raw, as an attacker would), JSON depth, NFC, and the SSRF URL guard.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, basePolicy, auth, postJson, ADMIN_KEY, USER_KEY, type Harness } from '../../dev/harness.js';
import { errorOf, rawRequest } from '../helpers/http.js';

let h: Harness;
before(async () => {
  h = await startHarness({
    policy: (u, d) =>
      basePolicy(u, d).replace(
        /\[security\.authorization\.roles\.user\][\s\S]*?(?=\[security\.authorization\.roles\.admin\])/,
        `[security.authorization.roles.user]
allow = ["GET /v1/**", "POST /v1/chat/completions"]
deny = ["* /v1/admin/**"]
models = ["llama3-*"]

[security.validation]
max_json_depth = 10

`,
      ),
  });
});
after(async () => {
  await h.close();
});

const chat = (content: unknown, extra: Record<string, unknown> = {}) => ({ model: 'llama3-8b-instruct', messages: [{ role: 'user', content }], ...extra });

test('raw path tricks never reach a denied subtree or a route outside the allow list', async () => {
  const tricks = [
    '/v1/../list_models', '/v1/models/../../list_models', '/v1/%2e%2e/list_models', '/v1/%2E%2e/list_models', '/v1/.%2e/list_models',
    '/v1/models/..%2f..%2flist_models', '/v1%2f..%2flist_models', '//list_models', '/v1/..\\list_models',
    '/v1/admin/keys', '/v1/models/../admin/keys', '/v1/./admin/keys', '/v1//admin/keys', '/v1/admin%2fkeys', '/v1/%61dmin/keys',
    '/v1/admin./keys', '/v1/admin../keys', '/v1/admin%2e/keys', '/v1/admin%20/keys', '/v1/admin\\keys', '/v1/x/%2e%2e/admin/keys',
  ];
  for (const p of tricks) {
    const before = h.double.requests.length;
    const r = await rawRequest(`${h.url}${p}`, { headers: auth(USER_KEY) });
    assert.ok(r.status === 403 || r.status === 400, `${p} -> ${r.status}`);
    const b = JSON.parse(r.body);
    const code = b.code ?? b.error?.code; // native LoLLMS routes answer {status:false,error,code}
    assert.ok(code === 'route_not_allowed' || code === 'bad_request', `${p} -> ${code}`);
    assert.equal(h.double.requests.length, before, `${p} must not reach the upstream`);
  }
});

test('paths that cannot be read safely are refused with 400 bad_request', async () => {
  for (const p of ['/v1/%252e%252e/list_models', '/v1/models%00', '/v1/mo%0adels', '/v1/%zz', '/v1/%c0%ae%c0%ae/list_models']) {
    const before = h.double.requests.length;
    const r = await rawRequest(`${h.url}${p}`, { headers: auth(USER_KEY) });
    assert.equal(r.status, 400, `${p} -> ${r.status}`);
    assert.equal(r.headers['x-error-code'], 'bad_request');
    assert.equal(h.double.requests.length, before);
  }
});

test('what the rules matched is exactly what is forwarded', async () => {
  const cases: Array<[string, string, string]> = [
    [USER_KEY, '/v1//models', '/v1/models'],
    [USER_KEY, '/v1/./models', '/v1/models'],
    [USER_KEY, '/v1%2fmodels', '/v1/models'],
    [USER_KEY, '/v1/models.', '/v1/models'],
    [USER_KEY, '/v1/chat/../models', '/v1/models'],
    [ADMIN_KEY, '/v1/../list_models', '/list_models'],
    [ADMIN_KEY, '//list_models?x=1', '/list_models?x=1'],
  ];
  for (const [key, p, expected] of cases) {
    const r = await rawRequest(`${h.url}${p}`, { headers: auth(key) });
    assert.equal(r.status, 200, `${p} -> ${r.status} ${r.body.slice(0, 100)}`);
    assert.equal(h.double.lastRequest()!.url, expected, `${p} forwarded as`);
  }
});

test('max_json_depth: at the limit passes, one deeper is 400 json_too_deep; brackets inside strings do not count', async () => {
  const nest = (n: number): unknown => (n <= 0 ? 'x' : { a: nest(n - 1) });
  // body object (1) + metadata object(s): total depth = 1 + n
  const ok = await postJson(`${h.url}/v1/chat/completions`, chat('hi', { metadata: nest(9) }), auth(USER_KEY));
  assert.equal(ok.status, 200, 'depth 10 is allowed');
  await ok.text();
  const before = h.double.requests.length;
  const deep = await postJson(`${h.url}/v1/chat/completions`, chat('hi', { metadata: nest(10) }), auth(USER_KEY));
  const e = await errorOf(deep);
  assert.equal(e.status, 400);
  assert.equal(e.code, 'json_too_deep');
  const arrays = await postJson(`${h.url}/v1/chat/completions`, `{"model":"llama3-8b-instruct","messages":[],"x":${'['.repeat(5000)}${']'.repeat(5000)}}`, auth(USER_KEY));
  assert.equal((await errorOf(arrays)).code, 'json_too_deep', 'a hostile 5000-deep array is refused, not parsed');
  assert.equal(h.double.requests.length, before);
  const strings = await postJson(`${h.url}/v1/chat/completions`, chat('[[[[[[[[[[[[[[[[{{{{{{{{{{{{{{ \\" [[[['), auth(USER_KEY));
  assert.equal(strings.status, 200);
  await strings.text();
});

test('NFC: a decomposed "é" reaches the upstream composed, with a matching Content-Length', async () => {
  const r = await postJson(`${h.url}/v1/chat/completions`, chat('caf\u0065\u0301 cr\u0065\u0300me'), auth(USER_KEY));
  assert.equal(r.status, 200);
  await r.text();
  const up = h.double.lastRequest()!;
  const sent = JSON.parse(up.body).messages[0].content as string;
  assert.equal(sent, 'caf\u00e9 cr\u00e8me');
  assert.ok(!up.body.includes('\u0301'), 'no combining accent left');
  assert.equal(Number(up.headers['content-length']), Buffer.byteLength(up.body), 'Content-Length is that of the rewritten body');
});

const image = (url: string) => chat([{ type: 'text', text: 'what is in this picture?' }, { type: 'image_url', image_url: { url } }]);

test('SSRF guard: local, metadata, private and non-https URLs are refused with url_not_allowed', async () => {
  const bad = [
    'http://169.254.169.254/latest/meta-data/', 'https://169.254.169.254/latest/meta-data/', 'http://127.0.0.1/', 'https://127.0.0.1:8800/admin',
    'https://localhost/x.png', 'https://api.localhost/x.png', 'https://[::1]/x.png', 'https://[::ffff:127.0.0.1]/x.png', 'https://2130706433/x.png',
    'https://0x7f.0.0.1/x.png', 'https://10.0.0.5/x.png', 'https://192.168.1.20/x.png', 'https://172.16.0.1/x.png', 'https://[fd00::1]/x.png',
    'https://0.0.0.0/x.png', 'file:///etc/passwd', 'ftp://example.com/x.png', 'gopher://127.0.0.1:6379/_INFO',
  ];
  for (const url of bad) {
    const before = h.double.requests.length;
    const r = await postJson(`${h.url}/v1/chat/completions`, image(url), auth(USER_KEY));
    const e = await errorOf(r);
    assert.equal(e.status, 400, url);
    assert.equal(e.code, 'url_not_allowed', url);
    assert.equal(h.double.requests.length, before, `${url} must not reach the upstream`);
  }
});

test('SSRF guard: data: URLs and public https addresses pass', async () => {
  const png = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
  for (const url of [png, 'https://93.184.215.14/cat.png', 'https://[2606:4700:4700::1111]/cat.png']) {
    const r = await postJson(`${h.url}/v1/chat/completions`, image(url), auth(USER_KEY));
    assert.equal(r.status, 200, `${url.slice(0, 40)} -> ${r.status}`);
    await r.text();
    assert.equal(JSON.parse(h.double.lastRequest()!.body).messages[0].content[1].image_url.url, url);
  }
});
