// Authentication lockout: max_failed_attempts failures from one client IP lock that IP out, even with a valid key.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, basePolicy, auth, ADMIN_KEY, USER_KEY, type Harness } from '../../dev/harness.js';
import { errorOf, eventsOf, sleep } from '../helpers/http.js';

/** basePolicy with a lockout after `max` failures for `minutes`, and optionally a trusted local reverse proxy. */
function lockoutPolicy(max: number, minutes: number, trustLocal: boolean): (u: string, d: string) => string {
  return (u, d) => {
    let p = basePolicy(u, d).replace('max_failed_attempts = 0', `max_failed_attempts = ${max}\nlockout_duration_minutes = ${minutes}`);
    if (trustLocal) p = p.replace('[server]\n', '[server]\ntrust_proxy = ["127.0.0.1/32"]\n');
    return p;
  };
}

const open: Harness[] = [];
after(async () => {
  for (const x of open) await x.close();
});
async function harness(max: number, minutes: number, trustLocal: boolean): Promise<Harness> {
  const x = await startHarness({ policy: lockoutPolicy(max, minutes, trustLocal) });
  open.push(x);
  return x;
}
const models = (x: Harness, headers: Record<string, string>): Promise<Response> => fetch(`${x.url}/v1/models`, { headers });

test('three failures lock the client IP out for lockout_duration_minutes: 429 client_locked_out with Retry-After, even with a valid key', async () => {
  const h = await harness(3, 15, false);
  const failures: Array<Record<string, string>> = [auth('w'.repeat(40)), {}, { 'X-API-Key': 'z'.repeat(48) }];
  for (const headers of failures) {
    const r = await models(h, headers);
    assert.equal(r.status, 401, 'failures before the lockout are plain 401s');
    await r.text();
  }
  const before = h.double.requests.length;
  for (const key of [USER_KEY, ADMIN_KEY]) {
    const r = await models(h, auth(key));
    const e = await errorOf(r);
    assert.equal(e.status, 429);
    assert.equal(e.code, 'client_locked_out');
    assert.equal(e.type, 'rate_limit_error');
    const retry = Number(r.headers.get('retry-after'));
    assert.ok(retry > 890 && retry <= 900, `Retry-After ${r.headers.get('retry-after')} should be about 15 minutes`);
  }
  assert.equal(h.double.requests.length, before, 'a locked-out client never reaches the upstream');
  const lock = eventsOf(await h.auditLines(), 'lockout');
  assert.equal(lock.length, 1, 'one lockout event');
  assert.equal(lock[0].source?.ip, '127.0.0.1');
});

test('fewer failures than the threshold do not lock out', async () => {
  const h = await harness(3, 15, false);
  for (let i = 0; i < 2; i++) await (await models(h, auth('w'.repeat(40)))).text();
  const r = await models(h, auth(USER_KEY));
  assert.equal(r.status, 200);
  await r.text();
});

test('the lockout is per client IP (trusted X-Forwarded-For) and ends after lockout_duration_minutes', async () => {
  const h = await harness(3, 0.02, true); // 1.2 s
  const A = { 'X-Forwarded-For': '203.0.113.10' };
  const B = { 'X-Forwarded-For': '203.0.113.11' };
  for (let i = 0; i < 3; i++) await (await models(h, auth('w'.repeat(40), A))).text();
  const locked = await models(h, auth(USER_KEY, A));
  assert.equal(locked.status, 429);
  assert.equal((await errorOf(locked)).code, 'client_locked_out');
  assert.ok(['1', '2'].includes(String(locked.headers.get('retry-after'))), `Retry-After ${locked.headers.get('retry-after')} for a 1.2 s lockout`);
  const other = await models(h, auth(USER_KEY, B));
  assert.equal(other.status, 200, 'another client address is not locked');
  await other.text();
  const lock = eventsOf(await h.auditLines(), 'lockout');
  assert.equal(lock.length, 1);
  assert.equal(lock[0].source?.ip, '203.0.113.10', 'the audit names the locked client, not the reverse proxy');
  await sleep(1300);
  const again = await models(h, auth(USER_KEY, A));
  assert.equal(again.status, 200, 'the lockout is over after lockout_duration_minutes');
  await again.text();
});

test('max_failed_attempts = 0 never locks out', async () => {
  const h = await startHarness();
  open.push(h);
  for (let i = 0; i < 8; i++) await (await models(h, auth('w'.repeat(40)))).text();
  const r = await models(h, auth(USER_KEY));
  assert.equal(r.status, 200);
  await r.text();
});
