// How to reach the shared Redis ([security.rate_limiting.redis]): standalone URL, Sentinel or Cluster, one ioredis client.
import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';
import { lazyRequire } from '../../kernel/lazy.js';
import type { RateLimitingSection } from '../../kernel/policy.js';
import { effectivePrefix } from '../../kernel/rate-store.js';
import { linearDelay, redisRetryStrategy } from '../../kernel/backoff.js';

/** ioredis, loaded when a policy first uses Redis. */
export const ioredis = lazyRequire<typeof import('ioredis')>('ioredis');
const calculateSlot = lazyRequire<typeof import('cluster-key-slot').default>('cluster-key-slot');

export type RedisMode = 'standalone' | 'sentinel' | 'cluster';
export type RedisClient = Redis | Cluster;

/** Everything needed to open the connection, resolved from the policy and the environment once. */
export interface RedisTarget {
  readonly mode: RedisMode;
  /** The policy key that names the addresses, for messages. */
  readonly key: string;
  /** The addresses as "host:port, ..." (never a password). */
  readonly addresses: string;
  /** Effective key prefix: `redis.key_prefix`, else `key_prefix`; in cluster mode wrapped as the hash tag "{prefix}". */
  readonly prefix: string;
  /** Equal identities mean a reload can keep the open client. */
  readonly identity: string;
  create(): RedisClient;
}

/** A policy or environment problem with the connection settings (names the key and the fix). */
export class RedisConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisConfigError';
  }
}

/** Shared by the rate-limit store and the lockout: fail fast, never queue while disconnected, reconnect by itself. */
const COMMON = {
  lazyConnect: true,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
  connectTimeout: 1000,
  commandTimeout: 500,
  retryStrategy: redisRetryStrategy,
} as const;

const noop = (): void => {};

/** "host:port" (IPv6 as "[::1]:port") -> host and port; undefined when it is not one. */
export function parseHostPort(s: string): { host: string; port: number } | undefined {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(s.trim()) ?? /^([^:\s[\]]+):(\d{1,5})$/.exec(s.trim());
  if (!m) return undefined;
  const port = Number(m[2]);
  return port >= 1 && port <= 65535 ? { host: m[1], port } : undefined;
}

/** The cluster slot every key with this prefix hashes to. */
export function slotOf(prefix: string): number {
  return calculateSlot()(prefix + 'x');
}

function listOf(section: RateLimitingSection, name: 'sentinels' | 'nodes'): Array<{ host: string; port: number }> {
  const key = `security.rate_limiting.redis.${name}`;
  const list = section.redis[name];
  if (list.length === 0) {
    throw new RedisConfigError(`${key} is empty but redis.mode = "${section.redis.mode}"; list at least one "host:port", e.g. ["127.0.0.1:${name === 'sentinels' ? 26379 : 7000}"]`);
  }
  return list.map((s, i) => {
    const hp = parseHostPort(s);
    if (!hp) throw new RedisConfigError(`${key}[${i}] = ${JSON.stringify(s)} is not "host:port"; write e.g. "10.0.0.5:${name === 'sentinels' ? 26379 : 7000}"`);
    return hp;
  });
}

