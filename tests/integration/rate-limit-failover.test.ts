// Redis stopped under load and started again (a throwaway redis-server): fail_open serves locally then shares again; fail_closed 503s then recovers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { freePort } from '../helpers/net.js';
import { section, startStageHarness, statuses, type StageHarness } from '../helpers/rate-limit-stage.js';


async function waitFor(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A private redis-server child on a fixed port: stop() kills it, start() brings a fresh one back on the same port. */
class ThrowawayRedis {
  private child: ChildProcess | undefined;
  constructor(readonly port: number) {}
  get url(): string { return `redis://127.0.0.1:${this.port}`; }
  async start(): Promise<void> {
    this.child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], { stdio: 'ignore' });
    const probe = new Redis(this.url, { lazyConnect: true, retryStrategy: () => 20, maxRetriesPerRequest: 0, enableOfflineQueue: false });
    probe.on('error', () => {});
    await waitFor(async () => {
      try { if (probe.status === 'wait') await probe.connect(); return (await probe.ping()) === 'PONG'; } catch { return false; }
    });
    probe.disconnect();
  }
  /** Freeze / thaw the server: the connection stays up but nothing answers (commands time out). */
  signal(sig: 'SIGSTOP' | 'SIGCONT'): void { this.child?.kill(sig); }
  async stop(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((r) => { c.once('exit', () => r()); c.kill('SIGKILL'); c.kill('SIGCONT'); });
  }
}

/** Requests with a fresh key each time (never limited) until stopped; returns every status seen. */
function backgroundLoad(h: StageHarness): { readonly seen: readonly number[]; stop(): Promise<number[]> } {
  const seen: number[] = [];
  let running = true;
  let i = 0;
  const loop = (async () => {
    while (running) {
      const r = await h.request('/load', { key: `load-${i++}` });
      await r.arrayBuffer();
      seen.push(r.status);
      await new Promise((res) => setTimeout(res, 3));
    }
  })();
  return { seen, async stop() { running = false; await loop; return seen; } };
}

test('fail_open: local limits while Redis is away (audited once), shared counting again after it returns', async () => {
  const redis = new ThrowawayRedis(await freePort());
  await redis.start();
  const s = section({ store: 'redis', on_store_failure: 'fail_open', algorithm: 'sliding_window', per_user: { rate: 4, window_seconds: 60 } });
  const env = { LOLLMS_GUARD_REDIS_URL: redis.url };
  const a = await startStageHarness({ section: s, env });
  const b = await startStageHarness({ section: s, env });
  try {
    assert.deepEqual(await statuses(a, 2, '/x', { key: 'k' }), [200, 200]);
    assert.deepEqual(await statuses(b, 3, '/x', { key: 'k' }), [200, 200, 429]); // one shared limit
    const load = backgroundLoad(a);
    await new Promise((r) => setTimeout(r, 50));
    await redis.stop();
    await waitFor(() => !a.rl.storeHealthy());
    assert.deepEqual(await statuses(a, 5, '/x', { key: 'k' }), [200, 200, 200, 200, 429]); // same rules, per instance
    assert.deepEqual(await statuses(b, 5, '/x', { key: 'k' }), [200, 200, 200, 200, 429]);
    await redis.start();
    await waitFor(() => a.rl.storeHealthy() && b.rl.storeHealthy());
    const seen = await load.stop();
    assert.ok(seen.length > 10 && seen.every((x) => x === 200), `load statuses: ${[...new Set(seen)]}`);
    for (const h of [a, b]) {
      assert.deepEqual(h.events.filter((e) => e.action.startsWith('store_')).map((e) => e.action), ['store_outage', 'store_recovered']);
    }
    assert.deepEqual(await statuses(a, 2, '/x', { key: 'k' }), [200, 200]); // the restarted Redis is empty
    assert.deepEqual(await statuses(b, 3, '/x', { key: 'k' }), [200, 200, 429]); // and shared again
  } finally {
    await a.close();
    await b.close();
    await redis.stop();
  }
});

