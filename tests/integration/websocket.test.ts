// WebSocket upgrades through a real proxy to the double: authorisation, key carriers, frames both ways, audit, metrics, refusals.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHarness, basePolicy, ADMIN_KEY, USER_KEY, type Harness } from '../../dev/harness.js';
import { openWs, refusalOf, roundTrip, closed, waitFor } from '../helpers/ws-client.js';

const TOKEN = 'dm-secret-token-5f2b9c0d1e';
let h: Harness;
let wsUrl: string;

before(async () => {
  h = await startHarness({
    policy: (up, dir) =>
      basePolicy(up, dir).replace('"POST /api/chat"]', '"POST /api/chat", "GET /ws/dm/*", "GET /v1/realtime", "GET /ws/reject"]'),
  });
  wsUrl = h.url.replace(/^http/, 'ws');
});
after(async () => {
  if (h) await h.close();
});

/** The catalogue code of a refusal, in whichever error shape the path's family uses. */
const codeOf = (r: { body: string; headers: Record<string, unknown> }): unknown => {
  const b = JSON.parse(r.body) as { code?: string; error?: { code?: string } };
  assert.equal(r.headers['x-error-code'], b.code ?? b.error?.code);
  return b.code ?? b.error?.code;
};
const wsLines = async (): Promise<Array<Record<string, any>>> =>
  (await h.auditLines()).filter((l) => (l.event as { action?: string } | undefined)?.action === 'websocket');

test('an allowed upgrade opens; frames flow both ways; the upstream sees its own key, never the client key', async () => {
  const before = h.double.realtime.handshakes.length;
  const ws = await openWs(`${wsUrl}/ws/dm/${TOKEN}`, [], { headers: { Authorization: `Bearer ${USER_KEY}` } });
  assert.equal((await roundTrip(ws, 'hello')).toString(), 'hello');
  const bin = Buffer.from([0, 1, 2, 255, 254]);
  assert.deepEqual(await roundTrip(ws, bin), bin);
  // A large message in one frame is relayed whole.
  assert.equal((await roundTrip(ws, 'burst:300000')).length, 300000);
  const seen = JSON.parse((await roundTrip(ws, 'headers')).toString()) as Record<string, string>;
  assert.equal(seen.authorization, 'Bearer upstream-secret-value-123');
  assert.equal(seen['x-api-key'], undefined);
  assert.ok(!JSON.stringify(seen).includes(USER_KEY));
  assert.equal(h.double.realtime.handshakes.length, before + 1);
  ws.close();
  await closed(ws);
  await waitFor(async () => (await wsLines()).some((l) => l.lollms_guard?.details?.websocket?.close_reason === 'client'), 'the websocket audit line');
});

test('the audit line of a connection: one line, 101, bytes each way, duration, why it closed, no path token', async () => {
  const ws = await openWs(`${wsUrl}/ws/dm/${TOKEN}`, [], { headers: { 'X-API-Key': USER_KEY } });
  await roundTrip(ws, 'abc');
  await roundTrip(ws, 'burst:1000');
  const count = (await wsLines()).length;
  ws.close(4001, 'done here');
  await closed(ws);
  await waitFor(async () => (await wsLines()).length === count + 1, 'one more websocket line');
  const line = (await wsLines()).at(-1)!;
  assert.equal(line.http.response.status_code, 101);
  assert.equal(line.url.path, '/ws/dm/{token}');
  assert.equal(line.user.id, 'team-app');
  const w = line.lollms_guard.details.websocket;
  assert.equal(w.opened, true);
  assert.equal(w.close_reason, 'client');
  assert.equal(w.close_code, 4001);
  assert.equal(w.frames_to_upstream, 2, 'two data frames sent by the client');
  assert.equal(w.frames_to_client, 2);
  assert.ok(w.bytes_to_client >= 1000 + 3, `to client ${w.bytes_to_client}`);
  assert.ok(w.bytes_to_upstream > 3, `to upstream ${w.bytes_to_upstream}`);
  assert.equal(line.http.request.bytes, w.bytes_to_upstream);
  assert.ok(typeof line.event.duration === 'number' && line.event.duration > 0);
  assert.ok(!Number.isNaN(Date.parse(w.opened_at)));
  const file = readFileSync(join(h.dir, 'audit.log'), 'utf8');
  assert.ok(!file.includes(TOKEN), 'the path token is in the audit log');
  assert.ok(!file.includes(USER_KEY));
  const metrics = await h.proxy.metrics.registry.metrics();
  assert.match(metrics, /lollms_guard_websocket_connections_total\{route="\/ws\/dm\/\{token\}"\} [1-9]/);
  assert.match(metrics, /lollms_guard_websocket_closed_total\{route="\/ws\/dm\/\{token\}",reason="client"\} [1-9]/);
  assert.match(metrics, /lollms_guard_websocket_bytes_total\{direction="to_client"\} [1-9]/);
  assert.ok(!metrics.includes(TOKEN));
});

