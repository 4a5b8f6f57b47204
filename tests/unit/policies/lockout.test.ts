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
