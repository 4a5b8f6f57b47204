// The failed-authentication lockout: the Nth failure locks, an IPv6 /64 counts as one client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clientKey, createLockouts } from '../../../policies/lockout.js';
import type { AuthenticationSection, RateLimitingSection } from '../../../kernel/policy.js';

const auth = { max_failed_attempts: 3, lockout_duration_minutes: 1 } as AuthenticationSection;
const rl = { store: 'memory', key_prefix: 'test:' } as RateLimitingSection;

test('the max_failed_attempts-th failure starts the lockout, once', async () => {
  const l = createLockouts(auth, rl, {});
  assert.equal(await l.fail('203.0.113.5'), false);
  assert.equal(await l.fail('203.0.113.5'), false);
  assert.equal(await l.lockedFor('203.0.113.5'), 0);
  assert.equal(await l.fail('203.0.113.5'), true);
  assert.ok((await l.lockedFor('203.0.113.5')) > 55_000);
  assert.equal(await l.lockedFor('203.0.113.6'), 0);
});

test('addresses of one IPv6 /64 share a count; v4-mapped addresses are their IPv4', async () => {
  assert.equal(clientKey('2001:db8:1:2:aaaa::1'), clientKey('2001:db8:1:2:ffff::9'));
  assert.notEqual(clientKey('2001:db8:1:2::1'), clientKey('2001:db8:1:3::1'));
  assert.equal(clientKey('::ffff:192.0.2.1'), '192.0.2.1');
  const l = createLockouts(auth, rl, {});
  await l.fail('2001:db8:1:2::a');
  await l.fail('2001:db8:1:2::b');
  await l.fail('2001:db8:1:2::c');
  assert.ok((await l.lockedFor('2001:db8:1:2::d')) > 0);
});

test('max_failed_attempts = 0 never locks', async () => {
  const l = createLockouts({ ...auth, max_failed_attempts: 0 }, rl, {});
  for (let i = 0; i < 10; i++) assert.equal(await l.fail('198.51.100.1'), false);
  assert.equal(await l.lockedFor('198.51.100.1'), 0);
});

test('on Redis the per-request check reads what rate-limiter-flexible reads, and the memory count while Redis is away', async () => {
  const { Redis } = await import('ioredis');
  const { RateLimiterRedis } = await import('rate-limiter-flexible');
  const { TEST_REDIS_URL } = await import('../../helpers/redis.js');
  const prefix = `test-lockout-${process.pid}-${Date.now()}:`;
  const client = new Redis(TEST_REDIS_URL);
  try {
    const section = { ...rl, store: 'redis', key_prefix: prefix } as RateLimitingSection;
    const l = createLockouts(auth, section, { storeClient: client });
    const reference = new RateLimiterRedis({ storeClient: client, points: 3, duration: 60, keyPrefix: `${prefix}auth-fail` });
    const expected = async (ip: string): Promise<number> => {
      const r = await reference.get(ip);
      return r && r.consumedPoints > 3 ? r.msBeforeNext : 0;
    };
    const ip = '203.0.113.9';
    assert.equal(await l.lockedFor(ip), 0, 'no key yet');
    for (let i = 0; i < 2; i++) await l.fail(ip);
    assert.equal(await l.lockedFor(ip), 0, 'under the limit');
    assert.equal(await expected(ip), 0);
    assert.equal(await l.fail(ip), true);
    const [mine, theirs] = [await l.lockedFor(ip), await expected(ip)];
    assert.ok(mine > 55_000 && Math.abs(mine - theirs) < 1000, `${mine} vs ${theirs}`);
    // A counter over the limit without an expiry: the same -1 rate-limiter-flexible answers.
    await client.set(`${prefix}auth-fail:198.51.100.3`, '9');
    assert.equal(await l.lockedFor('198.51.100.3'), await expected('198.51.100.3'));
    // Redis gone: the failures counted meanwhile (in the insurance memory limiter) still lock.
    client.disconnect();
    const other = '198.51.100.4';
    for (let i = 0; i < 3; i++) await l.fail(other);
    assert.ok((await l.lockedFor(other)) > 55_000);
    assert.equal(await l.lockedFor('198.51.100.5'), 0);
  } finally {
    const c = new Redis(TEST_REDIS_URL);
    const keys = await c.keys(`${prefix}*`);
    if (keys.length) await c.del(...keys);
    await c.quit();
    client.disconnect();
  }
});
