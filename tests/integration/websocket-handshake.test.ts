// WebSocket handshakes through a real proxy to a raw upstream double over TCP: a client that leaves before the
// upstream's 101 (the upstream leg is cut at once, the breaker is not told, the line says aborted).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { startHarness, basePolicy, ADMIN_KEY, type Harness } from '../../dev/harness.js';
import { startRawUpstream, type RawUpstream } from '../../dev/doubles/raw-upstream.js';
import { waitFor } from '../helpers/ws-client.js';

/** How long the double holds its 101: far past anything the test waits for, far below upstream.timeout_seconds. */
const DELAY_101_MS = 20_000;
const THRESHOLD = 2;

interface Handshake { readonly head: string; readonly sock: net.Socket; closed: boolean; answered: boolean; readonly gone: Promise<unknown> }

const SWITCHING = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n';

let up: RawUpstream;
let h: Harness;
/** Every request head the double received, upgrades and plain requests alike. */
const heads: string[] = [];
const handshakes: Handshake[] = [];
const timers: NodeJS.Timeout[] = [];

before(async () => {
  up = await startRawUpstream((head, s) => {
    heads.push(head);
    if (!/^upgrade:\s*websocket/im.test(head)) {
      const body = '{"object":"list","data":[]}';
      s.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      return;
    }
    const hs: Handshake = { head, sock: s, closed: false, answered: false, gone: once(s, 'close') };
    void hs.gone.then(() => (hs.closed = true));
    handshakes.push(hs);
    // /ws/echo/...: answered by the test (answerAndEcho).
    if (/^GET \/ws\/echo\//.test(head)) return;
    // A slow upstream: the handshake is read, its 101 comes DELAY_101_MS later (if the socket is still open).
    timers.push(setTimeout(() => {
      if (s.destroyed) return;
      hs.answered = true;
      s.write(SWITCHING);
    }, DELAY_101_MS));
  });
  h = await startHarness({
    policy: (_u, dir) =>
      basePolicy(up.url, dir)
        .replace('timeout_seconds = 2', 'timeout_seconds = 60')
        .replace('[upstream.circuit_breaker]\nenabled = false', `[upstream.circuit_breaker]\nenabled = true\nfailure_threshold = ${THRESHOLD}\nrecovery_timeout_seconds = 600`),
  });
});
after(async () => {
  for (const t of timers) clearTimeout(t);
  if (h) await h.close();
  if (up) await up.close();
});

const port = (): number => Number(new URL(h.url).port);
const handshake = (path: string, extra = ''): string =>
  `GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_KEY}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
  `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nX-Request-ID: ${path.slice(1).replace(/\//g, '-')}\r\n${extra}\r\n`;

/** Sends a handshake on a fresh connection and resolves once the upstream double has read it. */
async function sendHandshake(path: string): Promise<{ sock: net.Socket; hs: Handshake }> {
  const n = handshakes.length;
  const sock = net.connect(port(), '127.0.0.1');
  sock.on('error', () => undefined);
  await once(sock, 'connect');
  sock.write(handshake(path));
  await waitFor(() => handshakes.length > n, 'the upstream double to read the handshake');
  return { sock, hs: handshakes[n]! };
}

const requestLine = async (id: string): Promise<Record<string, any> | undefined> =>
  (await h.auditLines()).find((l) => (l.http as { request?: { id?: string } } | undefined)?.request?.id === id) as Record<string, any> | undefined;

test('a client that destroys its socket before the 101: the upstream leg is closed at once, and the line says aborted', async () => {
  const { sock, hs } = await sendHandshake('/ws/gone-1');
  sock.destroy();
  // The guard against a hang only: the close must come from the client leaving, not from any timer.
  await hs.gone;
  assert.equal(hs.answered, false, 'the upstream socket closed before its delayed 101 was due');
  await waitFor(async () => (await requestLine('ws-gone-1')) !== undefined, 'the audit line of the abandoned handshake');
  const line = (await requestLine('ws-gone-1'))!;
  assert.equal(line.event.action, 'websocket');
  assert.equal(line.event.outcome, 'unknown', 'a client that left: no verdict, as on the HTTP path');
  assert.equal(line.lollms_guard.aborted, true);
  assert.equal(line.lollms_guard.details.websocket.opened, false);
  assert.equal(line.lollms_guard.error, undefined, 'no upstream error is recorded for a client that left');
});

test('a client that half-closes before the 101 is seen too: the proxy closes its side (no CLOSE-WAIT) and the upstream leg', async () => {
  const { sock, hs } = await sendHandshake('/ws/gone-2');
  const clientClosed = once(sock, 'close');
  sock.end();
  await Promise.all([hs.gone, clientClosed]);
  assert.equal(hs.answered, false);
});

/** The double's 101, then every byte the proxy relays is echoed back. */
function answerAndEcho(hs: Handshake): void {
  hs.answered = true;
  hs.sock.write(SWITCHING);
  hs.sock.on('data', (d: Buffer) => hs.sock.write(d));
}

test('bytes a client sends before the 101 (against RFC 6455 §4.1, but nothing is lost) are relayed after it, in order', async () => {
  const n = handshakes.length;
  const sock = net.connect(port(), '127.0.0.1');
  sock.on('error', () => undefined);
  let got = '';
  sock.setEncoding('latin1');
  sock.on('data', (d: string) => (got += d));
  await once(sock, 'connect');
  // The first bytes in the handshake's own write (node's upgrade head), the next ones while the proxy waits.
  sock.write(handshake('/ws/echo/early') + 'EARLY-1;');
  await waitFor(() => handshakes.length > n, 'the upstream double to read the handshake');
  sock.write('EARLY-2;');
  await new Promise((r) => setImmediate(r));
  answerAndEcho(handshakes[n]!);
  await waitFor(() => got.endsWith('EARLY-1;EARLY-2;'), 'the early bytes echoed after the 101');
  assert.match(got, /^HTTP\/1\.1 101 /);
  assert.equal(got.slice(got.indexOf('\r\n\r\n') + 4), 'EARLY-1;EARLY-2;');
  sock.write('LATER;');
  await waitFor(() => got.endsWith('LATER;'), 'a byte after the 101');
  sock.destroy();
  await handshakes[n]!.gone;
});

test('many abandoned handshakes do not open the circuit: a plain request is still forwarded', async () => {
  const first = handshakes.length;
  for (let i = 0; i < THRESHOLD * 3; i++) {
    const { sock, hs } = await sendHandshake(`/ws/many-${i}`);
    sock.destroy();
    await hs.gone;
  }
  assert.ok(handshakes.slice(first).every((x) => !x.answered), 'each upstream socket closed before its 101 was due');
  const seen = heads.length;
  const r = await fetch(`${h.url}/v1/models`, { headers: { Authorization: `Bearer ${ADMIN_KEY}` } });
  assert.equal(r.status, 200, 'the circuit is closed');
  assert.deepEqual(await r.json(), { object: 'list', data: [] });
  assert.equal(heads.length, seen + 1, 'the request reached the upstream');
});