test('a key in the query parameter is taken and removed before forwarding; other parameters stay byte for byte', async () => {
  const ws = await openWs(`${wsUrl}/ws/dm/${TOKEN}?room=a%20b&api_key=${USER_KEY}&x=1`);
  await roundTrip(ws, 'q');
  const hs = h.double.realtime.handshakes.at(-1)!;
  assert.equal(hs.url, `/ws/dm/${TOKEN}?room=a%20b&x=1`);
  assert.ok(!JSON.stringify(hs.headers).includes(USER_KEY));
  ws.close();
  await closed(ws);
});

test('the key parameter in another case, or next to a header key, is removed too (never forwarded)', async () => {
  const ws = await openWs(`${wsUrl}/ws/dm/${TOKEN}?API_KEY=${USER_KEY}&Api_Key=${USER_KEY}&api_key=${USER_KEY}&x=1`, [], { headers: { Authorization: `Bearer ${USER_KEY}` } });
  await roundTrip(ws, 'q2');
  const hs = h.double.realtime.handshakes.at(-1)!;
  assert.equal(hs.url, `/ws/dm/${TOKEN}?x=1`);
  assert.ok(!JSON.stringify(hs).includes(USER_KEY));
  ws.close();
  await closed(ws);
});

test('a key in Sec-WebSocket-Protocol (our marker, and OpenAI realtime\'s) is removed; the 101 names an offered protocol', async () => {
  const ws = await openWs(`${wsUrl}/ws/dm/${TOKEN}`, ['lollms-guard', `lollms-guard.key.${USER_KEY}`]);
  assert.equal(ws.protocol, 'lollms-guard');
  await roundTrip(ws, 'p');
  const hs = h.double.realtime.handshakes.at(-1)!;
  assert.equal(hs.headers['sec-websocket-protocol'], undefined);
  ws.close();
  const b64 = await openWs(`${wsUrl}/ws/dm/${TOKEN}`, ['lollms-guard', `lollms-guard.b64key.${Buffer.from(USER_KEY).toString('base64url')}`]);
  assert.equal(b64.protocol, 'lollms-guard');
  b64.close();
  const rt = await openWs(`${wsUrl}/v1/realtime?model=x`, ['realtime', `openai-insecure-api-key.${USER_KEY}`, 'openai-beta.realtime-v1']);
  assert.equal(rt.protocol, 'realtime');
  const hs2 = h.double.realtime.handshakes.at(-1)!;
  assert.equal(hs2.headers['sec-websocket-protocol'], 'realtime, openai-beta.realtime-v1');
  assert.equal(hs2.headers.authorization, 'Bearer upstream-secret-value-123');
  rt.close();
  await closed(rt);
  const file = readFileSync(join(h.dir, 'audit.log'), 'utf8');
  assert.ok(!file.includes(USER_KEY));
});

test('refusals before the upgrade are HTTP answers with catalogue codes, and reach nothing upstream', async () => {
  const before = h.double.realtime.handshakes.length;
  const none = await refusalOf(openWs(`${wsUrl}/ws/dm/${TOKEN}`));
  assert.equal(none.status, 401);
  assert.equal(codeOf(none), 'missing_api_key');
  const bad = await refusalOf(openWs(`${wsUrl}/ws/dm/${TOKEN}?api_key=wrong-key-0123456789abcdefghijkl`));
  assert.equal(bad.status, 401);
  assert.equal(codeOf(bad), 'invalid_api_key');
  // The user role lists no such path: a route denial, as for a GET.
  const route = await refusalOf(openWs(`${wsUrl}/ws/admin`, [], { headers: { Authorization: `Bearer ${USER_KEY}` } }));
  assert.equal(route.status, 403);
  assert.equal(codeOf(route), 'route_not_allowed');
  assert.equal(h.double.realtime.handshakes.length, before);
  const lines = await h.auditLines();
  assert.ok(!JSON.stringify(lines).includes(TOKEN), 'a denied upgrade\'s line shows the path template');
  assert.ok(lines.some((l) => (l.url as { path?: string })?.path === '/ws/dm/{token}' && (l.lollms_guard as { error?: { code?: string } }).error?.code === 'missing_api_key'));
});

