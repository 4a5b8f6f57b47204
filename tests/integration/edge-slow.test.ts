// Slow and greedy clients against a real proxy: header, body and idle timers to the second; connections per address.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { startHarness, basePolicy, auth, postJson, ADMIN_KEY, type Harness } from '../../dev/harness.js';
import { eventsOf, requestLines, sleep, waitFor } from '../helpers/http.js';
import { addressGroup } from '../../proxy/connections.js';

const serverKeys = (extra: string) => (u: string, d: string): string =>
  basePolicy(u, d).replace('shutdown_grace_seconds = 2', `shutdown_grace_seconds = 2\n${extra}`);

let h: Harness;
let port: number;
before(async () => {
  h = await startHarness({ policy: serverKeys('headers_timeout_seconds = 1\nbody_timeout_seconds = 1\nmax_connections_per_ip = 1000') });
  port = Number(new URL(h.url).port);
});
after(async () => {
  await h.close();
});

interface Watched {
  readonly closedAfterMs: number;
  readonly data: string;
}

/** Opens a socket, runs `drive` on it, and resolves when the proxy closes it (or after 10 s, as still open). */
function watch(drive: (s: net.Socket) => void, p = port): Promise<Watched> {
  return new Promise((resolve) => {
    const s = net.connect(p, '127.0.0.1');
    let data = '';
    let t0 = 0;
    const timers: NodeJS.Timeout[] = [];
    s.on('data', (d) => (data += d.toString('latin1')));
    s.on('error', () => {});
    s.on('connect', () => {
      t0 = Date.now();
      drive(Object.assign(s, { every: (ms: number, f: () => void) => timers.push(setInterval(f, ms)) }));
    });
    const give = setTimeout(() => s.destroy(), 10_000);
    s.on('close', () => {
      clearTimeout(give);
      for (const t of timers) clearInterval(t);
      resolve({ closedAfterMs: Date.now() - t0, data });
    });
  });
}
type Every = net.Socket & { every(ms: number, f: () => void): void };

const HEAD = `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_KEY}\r\nContent-Type: application/json\r\n`;

function assertClosedNearLimit(w: Watched, limitMs: number, what: string): void {
  assert.ok(w.closedAfterMs < 9_000, `${what}: still open after 9 s (Node's 30 s check interval?)`);
  assert.ok(w.closedAfterMs >= limitMs - 100, `${what}: closed after ${w.closedAfterMs} ms, before the ${limitMs} ms limit`);
  assert.ok(w.closedAfterMs <= limitMs + 2_500, `${what}: closed ${w.closedAfterMs} ms after connecting; limit ${limitMs} ms`);
}

test('a socket that never sends a byte is closed about headers_timeout after connecting, with 408 headers_timeout', async () => {
  const w = await watch(() => {});
  assertClosedNearLimit(w, 1000, 'silent socket');
  assert.match(w.data, /^HTTP\/1\.1 408 /);
  assert.match(w.data, /"code":"headers_timeout"/);
});

test('header bytes trickled one line at a time do not keep the socket open past headers_timeout', async () => {
  const w = await watch((s) => {
    s.write('GET /v1/models HTTP/1.1\r\nHost: x\r\n');
    (s as Every).every(200, () => s.write('X-Slow: a\r\n'));
  });
  assertClosedNearLimit(w, 1000, 'trickled headers');
  assert.match(w.data, /^HTTP\/1\.1 408 /);
});

test('an idle keep-alive socket is closed about headers_timeout after its last answer', async () => {
  let answeredAt = 0;
  let t0 = 0;
  const w = await watch((s) => {
    t0 = Date.now();
    s.write(`GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_KEY}\r\n\r\n`);
    s.once('data', () => (answeredAt = Date.now()));
  });
  assert.match(w.data, /^HTTP\/1\.1 200 /);
  assert.ok(answeredAt > 0);
  const idleMs = w.closedAfterMs - (answeredAt - t0);
  assert.ok(idleMs >= 900 && idleMs <= 3_000, `idle keep-alive closed after ${idleMs} ms idle; limit 1000 ms`);
});

test('a body trickled one byte at a time gets 408 body_timeout about body_timeout after the head; audit agrees', async () => {
  const before = h.double.requests.length;
  const w = await watch((s) => {
    s.write(`${HEAD}Content-Length: 1000\r\n\r\n{`);
    (s as Every).every(100, () => s.write(' '));
  });
  assertClosedNearLimit(w, 1000, 'trickled body');
  assert.match(w.data, /^HTTP\/1\.1 408 /);
  assert.match(w.data, /"code":"body_timeout"/);
  assert.match(w.data, /Connection: close/i);
  assert.equal(h.double.requests.length, before, 'nothing forwarded');
  await sleep(100);
  const line = requestLines(await h.auditLines()).filter((l) => l.lollms_guard?.error?.code === 'body_timeout' || l.event?.reason === 'body_timeout').pop();
  assert.ok(line, 'an audit line with body_timeout');
  assert.equal(line.http.response.status_code, 408);
});

