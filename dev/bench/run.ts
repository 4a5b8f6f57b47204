// `npm run bench [-- --quick]`: lollms-guard with the full reference policy against a bare http-proxy and a bare
// undici passthrough to the same LoLLMS double, all measured in this one run; every figure next to its goal
// (issue 14). Each server is its own process (CPU and RSS read from /proc); the load generator runs here.
// `--only latency,memory` (any of throughput, latency, memory, body, redaction) runs just those parts and starts
// only the servers they need; without throughput, memory first loads each server with one JSON and one SSE run.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { USER_KEY } from '../harness.js';
import { REPO_ROOT } from '../paths.js';
import { load, openStreams, type LoadResult } from './load.js';
import { overlay, type Variant } from './policy.js';
import { cpuSeconds, rssMb } from './proc.js';

const QUICK = process.argv.includes('--quick');
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? (QUICK ? 1500 : 4000));
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const ROUNDS = QUICK ? 1 : 3;
const SEQUENTIAL = QUICK ? 400 : 2000;
const OPEN_STREAMS = 1000;
const PARTS = ['throughput', 'latency', 'memory', 'body', 'redaction'] as const;
const onlyAt = process.argv.indexOf('--only');
const ONLY = new Set(onlyAt < 0 ? PARTS : (process.argv[onlyAt + 1] ?? '').split(','));
for (const p of ONLY) if (!(PARTS as readonly string[]).includes(p)) throw new Error(`--only: unknown part ${p} (${PARTS.join(', ')})`);
const run = (p: (typeof PARTS)[number]): boolean => ONLY.has(p);
const here = dirname(fileURLToPath(import.meta.url));
const children: ChildProcess[] = [];

interface Server { readonly url: string; readonly pid: number }

/** Starts a process and resolves with the first URL it prints (stdout or stderr). */
function startChild(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Server> {
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    const onLine = (l: string): void => {
      const m = /(https?:\/\/127\.0\.0\.1:\d+)/.exec(l);
      if (m) resolve({ url: m[1]!, pid: child.pid! });
      else if (process.env.BENCH_VERBOSE) process.stderr.write(`[${args[1] ?? args[0]}] ${l}\n`);
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    child.once('exit', (c) => reject(new Error(`${args.join(' ')} exited ${c}`)));
  });
}

const GUARD_ENV = { LOLLMS_API_KEY: 'bench-upstream-key-0123456789', LOLLMS_GUARD_AUDIT_KEY: 'bench-audit-chain-key-0123456789' };
/** BENCH_GUARD_BIN measures another build of the product (e.g. an older commit's checkout) with this bench. */
const GUARD_BIN = process.env.BENCH_GUARD_BIN ?? join(REPO_ROOT, 'bin/lollms-guard.js');
function guard(dir: string, name: string, upstream: string, v: Variant, env: NodeJS.ProcessEnv = {}): Promise<Server> {
  return startChild([GUARD_BIN, 'serve', ...overlay(dir, name, upstream, v)], { ...GUARD_ENV, ...env });
}

function line(label: string, value: string, goal = '', ok?: boolean): void {
  const mark = ok === undefined ? '' : ok ? '  ok' : '  MISS';
  process.stdout.write(`${label.padEnd(58)} ${value.padEnd(34)} ${goal}${mark}\n`);
}
const f = (n: number, d = 2): string => n.toFixed(d);

interface Measured extends LoadResult { readonly cpuUsPerReq: number }
/** One closed-loop run with the server's CPU time over it. */
async function measured(s: Server, spec: Omit<Parameters<typeof load>[0], 'url'> & { path: string }): Promise<Measured> {
  const c0 = cpuSeconds(s.pid);
  const r = await load({ ...spec, url: `${s.url}${spec.path}` });
  return { ...r, cpuUsPerReq: ((cpuSeconds(s.pid) - c0) / r.requests) * 1e6 };
}

