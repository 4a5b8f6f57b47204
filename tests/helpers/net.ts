// Loopback helpers shared by tests that start servers of their own.
import net from 'node:net';

/** A loopback port free right now (closed again before it is returned). */
export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}
