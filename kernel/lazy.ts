// Packages a policy may never need (the Redis client, the WebSocket relay, other rate-limiter stores) are loaded the
// first time they are used, not at start: a process on the memory store keeps ~20 MB less resident
// (docs/performance.md "Fourth round"). CommonJS packages only: require() stays synchronous, so callers do not change.
import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);

/** A function returning package `id` (resolved from this project), loaded on its first call. */
export function lazyRequire<T>(id: string): () => T {
  let mod: T | undefined;
  return () => (mod ??= load(id) as T);
}
