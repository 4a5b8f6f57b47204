// `npm run bench`: lollms-guard against a bare http-proxy passthrough to the same LoLLMS double, in one run, as ratios.
import http from 'node:http';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import httpProxy from 'http-proxy';
import { startLollmsDouble } from '../tests/helpers/lollms-double.js';
import { startServer } from '../proxy/server.js';
import { basePolicy, USER_KEY } from '../tests/helpers/harness.js';
import { load, ttfb } from './load.js';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 4000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);

async function main(): Promise<void> {
  const double = await startLollmsDouble();
  double.misbehave({ kind: 'chunk_delay', ms: 0 });
  const bare = httpProxy.createProxyServer({ target: double.url, agent: new http.Agent({ keepAlive: true, maxSockets: 64 }) });
  const bareServer = http.createServer((req, res) => bare.web(req, res));
  await new Promise<void>((r) => bareServer.listen(0, '127.0.0.1', () => r()));
  const bareUrl = `http://127.0.0.1:${(bareServer.address() as { port: number }).port}`;
  const dir = mkdtempSync(join(tmpdir(), 'lollms-guard-bench-'));
  const policyFile = join(dir, 'bench.toml');
  writeFileSync(policyFile, basePolicy(double.url, dir).replace('timeout_seconds = 2', 'timeout_seconds = 30'));
  const guard = await startServer({ files: [policyFile], say: () => {}, watch: false });
  const auth = { authorization: `Bearer ${USER_KEY}` };
  const chat = JSON.stringify({ model: 'llama3-8b-instruct', messages: [{ role: 'user', content: 'Say hello in one line.' }], max_tokens: 64 });
  const stream = JSON.stringify({ model: 'llama3-8b-instruct', messages: [{ role: 'user', content: 'Say hello.' }], stream: true });

  const rows: Array<[string, string]> = [];
  const add = (k: string, v: string): void => {
    rows.push([k, v]);
    process.stdout.write(`${k.padEnd(48)} ${v}\n`);
  };
  // warm-up
  await load({ url: `${bareUrl}/v1/models`, requests: 200, concurrency: 8 });
  await load({ url: `${guard.url}/v1/models`, headers: auth, requests: 200, concurrency: 8 });

  const bGet = await load({ url: `${bareUrl}/v1/models`, requests: REQUESTS, concurrency: CONCURRENCY });
  const gGet = await load({ url: `${guard.url}/v1/models`, headers: auth, requests: REQUESTS, concurrency: CONCURRENCY });
  add('GET /v1/models bare req/s', bGet.rps.toFixed(0));
  add('GET /v1/models lollms-guard req/s', `${gGet.rps.toFixed(0)}  (ratio ${(gGet.rps / bGet.rps).toFixed(2)}, p50 ${gGet.p50ms.toFixed(2)} ms vs ${bGet.p50ms.toFixed(2)} ms, errors ${gGet.errors})`);

  const bPost = await load({ url: `${bareUrl}/v1/chat/completions`, method: 'POST', body: chat, requests: REQUESTS, concurrency: CONCURRENCY });
  const gPost = await load({ url: `${guard.url}/v1/chat/completions`, method: 'POST', headers: auth, body: chat, requests: REQUESTS, concurrency: CONCURRENCY });
  add('POST chat (JSON) bare req/s', bPost.rps.toFixed(0));
  add('POST chat (JSON) lollms-guard req/s', `${gPost.rps.toFixed(0)}  (ratio ${(gPost.rps / bPost.rps).toFixed(2)}, p99 ${gPost.p99ms.toFixed(2)} ms vs ${bPost.p99ms.toFixed(2)} ms, errors ${gPost.errors})`);

  const bT = await ttfb({ url: `${bareUrl}/v1/chat/completions`, body: stream }, 50);
  const gT = await ttfb({ url: `${guard.url}/v1/chat/completions`, headers: auth, body: stream }, 50);
  add('streamed chat TTFB bare (median ms)', bT.toFixed(2));
  add('streamed chat TTFB lollms-guard (median ms)', `${gT.toFixed(2)}  (+${(gT - bT).toFixed(2)} ms)`);

  // Benches contributed by policy areas, when present.
  const here = dirname(fileURLToPath(import.meta.url));
  for (const [file, fn] of [['rate-limit.js', 'benchRateLimit'], ['redaction.js', 'benchRedaction']] as const) {
    const path = join(here, file);
    if (!existsSync(path)) continue;
    const mod = (await import(pathToFileURL(path).href)) as Record<string, () => Promise<Record<string, number | string>>>;
    if (typeof mod[fn] !== 'function') continue;
    for (const [k, v] of Object.entries(await mod[fn]())) add(k, typeof v === 'number' ? v.toFixed(2) : v);
  }

  await guard.close();
  bare.close();
  bareServer.close();
  await double.close();
  process.exit(0);
}

await main();