const chatBody = (content: string, stream = false): string =>
  JSON.stringify({ model: 'llama3-8b-instruct', messages: [{ role: 'user', content }], max_tokens: 64, ...(stream ? { stream: true } : {}) });

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lollms-guard-bench-'));
  const srv = (k: string, ...a: string[]): Promise<Server> => startChild([join(here, 'servers.js'), k, ...a]);
  const double = await srv('double', '0');
  const none = Promise.resolve(undefined);
  const slowDouble = run('memory') ? await srv('double', '1000') : undefined; // 20 events a second apart: streams stay open ~20 s
  const [hp, ud] = await Promise.all([srv('bare', double.url), srv('undici', double.url)]);
  const base: Variant = { keys: 10, extraPatterns: 7 }; // 10 keys, 10 custom patterns (3 reference + 7)
  const tp = run('throughput');
  const [full, redis, keys10k, pat200, open] = await Promise.all([
    guard(dir, 'full', double.url, base),
    tp ? guard(dir, 'redis', double.url, base, {
      LOLLMS_GUARD__SECURITY__RATE_LIMITING__STORE: 'redis', LOLLMS_GUARD__SECURITY__RATE_LIMITING__KEY_PREFIX: `lgbench:${process.pid}:`,
      LOLLMS_GUARD_REDIS_URL: process.env.LOLLMS_GUARD_REDIS_URL ?? 'redis://127.0.0.1:6379/0',
    }) : none,
    tp ? guard(dir, 'keys10k', double.url, { ...base, keys: 10_000 }) : none,
    tp ? guard(dir, 'pat200', double.url, { ...base, extraPatterns: 197 }) : none,
    slowDouble ? guard(dir, 'open', slowDouble.url, base) : none,
  ]);
  const auth = { authorization: `Bearer ${USER_KEY}` };
  const chat = chatBody('Say hello in one line.');
  const stream = chatBody('Say hello.', true);
  const guards = [full, redis, keys10k, pat200].filter((s): s is Server => s !== undefined);
  for (const s of [hp, ud, ...guards]) await load({ url: `${s.url}/v1/chat/completions`, method: 'POST', headers: auth, body: chat, requests: 500, concurrency: 8 });

  const parts = onlyAt < 0 ? '' : `, only ${[...ONLY].join(', ')}`;
  process.stdout.write(`lollms-guard bench (${QUICK ? 'quick' : 'full'}${parts}): ${REQUESTS} requests x ${CONCURRENCY} concurrent, best of ${ROUNDS} interleaved rounds; node ${process.version}\n`);
  line('figure', 'measured', 'goal');
  if (tp) await throughput(hp, ud, full, redis!, keys10k!, pat200!, auth, chat, stream);
  else if (run('memory')) {
    // The memory figures are "after load": without the throughput rounds, one JSON and one SSE run each.
    for (const s of [hp, ud, full]) for (const body of [chat, stream]) await load({ url: `${s.url}/v1/chat/completions`, method: 'POST', headers: auth, body, requests: REQUESTS, concurrency: CONCURRENCY });
  }
  if (run('latency')) await latency(double, hp, ud, full, auth, chat);
  if (run('memory')) await memory(hp, ud, full, open!, auth, chat, stream);
  if (tp) scale();
  if (run('body')) await bodySize(hp, full, auth);
  if (run('redaction')) {
    const { benchRedaction } = await import('./redaction.js');
    for (const [k, v] of Object.entries(await benchRedaction())) line(k, f(v, 1));
  }
  if (tp && !QUICK && process.env.BENCH_RATE_LIMIT_INPROCESS !== '0') {
    const { benchRateLimit } = await import('./rate-limit.js');
    for (const [k, v] of Object.entries(await benchRateLimit())) line(`rate-limit stage in-process: ${k}`, String(v));
  }
}

type Auth = Record<string, string>;
const best = new Map<string, Measured>();
const g = (k: string): Measured => best.get(k)!;

