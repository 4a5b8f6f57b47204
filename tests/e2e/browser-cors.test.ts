// A real browser (Debian chromium, headless, driven by playwright-core) calls the proxy from a listed and an unlisted origin.
// Skipped with a message when chromium or playwright-core is missing (tests/helpers/browser.ts).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, USER_KEY, type Harness } from '../../dev/harness.js';
import { DOUBLE_MODELS } from '../../dev/doubles/lollms-double.js';
import { findBrowser, launchBrowser, pageResult, servePage, type Browser, type PageServer } from '../helpers/browser.js';

// The page's own script: fetches the proxy (URL, key and body from the query string) and publishes the outcome.
const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>cors probe</title></head><body><script>
(async () => {
  const q = new URLSearchParams(location.search);
  const init = { method: q.get('method') || 'GET', headers: { 'X-API-Key': q.get('key') } };
  if (q.get('body')) { init.headers['Content-Type'] = 'application/json'; init.body = q.get('body'); }
  if (q.get('mode')) { init.mode = q.get('mode'); init.headers = { 'Content-Type': 'text/plain' }; }
  try {
    const r = await fetch(q.get('target'), init);
    window.__result = { ok: true, status: r.status, requestId: r.headers.get('x-request-id'), body: await r.json() };
  } catch (e) {
    window.__result = { ok: false, error: String(e) };
  }
})();
</script></body></html>`;

interface Outcome {
  ok: boolean;
  status?: number;
  requestId?: string | null;
  body?: any;
  error?: string;
}

const { skipReason, ...kit } = await findBrowser();
let h: Harness;
let listed: PageServer;
let unlisted: PageServer;
let browser: Browser;

before(async () => {
  if (skipReason) return;
  listed = await servePage(PAGE);
  unlisted = await servePage(PAGE);
  h = await startHarness({
    extra: `
[security.cors]
enabled = true
origins = ["${listed.origin}"]
methods = ["GET", "POST", "OPTIONS"]
allowed_headers = ["Authorization", "Content-Type", "X-API-Key", "X-Request-ID"]
exposed_headers = ["X-Request-ID"]
`,
  });
  browser = await launchBrowser(kit);
});

after(async () => {
  if (skipReason) return;
  await browser?.close();
  await h?.close();
  await listed?.close();
  await unlisted?.close();
});

async function probe(origin: string, path: string, body?: unknown, mode?: string): Promise<Outcome> {
  const q = new URLSearchParams({ target: `${h.url}${path}`, key: USER_KEY });
  if (mode) q.set('mode', mode);
  if (body !== undefined) {
    q.set('method', 'POST');
    q.set('body', JSON.stringify(body));
  }
  return (await pageResult(browser, `${origin}/?${q.toString()}`)) as Outcome;
}

test('browser: a listed origin calls the proxy with X-API-Key and reads the answer', { skip: skipReason }, async () => {
  const before = h.double.requests.length;
  const r = await probe(listed.origin, '/v1/models');
  assert.equal(r.ok, true, `fetch failed in the browser: ${r.error}`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.data.map((m: { id: string }) => m.id), DOUBLE_MODELS);
  assert.ok(r.requestId, 'the exposed X-Request-ID is readable by the page');
  const seen = h.double.requests.slice(before);
  assert.deepEqual(seen.map((x) => x.method), ['GET'], 'the upstream got the GET, never the preflight');
  assert.equal(seen[0].headers['x-api-key'], undefined, 'the browser-sent key is not forwarded');
});

test('browser: a listed origin POSTs a chat completion through the proxy', { skip: skipReason }, async () => {
  const r = await probe(listed.origin, '/v1/chat/completions', { model: 'llama3-8b-instruct', messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(r.ok, true, `fetch failed in the browser: ${r.error}`);
  assert.equal(r.status, 200);
  assert.ok(r.body.choices[0].message.content.length > 0);
});

test('browser: an unlisted origin is blocked by the browser and the upstream sees nothing', { skip: skipReason }, async () => {
  const before = h.double.requests.length;
  const r = await probe(unlisted.origin, '/v1/models');
  assert.equal(r.ok, false, 'the browser must refuse the cross-origin answer');
  assert.match(String(r.error), /TypeError|Failed to fetch/);
  assert.equal(h.double.requests.length, before, 'the preflight failed, so the real request was never sent');
});

test('browser: a denial from a listed origin is readable as a JSON error', { skip: skipReason }, async () => {
  const r = await probe(listed.origin, '/list_models');
  assert.equal(r.ok, true, `fetch failed in the browser: ${r.error}`);
  assert.equal(r.status, 403);
  // /list_models is a native LoLLMS route: its error shape is {"status": false, "error": "<message>", "code"}.
  assert.equal(r.body.code, 'route_not_allowed');
  assert.equal(r.body.status, false);
});

test('browser: a page on another site cannot drive LoLLMS with a "simple" no-cors POST (refused before authentication)', { skip: skipReason }, async () => {
  const before = h.double.requests.length;
  const r = await probe(unlisted.origin, '/apply_settings', { config: { turn_on_code_execution: true } }, 'no-cors');
  assert.equal(r.ok, false, 'the answer is opaque to the page');
  assert.equal(h.double.requests.length, before, 'nothing reached the upstream');
  const lines = await h.auditLines();
  const line = lines.reverse().find((l) => (l.url as { path?: string } | undefined)?.path === '/apply_settings' && (l.event as { action?: string }).action === 'http_request');
  assert.ok(line, 'the request was audited');
  assert.equal((line.http as { response: { status_code: number } }).response.status_code, 403);
  assert.equal((line.lollms_guard as { error: { code: string } }).error.code, 'cross_site_request', 'refused as cross-site, not as a missing key');
});
