// Child-process entry for the bench: `double` (LoLLMS test double) or `bare` (plain http-proxy passthrough).
import http from 'node:http';
import httpProxy from 'http-proxy';
import { startLollmsDouble } from '../doubles/lollms-double.js';

const [kind, target] = process.argv.slice(2);
if (kind === 'double') {
  const d = await startLollmsDouble({ record: false });
  d.misbehave({ kind: 'chunk_delay', ms: 0 });
  process.stdout.write(`${d.url}\n`);
} else if (kind === 'bare') {
  const proxy = httpProxy.createProxyServer({ target, agent: new http.Agent({ keepAlive: true, maxSockets: 64 }) });
  proxy.on('error', (_e, _q, s) => (s as http.ServerResponse).destroy());
  const server = http.createServer((req, res) => proxy.web(req, res));
  server.listen(0, '127.0.0.1', () => process.stdout.write(`http://127.0.0.1:${(server.address() as { port: number }).port}\n`));
} else {
  process.stderr.write('usage: servers.js double | bare TARGET\n');
  process.exit(2);
}
