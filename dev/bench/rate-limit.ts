// Bench: limiter decisions/s (memory vs Redis store) and proxied req/s with the rate-limit stage vs a bare passthrough in the same run.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';
import type { RequestHandler } from 'express';
import { Redis } from 'ioredis';
import type { CompiledPolicy, RateLimitingSection } from '../../kernel/policy.js';
import type { RequestContext } from '../../kernel/context.js';
import { createRateLimiting, type RateLimiting } from '../../policies/rate-limit/index.js';
import { createRateStore } from '../../proxy/stores/index.js';

const REDIS_URL = process.env.LOLLMS_GUARD_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const DECISION_MS = Number(process.env.BENCH_RL_DECISION_MS ?? 1000);
const HTTP_MS = Number(process.env.BENCH_RL_HTTP_MS ?? 700);
const ROUNDS = Number(process.env.BENCH_RL_ROUNDS ?? 3);
const CONCURRENCY = 32;
const KEYS = 100;

function benchSection(store: 'memory' | 'redis', prefix: string): RateLimitingSection {
  const big = 1_000_000_000;
  return {
    enabled: true, algorithm: 'token_bucket', store, redis_url_env: 'BENCH_RL_REDIS_URL', on_store_failure: 'fail_closed', key_prefix: prefix,
    global: { rate: big, burst: big, window_seconds: 60 },
    per_user: { rate: big, burst: big, window_seconds: 60, track_by: 'api_key' },
    per_endpoint: { default_rate: big, default_burst: big, window_seconds: 60 },
    endpoints: [{ path: '/v1/chat/*', rate: big, burst: big }],
    tokens: { per_user_per_minute: 0 },
    redis: { mode: 'standalone', sentinels: [], master_name: 'mymaster', nodes: [], password_env: '', tls_ca_file: '', key_prefix: '' },
    penalties: { first_violation: 'throttle', repeated_violations: 'temporary_ban', violations_before_ban: 10, ban_duration_minutes: 60 },
  };
}

const policy = { raw: { debug: { enabled: false, verbose_errors: false, bypass_rate_limits: false } }, mode: 'enforce' } as unknown as CompiledPolicy;
let seq = 0;
function fakeCtx(key: string): RequestContext {
  return {
    id: String(seq++), traceId: 't', spanId: 's', startNs: 0n, policy, clientIp: '10.0.0.1', peerIp: '10.0.0.1', method: 'POST',
    path: '/v1/chat/completions', query: '', principal: { keyId: key, role: 'user', source: 'key' }, decisions: [], usage: {},
    completionChars: 0, promptChars: 0, redactions: [], requestBytes: 0, responseBytes: 0, aborted: false, onDone: [],
  };
}

/** Last `rate` run's CPU time of this process per operation (µs): robust to other load on a shared machine. */
let lastCpuUs = 0;

/** Runs `op` with CONCURRENCY loops for `ms`; returns completed operations per second. */
async function rate(ms: number, op: (i: number) => Promise<void>): Promise<number> {
  let done = 0;
  const end = performance.now() + ms;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  await Promise.all(Array.from({ length: CONCURRENCY }, async (_, w) => {
    for (let i = w; performance.now() < end; i += CONCURRENCY) { await op(i); done++; }
  }));
  const c = process.cpuUsage(c0);
  lastCpuUs = (c.user + c.system) / Math.max(1, done);
  return Math.round(done / ((performance.now() - t0) / 1000));
}

/** The stage alone, with stub req/res: decisions per second. */
function decisions(stage: RequestHandler): Promise<number> {
  const res = { setHeader() {}, headersSent: false } as unknown as http.ServerResponse;
  return rate(DECISION_MS, (i) => new Promise<void>((resolve, reject) => {
    const req = { ctx: fakeCtx(`k${i % KEYS}`), headers: {} } as unknown as http.IncomingMessage;
    (stage as unknown as (a: unknown, b: unknown, c: (e?: unknown) => void) => void)(req, res, (e) => (e ? reject(e) : resolve()));
  }));
}

