// Harness for the client-library tests: the proxy in front of the OpenAI-shaped double (or the LoLLMS double), with upstream.kind set.
import { mkdtempSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { basePolicy } from '../../dev/harness.js';
import { startOpenAIDouble, type OpenAIDouble } from '../../dev/doubles/openai-double.js';
import { startServer, type RunningServer } from '../../proxy/server.js';

export const USER_ROUTES = [
  'POST /v1/chat/completions', 'POST /v1/completions', 'POST /v1/embeddings', 'GET /v1/models', 'POST /v1/responses', 'POST /v1/messages',
  'POST /lollms_generate', 'POST /api/chat', 'POST /api/generate', 'POST /api/embed', 'GET /api/tags',
];

/** basePolicy with upstream.kind, a user role that knows the OpenAI double's models and routes, and `extra`. */
export function clientsPolicy(url: string, dir: string, kind: string, extra = '', upstream: Record<string, number | string> = {}): string {
  const more = Object.entries(upstream).map(([k, v]) => `\n${k} = ${JSON.stringify(v)}`).join('');
  // An `extra` with its own [security.rate_limiting] replaces basePolicy's (which turns limits off).
  const base = extra.includes('[security.rate_limiting]\n') ? basePolicy(url, dir, '').replace('[security.rate_limiting]\nenabled = false\n', '') + extra : basePolicy(url, dir, extra);
  return base
    .replace('api_key_env = "TEST_UPSTREAM_KEY"', `api_key_env = "TEST_UPSTREAM_KEY"\nkind = "${kind}"${more}`)
    .replace(/allow = \["POST \/v1\/chat\/completions"[^\n]*\]/, `allow = ${JSON.stringify(USER_ROUTES)}`)
    .replace('models = ["llama3-*", "mistral-*"]', 'models = ["llama3-*", "mistral-*", "gpt-*", "o3-*", "text-embedding-*", "claude-*"]');
}

export interface ClientsHarness {
  readonly double: OpenAIDouble;
  readonly proxy: RunningServer;
  readonly url: string;
  readonly dir: string;
  auditLines(): Promise<Array<Record<string, any>>>;
  close(): Promise<void>;
}

/** `upstream`: more [upstream] keys (e.g. max_buffered_response_bytes). */
export async function startClientsHarness(kind = 'openai', extra = '', upstream: Record<string, number | string> = {}): Promise<ClientsHarness> {
  const double = await startOpenAIDouble();
  const dir = mkdtempSync(join(tmpdir(), 'lollms-guard-clients-'));
  const file = join(dir, 'policy.toml');
  writeFileSync(file, clientsPolicy(double.url, dir, kind, extra, upstream));
  let proxy: RunningServer;
  try {
    proxy = await startServer({ files: [file], env: { TEST_UPSTREAM_KEY: 'upstream-secret-value-123' }, say: () => {} });
  } catch (e) {
    await double.close();
    throw e;
  }
  return {
    double,
    proxy,
    url: proxy.url,
    dir,
    async auditLines() {
      const f = join(dir, 'audit.log');
      let last = -1;
      for (let i = 0; i < 50; i++) {
        const size = existsSync(f) ? readFileSync(f).length : 0;
        if (size === last && size > 0) break;
        last = size;
        await new Promise((r) => setTimeout(r, 40));
      }
      return existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>) : [];
    },
    async close() {
      await proxy.close();
      await double.close();
    },
  };
}

/** Polls until `check` holds (a loaded machine gets time), then returns; fails after ~5 s. */
export async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 250; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for: ${what}`);
}
