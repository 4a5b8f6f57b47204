// With store = "redis", the failed-authentication lockout is shared: failures on two instances add up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startHarness, basePolicy, auth, USER_KEY } from '../../dev/harness.js';
import { TEST_REDIS_URL } from '../helpers/redis.js';

const REDIS = TEST_REDIS_URL;

test('three failures spread over two instances on one Redis lock the client out of both', async () => {
  const prefix = `lgtest:${randomBytes(4).toString('hex')}:`;
  const policy = (u: string, d: string): string =>
    basePolicy(u, d)
      .replace('max_failed_attempts = 0', 'max_failed_attempts = 3\nlockout_duration_minutes = 1')
      .replace('[security.rate_limiting]\nenabled = false', `[security.rate_limiting]\nenabled = false\nstore = "redis"\nkey_prefix = "${prefix}"`);
  const env = { LOLLMS_GUARD_REDIS_URL: REDIS };
  const a = await startHarness({ policy, env });
  const b = await startHarness({ policy, env });
  try {
    const bad = auth('z'.repeat(40));
    await (await fetch(`${a.url}/v1/models`, { headers: bad })).text();
    await (await fetch(`${b.url}/v1/models`, { headers: bad })).text();
    const ok = await fetch(`${a.url}/v1/models`, { headers: auth(USER_KEY) });
    assert.equal(ok.status, 200, 'two failures do not lock out yet');
    await ok.text();
    await (await fetch(`${b.url}/v1/models`, { headers: bad })).text();
    for (const x of [a, b]) {
      const r = await fetch(`${x.url}/v1/models`, { headers: auth(USER_KEY) });
      assert.equal(r.status, 429, 'locked on every instance');
      assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'client_locked_out');
      assert.ok(Number(r.headers.get('retry-after')) > 50);
    }
  } finally {
    await a.close();
    await b.close();
  }
});