/** A stand-in model server: a small JSON answer. */
async function startUpstream(): Promise<{ port: number; close(): Promise<void> }> {
  const body = JSON.stringify({ id: 'x', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' } }], usage: { prompt_tokens: 1, completion_tokens: 1 } });
  const up = http.createServer((_req, res) => { res.setHeader('Content-Type', 'application/json'); res.end(body); });
  await new Promise<void>((r) => up.listen(0, '127.0.0.1', () => r()));
  return {
    port: (up.address() as AddressInfo).port,
    close: async () => { up.closeAllConnections(); await new Promise<void>((r) => up.close(() => r())); },
  };
}

/**
 * A minimal passthrough proxy (runs `stage`, then forwards to the upstream over keep-alive) and req/s from a
 * keep-alive client in the same process. Without a stage it is the bare passthrough.
 */
async function httpRate(stage: RequestHandler | undefined, upstreamPort: number): Promise<number> {
  const upAgent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const server = http.createServer((req, res) => {
    req.ctx = fakeCtx(String(req.headers['x-key']));
    const forward = (): void => {
      const u = http.request({ host: '127.0.0.1', port: upstreamPort, path: req.url, method: req.method, agent: upAgent, headers: { 'content-type': 'application/json' } }, (ur) => {
        res.writeHead(ur.statusCode ?? 502, { 'content-type': String(ur.headers['content-type']) });
        ur.pipe(res);
      });
      u.on('error', () => { res.statusCode = 502; res.end(); });
      req.pipe(u);
    };
    if (!stage) return forward();
    (stage as unknown as (a: unknown, b: unknown, c: () => void) => void)(req, res, forward);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  try {
    return await rate(HTTP_MS, (i) => new Promise<void>((resolve, reject) => {
      const r = http.request({ host: '127.0.0.1', port, path: '/v1/chat/completions', method: 'POST', agent, headers: { 'x-key': `k${i % KEYS}`, 'content-length': 0 } }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
      });
      r.on('error', reject);
      r.end();
    }));
  } finally {
    agent.destroy();
    upAgent.destroy();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

async function redisUp(): Promise<boolean> {
  const r = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 500, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => {});
  try { await r.connect(); await r.ping(); return true; } catch { return false; } finally { r.disconnect(); }
}

export async function benchRateLimit(): Promise<Record<string, number>> {
  const prefix = `lgbench:${randomBytes(4).toString('hex')}:`;
  const limiting = (store: 'memory' | 'redis'): RateLimiting => {
    const section = benchSection(store, prefix);
    return createRateLimiting(section, {
      onEvent: () => {}, debug: policy.raw.debug, store: (watch) => createRateStore(section, { env: { BENCH_RL_REDIS_URL: REDIS_URL } }, watch),
    });
  };
  const out: Record<string, number> = {};
  const mem = limiting('memory');
  out.decisions_per_s_memory = await decisions(mem.requestStage);
  const up = await redisUp();
  out.redis_available = up ? 1 : 0;
  let red: RateLimiting | undefined;
  if (up) {
    red = limiting('redis');
    await decisions(red.requestStage); // warm-up: connect, load the script
    out.decisions_per_s_redis = await decisions(red.requestStage);
  }
  // Interleaved rounds, best of each: a shared machine's noise hits every mode alike.
  const modes: Array<[string, RequestHandler | undefined]> = [['passthrough', undefined], ['memory', mem.requestStage]];
  if (red) modes.push(['redis', red.requestStage]);
  const upstream = await startUpstream();
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, stage] of modes) {
      out[`http_rps_${name}`] = Math.max(out[`http_rps_${name}`] ?? 0, await httpRate(stage, upstream.port));
      out[`cpu_us_per_req_${name}`] = Math.min(out[`cpu_us_per_req_${name}`] ?? Infinity, Math.round(lastCpuUs * 10) / 10);
    }
  }
  await upstream.close();
  if (red) out.redis_cpu_cost_over_memory_pct = Math.round(((out.cpu_us_per_req_redis - out.cpu_us_per_req_memory) / out.cpu_us_per_req_memory) * 1000) / 10;
  if (red) out.redis_cost_over_memory_pct = Math.round(((out.http_rps_memory - out.http_rps_redis) / out.http_rps_memory) * 1000) / 10;
  out.memory_cost_over_passthrough_pct = Math.round(((out.http_rps_passthrough - out.http_rps_memory) / out.http_rps_passthrough) * 1000) / 10;
  await mem.close();
  if (red) {
    await red.close();
    const r = new Redis(REDIS_URL);
    const keys = await r.keys(prefix + '*');
    if (keys.length) await r.del(...keys);
    await r.quit();
  }
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(await benchRateLimit());
}
