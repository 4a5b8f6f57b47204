// One loaded policy's generation: everything it builds (stores, lockout, keys, pipeline, audit logger) and closes.
import type { CompiledPolicy } from '../kernel/policy.js';
import { effectivePrefix } from '../kernel/rate-store.js';
import { createLockouts, type Lockouts } from '../policies/lockout.js';
import { KeySources, type KeySource } from '../policies/oidc/keys.js';
import { createPolicyApp, type PolicyApp } from './app.js';
import { nextAuditLogger, pendingAudit } from './audit-handover.js';
import type { AuditLogger } from './audit/types.js';
import { upstreamProbe, type CheckState } from './health.js';
import { resolveExtraKeys } from './keys.js';
import { auditSampler } from './metrics/audit.js';
import type { Metrics } from './metrics/index.js';
import { authEvent, requestDone } from './request-audit.js';
import { SharedRedis, type PreparedRedis, type SharedClient } from './stores/shared-redis.js';
import type { CircuitBreaker } from './upstream/circuit.js';
import type { RequestContext } from '../kernel/context.js';

export interface Generation {
  readonly papp: PolicyApp;
  readonly audit: AuditLogger;
  /** OIDC key sources of this policy's issuers (shared with the next policy when its issuer stays). */
  readonly keys: readonly KeySource[];
  /** server.trust_proxy, compiled at load: peers exempt from the per-address connection cap. */
  readonly trusted: (ip: string) => boolean;
}

export interface GenerationDeps {
  readonly env: NodeJS.ProcessEnv;
  readonly say: (line: string) => void;
  readonly metrics: Metrics;
  readonly breaker: CircuitBreaker;
  /** security.tls.enabled of the first policy (the listener's, restart-only). */
  readonly tls: boolean;
  /** `explain`: nothing is forwarded or audited, the stores are local. */
  readonly dryRun?: { readonly clientIp?: string };
  readonly onRequest?: (ctx: RequestContext, status: number) => void;
}

/** The settings a lockout table depends on: equal keys mean a reload can keep the table (and its state). */
function lockoutKey(policy: CompiledPolicy, shared: SharedClient | undefined): string {
  const { authentication: a, rate_limiting: rl } = policy.raw.security;
  return JSON.stringify([a.max_failed_attempts, a.lockout_duration_minutes, rl.store, effectivePrefix(rl), shared?.target.identity ?? '']);
}

/**
 * The running generation and what outlives it: the process's one Redis client (handed to the rate-limit
 * store and the lockout), the lockout table and the issuers' keys, each kept while its settings do not change.
 */
export class Generations {
  private gen: Generation | undefined;
  private lockouts: { key: string; table: Lockouts } | undefined;
  private readonly sharedRedis: SharedRedis;
  private readonly oidcKeys: KeySources;
  private readonly sampleAudit: ReturnType<typeof auditSampler>;

  constructor(private readonly d: GenerationDeps) {
    this.sampleAudit = auditSampler(d.metrics);
    this.sharedRedis = new SharedRedis({
      say: d.say,
      onSwitch: (mode, from, to) => {
        d.metrics.storeSwitch(mode);
        this.gen?.audit.event({ action: 'store_switched', reason: `${mode}: the master serving the limits moved`, details: { mode, from, to } });
      },
    });
    // An issuer unreachable at start is retried, never fatal.
    this.oidcKeys = new KeySources({
      onEvent: (e) => {
        if (e.action === 'oidc_keys_unavailable') d.say(`lollms-guard: warning: OIDC issuer ${e.issuer}: ${e.reason}`);
        this.gen?.audit.event({ action: e.action, reason: e.reason, details: { issuer: e.issuer, keys: e.keys } });
      },
    });
  }

  /** Requests only start once the first generation is installed. */
  get current(): Generation {
    return this.gen as Generation;
  }

  /**
   * Builds a generation for `policy` without installing it. Everything that can fail (Redis, extensions,
   * pipeline factories) is built first; only then does the audit hand-over happen and the new client and
   * lockout table replace the old, so a refused reload leaves the running generation exactly as it was.
   */
  async build(policy: CompiledPolicy): Promise<Generation> {
    const redis = await this.sharedRedis.prepare(this.d.dryRun ? { ...policy.raw.security.rate_limiting, store: 'memory' } : policy.raw.security.rate_limiting, this.d.env);
    return this.assemble(policy, redis);
  }

