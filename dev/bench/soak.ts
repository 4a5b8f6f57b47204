// `npm run soak`: mixed traffic through a proxy process for 10 minutes, sampling its memory, sockets and fds; fails on growth.
// Flags: --duration SECONDS (env SOAK_SECONDS, default 600), --interval SECONDS (env SOAK_INTERVAL, default 30),
// --concurrency N (env SOAK_CONCURRENCY, default 8). Not part of `npm test`: it is load, on loopback only.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';
import { io as ioClient } from 'socket.io-client';
import { startLollmsDouble } from '../doubles/lollms-double.js';
import { basePolicy, ADMIN_KEY, USER_KEY } from '../harness.js';
import type { Sample } from './soak-proxy.js';
import { judge, type Timed } from './soak-judge.js';

const { values: flags } = parseArgs({
  options: { duration: { type: 'string' }, interval: { type: 'string' }, concurrency: { type: 'string' } },
});
const DURATION_S = Number(flags.duration ?? process.env.SOAK_SECONDS ?? 600);
const INTERVAL_S = Number(flags.interval ?? process.env.SOAK_INTERVAL ?? 30);
const CONCURRENCY = Number(flags.concurrency ?? process.env.SOAK_CONCURRENCY ?? 8);
const here = dirname(fileURLToPath(import.meta.url));
const MB = 1024 * 1024;

type Op = 'json' | 'sse' | 'ndjson' | 'websocket' | 'socketio' | 'denial' | 'abort';
const WEIGHTS: Array<[Op, number]> = [['json', 28], ['sse', 18], ['ndjson', 10], ['websocket', 16], ['socketio', 4], ['denial', 12], ['abort', 12]];
const counts: Record<string, number> = {};
let unexpected = 0;
let stopping = false;

/** Small deterministic generator: the same run mixes the same way. */
let seed = 0x2545f491;
const rand = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
function pick(): Op {
  const total = WEIGHTS.reduce((n, [, w]) => n + w, 0);
  let r = rand() * total;
  for (const [op, w] of WEIGHTS) if ((r -= w) < 0) return op;
  return 'json';
}

const expect = (ok: boolean, what: string): void => {
  if (!ok) {
    unexpected++;
    if (unexpected <= 5) process.stderr.write(`soak: unexpected outcome: ${what}\n`);
  }
};

