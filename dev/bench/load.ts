// A small closed-loop HTTP load generator (keep-alive, fixed concurrency) for the bench script.
import http from 'node:http';

export interface LoadResult {
  readonly requests: number;
  readonly seconds: number;
  readonly rps: number;
  readonly p50ms: number;
  readonly p99ms: number;
  readonly errors: number;
}

export interface LoadSpec {
  readonly url: string;
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly requests: number;
  readonly concurrency: number;
}

export async function load(spec: LoadSpec): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.concurrency });
  const u = new URL(spec.url);
  const lat: number[] = [];
  let errors = 0;
  let issued = 0;
  const body = spec.body ? Buffer.from(spec.body) : undefined;
  const headers = { ...(spec.headers ?? {}), ...(body ? { 'content-type': 'application/json', 'content-length': String(body.length) } : {}) };
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const t = process.hrtime.bigint();
      const req = http.request({ agent, host: u.hostname, port: u.port, path: u.pathname + u.search, method: spec.method ?? 'GET', headers }, (res) => {
        if ((res.statusCode ?? 500) >= 400) errors++;
        res.resume();
        res.on('end', () => {
          lat.push(Number(process.hrtime.bigint() - t) / 1e6);
          resolve();
        });
      });
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(body);
    });
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: spec.concurrency }, async () => {
      while (issued < spec.requests) {
        issued++;
        await one();
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  agent.destroy();
  lat.sort((a, b) => a - b);
  const q = (p: number): number => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? 0;
  return { requests: spec.requests, seconds, rps: spec.requests / seconds, p50ms: q(0.5), p99ms: q(0.99), errors };
}

/** Time to first byte of a streamed answer, median of n runs. */
export async function ttfb(spec: Omit<LoadSpec, 'requests' | 'concurrency'>, n: number): Promise<number> {
  const u = new URL(spec.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const out: number[] = [];
  const body = spec.body ? Buffer.from(spec.body) : undefined;
  for (let i = 0; i < n; i++) {
    out.push(
      await new Promise<number>((resolve, reject) => {
        const t = process.hrtime.bigint();
        const req = http.request({ agent, host: u.hostname, port: u.port, path: u.pathname, method: spec.method ?? 'POST', headers: { ...(spec.headers ?? {}), 'content-type': 'application/json' } }, (res) => {
          let first = 0;
          res.once('data', () => (first = Number(process.hrtime.bigint() - t) / 1e6));
          res.on('end', () => resolve(first));
          res.resume();
        });
        req.on('error', reject);
        req.end(body);
      }),
    );
  }
  agent.destroy();
  out.sort((a, b) => a - b);
  return out[Math.floor(out.length / 2)];
}

/**
 * Opens `n` streamed requests at once and resolves when each has its first body byte, with a function that
 * aborts them all. The upstream double must be slow (chunk delay) so the streams stay open meanwhile.
 */
export async function openStreams(spec: Omit<LoadSpec, 'requests' | 'concurrency'>, n: number): Promise<{ opened: number; close: () => void }> {
  const u = new URL(spec.url);
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const body = spec.body ? Buffer.from(spec.body) : undefined;
  const reqs: http.ClientRequest[] = [];
  const firsts = Array.from({ length: n }, () =>
    new Promise<boolean>((resolve) => {
      const req = http.request({ agent, host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { ...(spec.headers ?? {}), 'content-type': 'application/json' } }, (res) => {
        res.once('data', () => resolve(res.statusCode === 200));
        res.on('end', () => resolve(false));
        res.on('error', () => resolve(false));
      });
      req.on('error', () => resolve(false));
      req.end(body);
      reqs.push(req);
    }),
  );
  const opened = (await Promise.all(firsts)).filter(Boolean).length;
  return { opened, close: () => { for (const r of reqs) r.destroy(); agent.destroy(); } };
}
