// GET /health: no auth, no versions; readiness of upstream, audit and the rate-limit store.
import net from 'node:net';
import type { RequestHandler } from 'express';

export type CheckState = 'ok' | 'down' | 'degraded';

export interface HealthSources {
  readonly checks: () => Promise<Record<string, CheckState>>;
}

/** Upstream reachability by TCP connect, cached briefly so /health cannot be used to hammer the upstream. */
export function upstreamProbe(url: string, cacheMs = 2000): () => Promise<CheckState> {
  const u = new URL(url);
  const port = Number(u.port) || (u.protocol === 'https:' ? 443 : 80);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  let last = 0;
  let value: Promise<CheckState> = Promise.resolve('ok');
  return () => {
    const now = Date.now();
    if (now - last < cacheMs) return value;
    last = now;
    value = new Promise<CheckState>((resolve) => {
      const s = net.connect({ host, port });
      const done = (state: CheckState): void => {
        s.destroy();
        resolve(state);
      };
      s.setTimeout(1000, () => done('down'));
      s.once('connect', () => done('ok'));
      s.once('error', () => done('down'));
    });
    return value;
  };
}

export function createHealth(src: HealthSources): RequestHandler {
  return async function health(req, res, next) {
    const ctx = req.ctx;
    if (ctx.path !== '/health' || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    const checks = await src.checks();
    const bad = Object.values(checks).some((c) => c !== 'ok');
    const body = JSON.stringify({ status: bad ? 'degraded' : 'ok', checks });
    ctx.decisions.push({ stage: 'health', outcome: 'allow', reason: '/health' });
    res.statusCode = checks.upstream === 'down' || checks.audit === 'down' ? 503 : 200;
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.end(ctx.method === 'HEAD' ? undefined : body);
  };
}
