// The proxy process of `npm run soak`: serves one policy file and answers resource samples over IPC.
import { readdirSync } from 'node:fs';
import { startServer } from '../../proxy/server.js';

export interface Sample {
  readonly rss: number;
  readonly heapUsed: number;
  readonly sockets: number;
  readonly fds: number;
}

function sample(): Sample {
  // A full collection first, so the heap figure is what is still referenced, not what awaits the collector.
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  let fds = -1;
  try {
    fds = readdirSync('/proc/self/fd').length;
  } catch {
    /* not Linux: file descriptors are not counted */
  }
  const sockets = process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TLSWrap').length;
  return { rss: m.rss, heapUsed: m.heapUsed, sockets, fds };
}

const file = process.argv[2];
const server = await startServer({ files: [file], say: () => {}, watch: false });
process.send?.({ url: server.url });
process.on('message', (msg: { cmd?: string }) => {
  if (msg.cmd === 'sample') process.send?.({ sample: sample() });
  else if (msg.cmd === 'stop') void server.close().then(() => process.exit(0));
});