async function throughput(hp: Server, ud: Server, full: Server, redis: Server, keys10k: Server, pat200: Server, auth: Auth, chat: string, stream: string): Promise<void> {
  // Interleaved rounds, best of each: a shared machine's drift hits every configuration alike.
  const keep = (k: string, r: Measured): void => { const b = best.get(k); if (!b || r.rps > b.rps) best.set(k, r); };
  const post = (body: string) => ({ path: '/v1/chat/completions', method: 'POST', headers: auth, body, requests: REQUESTS, concurrency: CONCURRENCY });
  for (let round = 0; round < ROUNDS; round++) {
    for (const [k, s] of [['hp', hp], ['ud', ud], ['full', full], ['redis', redis], ['keys10k', keys10k], ['pat200', pat200]] as const) {
      keep(`json:${k}`, await measured(s, post(chat)));
      if (k === 'hp' || k === 'ud' || k === 'full') keep(`sse:${k}`, await measured(s, post(stream)));
    }
  }
  for (const [kind, what] of [['json', 'JSON chat'], ['sse', 'SSE chat, 20 events']] as const) {
    const [b, u, x] = [g(`${kind}:hp`), g(`${kind}:ud`), g(`${kind}:full`)];
    line(`${what}: bare http-proxy (req/s, CPU us/req)`, `${f(b.rps, 0)}  ${f(b.cpuUsPerReq, 0)} us`);
    line(`${what}: bare undici (req/s, CPU us/req)`, `${f(u.rps, 0)}  ${f(u.cpuUsPerReq, 0)} us`);
    line(`${what}: lollms-guard full (req/s, CPU us/req)`, `${f(x.rps, 0)}  ${f(x.cpuUsPerReq, 0)} us`);
    line(`${what}: guard req/s / http-proxy`, `${f(x.rps / b.rps)}x  (/ undici ${f(x.rps / u.rps)}x)`, '>= 1.00x', x.rps >= b.rps);
    line(`${what}: guard CPU per request / http-proxy`, `${f(x.cpuUsPerReq / b.cpuUsPerReq)}x  (/ undici ${f(x.cpuUsPerReq / u.cpuUsPerReq)}x)`, '<= 1.00x', x.cpuUsPerReq <= b.cpuUsPerReq);
  }
  const perChunk = (g('sse:full').cpuUsPerReq - g('json:full').cpuUsPerReq) / 20;
  line('guard CPU per streamed event (SSE - JSON) / 20', `${f(perChunk, 1)} us`, '<= 5 us', perChunk <= 5);
  // The same for the bare proxy: what relaying an event costs anyway (its socket write), so the difference is the policy's.
  const bareChunk = (g('sse:hp').cpuUsPerReq - g('json:hp').cpuUsPerReq) / 20;
  line('  of which a bare http-proxy spends per event too', `${f(bareChunk, 1)} us  (guard adds ${f(perChunk - bareChunk, 1)} us)`);
}

async function latency(double: Server, hp: Server, ud: Server, full: Server, auth: Auth, chat: string): Promise<void> {
  // Sequential latency: one request at a time; "added" is over the double alone.
  const seq = async (s: Server): Promise<LoadResult> => load({ url: `${s.url}/v1/chat/completions`, method: 'POST', headers: auth, body: chat, requests: SEQUENTIAL, concurrency: 1 });
  const [dl, hl, ul, gl] = [await seq(double), await seq(hp), await seq(ud), await seq(full)];
  line('sequential latency p50 / p99: double alone (ms)', `${f(dl.p50ms)} / ${f(dl.p99ms)}`);
  line('sequential latency added by bare http-proxy (ms)', `+${f(hl.p50ms - dl.p50ms)} / +${f(hl.p99ms - dl.p99ms)}`);
  line('sequential latency added by bare undici (ms)', `+${f(ul.p50ms - dl.p50ms)} / +${f(ul.p99ms - dl.p99ms)}`);
  line('sequential latency added by lollms-guard, p50 (ms)', `+${f(gl.p50ms - dl.p50ms)}`, '<= 0.40 ms', gl.p50ms - dl.p50ms <= 0.4);
  line('sequential latency added by lollms-guard, p99 (ms)', `+${f(gl.p99ms - dl.p99ms)}`, '<= 2.00 ms', gl.p99ms - dl.p99ms <= 2);
}

