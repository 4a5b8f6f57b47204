// The two rate-limit stages in a tiny express app with a simulated upstream (unit and integration rate-limit tests).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { CompiledPolicy, DebugSection, RateLimitingSection } from '../../kernel/policy.js';
import type { RequestContext } from '../../kernel/context.js';
import { createRateLimiting, type RateLimitDeps, type RateLimitEvent, type RateLimiting } from '../../policies/rate-limit/index.js';
import { createRateStore } from '../../proxy/stores/index.js';

type Sub<K extends keyof RateLimitingSection> = Partial<RateLimitingSection[K]>;
export type SectionOverrides = Partial<Omit<RateLimitingSection, 'global' | 'per_user' | 'per_endpoint' | 'tokens' | 'penalties' | 'redis'>> & {
  redis?: Sub<'redis'>; global?: Sub<'global'>; per_user?: Sub<'per_user'>; per_endpoint?: Sub<'per_endpoint'>; tokens?: Sub<'tokens'>; penalties?: Sub<'penalties'>;
};

/** The schema's defaults, with overrides per sub-table. */
export function section(o: SectionOverrides = {}): RateLimitingSection {
  return {
    enabled: true, algorithm: 'token_bucket', store: 'memory', redis_url_env: 'LOLLMS_GUARD_REDIS_URL', on_store_failure: 'fail_open',
    key_prefix: 'lollms-guard:', endpoints: [],
    ...o,
    global: { rate: 10000, burst: 100, window_seconds: 60, ...o.global },
    per_user: { rate: 1000, burst: 20, window_seconds: 60, track_by: 'api_key', ...o.per_user },
    per_endpoint: { default_rate: 100, default_burst: 10, window_seconds: 60, ...o.per_endpoint },
    tokens: { per_user_per_minute: 0, ...o.tokens },
    redis: { mode: 'standalone', sentinels: [], master_name: 'mymaster', nodes: [], password_env: '', tls_ca_file: '', key_prefix: '', ...o.redis },
    penalties: { first_violation: 'throttle', repeated_violations: 'temporary_ban', violations_before_ban: 10, ban_duration_minutes: 60, ...o.penalties },
  };
}

export interface StageHarnessOptions {
  section: RateLimitingSection;
  debug?: Partial<DebugSection>;
  mode?: 'enforce' | 'permissive';
  now?: () => number;
  env?: NodeJS.ProcessEnv;
  /** The store handed to the stages (default: built by proxy/stores from the section, env and clock). */
  store?: RateLimitDeps['store'];
}

export interface Req { key?: string; ip?: string; body?: unknown; method?: string; headers?: Record<string, string> }

