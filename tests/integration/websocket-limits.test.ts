// WebSocket limits and Socket.IO through a real proxy: idle and lifetime closes, no HTTP timeout cuts, Socket.IO both transports, shutdown.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { io as ioClient, type Socket as IoSocket } from 'socket.io-client';
import { startHarness, basePolicy, ADMIN_KEY, USER_KEY, type Harness } from '../../dev/harness.js';
import { openWs, roundTrip, closed, waitFor, sleep } from '../helpers/ws-client.js';

let h: Harness;
let wsUrl: string;

before(async () => {
  h = await startHarness({
    policy: (up, dir) =>
      basePolicy(up, dir)
        .replace('"POST /api/chat"]', '"POST /api/chat", "GET /ws/dm/*", "GET /ws/last", "GET /socket.io/", "POST /socket.io/"]')
        .replace('shutdown_grace_seconds = 2', `shutdown_grace_seconds = 2
headers_timeout_seconds = 1
body_timeout_seconds = 1
request_timeout_seconds = 1

[server.websocket]
idle_timeout_seconds = 1.5
max_lifetime_seconds = 5`)
        // Socket.IO's polling transport posts text/plain packets.
        .replace('[security.rate_limiting]', '[security.validation]\njson_only = false\n\n[security.rate_limiting]'),
  });
  wsUrl = h.url.replace(/^http/, 'ws');
});
after(async () => {
  if (h) await h.close();
});

const wsLines = async (): Promise<Array<Record<string, any>>> =>
  (await h.auditLines()).filter((l) => (l.event as { action?: string } | undefined)?.action === 'websocket');
const auth = { headers: { Authorization: `Bearer ${USER_KEY}` } };

test('a busy connection outlives the HTTP header, body and request timeouts, then ends at max_lifetime_seconds', async () => {
  const ws = await openWs(`${wsUrl}/ws/dm/busy`, [], auth);
  const opened = Date.now();
  let n = 0;
  // Traffic every 250 ms keeps it from idling; request_timeout_seconds = 1 must not cut it.
  while (Date.now() - opened < 3000) {
    assert.equal((await roundTrip(ws, `m${n}`)).toString(), `m${n}`);
    n++;
    await sleep(250);
  }
  const ping = setInterval(() => ws.readyState === ws.OPEN && ws.send('tick'), 250);
  await closed(ws);
  clearInterval(ping);
  const lived = Date.now() - opened;
  assert.ok(lived >= 4500, `closed after ${lived} ms, before max_lifetime_seconds = 5`);
  await waitFor(async () => (await wsLines()).some((l) => l.lollms_guard?.details?.websocket?.close_reason === 'max_lifetime'), 'a max_lifetime line');
});

test('a silent connection is closed after idle_timeout_seconds', async () => {
  const ws = await openWs(`${wsUrl}/ws/dm/quiet`, [], auth);
  const opened = Date.now();
  await closed(ws);
  const lived = Date.now() - opened;
  assert.ok(lived >= 1400, `closed after ${lived} ms`);
  await waitFor(async () => (await wsLines()).some((l) => l.lollms_guard?.details?.websocket?.close_reason === 'idle_timeout'), 'an idle_timeout line');
});

function connect(transports: string[], key = USER_KEY): Promise<IoSocket> {
  return new Promise((resolve, reject) => {
    const s = ioClient(h.url, { transports, extraHeaders: { Authorization: `Bearer ${key}` }, reconnection: false, timeout: 10_000 });
    s.once('connect', () => resolve(s));
    s.once('connect_error', (e) => reject(e));
  });
}

async function generate(s: IoSocket): Promise<string> {
  const chunks: string[] = [];
  s.on('text_chunk', (c: { chunk: string }) => chunks.push(c.chunk));
  const done = new Promise((r) => s.once('done', r));
  s.emit('generate_msg', { prompt: 'hi' });
  await done;
  return chunks.join('');
}

test('Socket.IO over the websocket transport: events and acks through the proxy', async () => {
  const s = await connect(['websocket']);
  assert.equal(s.io.engine.transport.name, 'websocket');
  const ack = await s.timeout(10_000).emitWithAck('echo', { n: 42 });
  assert.deepEqual(ack, { n: 42 });
  assert.equal(await generate(s), 'Hello there');
  s.disconnect();
  const hs = h.double.realtime.handshakes.at(-1)!;
  assert.match(hs.url, /^\/socket\.io\/\?EIO=4&transport=websocket/);
  assert.equal(hs.headers.authorization, 'Bearer upstream-secret-value-123');
});

// Polling posts engine.io packets, not JSON: a role with model or token rules refuses them (they cannot be
// checked), so this runs with the admin role (models = ["*"], no cap).
test('Socket.IO polling, then the upgrade to websocket, through the proxy', async () => {
  const s = await connect(['polling', 'websocket'], ADMIN_KEY);
  await waitFor(() => s.io.engine.transport.name === 'websocket', 'the upgrade from polling');
  assert.deepEqual(await s.timeout(10_000).emitWithAck('echo', 'x'), 'x');
  assert.equal(await generate(s), 'Hello there');
  s.disconnect();
});

test('Socket.IO without a key is refused before anything reaches the upstream', async () => {
  const before = h.double.realtime.handshakes.length;
  await assert.rejects(
    new Promise((resolve, reject) => {
      const s = ioClient(h.url, { transports: ['websocket'], reconnection: false, timeout: 10_000 });
      s.once('connect', () => resolve(s));
      s.once('connect_error', (e) => {
        s.close();
        reject(e);
      });
    }),
  );
  assert.equal(h.double.realtime.handshakes.length, before);
});

test('an upgrade on a keep-alive connection that already served a request is not cut by the keep-alive idle timer', async () => {
  const u = new URL(h.url);
  const s = net.connect(Number(u.port), u.hostname);
  s.on('error', () => undefined);
  let got = Buffer.alloc(0);
  s.on('data', (d: Buffer) => (got = Buffer.concat([got, d])));
  await new Promise((r) => s.once('connect', r));
  s.write(`GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${USER_KEY}\r\n\r\n`);
  await waitFor(() => /\r\n\r\n[\s\S]*"object":"list"/.test(got.toString('latin1')), 'the first answer');
  got = Buffer.alloc(0);
  s.write(`GET /ws/dm/reuse HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${USER_KEY}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
  await waitFor(() => got.toString('latin1').startsWith('HTTP/1.1 101'), 'the 101');
  got = Buffer.alloc(0);
  // Past the keep-alive idle time (headers_timeout_seconds = 1) but inside idle_timeout_seconds = 1.5.
  await sleep(1200);
  const mask = [1, 2, 3, 4];
  const payload = Buffer.from('hi').map((b, i) => b ^ mask[i % 4]);
  s.write(Buffer.concat([Buffer.from([0x81, 0x82, ...mask]), payload]));
  await waitFor(() => got.equals(Buffer.from([0x81, 0x02, 0x68, 0x69])), 'the echoed frame');
  s.destroy();
});

test('shutdown ends open connections and their lines say "shutdown"', async () => {
  const ws = await openWs(`${wsUrl}/ws/last`, [], auth);
  await roundTrip(ws, 'x');
  const lines = h.auditLines;
  await h.proxy.close();
  await closed(ws);
  const all = await lines();
  const last = all.filter((l) => (l.url as { path?: string })?.path === '/ws/last').at(-1) as Record<string, any>;
  assert.equal(last.lollms_guard.details.websocket.close_reason, 'shutdown');
});
