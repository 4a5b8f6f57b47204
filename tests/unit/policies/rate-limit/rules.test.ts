// Rate-limit stage: scopes, algorithms on a stepped clock, penalties, headers, bypass, exemptions, audit events (memory store).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorCode, section, startStageHarness, statuses, type StageHarness, type StageHarnessOptions } from '../../../helpers/rate-limit-stage.js';

const T0 = 1_699_999_980_000; // a multiple of 60 000: every test window starts here

async function withHarness(o: StageHarnessOptions, fn: (h: StageHarness, clock: { t: number }) => Promise<void>): Promise<void> {
  const clock = { t: T0 };
  const h = await startStageHarness({ now: () => clock.t, ...o });
  try { await fn(h, clock); } finally { await h.close(); }
}

test('global counts every client together', () => withHarness({ section: section({ algorithm: 'fixed_window', global: { rate: 3, window_seconds: 60 } }) }, async (h) => {
  assert.deepEqual(await statuses(h, 2, '/v1/models', { key: 'alice' }), [200, 200]);
  assert.deepEqual(await statuses(h, 2, '/v1/models', { key: 'bob', ip: '10.9.9.9' }), [200, 429]);
  assert.deepEqual(h.events.at(-1), { action: 'rate_limit_exceeded', scope: 'global', rule: 'security.rate_limiting.global', identity: 'bob', retryAfterSeconds: 60 });
}));

test('per_user by api_key: each key its own counter; without a key, the IP', () => withHarness({ section: section({ algorithm: 'fixed_window', per_user: { rate: 2 } }) }, async (h) => {
  assert.deepEqual(await statuses(h, 3, '/x', { key: 'alice', ip: '10.0.0.1' }), [200, 200, 429]);
  assert.deepEqual(await statuses(h, 2, '/x', { key: 'bob', ip: '10.0.0.1' }), [200, 200]);
  assert.deepEqual(await statuses(h, 3, '/x', { ip: '10.0.0.7' }), [200, 200, 429]);
  assert.equal(h.events.at(-1)?.identity, '10.0.0.7');
}));

test('per_user by ip: keys behind one address share; X-Forwarded-For from the client changes nothing', () => withHarness({ section: section({ algorithm: 'fixed_window', per_user: { rate: 2, track_by: 'ip' } }) }, async (h) => {
  const spoof = (n: number) => ({ 'x-forwarded-for': `203.0.113.${n}` }); // ctx.clientIp is what the core resolved
  assert.equal((await statuses(h, 1, '/x', { key: 'alice', ip: '10.1.1.1', headers: spoof(1) }))[0], 200);
  assert.equal((await statuses(h, 1, '/x', { key: 'bob', ip: '10.1.1.1', headers: spoof(2) }))[0], 200);
  assert.equal((await statuses(h, 1, '/x', { key: 'carol', ip: '10.1.1.1', headers: spoof(3) }))[0], 429);
  assert.equal((await statuses(h, 1, '/x', { key: 'alice', ip: '10.1.1.2' }))[0], 200);
}));

test('per_endpoint: first matching glob applies, defaults per other path, counted per client', () => withHarness({
  section: section({
    algorithm: 'fixed_window',
    per_endpoint: { default_rate: 3 },
    endpoints: [{ path: '/v1/chat/*', rate: 1 }, { path: '/v1/**', rate: 2 }],
  }),
}, async (h) => {
  assert.deepEqual(await statuses(h, 2, '/v1/chat/completions', { key: 'a' }), [200, 429]);
  assert.deepEqual([h.events.at(-1)?.rule, h.events.at(-1)?.endpoint], ['security.rate_limiting.endpoints', '/v1/chat/*']);
  assert.deepEqual(await statuses(h, 3, '/v1/embeddings', { key: 'a' }), [200, 200, 429]);
  assert.deepEqual([h.events.at(-1)?.rule, h.events.at(-1)?.endpoint], ['security.rate_limiting.endpoints', '/v1/**']);
  assert.deepEqual(await statuses(h, 4, '/api/chat', { key: 'a' }), [200, 200, 200, 429]);
  assert.deepEqual([h.events.at(-1)?.rule, h.events.at(-1)?.endpoint], ['security.rate_limiting.per_endpoint', undefined]);
  assert.deepEqual(await statuses(h, 2, '/v1/chat/completions', { key: 'b' }), [200, 429]);
}));

