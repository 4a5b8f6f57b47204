// WebSocket handshakes through a real proxy to a raw upstream double over TCP: a client that leaves before the
// upstream's 101 (the upstream leg is cut at once, the breaker is not told, the line says aborted), and broken
// handshakes (RFC 6455 §4.2.1, §4.4) refused by the proxy without contacting the upstream.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { startHarness, basePolicy, ADMIN_KEY, type Harness } from '../../dev/harness.js';
import { startRawUpstream, type RawUpstream } from '../../dev/doubles/raw-upstream.js';
import { waitFor } from '../helpers/ws-client.js';
import { EARLY_BYTES_LIMIT } from '../../proxy/upgrade.js';

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

test('a client that sends more than 64 KiB before the 101 is cut, and so is its upstream leg', async () => {
  const { sock, hs } = await sendHandshake('/ws/flood');
  let got = '';
  sock.on('data', (d: Buffer) => (got += d.toString('latin1')));
  const clientClosed = once(sock, 'close');
  sock.write(Buffer.alloc(EARLY_BYTES_LIMIT + 1024, 0x41));
  await Promise.all([hs.gone, clientClosed]);
  assert.equal(hs.answered, false);
  assert.doesNotMatch(got, /^HTTP\/1\.1 101/);
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

/** Sends raw bytes on a fresh connection; resolves with everything received until the proxy closed. */
function raw(text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port(), '127.0.0.1', () => s.write(text));
    let out = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => (out += d));
    s.on('close', () => resolve(out));
    s.on('error', reject);
    // A guard against a hang only (a forwarded handshake would wait for the double's delayed 101).
    s.setTimeout(10_000, () => s.destroy());
  });
}

const GOOD_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const b64 = (n: number): string => Buffer.alloc(n, 7).toString('base64');

/** A handshake to /v1/realtime (OpenAI error shape) with the given headers, Host and key header first. */
const broken = (headers: Record<string, string | undefined>, method = 'GET', version = 'HTTP/1.1'): string => {
  const all: Record<string, string | undefined> = {
    Host: 'x', Authorization: `Bearer ${ADMIN_KEY}`, Connection: 'Upgrade', Upgrade: 'websocket',
    'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': GOOD_KEY, ...headers,
  };
  const lines = Object.entries(all).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  return `${method} /v1/realtime?model=x ${version}\r\n${lines}\r\n`;
};

const status = (out: string): number => Number(/^HTTP\/1\.1 (\d{3}) /.exec(out)?.[1]);
const headerOf = (out: string, name: string): string | undefined =>
  new RegExp(`^${name}:\\s*(.*?)\\r$`, 'im').exec(out.slice(0, out.indexOf('\r\n\r\n') + 2))?.[1];
const bodyOf = (out: string): Record<string, any> => JSON.parse(out.slice(out.indexOf('\r\n\r\n') + 4)) as Record<string, any>;