test('hundreds of slow sockets do not stop a normal request from being served meanwhile', async () => {
  const slow: net.Socket[] = [];
  let closed = 0;
  for (let i = 0; i < 300; i++) {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    s.on('connect', () => s.write('GET / HTTP/1.1\r\nHost: x\r\n'));
    s.on('close', () => closed++);
    s.resume();
    slow.push(s);
  }
  try {
    await sleep(300);
    const r = await postJson(`${h.url}/v1/chat/completions`, { model: 'llama3-8b', messages: [{ role: 'user', content: 'hi' }] }, auth(ADMIN_KEY));
    assert.equal(r.status, 200);
    await r.text();
    // And the slow ones were all cut by the header timer.
    assert.ok(closed < 300, 'the request was served while slow sockets were still open');
    await waitFor(() => closed === 300, 6_000);
    assert.equal(closed, 300, 'every slow socket closed by the header timer');
  } finally {
    for (const s of slow) s.destroy();
  }
});

test('max_connections_per_ip: one connection beyond the cap gets 429 too_many_connections; a freed slot is usable again', async () => {
  const x = await startHarness({ policy: serverKeys('max_connections_per_ip = 3') });
  const p = Number(new URL(x.url).port);
  const held: net.Socket[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const s = net.connect(p, '127.0.0.1');
      s.on('error', () => {});
      await new Promise((r) => s.once('connect', r));
      held.push(s);
    }
    await sleep(100);
    const w = await watch(() => {}, p);
    assert.match(w.data, /^HTTP\/1\.1 429 /);
    assert.match(w.data, /"code":"too_many_connections"/);
    assert.match(w.data, /Retry-After: 1/);
    held.pop()!.destroy();
    await sleep(200);
    const r = await fetch(`${x.url}/v1/models`, { headers: { ...auth(ADMIN_KEY), Connection: 'close' } });
    assert.equal(r.status, 200);
    await r.text();
    const ev = eventsOf(await x.auditLines(), 'connection_refused');
    assert.equal(ev.length, 1);
    assert.equal(ev[0].lollms_guard?.error?.code ?? ev[0].error?.code, 'too_many_connections');
  } finally {
    for (const s of held) s.destroy();
    await x.close();
  }
});

test('address groups: IPv4 alone, IPv4-mapped as IPv4, IPv6 by /64', () => {
  assert.equal(addressGroup('203.0.113.7'), '203.0.113.7');
  assert.equal(addressGroup('::ffff:203.0.113.7'), '203.0.113.7');
  assert.equal(addressGroup('2001:db8:1:2:aaaa::1'), addressGroup('2001:db8:1:2:ffff:1:2:3'));
  assert.notEqual(addressGroup('2001:db8:1:2::1'), addressGroup('2001:db8:1:3::1'));
  assert.equal(addressGroup('::1'), '0:0:0:0::/64');
});

test('a peer in trust_proxy (a reverse proxy carrying many clients) is not capped', async () => {
  const x = await startHarness({ policy: (u, d) => serverKeys('max_connections_per_ip = 2')(u, d).replace('port = 0', 'port = 0\ntrust_proxy = ["127.0.0.1"]') });
  const p = Number(new URL(x.url).port);
  const held: net.Socket[] = [];
  try {
    for (let i = 0; i < 4; i++) {
      const s = net.connect(p, '127.0.0.1');
      s.on('error', () => {});
      await new Promise((r) => s.once('connect', r));
      held.push(s);
    }
    const r = await fetch(`${x.url}/v1/models`, { headers: { ...auth(ADMIN_KEY), Connection: 'close' } });
    assert.equal(r.status, 200);
    await r.text();
  } finally {
    for (const s of held) s.destroy();
    await x.close();
  }
});

test('trust_proxy follows a reload: a peer added to it is no longer capped, without a restart', async () => {
  const x = await startHarness({ policy: serverKeys('max_connections_per_ip = 2') });
  const p = Number(new URL(x.url).port);
  const held: net.Socket[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const s = net.connect(p, '127.0.0.1');
      s.on('error', () => {});
      await new Promise((r) => s.once('connect', r));
      held.push(s);
    }
    await sleep(100);
    assert.match((await watch(() => {}, p)).data, /^HTTP\/1\.1 429 /);
    writeFileSync(x.policyFile, readFileSync(x.policyFile, 'utf8').replace('port = 0', 'port = 0\ntrust_proxy = ["127.0.0.1"]'));
    const r = await x.proxy.reload();
    assert.equal(r.ok, true, r.problems?.join('\n'));
    assert.deepEqual(r.restartNeeded, []);
    const ok = await fetch(`${x.url}/v1/models`, { headers: { ...auth(ADMIN_KEY), Connection: 'close' } });
    assert.equal(ok.status, 200);
    await ok.text();
  } finally {
    for (const s of held) s.destroy();
    await x.close();
  }
});