export interface StageHarness {
  url: string;
  rl: RateLimiting;
  events: RateLimitEvent[];
  /** Every request's context, in arrival order. */
  ctxs: RequestContext[];
  request(path: string, r?: Req): Promise<Response>;
  /** Waits until every answer's onDone ran and store writes had time to land. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Upstream simulation, driven by request headers: x-sim-usage "in,out" (upstream usage), x-sim-answer (answer
 * characters), x-sim-stream "1" (SSE in three chunks), x-sim-status, x-sim-skip "1" (a later stage refused: never forwarded).
 */
function upstream(req: express.Request, res: express.Response): void {
  const ctx = req.ctx;
  const h = (n: string): string | undefined => (typeof req.headers[n] === 'string' ? (req.headers[n] as string) : undefined);
  if (h('x-sim-skip')) { res.status(403).json({ error: 'later stage' }); return; }
  const status = Number(h('x-sim-status') ?? 200);
  ctx.upstreamStatus = status;
  const text = 'a'.repeat(Number(h('x-sim-answer') ?? 0));
  const usage = h('x-sim-usage')?.split(',').map(Number);
  const finishUsage = (): void => { if (usage) { ctx.usage.input = usage[0]; ctx.usage.output = usage[1]; } };
  if (!h('x-sim-stream')) {
    ctx.completionChars += text.length;
    finishUsage();
    res.status(status).json({ text });
    return;
  }
  res.status(status).setHeader('Content-Type', 'text/event-stream');
  const parts = [text.slice(0, text.length / 3), text.slice(text.length / 3, (2 * text.length) / 3), text.slice((2 * text.length) / 3)];
  let i = 0;
  const tick = (): void => {
    if (i < parts.length) {
      ctx.completionChars += parts[i].length;
      res.write(`data: ${JSON.stringify({ delta: parts[i++] })}\n\n`);
      setTimeout(tick, 5);
      return;
    }
    finishUsage(); // usage arrives with the last chunk
    res.end('data: [DONE]\n\n');
  };
  tick();
}

export async function startStageHarness(o: StageHarnessOptions): Promise<StageHarness> {
  const events: RateLimitEvent[] = [];
  const debug: DebugSection = { enabled: false, verbose_errors: false, bypass_rate_limits: false, ...o.debug };
  const rl = createRateLimiting(o.section, { onEvent: (e) => events.push(e), debug, store: o.store ?? ((watch) => createRateStore(o.section, { env: o.env, now: o.now }, watch)) });
  const policy = { raw: { debug }, mode: o.mode ?? 'enforce' } as unknown as CompiledPolicy;
  const ctxs: RequestContext[] = [];
  const done: Array<Promise<void>> = [];
  const app = express();
  app.use((req, res, next) => {
    const url = new URL(req.url, 'http://x');
    const key = req.headers['x-test-key'];
    const ctx: RequestContext = {
      id: `r${ctxs.length}`, traceId: 't', spanId: 's', startNs: process.hrtime.bigint(), policy,
      clientIp: String(req.headers['x-test-ip'] ?? '10.0.0.1'), peerIp: '127.0.0.1', method: req.method, path: url.pathname, query: url.search,
      principal: typeof key === 'string' ? { keyId: key, role: 'user', source: 'key' } : undefined,
      decisions: [], usage: {}, completionChars: 0, promptChars: 0, redactions: [], requestBytes: 0, responseBytes: 0, aborted: false, onDone: [],
    };
    req.ctx = ctx;
    ctxs.push(ctx);
    done.push(new Promise((resolve) => res.once('close', () => { for (const f of ctx.onDone) f(ctx); resolve(); })));
    next();
  });
  app.use(rl.requestStage);
  app.use(express.json());
  app.use((req, _res, next) => {
    if (req.body && typeof req.body === 'object' && !Array.isArray(req.body)) req.ctx.json = req.body as Record<string, unknown>;
    next();
  });
  app.use(rl.tokenStage);
  app.use(upstream);
  const server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url, rl, events, ctxs,
    request(path, r = {}) {
      const headers: Record<string, string> = { ...r.headers };
      if (r.key) headers['x-test-key'] = r.key;
      if (r.ip) headers['x-test-ip'] = r.ip;
      if (r.body !== undefined) headers['content-type'] = 'application/json';
      return fetch(url + path, { method: r.method ?? (r.body !== undefined ? 'POST' : 'GET'), headers, body: r.body !== undefined ? JSON.stringify(r.body) : undefined });
    },
    async settle() {
      await Promise.all(done);
      await new Promise((r) => setTimeout(r, 30));
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await rl.close();
    },
  };
}

/** Status codes of n sequential requests. */
export async function statuses(h: StageHarness, n: number, path: string, r: Req = {}): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await h.request(path, r);
    await res.arrayBuffer();
    out.push(res.status);
  }
  return out;
}

/** The code of an error answer in any route family's shape: top-level (Ollama, native LoLLMS) or in `error` (OpenAI). */
export const errorCode = async (res: Response): Promise<string> => {
  const b = (await res.json()) as { code?: string; error?: { code?: string } };
  return (b.code ?? b.error?.code) as string;
};
