// Builds the counters a rate-limit policy area is handed: one memory store, or the shared Redis behind the failover policy.
import type { RateLimitingSection } from '../../kernel/policy.js';
import type { RateStore, StoreWatch } from '../../kernel/rate-store.js';
import { FailoverStore } from './failover.js';
import { MemoryStore } from './memory.js';
import { RedisStore } from './redis.js';
import { resolveRedisTarget } from './redis-connection.js';
import type { SharedClient } from './shared-redis.js';

export interface RateStoreOptions {
  /** The process's Redis client (the server builds one and shares it with the lockout). */
  readonly shared?: SharedClient;
  /** Without `shared` (tests, bench): the store opens, and closes, its own client from redis_url_env. */
  readonly env?: NodeJS.ProcessEnv;
  /** ms, for tests. */
  readonly now?: () => number;
}

export function createRateStore(section: RateLimitingSection, o: RateStoreOptions, watch: StoreWatch): RateStore {
  if (section.store === 'memory') return new MemoryStore({ now: o.now });
  const shared = o.shared ?? (() => {
    const target = resolveRedisTarget(section, o.env ?? process.env);
    return { target, client: target.create(), own: true };
  })();
  const primary = new RedisStore({ client: shared.client, ownsClient: 'own' in shared, now: o.now, probeKey: shared.target.prefix + 'probe' });
  const fallback = new MemoryStore({ now: o.now, name: 'memory-fallback' });
  return new FailoverStore(primary, fallback, { mode: section.on_store_failure, onOutage: () => watch.onOutage(), onRecovered: () => watch.onRecovered() });
}
