// One Redis client per process, handed to the rate limits and the lockout; kept across reloads, watched for master switches.
import type { RateLimitingSection } from '../../kernel/policy.js';
import { connectClient, currentMaster, resolveRedisTarget, type RedisClient, type RedisTarget } from './redis-connection.js';

/** The process's client and the settings it was opened with. */
export interface SharedClient {
  readonly client: RedisClient;
  readonly target: RedisTarget;
}

export interface SharedRedisOptions {
  /** Operator messages (start-up warnings). */
  say(line: string): void;
  /** The master serving our keys changed (Sentinel promotion, Cluster slot failover). */
  onSwitch(mode: string, from: string, to: string): void;
  /** How long the first connection may take before start-up decides (default 5 s). */
  readonly connectTimeoutMs?: number;
}

export interface PreparedRedis {
  readonly shared: SharedClient | undefined;
  /** Makes this the process's client (closes a replaced one). */
  commit(): void;
  /** Drops a client opened for a policy that was not applied. */
  abandon(): void;
}

const NOTHING: PreparedRedis = { shared: undefined, commit: () => {}, abandon: () => {} };

export class SharedRedis {
  private current: SharedClient | undefined;

  constructor(private readonly opts: SharedRedisOptions) {}

  /**
   * The client this policy needs: the open one when the settings did not change, else a new one. A new one
   * that does not connect in time is an error naming the key and the address, unless on_store_failure =
   * "fail_open": then a warning, local limits, and ioredis keeps trying in the background.
   */
  async prepare(section: RateLimitingSection, env: NodeJS.ProcessEnv): Promise<PreparedRedis> {
    if (section.store !== 'redis') return NOTHING;
    const target = resolveRedisTarget(section, env);
    if (this.current?.target.identity === target.identity) return { shared: this.current, commit: () => {}, abandon: () => {} };
    const client = target.create();
    try {
      await connectClient(client, this.opts.connectTimeoutMs ?? 5000);
    } catch (e) {
      const why = `cannot reach Redis (${target.mode}) at ${target.addresses}: ${(e as Error).message}`;
      if (section.on_store_failure !== 'fail_open') {
        client.disconnect();
        throw new Error(`${target.key}: ${why}. Check the address${target.mode === 'sentinel' ? ', master_name' : ''} and that Redis runs, or set security.rate_limiting.on_store_failure = "fail_open" to start with local limits`);
      }
      this.opts.say(`lollms-guard: warning: ${target.key}: ${why}; limits are local to this instance until it answers (on_store_failure = "fail_open")`);
    }
    const shared = { client, target };
    this.watch(shared);
    return {
      shared,
      commit: () => {
        const old = this.current;
        this.current = shared;
        if (old && old !== shared) void quit(old.client);
      },
      abandon: () => { if (this.current !== shared) client.disconnect(); },
    };
  }

  async close(): Promise<void> {
    const c = this.current;
    this.current = undefined;
    if (c) await quit(c.client);
  }

  /** Remembers which master serves our keys; a different one after a reconnect or slot refresh is a switch. */
  private watch(s: SharedClient): void {
    let master = currentMaster(s.client, s.target.prefix);
    const check = (): void => {
      const now = currentMaster(s.client, s.target.prefix);
      if (!now || now === master) return;
      const from = master;
      master = now;
      if (from) this.opts.onSwitch(s.target.mode, from, now);
    };
    s.client.on('ready', check);
    s.client.on('refresh', check);
    s.client.on('+node', check);
  }
}

async function quit(c: RedisClient): Promise<void> {
  try {
    if (c.status === 'ready') await c.quit();
  } catch {
    /* closing anyway */
  }
  c.disconnect();
}
