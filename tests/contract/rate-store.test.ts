// Contract suite for rate-limit stores: the same stepped-clock cases run against MemoryStore and RedisStore (real Redis).
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { MemoryStore } from '../../proxy/stores/memory.js';
import { RedisStore } from '../../proxy/stores/redis.js';
import type { HitResult, LimitHit, LimitRule, Penalty, RateStore } from '../../kernel/rate-store.js';
import { TEST_REDIS_URL } from '../helpers/redis.js';

const REDIS_URL = TEST_REDIS_URL;
const T0 = 1_700_000_000_000; // a multiple of 1000: window-aligned

interface Fixture { store: RateStore; clock: { t: number }; p: string }
type Factory = (now: () => number) => RateStore;

const tb = (rate: number, burst: number, windowMs = 1000): LimitRule => ({ algorithm: 'token_bucket', rate, burst, windowMs });
const sw = (rate: number, windowMs = 1000): LimitRule => ({ algorithm: 'sliding_window', rate, burst: rate, windowMs });
const fw = (rate: number, windowMs = 1000): LimitRule => ({ algorithm: 'fixed_window', rate, burst: rate, windowMs });
const kinds = (rs: HitResult[]): string => rs.map((r) => r.kind[0]).join('');

async function hitN(f: Fixture, hits: LimitHit[], n: number, penalty?: Penalty): Promise<HitResult[]> {
  const out: HitResult[] = [];
  for (let i = 0; i < n; i++) out.push(await f.store.hit(hits, penalty));
  return out;
}

