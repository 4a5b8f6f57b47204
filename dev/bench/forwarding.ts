// `node dist/dev/bench/forwarding.js`: the HTTP leg alone, http-proxy against undici Pool, each in its own process.
// All relay to the same LoLLMS double with keep-alive and 64 connections; rounds alternate to share the machine's drift.
// Two streaming relays (http-proxy `web`, undici `stream`) and three that work as the guard does — the request body
// read whole first, the answer held whole and sent with its length: http-proxy with the buffered body, undici
// `request` (a Readable answer, a promise) and undici `dispatch` (handler callbacks, no stream objects). Prints req/s
// and the relay process's CPU per request, best of 3 rounds.
import http from 'node:http';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import httpProxy from 'http-proxy';
import { Pool } from 'undici';
import { load } from './load.js';
import { cpuSeconds } from './proc.js';
import { Readable } from 'node:stream';

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
} else if (kind === 'http-proxy-buffered') {
  const proxy = httpProxy.createProxyServer({ target, agent: new http.Agent({ keepAlive: true, maxSockets: 64 }) });
  proxy.on('error', (_e, _q, s) => (s as http.ServerResponse).destroy());
  listen(http.createServer((req, res) => {
    readBody(req, (body) => {
      req.headers['content-length'] = String(body.length);
      proxy.web(req, res, { buffer: Readable.from([body]) });
    });
  }));
} else if (kind === 'undici-request') {
  const pool = new Pool(target, { connections: 64, keepAliveTimeout: 4000 });
  listen(http.createServer((req, res) => {
    readBody(req, (body) => {
      pool.request({ path: req.url ?? '/', method: req.method as 'GET', headers: headersOut(req.headers), body: body.length ? body : undefined }).then((up) => {
        const chunks: Buffer[] = [];
        up.body.on('data', (c: Buffer) => chunks.push(c));
        up.body.on('end', () => {
          const out = Buffer.concat(chunks);
          const h = headersOut(up.headers as http.IncomingHttpHeaders);
          h['content-length'] = String(out.length);
          res.writeHead(up.statusCode, h);
          res.end(out);
        });
        up.body.on('error', () => res.destroy());
      }, () => res.destroy());
    });
  }));
} else if (kind === 'undici-dispatch') {
  const pool = new Pool(target, { connections: 64, keepAliveTimeout: 4000 });
  listen(http.createServer((req, res) => {
    readBody(req, (body) => {
      let status = 502;
      let head: http.IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      // The callback form Pool takes in undici 7 (onConnect ... onComplete); raw headers come as name/value Buffers.
      pool.dispatch({ path: req.url ?? '/', method: req.method as 'GET', headers: headersOut(req.headers), body: body.length ? body : undefined }, {
        onConnect() {},
        onHeaders(statusCode, raw) {
          status = statusCode;
          head = {};
          for (let i = 0; i + 1 < raw.length; i += 2) head[raw[i].toString('latin1').toLowerCase()] = raw[i + 1].toString('latin1');
          return true;
        },
        onData(chunk) { chunks.push(chunk); return true; },
        onComplete() {
          const out = Buffer.concat(chunks);
          const h = headersOut(head);
          h['content-length'] = String(out.length);
          res.writeHead(status, h);
          res.end(out);
        },
        onError() { res.destroy(); },
      });
    });
  }));
} else if (kind === undefined) {
  await main();
} else {
  process.stderr.write('usage: forwarding.js [http-proxy|undici|http-proxy-buffered|undici-request|undici-dispatch TARGET]\n');
  process.exit(2);
}

function readBody(req: http.IncomingMessage, then: (body: Buffer) => void): void {
  const parts: Buffer[] = [];
  req.on('data', (c: Buffer) => parts.push(c));
  req.on('end', () => then(Buffer.concat(parts)));
}

async function main(): Promise<void> {
  const children: ChildProcess[] = [];
  const start = (args: string[]): Promise<{ url: string; pid: number }> => {
    const c = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(c);
    return new Promise((resolve) => createInterface({ input: c.stdout! }).on('line', (l) => /^http/.test(l) && resolve({ url: l.trim(), pid: c.pid! })));
  };
  try {
    const upstream = (await start([join(here, 'servers.js'), 'double'])).url;
    const kinds = ['http-proxy', 'undici', 'http-proxy-buffered', 'undici-request', 'undici-dispatch'];
    const relays: Record<string, { url: string; pid: number }> = {};
    for (const k of kinds) relays[k] = await start([join(here, 'forwarding.js'), k, upstream]);
    const requests = Number(process.env.BENCH_REQUESTS ?? 3000);
    const chat = JSON.stringify({ model: 'llama3-8b-instruct', messages: [{ role: 'user', content: 'Say hello in one line.' }], max_tokens: 64 });
    const cases = {
      'GET /v1/models': (u: string) => load({ url: `${u}/v1/models`, requests, concurrency: 32 }),
      'POST /v1/chat/completions': (u: string) => load({ url: `${u}/v1/chat/completions`, method: 'POST', body: chat, requests, concurrency: 32 }),
    };
    for (const r of Object.values(relays)) await cases['POST /v1/chat/completions'](r.url);
    for (const [name, run] of Object.entries(cases)) {
      const rps: Record<string, number> = {}, cpu: Record<string, number> = {};
      for (let round = 0; round < 3; round++) {
        for (const [who, r] of Object.entries(relays)) {
          const c0 = cpuSeconds(r.pid);
          const res = await run(r.url);
          const us = ((cpuSeconds(r.pid) - c0) / res.requests) * 1e6;
          rps[who] = Math.max(rps[who] ?? 0, res.rps);
          cpu[who] = Math.min(cpu[who] ?? Infinity, us);
        }
      }
      process.stdout.write(`${name}:\n`);
      for (const k of kinds) {
        process.stdout.write(`  ${k.padEnd(20)} ${rps[k].toFixed(0).padStart(6)} req/s  ${cpu[k].toFixed(0).padStart(4)} us CPU/req  (${(rps[k] / rps['http-proxy']).toFixed(2)}x http-proxy req/s)\n`);
      }
    }
  } finally {
    for (const c of children) c.kill();
  }
}
