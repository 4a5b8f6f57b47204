// Retry and reconnect delays, one copy for the proxy (audit outputs, Redis clients) and the policy areas (OIDC keys, lockout).

/**
 * Delay before retry number `attempt` (0 = the first retry): `baseMs` doubled per attempt, at most `maxMs`.
 * The exponent stops at 30 so a zero base stays 0 instead of 0 * Infinity.
 */
export function doublingDelay(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(0, attempt), 30));
}

/** Delay growing by `stepMs` per attempt (ioredis counts reconnects from 1), at most `maxMs`: a quick first retry. */
export function linearDelay(attempt: number, stepMs: number, maxMs: number): number {
  return Math.min(maxMs, stepMs * Math.max(0, attempt));
}

/** ioredis `retryStrategy` of every product Redis client: reconnect forever, 50 ms more each time up to 500 ms. */
export const redisRetryStrategy = (times: number): number => linearDelay(times, 50, 500);
