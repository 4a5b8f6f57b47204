// What the Redis Sentinel and Cluster failover tests share: the policy (exact /v1/models limit on a Redis store,
// everything else effectively unlimited), the counted route, metric reads and the background load.
import { ADMIN_KEY, USER_KEY, auth, basePolicy, postJson, type Harness } from '../../dev/harness.js';

/** /v1/models per key per hour: the limit checked before and after the failover. */
export const EXACT = 30;

const CHAT = { model: 'llama3-8b-instruct', messages: [{ role: 'user', content: 'hi' }], max_tokens: 8 };

/** The harness policy with rate limits on, fail_open, on the Redis store described by `redis` (its TOML lines). */
export function failoverPolicy(redis: string) {
  return (upstream: string, dir: string): string => basePolicy(upstream, dir).replace('[security.rate_limiting]\nenabled = false\n', `[security.rate_limiting]
enabled = true
algorithm = "sliding_window"
store = "redis"
on_store_failure = "fail_open"
[security.rate_limiting.global]
rate = 1000000
window_seconds = 3600
[security.rate_limiting.per_user]
rate = 1000000
window_seconds = 3600
[security.rate_limiting.per_endpoint]
default_rate = 1000000
window_seconds = 3600
[[security.rate_limiting.endpoints]]
path = "/v1/models"
rate = ${EXACT}
window_seconds = 3600
[security.rate_limiting.redis]
${redis}
`);
}

/** One counted request (the user key on /v1/models); its status. */
export async function models(h: Harness): Promise<number> {
  const r = await fetch(h.url + '/v1/models', { headers: auth(USER_KEY) });
  await r.arrayBuffer();
  return r.status;
}

/** A sample's value from /metrics (`name` may carry labels); NaN when absent. */
export async function metric(h: Harness, name: string): Promise<number> {
  const text = await h.proxy.metrics.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(name + ' ') || l.startsWith(name + '{'));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : NaN;
}

/** Two request loops of another key on another route until stopped; every status and when it was seen. */
export function load(h: Harness): { stop(): Promise<Array<{ status: number; at: number }>> } {
  const seen: Array<{ status: number; at: number }> = [];
  let running = true;
  const loop = async (): Promise<void> => {
    while (running) {
      let status = 0;
      try {
        const r = await postJson(h.url + '/v1/chat/completions', CHAT, auth(ADMIN_KEY));
        await r.arrayBuffer();
        status = r.status;
      } catch {
        status = -1; // a connection-level failure counts as a failure too
      }
      seen.push({ status, at: Date.now() });
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const loops = [loop(), loop()];
  return { async stop() { running = false; await Promise.all(loops); return seen; } };
}
