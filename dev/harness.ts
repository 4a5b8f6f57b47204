// Test harness: a real LoLLMS double and a real listening proxy (in-process) with a policy written to a temp dir.
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { startLollmsDouble, type LollmsDouble, type DoubleOptions } from './doubles/lollms-double.js';
import { startServer, type RunningServer } from '../proxy/server.js';

export const ADMIN_KEY = 'admin-key-0123456789abcdefghijklmnopqrstuvwxyz';
export const USER_KEY = 'user-key-0123456789abcdefghijklmnopqrstuvwxyz0';
export const OLD_KEY = 'old-key-0123456789abcdefghijklmnopqrstuvwxyz01';
export const EXPIRED_KEY = 'expired-key-0123456789abcdefghijklmnopqrstuvw';

export const sha = (k: string): string => createHash('sha256').update(k).digest('hex');

/** A policy with four keys (admin, user, a stale one, an expired one); `extra` is appended verbatim. */
export function basePolicy(upstreamUrl: string, dir: string, extra = ''): string {
  return `
[server]
host = "127.0.0.1"
port = 0
state_dir = "${join(dir, 'state')}"
shutdown_grace_seconds = 2

[upstream]
url = "${upstreamUrl}"
api_key_env = "TEST_UPSTREAM_KEY"
timeout_seconds = 2

[upstream.circuit_breaker]
enabled = false

[security.authentication]
max_failed_attempts = 0

[[security.authentication.keys]]
id = "ops-admin"
sha256 = "${sha(ADMIN_KEY)}"
role = "admin"
created = ${new Date().toISOString().slice(0, 10)}

[[security.authentication.keys]]
id = "team-app"
sha256 = "${sha(USER_KEY)}"
role = "user"
created = ${new Date().toISOString().slice(0, 10)}

[[security.authentication.keys]]
id = "old-app"
sha256 = "${sha(OLD_KEY)}"
role = "user"
created = 2020-01-01

[[security.authentication.keys]]
id = "gone-app"
sha256 = "${sha(EXPIRED_KEY)}"
role = "user"
created = 2026-01-01
expires = 2026-02-01T00:00:00Z

[security.authorization.roles.user]
allow = ["POST /v1/chat/completions", "POST /v1/completions", "POST /v1/embeddings", "GET /v1/models", "POST /lollms_generate", "POST /api/chat"]
models = ["llama3-*", "mistral-*"]
max_tokens = 512

[security.authorization.roles.admin]
allow = ["*"]
models = ["*"]

[security.rate_limiting]
enabled = false

[logging.security]
output = "file"
file_path = "${join(dir, 'audit.log')}"
hash_chain = false

[monitoring]
metrics_enabled = false
${extra}
`;
}

export interface Harness {
  readonly double: LollmsDouble;
  readonly proxy: RunningServer;
  readonly url: string;
  readonly dir: string;
  readonly policyFile: string;
  auditLines(): Promise<Array<Record<string, unknown>>>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  readonly extra?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly double?: DoubleOptions;
  /** Replace the whole policy text (gets the upstream URL and the temp dir). */
  readonly policy?: (upstreamUrl: string, dir: string) => string;
  /** Policy files loaded before the harness's own (which overlays them), e.g. config/default.toml. */
  readonly baseFiles?: readonly string[];
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const double = await startLollmsDouble(opts.double);
  const dir = mkdtempSync(join(tmpdir(), 'lollms-guard-'));
  const policyFile = join(dir, 'policy.toml');
  writeFileSync(policyFile, opts.policy ? opts.policy(double.url, dir) : basePolicy(double.url, dir, opts.extra));
  const env = { TEST_UPSTREAM_KEY: 'upstream-secret-value-123', ...(opts.env ?? {}) };
  let proxy: RunningServer;
  try {
    proxy = await startServer({ files: [...(opts.baseFiles ?? []), policyFile], env, say: () => {} });
  } catch (e) {
    await double.close(); // an invalid policy must fail the test, not keep the process alive
    throw e;
  }
  return {
    double,
    proxy,
    url: proxy.url,
    dir,
    policyFile,
    async auditLines() {
      const file = join(dir, 'audit.log');
      // Lines are written asynchronously (batched): wait until the file has not grown for three looks
      // in a row, so a loaded machine does not make a test read the file between two batches.
      let last = -1;
      let still = 0;
      for (let i = 0; i < 100 && still < 3; i++) {
        const size = existsSync(file) ? readFileSync(file).length : 0;
        still = size === last && size > 0 ? still + 1 : 0;
        last = size;
        await new Promise((r) => setTimeout(r, 40));
      }
      if (!existsSync(file)) return [];
      return readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    async close() {
      await proxy.close();
      await double.close();
    },
  };
}

export function auth(key: string, extra: Record<string, string> = {}): Record<string, string> {
  return { Authorization: `Bearer ${key}`, ...extra };
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}
