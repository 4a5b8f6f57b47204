// The HTTP leg's pool, against a real upstream over TCP: upstream.max_connections bounds it, keepalive_expiry_seconds ends idle connections.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { Socket } from 'node:net';
import { basePolicy, startHarness, auth, USER_KEY } from '../../dev/harness.js';

interface Upstream { url: string; open: () => number; most: () => number; closed: () => number; close(): Promise<void> }

/** An upstream that answers after `delayMs`, counting its connections. */
async function upstream(delayMs: number): Promise<Upstream> {
  let open = 0, most = 0, closed = 0;
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    req.resume();
    setTimeout(() => {
      res.setHeader('Content-Type', 'application/json');
      res.end('{"object":"list","data":[]}');
    }, delayMs);
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    most = Math.max(most, ++open);
    s.once('close', () => { open--; closed++; sockets.delete(s); });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    open: () => open, most: () => most, closed: () => closed,
    close: () => new Promise((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}

const withUpstream = (url: string) => (_double: string, dir: string) => basePolicy(url, dir);

test('upstream.max_connections bounds the connections to the upstream; the rest wait their turn', async () => {
  const up = await upstream(150);
  const h = await startHarness({ policy: withUpstream(up.url), env: { LOLLMS_GUARD__UPSTREAM__MAX_CONNECTIONS: '2' } });
  try {
    const statuses = await Promise.all(Array.from({ length: 6 }, () => fetch(`${h.url}/v1/models`, { headers: auth(USER_KEY) }).then(async (r) => { await r.arrayBuffer(); return r.status; })));
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200]);
    assert.equal(up.most(), 2);
  } finally {
    await h.close();
    await up.close();
  }
});

test('an idle upstream connection is closed after upstream.keepalive_expiry_seconds', async () => {
  const up = await upstream(0);
  const h = await startHarness({ policy: withUpstream(up.url), env: { LOLLMS_GUARD__UPSTREAM__KEEPALIVE_EXPIRY_SECONDS: '1' } });
  try {
    const r = await fetch(`${h.url}/v1/models`, { headers: auth(USER_KEY) });
    await r.arrayBuffer();
    assert.equal(r.status, 200);
    // The upstream keeps connections 60 s; only the proxy's expiry closes this one.
    for (let i = 0; i < 200 && up.closed() === 0; i++) await new Promise((res) => setTimeout(res, 50));
    assert.equal(up.closed(), 1);
    assert.equal(up.open(), 0);
  } finally {
    await h.close();
    await up.close();
  }
});
