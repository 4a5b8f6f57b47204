// Child-process entry for the bench: `double [CHUNK_DELAY_MS]` (LoLLMS double, SSE chat streams of 20 events),
// `bare TARGET` (plain http-proxy passthrough) or `undici TARGET` (plain undici passthrough).
import http from 'node:http';
import { pipeline } from 'node:stream';
import httpProxy from 'http-proxy';
import { Pool } from 'undici';
import { startLollmsDouble } from '../doubles/lollms-double.js';

/** 63 characters: the double cuts it into 18 content deltas, + the stop delta + [DONE] = 20 SSE events. */
export const STREAM_TEXT = 'Hello from the bench double: twenty events per streamed answer.';
const listen = (server: http.Server): void => {
  server.listen(0, '127.0.0.1', () => process.stdout.write(`http://127.0.0.1:${(server.address() as { port: number }).port}\n`));
};
// Hop-by-hop headers (RFC 9110 7.6.1) are the connection's, not the message's; undici refuses some of them.
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host']);

const [kind, arg] = process.argv.slice(2);
if (kind === 'double') {
  const d = await startLollmsDouble({ record: false, chatStream: 'sse' });
  d.setResponseText(STREAM_TEXT);
  d.misbehave({ kind: 'chunk_delay', ms: Number(arg ?? 0) });
  process.stdout.write(`${d.url}\n`);
} else if (kind === 'bare') {
  const proxy = httpProxy.createProxyServer({ target: arg, agent: new http.Agent({ keepAlive: true, maxSockets: 64 }) });
  proxy.on('error', (_e, _q, s) => (s as http.ServerResponse).destroy());
  listen(http.createServer((req, res) => proxy.web(req, res)));
} else if (kind === 'undici') {
  const pool = new Pool(arg!, { connections: 64 });
  listen(http.createServer((req, res) => {
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP.has(k)) headers[k] = v;
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    pool.request({ path: req.url ?? '/', method: req.method as 'GET', headers, body: hasBody ? req : null }).then((up) => {
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(up.headers)) if (v !== undefined && !HOP.has(k)) out[k] = v;
      res.writeHead(up.statusCode, out);
      pipeline(up.body, res, () => undefined);
    }, () => res.destroy());
  }));
} else {
  process.stderr.write('usage: servers.js double [CHUNK_DELAY_MS] | bare TARGET | undici TARGET\n');
  process.exit(2);
}
