// The rate-limit area decides with the store it is handed (proxy/stores builds it), asks for none when nothing is enforced.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DebugSection } from '../../../../kernel/policy.js';
import type { StoreWatch } from '../../../../kernel/rate-store.js';
import { createRateLimiting, type RateLimitEvent } from '../../../../policies/rate-limit/index.js';
import { MemoryStore } from '../../../../proxy/stores/memory.js';
import { section, startStageHarness, statuses } from '../../../helpers/rate-limit-stage.js';

const debug: DebugSection = { enabled: false, verbose_errors: false, bypass_rate_limits: false };

test('the stages count in the store they are handed: two areas on one store share the limit', async () => {
  const shared = new MemoryStore({ now: () => 1_700_000_000_000 });
  const s = section({ algorithm: 'fixed_window', global: { rate: 2, window_seconds: 60 } });
  const a = await startStageHarness({ section: s, store: () => shared });
  const b = await startStageHarness({ section: s, store: () => shared });
  const own = await startStageHarness({ section: s, now: () => 1_700_000_000_000 });
  try {
    assert.deepEqual(await statuses(a, 1, '/v1/models', { key: 'alice' }), [200]);
    assert.deepEqual(await statuses(b, 2, '/v1/models', { key: 'alice' }), [200, 429]);
    assert.ok(shared.size > 0);
    assert.deepEqual(await statuses(own, 2, '/v1/models', { key: 'alice' }), [200, 200]);
  } finally {
    await Promise.all([a.close(), b.close(), own.close()]);
  }
});

test('no store is asked for when limits are off or bypassed', () => {
  let asked = 0;
  const store = (): MemoryStore => { asked++; return new MemoryStore(); };
  createRateLimiting(section({ enabled: false }), { onEvent: () => {}, debug, store });
  createRateLimiting(section(), { onEvent: () => {}, debug: { ...debug, enabled: true, bypass_rate_limits: true }, store });
  assert.equal(asked, 0);
  createRateLimiting(section(), { onEvent: () => {}, debug, store });
  assert.equal(asked, 1);
});

test("a handed store's outage and recovery become the area's events; /health follows the store", () => {
  const events: RateLimitEvent[] = [];
  let watch: StoreWatch | undefined;
  const store = Object.assign(new MemoryStore(), { healthy: true });
  const rl = createRateLimiting(section({ on_store_failure: 'fail_closed' }), { onEvent: (e) => events.push(e), debug, store: (w) => { watch = w; return store; } });
  assert.equal(rl.storeHealthy(), true);
  store.healthy = false;
  watch!.onOutage();
  assert.equal(rl.storeHealthy(), false);
  store.healthy = true;
  watch!.onRecovered();
  assert.equal(rl.storeHealthy(), true);
  assert.deepEqual(events, [
    { action: 'store_outage', scope: 'store', rule: 'security.rate_limiting.on_store_failure' },
    { action: 'store_recovered', scope: 'store', rule: 'security.rate_limiting.on_store_failure' },
  ]);
});