async function memory(hp: Server, ud: Server, full: Server, open: Server, auth: Auth, chat: string, stream: string): Promise<void> {
  // Memory: RSS after the load above, then per open stream.
  const rss = rssMb(full.pid);
  line('RSS after load: bare http-proxy / bare undici (MB)', `${f(rssMb(hp.pid), 0)} / ${f(rssMb(ud.pid), 0)}`);
  line('RSS after load: lollms-guard full (MB)', f(rss, 0), '<= 120 MB', rss <= 120);
  await load({ url: `${open.url}/v1/chat/completions`, method: 'POST', headers: auth, body: chat, requests: REQUESTS, concurrency: CONCURRENCY });
  const before = rssMb(open.pid);
  const streams = await openStreams({ url: `${open.url}/v1/chat/completions`, headers: auth, body: stream }, OPEN_STREAMS);
  const perStream = ((rssMb(open.pid) - before) * 1024) / OPEN_STREAMS;
  streams.close();
  line(`RSS per open stream (${streams.opened}/${OPEN_STREAMS} open, KB)`, f(perStream, 1), '<= 64 KB', perStream <= 64 && streams.opened === OPEN_STREAMS);
}

function scale(): void {
  const ratio = (k: string): number => g(`json:${k}`).rps / g('json:full').rps;
  line('keys: 10,000 vs 10 (req/s ratio)', `${f(ratio('keys10k'))}x`, 'flat (>= 0.95x)', ratio('keys10k') >= 0.95);
  line('custom patterns: 200 vs 10 (req/s ratio)', `${f(ratio('pat200'))}x`, 'flat (>= 0.95x)', ratio('pat200') >= 0.95);
  const redisCost = (1 - ratio('redis')) * 100;
  line('rate limits: redis store below memory store (req/s)', `${f(redisCost, 1)} %`, '<= 15 %', redisCost <= 15);
}

async function bodySize(hp: Server, full: Server, auth: Auth): Promise<void> {
  // Body size: CPU per request at 1 KB, 100 KB, 1 MB (concurrency 4). Linear = the added CPU per extra KB is the
  // same from 100 KB to 1 MB as from 1 KB to 100 KB (the fixed per-request cost cancels out of both slopes).
  const cost: number[] = [];
  for (const kb of [1, 100, 1024]) {
    const body = chatBody('All quiet on the western front. '.repeat(Math.ceil((kb * 1024) / 32)).slice(0, kb * 1024));
    const n = Math.max(40, Math.round((QUICK ? 200 : 600) / Math.sqrt(kb)));
    const spec = { path: '/v1/chat/completions', method: 'POST', headers: auth, body, requests: n, concurrency: 4 };
    const [b, x] = [await measured(hp, spec), await measured(full, spec)];
    cost.push(x.cpuUsPerReq);
    line(`body ${kb} KB: req/s guard / bare; CPU us/req guard / bare`, `${f(x.rps, 0)} / ${f(b.rps, 0)};  ${f(x.cpuUsPerReq, 0)} / ${f(b.cpuUsPerReq, 0)}`);
  }
  const slope1 = (cost[1]! - cost[0]!) / 99, slope2 = (cost[2]! - cost[1]!) / 924;
  line('body size: guard CPU per extra KB, 100 KB-1 MB vs 1-100 KB', `${f(slope2, 1)} vs ${f(slope1, 1)} us/KB = ${f(slope2 / slope1)}x`, 'linear (<= 1.25x)', slope2 / slope1 <= 1.25);
}

try {
  await main();
} finally {
  for (const c of children) c.kill('SIGTERM');
}
process.exit(0);
