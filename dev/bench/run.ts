// `npm run bench`: lollms-guard against a bare http-proxy passthrough to the same LoLLMS double, in one run, as ratios.
// Each server runs in its own process; the load generator runs here. Numbers are for this machine only.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { basePolicy, USER_KEY } from '../harness.js';
import { REPO_ROOT } from '../paths.js';
import { load, ttfb } from './load.js';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 3000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const here = dirname(fileURLToPath(import.meta.url));
const children: ChildProcess[] = [];

/** Starts a process and resolves with the first URL it prints (stdout or stderr). */
function startChild(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    const onLine = (l: string): void => {
      const m = /(https?:\/\/127\.0\.0\.1:\d+)/.exec(l);
      if (m) resolve(m[1]);
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    child.once('exit', (c) => reject(new Error(`${args.join(' ')} exited ${c}`)));
  });
}

async function guard(upstream: string, dir: string, name: string, extra: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const file = join(dir, `${name}.toml`);
  env = { LOLLMS_GUARD__SECURITY__RATE_LIMITING__ENABLED: 'false', ...env };
  const policy = basePolicy(upstream, join(dir, name))
    .replace('timeout_seconds = 2', 'timeout_seconds = 30\nmax_keepalive_connections = 64\nmax_connections = 64')
    .replace('[security.rate_limiting]\nenabled = false', '[security.rate_limiting]');
  writeFileSync(file, policy + extra);
  return startChild([join(REPO_ROOT, 'bin/lollms-guard.js'), 'serve', '--policy', file], env);
}

