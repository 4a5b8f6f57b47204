// A browser app (Debian chromium, headless, driven by playwright-core) sends its user's OIDC access token through CORS.
// Skipped with a message when chromium or playwright-core is missing (tests/helpers/browser.ts).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '../../dev/harness.js';
import { startIdp, oidcPolicy, type Idp } from '../helpers/oidc-idp.js';
import { findBrowser, launchBrowser, pageResult, servePage, type Browser, type PageServer } from '../helpers/browser.js';

// The app's script: the token arrives in the URL fragment (never sent to the page's server), as after an OIDC redirect.
const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>sso app</title></head><body><script>
(async () => {
  const q = new URLSearchParams(location.hash.slice(1));
  try {
    const r = await fetch(q.get('target'), { method: 'POST', headers: { Authorization: 'Bearer ' + q.get('token'), 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'llama3-8b-instruct', messages: [{ role: 'user', content: 'hi' }] }) });
    window.__result = { ok: true, status: r.status, challenge: r.headers.get('www-authenticate'), body: await r.json() };
  } catch (e) {
    window.__result = { ok: false, error: String(e) };
  }
})();
</script></body></html>`;

interface Outcome { ok: boolean; status?: number; challenge?: string | null; body?: any; error?: string }

const { skipReason, ...kit } = await findBrowser();
let h: Harness;
let idp: Idp;
let listed: PageServer;
let unlisted: PageServer;
let browser: Browser;

before(async () => {
  if (skipReason) return;
  idp = await startIdp();
  listed = await servePage(PAGE);
  unlisted = await servePage(PAGE);
  h = await startHarness({
    extra: `
[security.cors]
enabled = true
origins = ["${listed.origin}"]
methods = ["GET", "POST", "OPTIONS"]
allowed_headers = ["Authorization", "Content-Type"]
${oidcPolicy(idp.issuer)}`,
  });
  browser = await launchBrowser(kit);
});

after(async () => {
  if (skipReason) return;
  await browser?.close();
  await h?.close();
  await idp?.close();
  await listed?.close();
  await unlisted?.close();
});

async function call(origin: string, token: string): Promise<Outcome> {
  return (await pageResult(browser, `${origin}/#${new URLSearchParams({ target: `${h.url}/v1/chat/completions`, token })}`)) as Outcome;
}

test('browser: a listed origin sends a user access token; the upstream gets the proxy key, not the token', { skip: skipReason }, async () => {
  const token = await idp.userToken('alice');
  const before = h.double.requests.length;
  const r = await call(listed.origin, token);
  assert.equal(r.ok, true, `fetch failed in the browser: ${r.error}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.ok(r.body.choices[0].message.content.length > 0);
  const seen = h.double.requests.slice(before);
  assert.equal(seen.length, 1, 'one forwarded request (the preflight ends at the proxy)');
  assert.equal(seen[0].headers.authorization, 'Bearer upstream-secret-value-123');
});

test('browser: a refused token is a readable JSON error with its code', { skip: skipReason }, async () => {
  const r = await call(listed.origin, await idp.serviceToken('svc-batch', 'urn:other-api'));
  assert.equal(r.ok, true, `fetch failed in the browser: ${r.error}`);
  assert.equal(r.status, 401);
  assert.equal(r.body.error.code, 'token_wrong_audience');
});

test('browser: an unlisted origin cannot use a valid token; the upstream sees nothing', { skip: skipReason }, async () => {
  const before = h.double.requests.length;
  const r = await call(unlisted.origin, await idp.userToken('alice'));
  assert.equal(r.ok, false);
  assert.match(String(r.error), /TypeError|Failed to fetch/);
  assert.equal(h.double.requests.length, before);
});
