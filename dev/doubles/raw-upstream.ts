// A raw upstream over TCP for broken or hostile answers: each request head (and its Content-Length body) is
// answered by `reply`, which writes whatever bytes it likes to the socket; what arrived is recorded.
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface RawUpstream {
  readonly url: string;
  /** Every chunk received, in order (heads and bodies as the proxy sent them). */
  readonly received: Buffer[];
  close(): Promise<void>;
}

/** Answers each request (head + Content-Length body) with `reply(head)` bytes; records what it received. */
export async function startRawUpstream(reply: (head: string, sock: net.Socket) => void): Promise<RawUpstream> {
  const received: Buffer[] = [];
  const socks = new Set<net.Socket>();
  const srv = net.createServer((s) => {
    socks.add(s);
    s.on('close', () => socks.delete(s));
    s.on('error', () => {});
    let buf = Buffer.alloc(0);
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      received.push(d);
      for (;;) {
        const i = buf.indexOf('\r\n\r\n');
        if (i < 0) return;
        const head = buf.subarray(0, i).toString('latin1');
        const cl = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < i + 4 + cl) return;
        buf = buf.subarray(i + 4 + cl);
        reply(head, s);
      }
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((r) => { for (const s of socks) s.destroy(); srv.close(() => r()); }),
  };
}