test('a request passes only if every scope allows; a refused one consumes nothing', () => withHarness({
  section: section({ algorithm: 'fixed_window', global: { rate: 4 }, per_user: { rate: 2 } }),
}, async (h) => {
  assert.deepEqual(await statuses(h, 5, '/x', { key: 'a' }), [200, 200, 429, 429, 429]); // per_user refuses 3
  assert.deepEqual(await statuses(h, 2, '/x', { key: 'b' }), [200, 200]); // global still has 2
  assert.deepEqual(await statuses(h, 1, '/x', { key: 'c' }), [429]);
  assert.equal(h.events.at(-1)?.scope, 'global');
}));

test('token_bucket through the stage: burst, then refill per window_seconds', () => withHarness({ section: section({ per_user: { rate: 2, burst: 3, window_seconds: 1 } }) }, async (h, clock) => {
  assert.deepEqual(await statuses(h, 4, '/x', { key: 'a' }), [200, 200, 200, 429]);
  clock.t += 500;
  assert.deepEqual(await statuses(h, 2, '/x', { key: 'a' }), [200, 429]);
  clock.t += 10_000;
  assert.deepEqual(await statuses(h, 4, '/x', { key: 'a' }), [200, 200, 200, 429]);
}));

test('sliding_window through the stage: no double burst at the window edge (fixed_window allows it)', async () => {
  for (const [algorithm, expected] of [['sliding_window', [429, 429]], ['fixed_window', [200, 200]]] as const) {
    await withHarness({ section: section({ algorithm, per_user: { rate: 2, window_seconds: 1 } }) }, async (h, clock) => {
      clock.t = T0 + 990;
      assert.deepEqual(await statuses(h, 2, '/x', { key: 'a' }), [200, 200]);
      clock.t = T0 + 1000;
      assert.deepEqual(await statuses(h, 2, '/x', { key: 'a' }), expected, algorithm);
    });
  }
});

test('headers: RateLimit-Policy and RateLimit on limited routes, Retry-After on 429', () => withHarness({
  section: section({ algorithm: 'fixed_window', global: { rate: 100, window_seconds: 60 }, per_user: { rate: 2, window_seconds: 10 }, per_endpoint: { default_rate: 5, window_seconds: 30 } }),
}, async (h, clock) => {
  clock.t = T0 + 4000;
  const ok = await h.request('/x', { key: 'a' });
  assert.equal(ok.headers.get('ratelimit-policy'), '"global";q=100;w=60, "per_user";q=2;w=10, "per_endpoint";q=5;w=30');
  assert.equal(ok.headers.get('ratelimit'), '"global";r=99;t=56, "per_user";r=1;t=6, "per_endpoint";r=4;t=26');
  assert.equal(ok.headers.get('retry-after'), null);
  await h.request('/x', { key: 'a' });
  const no = await h.request('/x', { key: 'a' });
  assert.equal(no.status, 429);
  assert.equal(no.headers.get('retry-after'), '6');
  assert.equal(no.headers.get('ratelimit'), '"global";r=98;t=56, "per_user";r=0;t=6, "per_endpoint";r=3;t=26');
  assert.equal(await errorCode(no), 'rate_limited');
}));