/** Resolves the connection settings; throws RedisConfigError naming the key when they cannot work. */
export function resolveRedisTarget(section: RateLimitingSection, env: NodeJS.ProcessEnv): RedisTarget {
  const r = section.redis;
  let password: string | undefined;
  if (r.password_env !== '') {
    password = env[r.password_env];
    if (password === undefined || password === '') throw new RedisConfigError(`security.rate_limiting.redis.password_env names ${r.password_env}, which is not set; set it or clear password_env`);
  }
  let tls: { ca: string } | undefined;
  if (r.tls_ca_file !== '') {
    try {
      tls = { ca: readFileSync(r.tls_ca_file, 'utf8') };
    } catch (e) {
      throw new RedisConfigError(`security.rate_limiting.redis.tls_ca_file: cannot read ${JSON.stringify(r.tls_ca_file)} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); point it at a PEM CA bundle or clear it`);
    }
  }
  const prefix = effectivePrefix(section);
  const id = (x: unknown[]): string => JSON.stringify([r.mode, ...x, password ?? '', r.tls_ca_file, tls?.ca.length ?? 0]);
  if (r.mode === 'sentinel') {
    const sentinels = listOf(section, 'sentinels');
    return {
      mode: 'sentinel', key: 'security.rate_limiting.redis.sentinels', prefix,
      addresses: `${r.sentinels.join(', ')} (master ${JSON.stringify(r.master_name)})`,
      identity: id([r.sentinels, r.master_name]),
      create: () => new (ioredis().Redis)({
        ...COMMON, sentinels, name: r.master_name, password, sentinelPassword: password,
        // A dead master closes the connection and ioredis asks the sentinels again. A master demoted while
        // still up (SENTINEL FAILOVER, a partition healing) answers writes with READONLY: reconnect then too.
        // (ioredis' failoverDetector was tried; it stalled one run in five under load, so it is not used.)
        reconnectOnError: (err: Error) => err.message.startsWith('READONLY'),
        sentinelRetryStrategy: (times: number) => linearDelay(times, 100, 1000),
        ...(tls ? { tls, sentinelTLS: tls, enableTLSForSentinelMode: true } : {}),
      }),
    };
  }
  if (r.mode === 'cluster') {
    const nodes = listOf(section, 'nodes');
    return {
      mode: 'cluster', key: 'security.rate_limiting.redis.nodes', prefix, addresses: r.nodes.join(', '),
      identity: id([r.nodes]),
      create: () => new (ioredis().Cluster)(nodes, {
        lazyConnect: true,
        enableOfflineQueue: false,
        // The ready check sends CLUSTER INFO before the client is ready, which a client without an offline
        // queue refuses (and then reconnects, in a loop): ready = slots known; CLUSTERDOWN is seen per command.
        enableReadyCheck: false,
        scaleReads: 'master',
        // A failed-over slot answers MOVED / CLUSTERDOWN for a moment: retry briefly, then let the failover store decide.
        maxRedirections: 6,
        retryDelayOnFailover: 100,
        retryDelayOnClusterDown: 100,
        retryDelayOnTryAgain: 100,
        slotsRefreshTimeout: 1000,
        slotsRefreshInterval: 2000,
        clusterRetryStrategy: (times: number) => linearDelay(times, 100, 1000),
        redisOptions: { ...COMMON, lazyConnect: false, password, ...(tls ? { tls } : {}) },
      }),
    };
  }
  const url = env[section.redis_url_env];
  if (!url) throw new RedisConfigError(`security.rate_limiting.store = "redis" but the environment variable ${section.redis_url_env} (security.rate_limiting.redis_url_env) is not set; set it to e.g. redis://127.0.0.1:6379/0`);
  let address: string;
  try {
    const u = new URL(url);
    if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new Error('scheme');
    address = `${u.hostname}:${u.port || 6379}`;
  } catch {
    throw new RedisConfigError(`${section.redis_url_env} (security.rate_limiting.redis_url_env) is not a redis:// or rediss:// URL; write e.g. redis://127.0.0.1:6379/0`);
  }
  return {
    mode: 'standalone', key: 'security.rate_limiting.redis_url_env', prefix, addresses: address,
    identity: id([url]),
    create: () => new (ioredis().Redis)(url, { ...COMMON, ...(password ? { password } : {}), ...(tls ? { tls } : {}) }),
  };
}

/** Opens the client; resolves when ready, rejects after `timeoutMs` (the client keeps retrying in the background). */
export async function connectClient(client: RedisClient, timeoutMs: number): Promise<void> {
  client.on('error', noop); // failures surface on each command; the failover store audits them
  let timer: NodeJS.Timeout | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    if (client.status === 'ready') return resolve();
    client.once('ready', () => resolve());
    let last: Error | undefined;
    const onErr = (e: Error): void => { last = e; };
    client.on('error', onErr);
    client.on('node error', onErr);
    timer = setTimeout(() => reject(last ?? new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    if (client.status === 'wait') client.connect().catch(onErr);
  });
  try {
    await ready;
  } finally {
    clearTimeout(timer);
  }
}

/** Where commands for `prefix` go right now: the master's "host:port", for switch detection. */
export function currentMaster(client: RedisClient, prefix: string): string | undefined {
  if (client instanceof ioredis().Cluster) {
    const owners = (client as unknown as { slots: string[][] }).slots[slotOf(prefix)];
    return owners?.[0];
  }
  const s = (client as unknown as { stream?: { remoteAddress?: string; remotePort?: number } }).stream;
  return s?.remoteAddress ? `${s.remoteAddress}:${s.remotePort}` : undefined;
}
