// LoLLMS shield: full-width and other non-ASCII look-alikes of "/", "\" and "." in file and folder values are refused on
// a LoLLMS upstream; catalogue lookups fold compatibility characters (NFKC), so /ａpply_settings is a management route.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, basePolicy, ADMIN_KEY, type Harness } from '../../dev/harness.js';
import { rawRequest } from '../helpers/http.js';

const NAMED = ['*', 'POST /apply_settings', 'POST /install_extension', 'POST /select_database'];
const start = (kind: string): Promise<Harness> => startHarness({
  policy: (up, dir) => {
    const p = basePolicy(up, dir, '\n[security.validation]\njson_only = false\n')
      .replace('[security.authorization.roles.admin]\nallow = ["*"]', `[security.authorization.roles.admin]\nallow = ${JSON.stringify(NAMED)}`);
    return p.includes('[upstream]\n') ? p.replace('[upstream]\n', `[upstream]\nkind = "${kind}"\n`) : p;
  },
});

let lollms: Harness;
let openai: Harness;
before(async () => { lollms = await start('lollms'); openai = await start('openai'); });
after(async () => { await lollms.close(); await openai.close(); });

const a = { Authorization: `Bearer ${ADMIN_KEY}` };
const send = (h: Harness, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
  rawRequest(`${h.url}${path}`, {
    method,
    headers: { ...a, ...(typeof body === 'object' ? { 'Content-Type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
const codeOf = (r: { body: string }): unknown => {
  const j = JSON.parse(r.body) as { error?: { code?: unknown } | string; code?: unknown };
  return typeof j.error === 'object' && j.error !== null ? j.error.code : j.code;
};
async function refused(h: Harness, status: number, code: string, method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<void> {
  const n = h.double.requests.length;
  const r = await send(h, method, path, body, headers);
  assert.equal(r.status, status, `${method} ${path} ${JSON.stringify(body)}: ${r.body.slice(0, 200)}`);
  assert.equal(codeOf(r), code, `${method} ${path}`);
  assert.equal(h.double.requests.length, n, `${method} ${path} must not reach the upstream`);
}

const LOOKALIKES = ['..／..／etc／passwd', '..＼..＼boot.ini', 'db．．／x', '‥／x', '¥..¥windows', 'résumé', 'ｄｂ'];

test('lollms upstream: non-ASCII in file and folder values is path_not_allowed (JSON, form, multipart filename, query, URL tail)', async () => {
  for (const v of LOOKALIKES) {
    await refused(lollms, 400, 'path_not_allowed', 'POST', '/select_database', { name: v });
    await refused(lollms, 400, 'path_not_allowed', 'POST', '/apply_settings', { config: { extensions: ['ok', v] } });
  }
  await refused(lollms, 400, 'path_not_allowed', 'POST', '/install_extension', `name=${encodeURIComponent('..／x')}`, { 'Content-Type': 'application/x-www-form-urlencoded' });
  const mp = `--B\r\nContent-Disposition: form-data; name="file"; filename="${Buffer.from('..／x.py', 'utf8').toString('latin1')}"\r\n\r\nprint(1)\r\n--B--\r\n`;
  const n = lollms.double.requests.length;
  const r = await rawRequest(`${lollms.url}/install_extension`, { method: 'POST', headers: { ...a, 'Content-Type': 'multipart/form-data; boundary=B' }, body: Buffer.from(mp, 'latin1') });
  assert.equal(r.status, 400, r.body);
  assert.equal(lollms.double.requests.length, n);
  await refused(lollms, 400, 'path_not_allowed', 'GET', `/list_personalities?category=${encodeURIComponent('..／..')}`);
  await refused(lollms, 400, 'path_not_allowed', 'GET', `/personalities/generic/${encodeURIComponent('..／..／..／etc／passwd')}`);
  // ASCII names still pass; non-ASCII in other fields (a prompt) is untouched
  assert.equal((await send(lollms, 'POST', '/select_database', { name: 'my_db.sqlite' })).status, 200);
  assert.equal((await send(lollms, 'POST', '/install_extension', { name: 'web_search', note: 'résumé ／' })).status, 200);
});

test('lollms upstream: catalogue lookups fold compatibility characters, so a full-width spelling is a management route', async () => {
  await refused(lollms, 403, 'route_not_allowed', 'POST', `/${encodeURIComponent('ａ')}pply_settings`, { config: {} });
  await refused(lollms, 403, 'route_not_allowed', 'POST', `/${encodeURIComponent('ｅｘｅｃｕｔｅ')}_code`, { code: '1' });
});

test('openai upstream: the non-ASCII rule is LoLLMS-only (ASCII path checks still apply)', async () => {
  assert.equal((await send(openai, 'POST', '/select_database', { name: 'résumé' })).status, 200);
  await refused(openai, 400, 'path_not_allowed', 'POST', '/select_database', { name: '../x' });
});
