// kernel/backoff.ts: the delays the audit outputs, OIDC key refresh and Redis clients wait between tries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { doublingDelay, linearDelay, redisRetryStrategy } from '../../../kernel/backoff.js';

test('doubling delay: base, then doubled per attempt, capped; a zero base and huge attempts stay finite', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6].map((a) => doublingDelay(a, 1000, 30_000)), [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
  assert.deepEqual([0, 1, 2].map((a) => doublingDelay(a, 20, 5000)), [20, 40, 80]);
  assert.equal(doublingDelay(10_000, 1000, 5000), 5000);
  assert.equal(doublingDelay(10_000, 0, 5000), 0);
  assert.equal(doublingDelay(-1, 1000, 5000), 1000);
});

test('linear delay and the Redis reconnect strategy: 50 ms more per reconnect, at most 500 ms', () => {
  assert.deepEqual([1, 2, 5, 10, 11, 1000].map(redisRetryStrategy), [50, 100, 250, 500, 500, 500]);
  assert.deepEqual([1, 3, 10, 50].map((t) => linearDelay(t, 100, 1000)), [100, 300, 1000, 1000]);
  assert.equal(linearDelay(0, 100, 1000), 0);
});
