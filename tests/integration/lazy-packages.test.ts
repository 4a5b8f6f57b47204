// A guard on the memory store that has served requests (a chat, a refused key) has not loaded the packages only
// Redis, the WebSocket relay or other rate-limiter stores need (kernel/lazy.ts), nor ajv's compiler (the schema's
// validator is built ahead: scripts/schema-validator.mjs), nor undici beyond its Pool: they cost resident memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { startHarness, basePolicy, auth, USER_KEY } from '../../dev/harness.js';

const loaded = (): string[] => {
  const names = new Set<string>();
  for (const f of Object.keys(createRequire(import.meta.url).cache)) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(f);
    if (m) names.add(['rate-limiter-flexible', 'ajv', 'undici'].includes(m[1]!) ? `${m[1]}/${m[2]}` : m[1]!);
  }
  return [...names];
};

test('memory store: ioredis, cluster-key-slot, http-proxy and the rate limiter\'s other stores stay unloaded', async () => {
  const h = await startHarness({ policy: (up, dir) => basePolicy(up, dir).replace('max_failed_attempts = 0', 'max_failed_attempts = 5') });
  try {
    const ok = await fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST', headers: { ...auth(USER_KEY), 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'llama3-8b-instruct', messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(ok.status, 200);
    await ok.text();
    const bad = await fetch(`${h.url}/v1/models`, { headers: auth('not-a-key-0123456789abcdefghijklmnopqrstuvwxyz') });
    assert.equal(bad.status, 401);
    await bad.text();
    const mods = loaded();
    // The lockout counted that failure in memory: its limiter is loaded, from its own file.
    assert.ok(mods.includes('rate-limiter-flexible/lib/RateLimiterMemory.js'), mods.join(' '));
    assert.ok(mods.includes('undici/lib/dispatcher/pool.js'), mods.join(' '));
    assert.deepEqual(mods.filter((m) => m.startsWith('ajv/') && !m.startsWith('ajv/dist/runtime/')), [], 'ajv compiled the schema at start');
    for (const name of ['undici/index.js', 'ioredis', 'cluster-key-slot', 'http-proxy', 'rate-limiter-flexible/index.js', 'rate-limiter-flexible/lib/RateLimiterRedis.js', 'rate-limiter-flexible/lib/RateLimiterMongo.js']) {
      assert.ok(!mods.includes(name), `${name} was loaded`);
    }
  } finally {
    await h.close();
  }
});
