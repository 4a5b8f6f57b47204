// Rate limiting on a real Redis (127.0.0.1:6379, or a throwaway server: tests/helpers/redis.ts): stages, shared bans, DB number, server clock, dead-store modes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Redis } from 'ioredis';
import { errorCode, section, startStageHarness, statuses, type SectionOverrides, type StageHarness } from '../../../helpers/rate-limit-stage.js';
import { TEST_REDIS_BASE } from '../../../helpers/redis.js';

const BASE = TEST_REDIS_BASE;
const T0 = 1_699_999_980_000;
const prefixes: Array<[db: number, prefix: string]> = [];

function redisSection(o: SectionOverrides, db = 0): { prefix: string; s: ReturnType<typeof section>; env: NodeJS.ProcessEnv } {
  const prefix = `lgtest:${randomBytes(4).toString('hex')}:`;
  prefixes.push([db, prefix]);
  return { prefix, s: section({ store: 'redis', key_prefix: prefix, ...o }), env: { LOLLMS_GUARD_REDIS_URL: `${BASE}/${db}` } };
}

after(async () => {
  for (const db of new Set(prefixes.map((p) => p[0]))) {
    const r = new Redis(`${BASE}/${db}`);
    for (const [d, p] of prefixes) {
      if (d !== db) continue;
      const keys = await r.keys(p + '*');
      if (keys.length) await r.del(...keys);
    }
    await r.quit();
  }
});

async function closeAll(...hs: StageHarness[]): Promise<void> {
  for (const h of hs) await h.close();
}

test('redis store through the stages: scopes, headers, token budget (streamed, estimated)', async () => {
  const clock = { t: T0 };
  const { s, env } = redisSection({ algorithm: 'sliding_window', per_user: { rate: 2, window_seconds: 1 }, tokens: { per_user_per_minute: 300 } });
  const h = await startStageHarness({ section: s, env, now: () => clock.t });
  try {
    const r1 = await h.request('/v1/x', { key: 'a' });
    assert.equal(r1.headers.get('ratelimit'), '"global";r=9999;t=60, "per_user";r=1;t=1, "per_endpoint";r=99;t=60');
    assert.deepEqual(await statuses(h, 2, '/v1/x', { key: 'a' }), [200, 429]);
    clock.t += 1000;
    const body = { messages: [{ role: 'user', content: 'x'.repeat(40) }], max_tokens: 100, stream: true };
    const ok = await h.request('/v1/chat/completions', { key: 'b', body, headers: { 'x-sim-stream': '1', 'x-sim-answer': '400' } });
    await ok.arrayBuffer();
    await h.settle();
    assert.equal(ok.status, 200);
    assert.deepEqual(h.ctxs.at(-1)?.usage, { input: 10, output: 100, estimated: true });
    const big = await h.request('/v1/chat/completions', { key: 'b', body: { ...body, max_tokens: 191 } }); // 110 + 10 + 191 > 300
    assert.equal(big.status, 429);
    assert.equal(await errorCode(big), 'token_budget_exceeded');
    assert.equal(h.rl.storeHealthy(), true);
  } finally { await h.close(); }
});

test('a ban started on one instance holds on another sharing the Redis', async () => {
  const clock = { t: T0 };
  const { s, env } = redisSection({ algorithm: 'fixed_window', per_user: { rate: 1 }, penalties: { violations_before_ban: 2, ban_duration_minutes: 1 } });
  const a = await startStageHarness({ section: s, env, now: () => clock.t });
  const b = await startStageHarness({ section: s, env, now: () => clock.t });
  try {
    assert.deepEqual(await statuses(a, 1, '/x', { key: 'k' }), [200]);
    assert.deepEqual(await statuses(b, 1, '/x', { key: 'k' }), [429]);
    const banned = await a.request('/x', { key: 'k' });
    assert.equal(await errorCode(banned), 'temporarily_banned');
    const there = await b.request('/y', { key: 'k' });
    assert.equal(there.status, 429);
    assert.equal(await errorCode(there), 'temporarily_banned');
    assert.equal(there.headers.get('retry-after'), '60');
  } finally { await closeAll(a, b); }
});

test('the database number of the Redis URL is honoured', async () => {
  const { prefix, s, env } = redisSection({ algorithm: 'fixed_window' }, 5);
  const h = await startStageHarness({ section: s, env });
  const db0 = new Redis(`${BASE}/0`);
  const db5 = new Redis(`${BASE}/5`);
  try {
    assert.equal((await h.request('/x', { key: 'a' })).status, 200);
    assert.ok((await db5.keys(prefix + '*')).length >= 3);
    assert.equal((await db0.keys(prefix + '*')).length, 0);
  } finally {
    await h.close();
    await db0.quit();
    await db5.quit();
  }
});

test('without a test clock the scripts use the Redis server clock', async () => {
  const { s, env } = redisSection({ algorithm: 'token_bucket', per_user: { rate: 1, burst: 2, window_seconds: 60 } });
  const h = await startStageHarness({ section: s, env });
  try {
    assert.deepEqual(await statuses(h, 3, '/x', { key: 'a' }), [200, 200, 429]);
    const r = await h.request('/x', { key: 'a' });
    assert.ok(Number(r.headers.get('retry-after')) >= 59 && Number(r.headers.get('retry-after')) <= 60);
  } finally { await h.close(); }
});

async function deadPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

test('Redis unreachable: fail_closed answers 503, fail_open serves locally and reports the outage once', async () => {
  const env = { LOLLMS_GUARD_REDIS_URL: `redis://127.0.0.1:${await deadPort()}` };
  const closed = await startStageHarness({ section: section({ store: 'redis', on_store_failure: 'fail_closed' }), env });
  const open = await startStageHarness({ section: section({ store: 'redis', on_store_failure: 'fail_open', algorithm: 'sliding_window', per_user: { rate: 3 } }), env });
  try {
    const r = await closed.request('/x', { key: 'a' });
    assert.equal(r.status, 503);
    assert.equal(await errorCode(r), 'rate_limit_unavailable');
    assert.equal(closed.rl.storeHealthy(), false);
    assert.deepEqual(await statuses(open, 4, '/x', { key: 'a' }), [200, 200, 200, 429]); // the same rules, locally
    assert.equal(open.events.filter((e) => e.action === 'store_outage').length, 1);
    assert.equal(open.rl.storeHealthy(), false);
  } finally { await closeAll(closed, open); }
});
