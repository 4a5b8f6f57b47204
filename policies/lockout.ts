// Failed-authentication lockout per client IP, on rate-limiter-flexible (memory, or Redis so every instance agrees).
import { Redis } from 'ioredis';
import ipaddr from 'ipaddr.js';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { AuthenticationSection, RateLimitingSection } from '../kernel/policy.js';
import { effectivePrefix } from '../proxy/stores/redis-connection.js';
import type { SharedClient } from '../proxy/stores/shared-redis.js';
import { redisRetryStrategy } from '../kernel/backoff.js';

export interface Lockouts {
  /** Milliseconds left on this IP's lockout, or 0. */
  lockedFor(ip: string): Promise<number>;
  /** Counts a failure; true when this failure starts a lockout. */
  fail(ip: string): Promise<boolean>;
  close(): Promise<void>;
}

/** One client for lockout purposes: an IPv4 address, or an IPv6 /64 (a host may hold a whole /64). */
export function clientKey(ip: string): string {
  if (!ip.includes(':')) return ip;
  try {
    const a = ipaddr.parse(ip);
    if (a.kind() === 'ipv6') {
      const v6 = a as ipaddr.IPv6;
      if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().toString();
      return `${v6.parts.slice(0, 4).map((p) => p.toString(16)).join(':')}::/64`;
    }
    return a.toString();
  } catch {
    return ip;
  }
}

const NONE: Lockouts = { lockedFor: async () => 0, fail: async () => false, close: async () => {} };

/** The settings a lockout table depends on: equal keys mean a reload can keep the table (and its state). */
export function lockoutKey(auth: AuthenticationSection, rl: RateLimitingSection, env: NodeJS.ProcessEnv, shared?: SharedClient): string {
  const where = shared ? shared.target.identity : rl.store === 'redis' ? env[rl.redis_url_env] ?? '' : '';
  return JSON.stringify([auth.max_failed_attempts, auth.lockout_duration_minutes, rl.store, effectivePrefix(rl), where]);
}

/**
 * `shared`: the process's Redis client (the one the rate limits use; any mode). Without it, and with
 * store = "redis", the lockout opens its own standalone client from redis_url_env.
 */
export function createLockouts(auth: AuthenticationSection, rl: RateLimitingSection, env: NodeJS.ProcessEnv, shared?: SharedClient): Lockouts {
  const max = auth.max_failed_attempts;
  const seconds = auth.lockout_duration_minutes * 60;
  if (max <= 0 || seconds <= 0) return NONE;
  const opts = { points: max, duration: seconds, keyPrefix: `${effectivePrefix(rl)}auth-fail` };
  const memory = new RateLimiterMemory(opts);
  let redis: Redis | undefined;
  let limiter: RateLimiterAbstract = memory;
  const url = rl.store === 'redis' && !shared ? env[rl.redis_url_env] : undefined;
  if (shared && rl.store === 'redis') {
    // While Redis is away (or a master is being replaced), the memory limiter keeps counting.
    limiter = new RateLimiterRedis({ ...opts, storeClient: shared.client, insuranceLimiter: memory });
  } else if (url) {
    redis = new Redis(url, { enableOfflineQueue: true, maxRetriesPerRequest: 0, connectTimeout: 1000, commandTimeout: 500, retryStrategy: redisRetryStrategy });
    redis.on('error', () => {});
    // While Redis is away, the per-instance memory limiter keeps counting (rate-limiter-flexible's insurance).
    limiter = new RateLimiterRedis({ ...opts, storeClient: redis, insuranceLimiter: memory });
  }
  return {
    async lockedFor(ip) {
      try {
        const res = await limiter.get(clientKey(ip));
        return res && res.consumedPoints > max ? res.msBeforeNext : 0;
      } catch {
        return 0;
      }
    },
    async fail(address) {
      const ip = clientKey(address);
      let consumed: number;
      try {
        consumed = (await limiter.consume(ip)).consumedPoints;
      } catch (e) {
        if (!(e instanceof RateLimiterRes)) return false;
        consumed = e.consumedPoints;
      }
      if (consumed < max) return false;
      try {
        await limiter.block(ip, seconds);
      } catch {
        /* a store error leaves the insurance limiter's count */
      }
      return consumed === max;
    },
    async close() {
      redis?.disconnect();
    },
  };
}