const rows: Array<[string, string]> = [];
function add(k: string, v: string): void {
  rows.push([k, v]);
  process.stdout.write(`${k.padEnd(52)} ${v}\n`);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lollms-guard-bench-'));
  const upstream = await startChild([join(here, 'servers.js'), 'double']);
  const bare = await startChild([join(here, 'servers.js'), 'bare', upstream]);
  const full = await guard(upstream, dir, 'full', '');
  const noRedact = await guard(upstream, dir, 'noredact', '\n[security.information_disclosure]\nenabled = false\n');
  // Limits high enough never to refuse: what is measured is the cost of deciding.
  const rl = (store: string): NodeJS.ProcessEnv => ({
    LOLLMS_GUARD__SECURITY__RATE_LIMITING__ENABLED: 'true',
    LOLLMS_GUARD__SECURITY__RATE_LIMITING__STORE: store,
    LOLLMS_GUARD__SECURITY__RATE_LIMITING__KEY_PREFIX: `lgbench:${process.pid}:${store}:`,
    LOLLMS_GUARD__SECURITY__RATE_LIMITING__GLOBAL__RATE: '100000000',
    LOLLMS_GUARD__SECURITY__RATE_LIMITING__GLOBAL__BURST: '100000000',
    LOLLMS_GUARD__SECURITY__RATE_LIMITING__PER_USER__RATE: '100000000',
    LOLLMS_GUARD__SECURITY__RATE_LIMITING__PER_USER__BURST: '100000000',
    LOLLMS_GUARD__SECURITY__RATE_LIMITING__PER_ENDPOINT__DEFAULT_RATE: '100000000',
    LOLLMS_GUARD__SECURITY__RATE_LIMITING__PER_ENDPOINT__DEFAULT_BURST: '100000000',
    LOLLMS_GUARD_REDIS_URL: process.env.LOLLMS_GUARD_REDIS_URL ?? 'redis://127.0.0.1:6379/0',
  });
  const rlMem = await guard(upstream, dir, 'rlmem', '', rl('memory'));
  const rlRedis = await guard(upstream, dir, 'rlredis', '', rl('redis'));
  const auth = { authorization: `Bearer ${USER_KEY}` };
  const chat = JSON.stringify({ model: 'llama3-8b-instruct', messages: [{ role: 'user', content: 'Say hello in one line.' }], max_tokens: 64 });
  const stream = JSON.stringify({ model: 'llama3-8b-instruct', messages: [{ role: 'user', content: 'Say hello.' }], stream: true });

  const post = (url: string, h: Record<string, string> = {}) => load({ url: `${url}/v1/chat/completions`, method: 'POST', headers: h, body: chat, requests: REQUESTS, concurrency: CONCURRENCY });
  for (const u of [bare, full, noRedact, rlMem, rlRedis]) await load({ url: `${u}/v1/chat/completions`, method: 'POST', headers: auth, body: chat, requests: 300, concurrency: 8 });

  const bGet = await load({ url: `${bare}/v1/models`, requests: REQUESTS, concurrency: CONCURRENCY });
  const gGet = await load({ url: `${full}/v1/models`, headers: auth, requests: REQUESTS, concurrency: CONCURRENCY });
  add('GET /v1/models, bare http-proxy (req/s)', bGet.rps.toFixed(0));
  add('GET /v1/models, lollms-guard (req/s)', `${gGet.rps.toFixed(0)}  ratio ${(gGet.rps / bGet.rps).toFixed(2)}  p50 ${gGet.p50ms.toFixed(2)} vs ${bGet.p50ms.toFixed(2)} ms`);

  // Interleaved rounds, best of each: a shared machine's drift hits every configuration alike.
  const best: Record<string, Awaited<ReturnType<typeof load>>> = {};
  const configs: Array<[string, string, Record<string, string>]> = [['bare', bare, {}], ['full', full, auth], ['rlmem', rlMem, auth], ['rlredis', rlRedis, auth]];
  for (let round = 0; round < 3; round++) {
    for (const [name, url, h] of configs) {
      const r = await post(url, h);
      if (!best[name] || r.rps > best[name].rps) best[name] = r;
    }
  }
  const { bare: bPost, full: gPost, rlmem: mem, rlredis: red } = best;
  add('POST chat JSON, bare http-proxy (req/s)', bPost.rps.toFixed(0));
  add('POST chat JSON, lollms-guard full policy (req/s)', `${gPost.rps.toFixed(0)}  ratio ${(gPost.rps / bPost.rps).toFixed(2)}  p99 ${gPost.p99ms.toFixed(2)} vs ${bPost.p99ms.toFixed(2)} ms`);
  add('POST chat JSON, rate limits on, memory store (req/s)', `${mem.rps.toFixed(0)}  ratio ${(mem.rps / bPost.rps).toFixed(2)}`);
  add('POST chat JSON, rate limits on, redis store (req/s)', `${red.rps.toFixed(0)}  ratio ${(red.rps / bPost.rps).toFixed(2)}  redis cost over memory ${(((mem.rps - red.rps) / mem.rps) * 100).toFixed(1)}%`);

  const bT = await ttfb({ url: `${bare}/v1/chat/completions`, body: stream }, 60);
  const gT = await ttfb({ url: `${full}/v1/chat/completions`, headers: auth, body: stream }, 60);
  const nT = await ttfb({ url: `${noRedact}/v1/chat/completions`, headers: auth, body: stream }, 60);
  add('streamed chat TTFB, bare (median ms)', bT.toFixed(2));
  add('streamed chat TTFB, lollms-guard redaction off (ms)', `${nT.toFixed(2)}  +${(nT - bT).toFixed(2)} ms over bare`);
  add('streamed chat TTFB, lollms-guard redaction on (ms)', `${gT.toFixed(2)}  +${(gT - nT).toFixed(2)} ms over redaction off`);

  const { benchRedaction } = await import('./redaction.js');
  for (const [k, v] of Object.entries(await benchRedaction())) add(k, v.toFixed(1));
  if (process.env.BENCH_RATE_LIMIT_INPROCESS !== '0') {
    const { benchRateLimit } = await import('./rate-limit.js');
    for (const [k, v] of Object.entries(await benchRateLimit())) add(`rate-limit stage in-process: ${k}`, String(v));
  }
}

try {
  await main();
} finally {
  for (const c of children) c.kill('SIGTERM');
}
process.exit(0);