test('broken handshakes are refused by the proxy (400, or 426 for a version), never forwarded', async () => {
  const cases: Array<[string, string, number, string]> = [
    ['no Sec-WebSocket-Key', broken({ 'Sec-WebSocket-Key': undefined }), 400, 'invalid_websocket_handshake'],
    ['an empty key', broken({ 'Sec-WebSocket-Key': '' }), 400, 'invalid_websocket_handshake'],
    ['a key that is not base64', broken({ 'Sec-WebSocket-Key': '!!!!not*base64*at*all!!!' }), 400, 'invalid_websocket_handshake'],
    ['a key of 15 bytes', broken({ 'Sec-WebSocket-Key': b64(15) }), 400, 'invalid_websocket_handshake'],
    ['a key of 17 bytes', broken({ 'Sec-WebSocket-Key': b64(17) }), 400, 'invalid_websocket_handshake'],
    ['a key of 16 bytes without its padding', broken({ 'Sec-WebSocket-Key': GOOD_KEY.replace(/=+$/, '') }), 400, 'invalid_websocket_handshake'],
    ['two keys', `${broken({}).slice(0, -2)}Sec-WebSocket-Key: ${GOOD_KEY}\r\n\r\n`, 400, 'invalid_websocket_handshake'],
    ['no Host', broken({ Host: undefined }), 400, 'invalid_websocket_handshake'],
    ['HTTP/1.0', broken({}, 'GET', 'HTTP/1.0'), 400, 'invalid_websocket_handshake'],
    ['version 8', broken({ 'Sec-WebSocket-Version': '8' }), 426, 'unsupported_websocket_version'],
    ['version 14', broken({ 'Sec-WebSocket-Version': '14' }), 426, 'unsupported_websocket_version'],
    ['no version', broken({ 'Sec-WebSocket-Version': undefined }), 426, 'unsupported_websocket_version'],
    ['a PUT', broken({}, 'PUT'), 400, 'upgrade_not_supported'],
    ['a DELETE', broken({}, 'DELETE'), 400, 'upgrade_not_supported'],
    ['a HEAD', broken({}, 'HEAD'), 400, 'upgrade_not_supported'],
  ];
  const seen = heads.length;
  for (const [what, text, want, code] of cases) {
    const out = await raw(text);
    // A HTTP/1.0 request gets a HTTP/1.1 status line from node too.
    assert.equal(status(out), want, `${what}: ${out}`);
    assert.equal(headerOf(out, 'X-Error-Code'), code, what);
    if (what === 'a HEAD') continue; // no body on an answer to HEAD
    const body = bodyOf(out);
    assert.equal(body.error?.code, code, `${what}: the OpenAI error shape of /v1/*`);
    assert.equal(typeof body.error?.message, 'string');
    assert.doesNotMatch(out, /\n\s+at |\/home\/|\/work\/|node_modules|lollms-guard\/\d|Node\.js|v\d+\.\d+\.\d+/, `${what}: no stack, path or version`);
    if (want === 426) assert.equal(headerOf(out, 'Sec-WebSocket-Version'), '13', `${what}: names the version spoken (RFC 6455 §4.4)`);
  }
  assert.equal(heads.length, seen, 'the upstream double saw no request');
});

test('on a native LoLLMS path the refusal has the shape every other refusal there has (status, error, code)', async () => {
  const seen = heads.length;
  const toWs = (t: string): string => t.replace('/v1/realtime?model=x', '/ws/plain');
  const noKey = await raw(toWs(broken({ Authorization: undefined })));
  assert.equal(status(noKey), 401);
  const badKey = await raw(toWs(broken({ 'Sec-WebSocket-Key': 'short' })));
  assert.equal(status(badKey), 400);
  const a = bodyOf(noKey);
  const b = bodyOf(badKey);
  assert.deepEqual(Object.keys(b).sort(), Object.keys(a).sort());
  assert.equal(b.status, false);
  assert.equal(b.code, 'invalid_websocket_handshake');
  assert.equal(heads.length, seen, 'the upstream double saw no request');
});

test('a refused handshake has its audit line, with the code and the reason', async () => {
  const out = await raw(broken({ 'Sec-WebSocket-Key': b64(15), 'X-Request-ID': 'bad-key-line' }));
  assert.equal(status(out), 400);
  await waitFor(async () => (await requestLine('bad-key-line')) !== undefined, 'the refused handshake\'s line');
  const line = (await requestLine('bad-key-line'))!;
  assert.equal(line.event.action, 'websocket');
  assert.equal(line.lollms_guard.decision, 'deny');
  assert.equal(line.lollms_guard.error.code, 'invalid_websocket_handshake');
  assert.equal(line.http.response.status_code, 400);
  assert.equal(line.event.reason, 'Sec-WebSocket-Key is not the base64 of 16 bytes', 'what was wrong, never the value');
  const v = await raw(broken({ 'Sec-WebSocket-Version': '7', 'X-Request-ID': 'bad-version-line' }));
  assert.equal(status(v), 426);
  await waitFor(async () => (await requestLine('bad-version-line')) !== undefined, 'the refused version\'s line');
  assert.equal((await requestLine('bad-version-line'))!.lollms_guard.error.code, 'unsupported_websocket_version');
});

test('a well-formed handshake on the same route still reaches the upstream (the checks refuse only broken ones)', async () => {
  const n = handshakes.length;
  const sock = net.connect(port(), '127.0.0.1');
  sock.on('error', () => undefined);
  await once(sock, 'connect');
  sock.write(broken({}));
  await waitFor(() => handshakes.length > n, 'the upstream double to read the handshake');
  assert.match(handshakes[n]!.head, /^GET \/v1\/realtime\?model=x HTTP\/1\.1/);
  sock.destroy();
  await handshakes[n]!.gone;
});
