// WebSocket client helpers for tests (the `ws` package): open or capture the refusal, exchange messages, wait for close.
import { WebSocket, type ClientOptions } from 'ws';
import type { IncomingMessage } from 'node:http';

export interface Refusal { status: number; headers: IncomingMessage['headers']; body: string }

/** Opens a WebSocket; rejects with a Refusal when the proxy answers with an HTTP status instead of 101. */
export function openWs(url: string, protocols: string[] = [], opts: ClientOptions = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { handshakeTimeout: 10_000, ...opts });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => reject(Object.assign(new Error(`refused ${res.statusCode}`), { refusal: { status: res.statusCode ?? 0, headers: res.headers, body } })));
      res.on('error', () => reject(new Error('refusal body cut')));
    });
    ws.once('error', (e) => reject(e));
  });
}

/** The refusal an openWs rejection carries. */
export async function refusalOf(p: Promise<unknown>): Promise<Refusal> {
  try {
    await p;
  } catch (e) {
    const r = (e as { refusal?: Refusal }).refusal;
    if (r) return r;
    throw e;
  }
  throw new Error('the upgrade was accepted');
}

/** Sends one message and resolves with the next one received. */
export function roundTrip(ws: WebSocket, data: string | Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const onClose = (): void => reject(new Error('closed before an answer'));
    ws.once('message', (d: Buffer) => {
      ws.off('close', onClose);
      resolve(Buffer.isBuffer(d) ? d : Buffer.from(d as ArrayBuffer));
    });
    ws.once('close', onClose);
    ws.send(data);
  });
}

/** Resolves with the close code once the socket is closed (at once if it already is). */
export function closed(ws: WebSocket): Promise<number> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve(-1);
  return new Promise((resolve) => ws.once('close', (code: number) => resolve(code)));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls until `f` is true (generous: the machine may be loaded), else throws `what`. */
export async function waitFor(f: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await f()) return;
    await sleep(25);
  }
  throw new Error(`timed out waiting for ${what}`);
}