async function main(): Promise<void> {
  const double = await startLollmsDouble({ record: false, chatStream: 'sse' });
  const dir = mkdtempSync(join(tmpdir(), 'lollms-guard-soak-'));
  const file = join(dir, 'policy.toml');
  writeFileSync(file, basePolicy(double.url, dir)
    .replace('"POST /api/chat"]', '"POST /api/chat", "GET /ws/dm/*"]')
    .replace('timeout_seconds = 2', 'timeout_seconds = 30\nmax_connections = 64\nmax_keepalive_connections = 32'));
  const child = fork(join(here, 'soak-proxy.js'), [file], { execArgv: ['--expose-gc'], env: { ...process.env, TEST_UPSTREAM_KEY: 'upstream-secret-value-123' }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (m: { url?: string }) => (m.url ? resolve(m.url) : reject(new Error('no url'))));
    child.once('exit', (c) => reject(new Error(`proxy exited ${c}`)));
  });
  const wsUrl = url.replace(/^http/, 'ws');
  process.stdout.write(`soak: ${DURATION_S}s of mixed traffic, ${CONCURRENCY} at a time, a sample every ${INTERVAL_S}s (proxy pid ${child.pid})\n`);

  const ops: Record<Op, (w: { where: string }) => Promise<void>> = {
    json: async () => {
      const r = await chat(url, { model: 'llama3-8b', messages: [{ role: 'user', content: 'hi' }] });
      expect(r.status === 200, `json ${r.status}`);
      await r.arrayBuffer();
    },
    sse: async () => {
      const r = await chat(url, { model: 'llama3-8b', stream: true, messages: [{ role: 'user', content: 'hi' }] });
      expect(r.status === 200, `sse ${r.status}`);
      await r.arrayBuffer();
    },
    ndjson: async () => {
      const r = await fetch(`${url}/api/chat`, { method: 'POST', headers: { Authorization: `Bearer ${USER_KEY}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ model: 'llama3-8b', messages: [{ role: 'user', content: 'hi' }] }) });
      expect(r.status === 200, `ndjson ${r.status}`);
      await r.arrayBuffer();
    },
    websocket: () => wsSession(`${wsUrl}/ws/dm/soak-token-${Math.floor(rand() * 1e6)}`, 5, false),
    socketio: () => socketIo(url),
    denial: async () => {
      const k = Math.floor(rand() * 4);
      if (k === 0) {
        const r = await fetch(`${url}/v1/models`);
        expect(r.status === 401, `no key ${r.status}`);
        await r.arrayBuffer();
      } else if (k === 1) {
        const r = await chat(url, { model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }] });
        expect(r.status === 403, `model ${r.status}`);
        await r.arrayBuffer();
      } else if (k === 2) {
        expect((await rawStatus(url, 'GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n')) === 400, 'h2c');
      } else {
        const code = await new Promise<number>((resolve) => {
          const ws = new WebSocket(`${wsUrl}/ws/dm/x`);
          ws.once('unexpected-response', (_q, res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
            ws.terminate();
          });
          ws.once('error', () => resolve(-1));
          ws.once('open', () => resolve(101));
        });
        expect(code === 401, `ws without key ${code}`);
      }
    },
    abort: async (w) => {
      if (rand() < 0.5) {
        w.where = 'stream';
        const ac = new AbortController();
        const r = await chat(url, { model: 'llama3-8b', stream: true, messages: [{ role: 'user', content: 'hi' }] }, ac.signal);
        const reader = r.body!.getReader();
        await reader.read();
        ac.abort();
        await reader.read().catch(() => undefined);
      } else {
        w.where = 'websocket';
        await wsSession(`${wsUrl}/ws/dm/soak-abort`, 1, true);
      }
    },
  };

  const started = Date.now();
  const samples: Timed<Sample>[] = [];
  const takeSample = (): Promise<Sample> =>
    new Promise((resolve) => {
      const on = (m: { sample?: Sample }): void => {
        if (!m.sample) return;
        child.off('message', on);
        resolve(m.sample);
      };
      child.on('message', on);
      child.send({ cmd: 'sample' });
    });
  const print = (s: Sample, label: string): void => {
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    process.stdout.write(`${label.padStart(7)}  rss ${(s.rss / MB).toFixed(1)} MB  heap ${(s.heapUsed / MB).toFixed(1)} MB  sockets ${s.sockets}  fds ${s.fds}  ops ${total}  unexpected ${unexpected}\n`);
  };
  const baseline = await takeSample();
  print(baseline, 't=0s');
  const sampler = setInterval(() => {
    void takeSample().then((s) => {
      const t = Math.round((Date.now() - started) / 1000);
      samples.push({ t, v: s });
      print(s, `t=${t}s`);
    });
  }, INTERVAL_S * 1000);

  const worker = async (): Promise<void> => {
    while (!stopping) {
      const op = pick();
      const w = { where: '' };
      counts[op] = (counts[op] ?? 0) + 1;
      try {
        // An operation that hangs is a finding, not a reason for the soak to hang.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([ops[op](w), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no end after 30 s ${w.where}`)), 30_000)))]);
        clearTimeout(timer);
      } catch (e) {
        expect(false, `${op} threw ${(e as Error).message}`);
      }
    }
  };
  const workers = Array.from({ length: CONCURRENCY }, () => worker());
  await new Promise((r) => setTimeout(r, DURATION_S * 1000));
  stopping = true;
  await Promise.all(workers);
  clearInterval(sampler);
  await new Promise((r) => setTimeout(r, 2000));
  const after = await takeSample();
  print(after, 'idle');

  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  process.stdout.write(`ops: ${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ')} (total ${total}, unexpected ${unexpected})\n`);
  const verdict = judge(samples, baseline, after);
  for (const l of verdict.lines) process.stdout.write(`${l}\n`);
  const errorRate = total > 0 ? unexpected / total : 0;
  if (errorRate > 0.01) verdict.failed.push(`unexpected outcomes ${(errorRate * 100).toFixed(2)}% > 1%`);
  child.send({ cmd: 'stop' });
  await new Promise((r) => child.once('exit', r));
  await double.close();
  if (verdict.failed.length > 0) {
    process.stdout.write(`soak: FAILED: ${verdict.failed.join('; ')}\n`);
    process.exitCode = 1;
  } else process.stdout.write('soak: OK, nothing kept growing\n');
}

function chat(url: string, body: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(`${url}/v1/chat/completions`, { method: 'POST', signal, headers: { Authorization: `Bearer ${USER_KEY}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
}

function rawStatus(url: string, text: string): Promise<number> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = net.connect(Number(u.port), u.hostname, () => s.write(text));
    let out = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (out += d));
    s.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(out)?.[1] ?? 0)));
    s.on('error', () => resolve(-1));
  });
}

/** Opens, exchanges `n` messages, then closes cleanly (or cuts the TCP connection when `abort`). */
function wsSession(target: string, n: number, abort: boolean): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(target, [], { headers: { Authorization: `Bearer ${USER_KEY}` } });
    let left = n;
    ws.once('open', () => ws.send(`m${left}`));
    ws.on('message', () => {
      if (--left > 0) return ws.send(`m${left}`);
      if (abort) ws.terminate();
      else ws.close(1000);
    });
    ws.once('close', () => resolve());
    ws.once('error', (e) => {
      expect(false, `websocket ${e.message}`);
      resolve();
    });
  });
}

function socketIo(url: string): Promise<void> {
  return new Promise((resolve) => {
    const s = ioClient(url, { transports: ['websocket'], extraHeaders: { Authorization: `Bearer ${ADMIN_KEY}` }, reconnection: false, timeout: 10_000, forceNew: true });
    s.once('connect', () => {
      s.timeout(10_000).emit('echo', 'x', (err: unknown) => {
        expect(!err, 'socket.io ack');
        s.disconnect();
        resolve();
      });
    });
    s.once('connect_error', (e) => {
      expect(false, `socket.io ${e.message}`);
      s.close();
      resolve();
    });
  });
}

main().catch((e) => {
  process.stderr.write(`soak: ${(e as Error).stack ?? e}\n`);
  process.exit(2);
});
