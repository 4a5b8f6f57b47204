// `node dist/dev/bench/forwarding.js`: the HTTP leg alone, http-proxy against undici Pool, each in its own process.
// Both relay to the same LoLLMS double with keep-alive and 64 connections; rounds alternate to share the machine's drift.
import http from 'node:http';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import httpProxy from 'http-proxy';
import { Pool } from 'undici';
import { load } from './load.js';

const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);
const here = dirname(fileURLToPath(import.meta.url));
const [kind, target] = process.argv.slice(2);

function listen(server: http.Server): void {
  server.listen(0, '127.0.0.1', () => process.stdout.write(`http://127.0.0.1:${(server.address() as { port: number }).port}\n`));
}

function headersOut(h: http.IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !HOP.has(k)) out[k] = v;
  return out;
}

if (kind === 'http-proxy') {
  const proxy = httpProxy.createProxyServer({ target, agent: new http.Agent({ keepAlive: true, maxSockets: 64 }) });
  proxy.on('error', (_e, _q, s) => (s as http.ServerResponse).destroy());
  listen(http.createServer((req, res) => proxy.web(req, res)));
} else if (kind === 'undici') {
  const pool = new Pool(target, { connections: 64, keepAliveTimeout: 4000 });
  listen(http.createServer((req, res) => {
    const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : req;
    pool.stream({ path: req.url ?? '/', method: req.method as 'GET', headers: headersOut(req.headers), body }, ({ statusCode, headers }) => {
      res.writeHead(statusCode, headersOut(headers as http.IncomingHttpHeaders));
      return res;
    }).catch(() => res.destroy());
  }));
} else if (kind === undefined) {
  await main();
} else {
  process.stderr.write('usage: forwarding.js [http-proxy|undici TARGET]\n');
  process.exit(2);
}

async function main(): Promise<void> {
  const children: ChildProcess[] = [];
  const start = (args: string[]): Promise<string> => {
    const c = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(c);
    return new Promise((resolve) => createInterface({ input: c.stdout! }).on('line', (l) => /^http/.test(l) && resolve(l.trim())));
  };
  try {
    const upstream = await start([join(here, 'servers.js'), 'double']);
    const urls = { 'http-proxy': await start([join(here, 'forwarding.js'), 'http-proxy', upstream]), undici: await start([join(here, 'forwarding.js'), 'undici', upstream]) };
    const requests = Number(process.env.BENCH_REQUESTS ?? 3000);
    const chat = JSON.stringify({ model: 'llama3-8b-instruct', messages: [{ role: 'user', content: 'Say hello in one line.' }], max_tokens: 64 });
    const cases = {
      'GET /v1/models': (u: string) => load({ url: `${u}/v1/models`, requests, concurrency: 32 }),
      'POST /v1/chat/completions': (u: string) => load({ url: `${u}/v1/chat/completions`, method: 'POST', body: chat, requests, concurrency: 32 }),
    };
    for (const u of Object.values(urls)) await cases['POST /v1/chat/completions'](u);
    for (const [name, run] of Object.entries(cases)) {
      const best: Record<string, number> = { 'http-proxy': 0, undici: 0 };
      const p50: Record<string, number> = { 'http-proxy': Infinity, undici: Infinity };
      for (let round = 0; round < 3; round++) {
        for (const [who, u] of Object.entries(urls)) {
          const r = await run(u);
          best[who] = Math.max(best[who], r.rps);
          p50[who] = Math.min(p50[who], r.p50ms);
        }
      }
      process.stdout.write(`${name}: http-proxy ${best['http-proxy'].toFixed(0)} req/s (p50 ${p50['http-proxy'].toFixed(2)} ms), undici ${best.undici.toFixed(0)} req/s (p50 ${p50.undici.toFixed(2)} ms), ratio ${(best.undici / best['http-proxy']).toFixed(2)}\n`);
    }
  } finally {
    for (const c of children) c.kill();
  }
}