  /** Makes `next` the generation new requests and events go to. */
  install(next: Generation): void {
    this.gen = next;
  }

  /** Requests in flight finish under the pipeline they started with; its upstream pool closes afterwards. */
  retire(old: Generation): void {
    setTimeout(() => {
      void old.papp.pipeline.close();
    }, (old.papp.policy.raw.server.request_timeout_seconds + 1) * 1000).unref();
  }

  async close(): Promise<void> {
    const g = this.current;
    await g.papp.pipeline.close();
    await g.audit.close();
    await this.lockouts?.table.close();
    await this.sharedRedis.close();
    this.oidcKeys.close();
  }

  private prepareLockouts(policy: CompiledPolicy, shared: SharedClient | undefined): { table: Lockouts; commit(): void; abandon(): void } {
    const key = lockoutKey(policy, shared);
    if (this.lockouts?.key === key) return { table: this.lockouts.table, commit: () => {}, abandon: () => {} };
    const s = policy.raw.security;
    const table = createLockouts(s.authentication, this.d.dryRun ? { ...s.rate_limiting, store: 'memory' } : s.rate_limiting, { storeClient: shared?.client });
    return {
      table,
      commit: () => {
        void this.lockouts?.table.close();
        this.lockouts = { key, table };
      },
      abandon: () => void table.close(),
    };
  }

  private assemble(policy: CompiledPolicy, redis: PreparedRedis): Generation {
    const { env, say, metrics, breaker, dryRun } = this.d;
    const running = this.gen;
    const pending = pendingAudit(() => this.gen?.audit);
    const audit = pending.logger;
    const extraKeys = resolveExtraKeys(policy, env, say, !dryRun);
    const lockouts = this.prepareLockouts(policy, redis.shared);
    let papp: PolicyApp;
    let keys: KeySource[] = [];
    try {
      keys = this.oidcKeys.acquire(policy.raw.security.authentication.oidc);
      const probe = upstreamProbe(policy.raw.upstream.url);
      const upstreamKeyEnv = policy.raw.upstream.api_key_env;
      papp = createPolicyApp(policy, {
        auth: {
          extraKeys,
          lockouts: lockouts.table,
          oidc: { sources: keys, env },
          onEvent: (e) => {
            authEvent(this.current.audit, e);
            if (e.action === 'auth_failure') metrics.authFailure(e.code ?? e.reason);
            else if (e.action === 'lockout') metrics.authFailure('lockout');
          },
        },
        upstream: { breaker, upstreamKey: upstreamKeyEnv ? env[upstreamKeyEnv] || undefined : undefined, tls: this.d.tls },
        limits: { audit, env, say, metrics, redis: redis.shared },
        health: {
          checks: async () => {
            const checks: Record<string, CheckState> = {
              upstream: breaker.current === 'open' ? 'down' : await probe(),
              // fail_open keeps serving without its audit: degraded, not down (a probe must not pull the pod).
              audit: audit.healthy() ? 'ok' : policy.raw.logging.security.on_failure === 'fail_open' ? 'degraded' : 'down',
            };
            const store = papp.pipeline.storeHealthy();
            if (store !== undefined) checks.rate_limit_store = store ? 'ok' : 'degraded';
            return checks;
          },
        },
        onDone: (ctx, status, userAgent) => {
          const a = this.current.audit;
          requestDone(a, ctx, status, userAgent);
          metrics.request(ctx, status);
          this.sampleAudit(a);
          this.d.onRequest?.(ctx, status);
        },
        onWebSocketOpen: (ctx) => metrics.websocket.opened(ctx),
        dryRun,
        auditWritable: () => audit.healthy(),
      });
    } catch (e) {
      lockouts.abandon();
      this.oidcKeys.abandon(keys);
      redis.abandon();
      throw e;
    }
    const own = nextAuditLogger(policy, running && { logger: running.audit, policy: running.papp.policy }, { env, say, dryRun: dryRun !== undefined });
    redis.commit();
    lockouts.commit();
    this.oidcKeys.retain(policy.raw.security.authentication.oidc, keys);
    pending.takeOver(own);
    if (!running) own.event({ action: 'configuration_start', details: { files: policy.files.length, policy_hash: policy.hash, mode: policy.mode } });
    return { papp, audit: own, keys, trusted: papp.trusted };
  }
}
