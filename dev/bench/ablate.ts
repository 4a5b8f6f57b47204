// `node dist/dev/bench/ablate.js [json|sse]`: where the proxy's CPU goes, by turning one policy area off at a
// time (environment overrides on the bench's full reference policy) and reading each process's CPU per request.
// Interleaved rounds, best of each, so a shared machine's drift hits every variant alike.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { USER_KEY } from '../harness.js';
import { REPO_ROOT } from '../paths.js';
import { load } from './load.js';
import { overlay } from './policy.js';
import { cpuSeconds, startServer } from './proc.js';

const here = dirname(fileURLToPath(import.meta.url));
const children: ChildProcess[] = [];
const kind = process.argv[2] === 'sse' ? 'sse' : 'json';
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 3000);

const start = (args: string[], env: NodeJS.ProcessEnv = {}) => startServer(children, args, env);

const P = 'LOLLMS_GUARD__';
const VARIANTS: Record<string, NodeJS.ProcessEnv> = {
  'full reference policy': {},
  'audit off': { [`${P}LOGGING__SECURITY__ENABLED`]: 'false' },
  'audit: no hash chain': { [`${P}LOGGING__SECURITY__HASH_CHAIN`]: 'false' },
  'metrics endpoint off (request metrics still kept)': { [`${P}MONITORING__METRICS_ENABLED`]: 'false' },
  'redaction off': { [`${P}SECURITY__INFORMATION_DISCLOSURE__ENABLED`]: 'false' },
  'rate limits off': { [`${P}SECURITY__RATE_LIMITING__ENABLED`]: 'false' },
  'validation off': { [`${P}SECURITY__VALIDATION__ENABLED`]: 'false' },
  'cors + headers off': { [`${P}SECURITY__CORS__ENABLED`]: 'false', [`${P}SECURITY__HEADERS__ENABLED`]: 'false' },
};

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lollms-guard-ablate-'));
  const double = await start([join(here, 'servers.js'), 'double', '0']);
  const bare = await start([join(here, 'servers.js'), 'bare', double.url]);
  const env = { LOLLMS_API_KEY: 'bench-upstream-key-0123456789', LOLLMS_GUARD_AUDIT_KEY: 'bench-audit-chain-key-0123456789' };
  const servers: Array<[string, { url: string; pid: number }]> = [['bare http-proxy', bare]];
  let i = 0;
  for (const [name, e] of Object.entries(VARIANTS)) {
    servers.push([name, await start([join(REPO_ROOT, 'bin/lollms-guard.js'), 'serve', ...overlay(dir, `v${i++}`, double.url, { keys: 10, extraPatterns: 7 })], { ...env, ...e })]);
  }
  const body = JSON.stringify({ model: 'llama3-8b-instruct', messages: [{ role: 'user', content: 'Say hello in one line.' }], max_tokens: 64, ...(kind === 'sse' ? { stream: true } : {}) });
  const spec = (url: string, requests: number) => ({ url: `${url}/v1/chat/completions`, method: 'POST', headers: { authorization: `Bearer ${USER_KEY}` }, body, requests, concurrency: 32 });
  for (const [, s] of servers) await load(spec(s.url, 500));
  const best = new Map<string, number>();
  for (let round = 0; round < 3; round++) {
    for (const [name, s] of servers) {
      const c0 = cpuSeconds(s.pid);
      await load(spec(s.url, REQUESTS));
      const us = ((cpuSeconds(s.pid) - c0) / REQUESTS) * 1e6;
      if (!best.has(name) || us < best.get(name)!) best.set(name, us);
    }
  }
  const full = best.get('full reference policy')!;
  process.stdout.write(`CPU per ${kind} request, best of 3 rounds (${REQUESTS} requests x 32):\n`);
  for (const [name, us] of best) process.stdout.write(`${name.padEnd(26)} ${us.toFixed(0).padStart(6)} us   ${name === 'full reference policy' || name === 'bare http-proxy' ? '' : `saves ${(full - us).toFixed(0)} us`}\n`);
}

try { await main(); } finally { for (const c of children) c.kill('SIGTERM'); }
process.exit(0);