function contractSuite(name: string, make: Factory, cleanup: (prefix: string) => Promise<void>): void {
  describe(`rate store contract: ${name}`, () => {
    const stores: RateStore[] = [];
    const prefixes: string[] = [];
    const fixture = (): Fixture => {
      const clock = { t: T0 };
      const store = make(() => clock.t);
      const p = `lgtest:${randomBytes(4).toString('hex')}:`;
      stores.push(store);
      prefixes.push(p);
      return { store, clock, p };
    };
    after(async () => {
      for (const p of prefixes) await cleanup(p);
      for (const s of stores) await s.close();
    });

    test('token_bucket: burst, then refill at rate per window, never above burst', async () => {
      const f = fixture();
      const h = [{ key: f.p + 'tb', rule: tb(2, 3) }]; // 2 per 1000 ms: one token per 500 ms
      assert.equal(kinds(await hitN(f, h, 4)), 'aaal');
      f.clock.t += 250;
      const r = await f.store.hit(h, undefined);
      assert.equal(r.kind, 'limited');
      assert.equal(r.kind === 'limited' && r.retryAfterMs, 250);
      f.clock.t += 250;
      assert.equal(kinds(await hitN(f, h, 2)), 'al');
      f.clock.t += 60_000;
      assert.equal(kinds(await hitN(f, h, 4)), 'aaal');
    });

    test('fixed_window: rate per aligned window, fresh count at the edge', async () => {
      const f = fixture();
      const h = [{ key: f.p + 'fw', rule: fw(3) }];
      f.clock.t = T0 + 900;
      const rs = await hitN(f, h, 4);
      assert.equal(kinds(rs), 'aaal');
      assert.equal(rs[3].kind === 'limited' && rs[3].retryAfterMs, 100);
      f.clock.t = T0 + 1000;
      assert.equal(kinds(await hitN(f, h, 4)), 'aaal'); // fixed windows allow 2x rate across an edge
    });

    test('sliding_window: no double burst across a window edge', async () => {
      const f = fixture();
      const h = [{ key: f.p + 'sw', rule: sw(3) }];
      f.clock.t = T0 + 900;
      assert.equal(kinds(await hitN(f, h, 3)), 'aaa');
      f.clock.t = T0 + 1000;
      const r = await f.store.hit(h, undefined);
      assert.equal(r.kind === 'limited' && r.retryAfterMs, 900);
      f.clock.t = T0 + 1899;
      assert.equal((await f.store.hit(h, undefined)).kind, 'limited');
      f.clock.t = T0 + 1900;
      assert.equal(kinds(await hitN(f, h, 4)), 'aaal');
    });

    test('all-or-nothing: a refusal by one limit consumes no other', async () => {
      const f = fixture();
      const wide = { key: f.p + 'wide', rule: fw(5) };
      const narrow = { key: f.p + 'narrow', rule: fw(1) };
      assert.equal((await f.store.hit([wide, narrow], undefined)).kind, 'allowed');
      const r = await f.store.hit([wide, narrow], undefined);
      assert.equal(r.kind, 'limited');
      if (r.kind !== 'limited') return;
      assert.equal(r.index, 1);
      assert.deepEqual(r.states.map((s) => s.remaining), [4, 0]);
      assert.equal(kinds(await hitN(f, [wide], 5)), 'aaaal'); // 1 used by the first call only
    });

    test('RateLimit state: remaining and reset per limit', async () => {
      const f = fixture();
      const r = await f.store.hit([{ key: f.p + 'a', rule: tb(10, 5, 10_000) }, { key: f.p + 'b', rule: fw(4, 2000) }], undefined);
      assert.equal(r.kind, 'allowed');
      if (r.kind !== 'allowed') return;
      assert.deepEqual(r.states, [{ remaining: 4, resetMs: 1000 }, { remaining: 3, resetMs: 2000 }]);
    });

    test('penalties: the threshold-th violation within the span starts a ban that blocks every hit', async () => {
      const f = fixture();
      const pen: Penalty = { banKey: f.p + 'ban', violationsKey: f.p + 'viol', threshold: 3, banMs: 10_000 };
      const h = [{ key: f.p + 'x', rule: fw(1, 60_000) }];
      const rs = await hitN(f, h, 4, pen);
      assert.equal(kinds(rs), 'alll');
      assert.deepEqual(rs.slice(1).map((r) => r.kind === 'limited' && r.banStarted), [false, false, true]);
      f.clock.t += 4000;
      const b = await f.store.hit([{ key: f.p + 'other', rule: fw(100) }], pen);
      assert.deepEqual(b, { kind: 'banned', retryAfterMs: 6000 });
      assert.equal(await f.store.banTtl(pen.banKey), 6000);
      f.clock.t += 6000;
      assert.equal(await f.store.banTtl(pen.banKey), 0);
      assert.equal((await f.store.hit([{ key: f.p + 'other', rule: fw(100) }], pen)).kind, 'allowed');
    });

    test('penalties: violations older than the span do not count; threshold 0 never bans', async () => {
      const f = fixture();
      const pen: Penalty = { banKey: f.p + 'ban', violationsKey: f.p + 'viol', threshold: 2, banMs: 1000 };
      const h = [{ key: f.p + 'x', rule: fw(1, 600_000) }];
      assert.equal(kinds(await hitN(f, h, 2, pen)), 'al');
      f.clock.t += 1500;
      const r = await f.store.hit(h, pen);
      assert.equal(r.kind === 'limited' && r.banStarted, false);
      const never: Penalty = { ...pen, banKey: f.p + 'ban0', violationsKey: f.p + 'viol0', threshold: 0 };
      const rs = await hitN(f, h, 20, never);
      assert.ok(rs.every((x) => x.kind === 'limited' && !x.banStarted));
    });

    test('budget: reserve, refuse what does not fit, settle to the real amount', async () => {
      const f = fixture();
      const ask = { key: f.p + 'tok', budget: 100, windowMs: 60_000 };
      assert.deepEqual(await f.store.reserve({ ...ask, id: 'r1', amount: 60 }, undefined), { allowed: true, remaining: 40, retryAfterMs: 0, banStarted: false });
      const no = await f.store.reserve({ ...ask, id: 'r2', amount: 50 }, undefined);
      assert.equal(no.allowed, false);
      assert.equal(no.remaining, 40);
      await f.store.settle(ask.key, 'r1', 20, ask.windowMs);
      assert.equal((await f.store.reserve({ ...ask, id: 'r3', amount: 50 }, undefined)).remaining, 30);
      f.clock.t += 20_000;
      await f.store.settle(ask.key, 'r3', 80, ask.windowMs); // now 20 (t0) + 80 (t0+20s) = 100
      const full = await f.store.reserve({ ...ask, id: 'r4', amount: 1 }, undefined);
      assert.deepEqual([full.allowed, full.remaining, full.retryAfterMs], [false, 0, 40_000]);
      f.clock.t += 40_000; // the first charge expires
      assert.equal((await f.store.reserve({ ...ask, id: 'r5', amount: 20 }, undefined)).allowed, true);
    });

    test('budget: settles issued together (one batch on Redis) each land, on their own keys, the same id twice in order', async () => {
      const f = fixture();
      const ask = { budget: 1000, windowMs: 60_000 };
      const keys = [f.p + 'tokA', f.p + 'tokB', f.p + 'tokC'];
      for (const [i, key] of keys.entries()) {
        for (let j = 0; j < 3; j++) assert.equal((await f.store.reserve({ ...ask, key, id: `${i}.${j}`, amount: 100 }, undefined)).allowed, true);
      }
      // Nine settles in one turn of the event loop, and one id settled twice: the later amount stands.
      const settles: Array<Promise<void>> = [];
      for (const [i, key] of keys.entries()) for (let j = 0; j < 3; j++) settles.push(f.store.settle(key, `${i}.${j}`, 10 * (i + 1) + j, ask.windowMs));
      settles.push(f.store.settle(keys[2]!, '2.2', 1, ask.windowMs));
      await Promise.all(settles);
      const left = async (key: string): Promise<number> => (await f.store.reserve({ ...ask, key, id: `probe-${key}`, amount: 0 }, undefined)).remaining;
      assert.deepEqual([await left(keys[0]!), await left(keys[1]!), await left(keys[2]!)], [1000 - 33, 1000 - 63, 1000 - (30 + 31 + 1)]);
    });

    test('budget: a reservation made right after a settle (not awaited) sees it', async () => {
      const f = fixture();
      const ask = { key: f.p + 'tok', budget: 100, windowMs: 60_000 };
      assert.equal((await f.store.reserve({ ...ask, id: 'a', amount: 90 }, undefined)).allowed, true);
      const settled = f.store.settle(ask.key, 'a', 10, ask.windowMs);
      const next = await f.store.reserve({ ...ask, id: 'b', amount: 80 }, undefined);
      await settled;
      assert.deepEqual([next.allowed, next.remaining], [true, 10]);
    });

    test('budget: pending reservations hold past the window; over-budget asks wait a window', async () => {
      const f = fixture();
      const ask = { key: f.p + 'tok', budget: 100, windowMs: 60_000 };
      assert.equal((await f.store.reserve({ ...ask, id: 'long', amount: 90 }, undefined)).allowed, true);
      f.clock.t += 120_000;
      assert.equal((await f.store.reserve({ ...ask, id: 'b', amount: 20 }, undefined)).allowed, false);
      const huge = await f.store.reserve({ ...ask, id: 'c', amount: 101 }, undefined);
      assert.deepEqual([huge.allowed, huge.retryAfterMs], [false, 60_000]);
      await f.store.settle(ask.key, 'long', 0, ask.windowMs);
      assert.equal((await f.store.reserve({ ...ask, id: 'd', amount: 100 }, undefined)).allowed, true);
    });

    test('budget: refusals are violations and can start a ban', async () => {
      const f = fixture();
      const pen: Penalty = { banKey: f.p + 'ban', violationsKey: f.p + 'viol', threshold: 2, banMs: 5000 };
      const ask = { key: f.p + 'tok', budget: 10, windowMs: 60_000, amount: 11 };
      assert.equal((await f.store.reserve({ ...ask, id: '1' }, pen)).banStarted, false);
      assert.equal((await f.store.reserve({ ...ask, id: '2' }, pen)).banStarted, true);
      assert.equal(await f.store.banTtl(pen.banKey), 5000);
    });
  });
}