test('fail_closed: 503 while Redis is away, serving again by itself when it returns', async () => {
  const redis = new ThrowawayRedis(await freePort());
  await redis.start();
  const s = section({ store: 'redis', on_store_failure: 'fail_closed' });
  const h = await startStageHarness({ section: s, env: { LOLLMS_GUARD_REDIS_URL: redis.url } });
  try {
    assert.deepEqual(await statuses(h, 2, '/x', { key: 'k' }), [200, 200]);
    const load = backgroundLoad(h);
    await new Promise((r) => setTimeout(r, 50));
    await redis.stop();
    await waitFor(() => !h.rl.storeHealthy());
    const during = await h.request('/x', { key: 'k' });
    assert.equal(during.status, 503);
    assert.equal(during.headers.get('retry-after'), '1');
    await redis.start();
    await waitFor(() => h.rl.storeHealthy());
    // A load request decided just before the recovery may still answer 503: wait for the first one after it.
    const settled = load.seen.length;
    await waitFor(() => load.seen.length > settled + 1);
    const seen = await load.stop();
    assert.ok(seen.includes(503) && seen.includes(200) && seen.every((x) => x === 200 || x === 503), `load statuses: ${[...new Set(seen)]}`);
    assert.equal(seen.at(-1), 200);
    assert.deepEqual(await statuses(h, 2, '/x', { key: 'k' }), [200, 200]);
    assert.deepEqual(h.events.map((e) => e.action), ['store_outage', 'store_recovered']);
  } finally {
    await h.close();
    await redis.stop();
  }
});

test('a hung Redis (connected, silent): commands time out, fail_open serves locally, recovery is noticed by a probe', async () => {
  const redis = new ThrowawayRedis(await freePort());
  await redis.start();
  const s = section({ store: 'redis', on_store_failure: 'fail_open', algorithm: 'fixed_window', per_user: { rate: 100 } });
  const h = await startStageHarness({ section: s, env: { LOLLMS_GUARD_REDIS_URL: redis.url } });
  try {
    assert.deepEqual(await statuses(h, 1, '/x', { key: 'k' }), [200]);
    redis.signal('SIGSTOP');
    const t0 = Date.now();
    assert.deepEqual(await statuses(h, 1, '/x', { key: 'k' }), [200]); // waited for the command timeout
    assert.ok(Date.now() - t0 < 1500);
    assert.equal(h.rl.storeHealthy(), false);
    const t1 = Date.now();
    assert.deepEqual(await statuses(h, 5, '/x', { key: 'k' }), [200, 200, 200, 200, 200]);
    assert.ok(Date.now() - t1 < 400, 'while down, requests do not wait for Redis');
    redis.signal('SIGCONT');
    await waitFor(async () => { await statuses(h, 1, '/x', { key: 'k' }); return h.rl.storeHealthy(); });
    assert.deepEqual(h.events.map((e) => e.action), ['store_outage', 'store_recovered']);
  } finally {
    await h.close();
    await redis.stop();
  }
});

test('Redis down when the proxy starts: served locally (fail_open), shared once Redis comes up', async () => {
  const redis = new ThrowawayRedis(await freePort());
  const s = section({ store: 'redis', on_store_failure: 'fail_open', algorithm: 'sliding_window', per_user: { rate: 2 } });
  const h = await startStageHarness({ section: s, env: { LOLLMS_GUARD_REDIS_URL: redis.url } });
  try {
    assert.deepEqual(await statuses(h, 3, '/x', { key: 'k' }), [200, 200, 429]);
    assert.equal(h.rl.storeHealthy(), false);
    await redis.start();
    await waitFor(() => h.rl.storeHealthy());
    assert.deepEqual(await statuses(h, 3, '/x', { key: 'k' }), [200, 200, 429]); // fresh shared counter
    const probe = new Redis(redis.url);
    assert.ok((await probe.keys('lollms-guard:rl:sw:u:*')).length === 1);
    probe.disconnect();
  } finally {
    await h.close();
    await redis.stop();
  }
});