test('penalties: the n-th violation within ban_duration bans the identity on every route, then it ends', () => withHarness({
  section: section({ algorithm: 'fixed_window', per_endpoint: { default_rate: 1, window_seconds: 3600 }, penalties: { violations_before_ban: 3, ban_duration_minutes: 2 } }),
}, async (h, clock) => {
  assert.deepEqual(await statuses(h, 3, '/a', { key: 'mallory' }), [200, 429, 429]);
  const third = await h.request('/a', { key: 'mallory' });
  assert.equal(third.status, 429);
  assert.equal(await errorCode(third), 'temporarily_banned');
  assert.equal(third.headers.get('retry-after'), '120');
  assert.deepEqual(h.events.filter((e) => e.action === 'ban'), [{ action: 'ban', scope: 'per_endpoint', rule: 'security.rate_limiting.penalties.repeated_violations', identity: 'mallory', retryAfterSeconds: 120 }]);
  clock.t += 20_000;
  const other = await h.request('/b', { key: 'mallory' });
  assert.equal(other.status, 429);
  assert.equal(other.headers.get('retry-after'), '100');
  assert.equal(await errorCode(other), 'temporarily_banned');
  assert.deepEqual(h.events.at(-1), { action: 'rate_limit_exceeded', scope: 'ban', rule: 'security.rate_limiting.penalties.repeated_violations', identity: 'mallory', retryAfterSeconds: 100 });
  assert.deepEqual(await statuses(h, 1, '/b', { key: 'innocent' }), [200]);
  clock.t += 100_000; // the ban is over; /a's own limit (per path, 1 per hour) still holds
  assert.deepEqual(await statuses(h, 1, '/b', { key: 'mallory' }), [200]);
  assert.deepEqual(await statuses(h, 1, '/a', { key: 'mallory' }), [429]);
}));

test('penalties: repeated_violations = "throttle" never bans', () => withHarness({
  section: section({ algorithm: 'fixed_window', per_user: { rate: 1 }, penalties: { repeated_violations: 'throttle', violations_before_ban: 2 } }),
}, async (h) => {
  const s = await statuses(h, 6, '/x', { key: 'a' });
  assert.deepEqual(s, [200, 429, 429, 429, 429, 429]);
  assert.equal(h.events.filter((e) => e.action === 'ban').length, 0);
}));

test('/health and CORS preflights never count', () => withHarness({ section: section({ algorithm: 'fixed_window', global: { rate: 1 } }) }, async (h) => {
  assert.deepEqual(await statuses(h, 3, '/health'), [200, 200, 200]);
  const pre = { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' } };
  assert.deepEqual(await statuses(h, 3, '/v1/chat/completions', pre), [200, 200, 200]);
  assert.deepEqual(await statuses(h, 2, '/v1/models'), [200, 429]);
}));

test('bypass_rate_limits works only with debug.enabled, and is reported at creation', async () => {
  const s = section({ algorithm: 'fixed_window', global: { rate: 1 } });
  await withHarness({ section: s, debug: { enabled: true, bypass_rate_limits: true } }, async (h) => {
    assert.deepEqual(h.events, [{ action: 'bypass_enabled', scope: 'debug', rule: 'debug.bypass_rate_limits' }]);
    assert.deepEqual(await statuses(h, 5, '/x'), [200, 200, 200, 200, 200]);
    assert.equal(h.ctxs[0].decisions[0].outcome, 'skip');
  });
  await withHarness({ section: s, debug: { enabled: false, bypass_rate_limits: true } }, async (h) => {
    assert.deepEqual(h.events, []);
    assert.deepEqual(await statuses(h, 2, '/x'), [200, 429]);
  });
});

test('enabled = false: nothing is limited; permissive mode records would_deny and lets the request pass', async () => {
  await withHarness({ section: section({ enabled: false, global: { rate: 1 } }) }, async (h) => {
    assert.deepEqual(await statuses(h, 3, '/x'), [200, 200, 200]);
  });
  await withHarness({ section: section({ algorithm: 'fixed_window', global: { rate: 1 } }), mode: 'permissive' }, async (h) => {
    assert.deepEqual(await statuses(h, 2, '/x'), [200, 200]);
    assert.equal(h.ctxs[1].decisions[0].outcome, 'would_deny');
    assert.equal(h.ctxs[1].decisions[0].code, 'rate_limited');
  });
});

test('store = "redis" without the URL variable is a configuration error', async () => {
  await assert.rejects(startStageHarness({ section: section({ store: 'redis', redis_url_env: 'NO_SUCH_VAR_FOR_TEST' }), env: {} }), /NO_SUCH_VAR_FOR_TEST/);
});