/** Sends a raw request on a fresh TCP connection and returns what came back until the server closed. */
function raw(text: string): Promise<string> {
  const u = new URL(h.url);
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(u.port), u.hostname, () => s.write(text));
    let out = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (out += d));
    s.on('close', () => resolve(out));
    s.on('error', reject);
    s.setTimeout(10_000, () => s.destroy());
  });
}

test('h2c, other upgrade tokens, non-GET and bodied upgrades are refused with upgrade_not_supported', async () => {
  const before = h.double.requests.length;
  const hs = h.double.realtime.handshakes.length;
  const auth = `Authorization: Bearer ${ADMIN_KEY}\r\n`;
  const cases = [
    `GET /v1/models HTTP/1.1\r\nHost: x\r\n${auth}Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n`,
    `GET /v1/models HTTP/1.1\r\nHost: x\r\n${auth}Connection: Upgrade\r\nUpgrade: TLS/1.0\r\n\r\n`,
    `POST /ws/dm/x HTTP/1.1\r\nHost: x\r\n${auth}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nContent-Length: 0\r\n\r\n`,
    `GET /ws/dm/x HTTP/1.1\r\nHost: x\r\n${auth}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nContent-Length: 38\r\n\r\nGET /admin HTTP/1.1\r\nHost: x\r\n\r\n\r\n`,
  ];
  for (const c of cases) {
    const out = await raw(c);
    assert.match(out, /^HTTP\/1\.1 400 /, out);
    assert.match(out, /"code":"upgrade_not_supported"/);
    assert.doesNotMatch(out, /101 Switching/);
  }
  assert.equal(h.double.requests.length, before);
  assert.equal(h.double.realtime.handshakes.length, hs);
});

test('an upstream that answers the handshake with an error gets our own answer, not its traceback or versions', async () => {
  const r = await refusalOf(openWs(`${wsUrl}/ws/reject`, [], { headers: { Authorization: `Bearer ${USER_KEY}` } }));
  assert.equal(r.status, 403);
  assert.equal(codeOf(r), 'upstream_rejected');
  assert.doesNotMatch(r.body, /Traceback|\/home\//);
  assert.equal(r.headers['x-powered-by'], undefined);
  assert.equal(r.headers.server, undefined);
});

test('the upstream closing ends the client side, and the line says so', async () => {
  const ws = await openWs(`${wsUrl}/ws/dm/${TOKEN}`, [], { headers: { Authorization: `Bearer ${USER_KEY}` } });
  ws.send('close');
  assert.equal(await closed(ws), 1000);
  await waitFor(async () => (await wsLines()).some((l) => l.lollms_guard?.details?.websocket?.close_reason === 'upstream'), 'an upstream-closed line');
});

test('open connections survive a policy reload', async () => {
  const ws = await openWs(`${wsUrl}/ws/dm/${TOKEN}`, [], { headers: { Authorization: `Bearer ${USER_KEY}` } });
  const r = await h.proxy.reload();
  assert.equal(r.ok, true);
  assert.equal((await roundTrip(ws, 'after reload')).toString(), 'after reload');
  ws.close();
  await closed(ws);
});

test('a browser upgrade from a foreign Origin is refused (cross-site WebSocket hijacking); the proxy\'s own origin passes', async () => {
  const before = h.double.realtime.handshakes.length;
  const foreign = await refusalOf(openWs(`${wsUrl}/ws/dm/${TOKEN}?api_key=${USER_KEY}`, [], { origin: 'https://evil.example' }));
  assert.equal(foreign.status, 403);
  assert.equal(codeOf(foreign), 'cross_site_request');
  assert.equal(h.double.realtime.handshakes.length, before);
  const own = await openWs(`${wsUrl}/ws/dm/${TOKEN}?api_key=${USER_KEY}`, [], { origin: h.url });
  await roundTrip(own, 'same origin');
  own.close();
  await closed(own);
});
