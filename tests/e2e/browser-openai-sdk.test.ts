// The official openai SDK, bundled for a page with esbuild, in headless chromium from a listed origin, against the default CORS policy.
// Skipped with a message when chromium, playwright-core or esbuild is missing; LOLLMS_GUARD_REQUIRE_E2E=1 (CI) turns the skip into a failure.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { startHarness, USER_KEY, type Harness } from '../../dev/harness.js';
import { DEFAULT_RESPONSE_TEXT, DOUBLE_MODELS } from '../../dev/doubles/lollms-double.js';
import { REPO_ROOT } from '../../dev/paths.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];
const REQUIRED = process.env.LOLLMS_GUARD_REQUIRE_E2E === '1';

// The app: what a browser app using the SDK does, with its results published for the test to read.
const APP = `
import OpenAI from 'openai';
(async () => {
  const q = new URLSearchParams(location.search);
  const client = new OpenAI({ baseURL: q.get('base'), apiKey: q.get('key'), dangerouslyAllowBrowser: true, maxRetries: 0 });
  const out = {};
  try {
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    out.models = ids;
    const c = await client.chat.completions.create({ model: 'llama3-8b-instruct', messages: [{ role: 'user', content: 'hi' }] });
    out.chat = c.choices[0].message.content;
    let text = '';
    const s = await client.chat.completions.create({ model: 'llama3-8b-instruct', messages: [{ role: 'user', content: 'hi' }], stream: true });
    for await (const chunk of s) text += chunk.choices[0]?.delta?.content ?? '';
    out.streamed = text;
    try {
      await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
      out.denial = 'not denied';
    } catch (e) {
      out.denial = { typed: e instanceof OpenAI.PermissionDeniedError, status: e.status, code: e.code, message: e.message, requestId: e.requestID ?? null };
    }
    window.__result = { ok: true, ...out };
  } catch (e) {
    window.__result = { ok: false, error: String(e), ...out };
  }
})();
`;

async function load(name: string): Promise<any | null> {
  try {
    return await import(name); // not resolved at build time: a missing package is a skip, not a compile error
  } catch {
    return null;
  }
}

let skipReason: string | undefined;
let pw: any;
let esbuild: any;
if (!existsSync(CHROMIUM)) skipReason = `chromium not installed at ${CHROMIUM} (Debian: apt-get install -y chromium)`;
else if (!(pw = await load('playwright-core'))) skipReason = 'playwright-core is not installed (npm install playwright-core)';
else if (!(esbuild = await load('esbuild'))) skipReason = 'esbuild is not installed (npm install esbuild)';
if (skipReason && REQUIRED) throw new Error(`LOLLMS_GUARD_REQUIRE_E2E=1 but ${skipReason}`);

let h: Harness;
let page: { origin: string; close(): Promise<void> };
let context: any;
let profile: string;

async function servePage(bundle: string): Promise<{ origin: string; close(): Promise<void> }> {
  const html = '<!doctype html><html><head><meta charset="utf-8"><title>sdk app</title></head><body><script src="/app.js"></script></body></html>';
  const s = http.createServer((req, res) => {
    const js = req.url === '/app.js';
    res.writeHead(200, { 'Content-Type': js ? 'text/javascript; charset=utf-8' : 'text/html; charset=utf-8' });
    res.end(js ? bundle : html);
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return { origin: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, close: () => new Promise<void>((r) => s.close(() => r())) };
}

before(async () => {
  if (skipReason) return;
  const built = await esbuild.build({ stdin: { contents: APP, resolveDir: REPO_ROOT, loader: 'js' }, bundle: true, format: 'iife', platform: 'browser', target: 'es2020', write: false, logLevel: 'silent' });
  page = await servePage(built.outputFiles[0].text);
  // Only the origin is listed: methods, allowed and exposed headers are the schema's defaults.
  h = await startHarness({ double: { chatStream: 'sse' }, extra: `\n[security.cors]\norigins = ["${page.origin}"]\n` });
  profile = mkdtempSync(join(tmpdir(), 'lollms-guard-chromium-'));
  context = await pw.chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 30_000 });
});

after(async () => {
  if (skipReason) return;
  await context?.close();
  await h?.close();
  await page?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

test('browser: the openai SDK lists models, chats, streams and reads a typed denial through the default CORS policy', { skip: skipReason }, async () => {
  const q = new URLSearchParams({ base: `${h.url}/v1`, key: USER_KEY });
  const tab = await context.newPage();
  let r: any;
  try {
    await tab.goto(`${page.origin}/?${q.toString()}`);
    await tab.waitForFunction(() => (window as unknown as { __result?: unknown }).__result !== undefined, undefined, { timeout: 20_000 });
    r = await tab.evaluate(() => (window as unknown as { __result: unknown }).__result);
  } finally {
    await tab.close();
  }
  assert.equal(r.ok, true, `the app failed in the browser: ${r.error}`);
  assert.deepEqual(r.models, DOUBLE_MODELS);
  assert.equal(r.chat, DEFAULT_RESPONSE_TEXT);
  assert.equal(r.streamed, DEFAULT_RESPONSE_TEXT);
  assert.equal(r.denial.typed, true, 'PermissionDeniedError in the page');
  assert.equal(r.denial.status, 403);
  assert.equal(r.denial.code, 'model_not_allowed');
  assert.ok(r.denial.requestId, 'X-Request-ID is exposed to the page');
});
