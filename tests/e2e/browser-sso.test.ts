// A browser app (Debian chromium, headless, driven by playwright-core) sends its user's OIDC access token through CORS.
// Skipped with a message when chromium or playwright-core is missing; LOLLMS_GUARD_REQUIRE_E2E=1 (CI) turns the skip into a failure.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { startHarness, type Harness } from '../../dev/harness.js';
import { startIdp, oidcPolicy, type Idp } from '../helpers/oidc-idp.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];
const REQUIRED = process.env.LOLLMS_GUARD_REQUIRE_E2E === '1';

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

async function servePage(): Promise<{ origin: string; close(): Promise<void> }> {
  const s = http.createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(PAGE);
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return { origin: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, close: () => new Promise<void>((r) => s.close(() => r())) };
}

async function loadPlaywright(): Promise<any | null> {
  const name = 'playwright-core';
  try { return await import(name); } catch { return null; }
}

let skipReason: string | undefined;
let pw: any;
if (!existsSync(CHROMIUM)) skipReason = `chromium not installed at ${CHROMIUM} (Debian: apt-get install -y chromium)`;
else if (!(pw = await loadPlaywright())) skipReason = 'playwright-core is not installed (npm install playwright-core)';
if (skipReason && REQUIRED) throw new Error(`LOLLMS_GUARD_REQUIRE_E2E=1 but ${skipReason}`);

let h: Harness;
let idp: Idp;
let listed: { origin: string; close(): Promise<void> };
let unlisted: { origin: string; close(): Promise<void> };
let context: any;
let profile: string;

before(async () => {
  if (skipReason) return;
  idp = await startIdp();
  listed = await servePage();
  unlisted = await servePage();
  h = await startHarness({
    extra: `
[security.cors]
enabled = true
origins = ["${listed.origin}"]
methods = ["GET", "POST", "OPTIONS"]
allowed_headers = ["Authorization", "Content-Type"]
${oidcPolicy(idp.issuer)}`,
  });
  profile = mkdtempSync(join(tmpdir(), 'lollms-guard-chromium-'));
  context = await pw.chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 30_000 });
});

after(async () => {
  if (skipReason) return;
  await context?.close();
  await h?.close();
  await idp?.close();
  await listed?.close();
  await unlisted?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

async function call(origin: string, token: string): Promise<Outcome> {
  const page = await context.newPage();
  try {
    await page.goto(`${origin}/#${new URLSearchParams({ target: `${h.url}/v1/chat/completions`, token })}`);
    await page.waitForFunction(() => (window as unknown as { __result?: unknown }).__result !== undefined, undefined, { timeout: 10_000 });
    return (await page.evaluate(() => (window as unknown as { __result: unknown }).__result)) as Outcome;
  } finally {
    await page.close();
  }
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