contractSuite('memory', (now) => new MemoryStore({ now }), async () => {});

const admin = new Redis(REDIS_URL, { lazyConnect: true });
contractSuite('redis', (now) => new RedisStore({ url: REDIS_URL, now }), async (prefix) => {
  const keys = await admin.keys(prefix + '*');
  if (keys.length) await admin.del(...keys);
});
after(async () => { await admin.quit().catch(() => {}); });

test('redis store: settles of one turn of the event loop go to Redis as one script call', async () => {
  const store = new RedisStore({ url: REDIS_URL });
  const p = `lgtest:${randomBytes(4).toString('hex')}:`;
  try {
    const ask = { key: p + 'tok', budget: 1000, windowMs: 60_000, amount: 50 };
    for (let i = 0; i < 5; i++) await store.reserve({ ...ask, id: String(i) }, undefined);
    // The store's own client, watched (not replaced): every command it sends still goes to the real Redis.
    const client = store.client as unknown as { sendCommand(c: { name: string; args: unknown[] }): unknown };
    const sent: string[] = [];
    const real = client.sendCommand.bind(client);
    client.sendCommand = (c) => { sent.push(String(c.name)); return real(c); };
    await Promise.all([0, 1, 2, 3, 4].map((i) => store.settle(ask.key, String(i), i, ask.windowMs)));
    assert.equal(sent.filter((n) => n === 'evalsha' || n === 'eval').length, 1, sent.join(' '));
    assert.equal((await store.reserve({ ...ask, id: 'after', amount: 0 }, undefined)).remaining, 1000 - (0 + 1 + 2 + 3 + 4));
    // An amount Redis would refuse fails that settle alone; the rest of its batch lands.
    const bad = store.settle(ask.key, '0', Number.NaN, ask.windowMs);
    const good = store.settle(ask.key, '1', 100, ask.windowMs);
    await assert.rejects(bad, RangeError);
    await good;
    assert.equal((await store.reserve({ ...ask, id: 'after2', amount: 0 }, undefined)).remaining, 1000 - (0 + 100 + 2 + 3 + 4));
  } finally {
    const keys = await admin.keys(p + '*');
    if (keys.length) await admin.del(...keys);
    await store.close();
  }
});
