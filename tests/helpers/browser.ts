// The Chromium set-up the browser tests share: Debian chromium driven by playwright-core, found or skipped with
// a message (LOLLMS_GUARD_REQUIRE_E2E=1, as in CI, turns a skip into a failure), pages served from a local origin.
import http from 'node:http';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];
const REQUIRED = process.env.LOLLMS_GUARD_REQUIRE_E2E === '1';

async function optional(name: string): Promise<any | null> {
  try {
    return await import(name); // not resolved at build time: a missing package is a skip, not a compile error
  } catch {
    return null;
  }
}

export interface BrowserKit {
  /** Why the browser tests are skipped; undefined when they run. */
  readonly skipReason?: string;
  /** playwright-core, and any further optional package asked for, by name. */
  readonly modules: Readonly<Record<string, any>>;
}

/** Finds chromium, playwright-core and the further packages named; throws instead of skipping when E2E is required. */
export async function findBrowser(packages: readonly string[] = []): Promise<BrowserKit> {
  const modules: Record<string, any> = {};
  let skipReason: string | undefined;
  if (!existsSync(CHROMIUM)) skipReason = `chromium not installed at ${CHROMIUM} (Debian: apt-get install -y chromium)`;
  else {
    for (const name of ['playwright-core', ...packages]) {
      if (!(modules[name] = await optional(name))) {
        skipReason = `${name} is not installed (npm install ${name})`;
        break;
      }
    }
  }
  if (skipReason && REQUIRED) throw new Error(`LOLLMS_GUARD_REQUIRE_E2E=1 but ${skipReason}`);
  return { skipReason, modules };
}

export interface Browser {
  /** The playwright browser context. */
  readonly context: any;
  close(): Promise<void>;
}

/** Headless chromium on a throw-away profile. */
export async function launchBrowser(kit: BrowserKit): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'lollms-guard-chromium-'));
  const context = await kit.modules['playwright-core'].chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 30_000 });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export interface PageServer {
  readonly origin: string;
  close(): Promise<void>;
}

/** Serves pages on their own origin: `html` for every URL, or what `files` maps the URL path to. */
export async function servePage(html: string, files: Readonly<Record<string, readonly [type: string, body: string]>> = {}): Promise<PageServer> {
  const s = http.createServer((req, res) => {
    const [type, body] = files[(req.url ?? '/').split('?')[0]] ?? ['text/html; charset=utf-8', html];
    res.writeHead(200, { 'Content-Type': type });
    res.end(body);
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return { origin: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, close: () => new Promise<void>((r) => s.close(() => r())) };
}

/** Opens `url` in a new tab and returns what the page's script published as `window.__result`. */
export async function pageResult(browser: Browser, url: string, timeoutMs = 10_000): Promise<any> {
  const page = await browser.context.newPage();
  try {
    await page.goto(url);
    await page.waitForFunction(() => (window as unknown as { __result?: unknown }).__result !== undefined, undefined, { timeout: timeoutMs });
    return await page.evaluate(() => (window as unknown as { __result: unknown }).__result);
  } finally {
    await page.close();
  }
}
