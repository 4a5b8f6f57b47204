// Canonical JSON and method overrides against a real proxy: what the proxy checked is what the upstream gets.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, auth, USER_KEY, ADMIN_KEY, type Harness } from '../../dev/harness.js';
import { errorOf, requestLines, sleep } from '../helpers/http.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h.close();
});

const post = (path: string, body: string | Buffer, headers: Record<string, string> = {}, method = 'POST'): Promise<Response> =>
  fetch(`${h.url}${path}`, { method, headers: { 'Content-Type': 'application/json', ...auth(USER_KEY), ...headers }, body: typeof body === 'string' ? body : new Uint8Array(body) });

async function refused(body: string | Buffer, code: string): Promise<void> {
  const n = h.double.requests.length;
  const r = await post('/v1/chat/completions', body);
  const e = await errorOf(r);
  assert.equal(e.status, 400, `${String(body)}: ${e.text}`);
  assert.equal(e.code, code, String(body));
  assert.equal(h.double.requests.length, n, 'nothing reached the upstream');
}

const MSG = '"messages":[{"role":"user","content":"hi"}]';

test('duplicate keys (plain, escaped, case-folded, nested) get 400 duplicate_json_key and are never forwarded', async () => {
  await refused(`{"model":"llama3-8b","model":"gpt-4",${MSG}}`, 'duplicate_json_key');
  await refused(`{"model":"llama3-8b","\\u006dodel":"gpt-4",${MSG}}`, 'duplicate_json_key');
  await refused(`{"model":"llama3-8b","MODEL":"gpt-4",${MSG}}`, 'duplicate_json_key');
  await refused(`{"model":"llama3-8b","Model":"gpt-4",${MSG}}`, 'duplicate_json_key');
  await refused(`{"model":"llama3-8b","max_tokens":10,"max_tokens":100000,${MSG}}`, 'duplicate_json_key');
  await refused(`{"model":"llama3-8b","messages":[{"role":"user","content":"hi","content":"other"}]}`, 'duplicate_json_key');
});

test('invalid UTF-8 and lone surrogate escapes get 400 invalid_unicode; the audit says the same', async () => {
  const bad = Buffer.concat([Buffer.from(`{"model":"llama3-8b","messages":[{"role":"user","content":"`), Buffer.from([0xc0, 0xaf]), Buffer.from('"}]}')]);
  await refused(bad, 'invalid_unicode');
  await refused(Buffer.concat([Buffer.from('{"model":"llama3-8b'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from(`",${MSG}}`)]), 'invalid_unicode');
  await refused(`{"model":"llama3-8b","messages":[{"role":"user","content":"\\ud800"}]}`, 'invalid_unicode');
  await sleep(50);
  const line = requestLines(await h.auditLines()).pop()!;
  assert.equal(line.http.response.status_code, 400);
  assert.equal(line.event.reason, 'invalid_unicode');
});

test('a canonical body passes untouched, surrogate pairs and non-ASCII included', async () => {
  const body = `{"model":"llama3-8b","messages":[{"role":"user","content":"h\\u00e9llo \\ud83d\\ude00 wörld"}]}`;
  const r = await post('/v1/chat/completions', body);
  assert.equal(r.status, 200);
  await r.text();
  assert.equal(JSON.parse(h.double.lastRequest()!.body).messages[0].content, 'héllo 😀 wörld');
});

test('method override headers are removed before forwarding', async () => {
  const headers = { 'X-HTTP-Method-Override': 'DELETE', 'X-HTTP-Method': 'DELETE', 'X-Method-Override': 'DELETE', 'X-Original-URL': '/admin', 'X-Rewrite-URL': '/admin', 'X-Original-Method': 'DELETE', 'X-Forwarded-Method': 'DELETE' };
  const r = await post('/v1/chat/completions', `{"model":"llama3-8b",${MSG}}`, headers);
  assert.equal(r.status, 200);
  await r.text();
  const up = h.double.lastRequest()!;
  assert.equal(up.method, 'POST');
  for (const name of Object.keys(headers)) assert.equal(up.headers[name.toLowerCase()], undefined, `${name} forwarded`);
});

test('an override never changes which rule applies: DELETE stays DELETE, GET stays GET', async () => {
  const n = h.double.requests.length;
  const a = await post('/v1/chat/completions', `{"model":"llama3-8b",${MSG}}`, { 'X-HTTP-Method-Override': 'POST' }, 'DELETE');
  assert.equal((await errorOf(a)).code, 'route_not_allowed');
  const b = await fetch(`${h.url}/v1/chat/completions?_method=POST`, { headers: { ...auth(USER_KEY), 'X-HTTP-Method-Override': 'POST', 'X-HTTP-Method': 'POST' } });
  assert.equal((await errorOf(b)).code, 'route_not_allowed');
  assert.equal(h.double.requests.length, n);
});

test('_method in the query and at the top of a JSON body is removed before forwarding; other parameters stay', async () => {
  const r = await fetch(`${h.url}/v1/chat/completions?a=1&_method=DELETE&_METHOD=PUT&b=2`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...auth(ADMIN_KEY) },
    body: `{"model":"llama3-8b","_method":"DELETE",${MSG}}`,
  });
  assert.equal(r.status, 200);
  await r.text();
  const up = h.double.lastRequest()!;
  assert.equal(up.url, '/v1/chat/completions?a=1&b=2');
  assert.equal(JSON.parse(up.body)._method, undefined);
  assert.equal(JSON.parse(up.body).model, 'llama3-8b');
});
