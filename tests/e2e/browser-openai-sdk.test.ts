// The official openai SDK, bundled for a page with esbuild, in headless chromium from a listed origin, against the default CORS policy.
// Skipped with a message when chromium, playwright-core or esbuild is missing (tests/helpers/browser.ts).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, USER_KEY, type Harness } from '../../dev/harness.js';
import { DEFAULT_RESPONSE_TEXT, DOUBLE_MODELS } from '../../dev/doubles/lollms-double.js';
import { REPO_ROOT } from '../../dev/paths.js';
import { findBrowser, launchBrowser, pageResult, servePage, type Browser, type PageServer } from '../helpers/browser.js';

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

const { skipReason, ...kit } = await findBrowser(['esbuild']);
let h: Harness;
let page: PageServer;
let browser: Browser;
const HTML = '<!doctype html><html><head><meta charset="utf-8"><title>sdk app</title></head><body><script src="/app.js"></script></body></html>';

before(async () => {
  if (skipReason) return;
  const built = await kit.modules.esbuild.build({ stdin: { contents: APP, resolveDir: REPO_ROOT, loader: 'js' }, bundle: true, format: 'iife', platform: 'browser', target: 'es2020', write: false, logLevel: 'silent' });
  page = await servePage(HTML, { '/app.js': ['text/javascript; charset=utf-8', built.outputFiles[0].text] });
  // Only the origin is listed: methods, allowed and exposed headers are the schema's defaults.
  h = await startHarness({ double: { chatStream: 'sse' }, extra: `\n[security.cors]\norigins = ["${page.origin}"]\n` });
  browser = await launchBrowser(kit);
});

after(async () => {
  if (skipReason) return;
  await browser?.close();
  await h?.close();
  await page?.close();
});

test('browser: the openai SDK lists models, chats, streams and reads a typed denial through the default CORS policy', { skip: skipReason }, async () => {
  const q = new URLSearchParams({ base: `${h.url}/v1`, key: USER_KEY });
  const r = await pageResult(browser, `${page.origin}/?${q.toString()}`, 20_000);
  assert.equal(r.ok, true, `the app failed in the browser: ${r.error}`);
  assert.deepEqual(r.models, DOUBLE_MODELS);
  assert.equal(r.chat, DEFAULT_RESPONSE_TEXT);
  assert.equal(r.streamed, DEFAULT_RESPONSE_TEXT);
  assert.equal(r.denial.typed, true, 'PermissionDeniedError in the page');
  assert.equal(r.denial.status, 403);
  assert.equal(r.denial.code, 'model_not_allowed');
  assert.ok(r.denial.requestId, 'X-Request-ID is exposed to the page');
});
