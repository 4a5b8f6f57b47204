// The running proxy: listener, the current policy app (swapped atomically on reload), shutdown, shared state.
import http from 'node:http';
import https from 'node:https';
import { cipherKeyProblem, tlsServerOptions } from './tls.js';
import { createTlsReloader, type TlsReloadResult } from './tls-reload.js';
import type { Socket } from 'node:net';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve as resolvePath } from 'node:path';
import { loadPolicy, PolicyError, formatProblem } from '../policies/load.js';
import type { CompiledPolicy } from '../kernel/policy.js';
import type { AuthEvent } from '../policies/auth.js';
import { createLockouts, lockoutKey, type Lockouts } from '../policies/lockout.js';
import { createAuditLogger } from './audit/index.js';
import type { AuditLogger, SecurityEvent } from './audit/types.js';
import type { RequestContext } from '../kernel/context.js';
import { errorBody } from '../kernel/errors.js';
import { createPolicyApp, type PolicyApp } from './app.js';
import { resolveExtraKeys } from './keys.js';
import { upstreamProbe, type CheckState } from './health.js';
import { CircuitBreaker } from './upstream/circuit.js';
import { createExtensions, type Extensions } from './extensions.js';
import { createMetrics, startMetricsServer, type Metrics, type MetricsServer } from './metrics/index.js';
import { auditSampler } from './metrics/audit.js';
import { closeWebSocket } from './upstream/websocket.js';
import { SharedRedis, type PreparedRedis, type SharedClient } from './stores/shared-redis.js';
import { KeySources, type KeySource } from '../policies/oidc/keys.js';
import { guardConnections, listenerTimeouts } from './connections.js';
import proxyaddr from 'proxy-addr';

export interface ServeOptions {
  readonly files: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  /** Operator messages (stderr by default). */
  readonly say?: (line: string) => void;
  /** Watch the policy files and reload on change (default true). */
  readonly watch?: boolean;
  /** Told after each reload attempt (metrics). */
  readonly onReload?: (ok: boolean, hash: string) => void;
  /** `explain`: nothing is forwarded or audited, the store is local, the client address is this one. */
  readonly dryRun?: { readonly clientIp?: string };
  /** Listen here instead of server.host/port. */
  readonly listen?: { readonly host: string; readonly port: number };
  /** Told once per request when its answer is over, after the audit line. */
  readonly onRequest?: (ctx: RequestContext, status: number) => void;
}

export interface ReloadResult {
  readonly ok: boolean;
  /** file:line:col messages of an invalid policy. */
  readonly problems?: string[];
  /** Keys that changed but only take effect after a restart (listen address and port...). */
  readonly restartNeeded?: string[];
}

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  readonly policy: () => CompiledPolicy;
  readonly audit: () => AuditLogger;
  readonly metrics: Metrics;
  /** URL of the /metrics listener, when enabled. */
  readonly metricsUrl?: string;
  /** Re-reads the policy files; an invalid policy changes nothing. */
  reload(): Promise<ReloadResult>;
  /** Stops accepting, lets in-flight answers finish up to the grace period, flushes the audit. */
  close(): Promise<void>;
}

interface Generation {
  readonly papp: PolicyApp;
  readonly audit: AuditLogger;
  readonly ext: Extensions;
  /** OIDC key sources of this policy's issuers (shared with the next policy when its issuer stays). */
  readonly keys: readonly KeySource[];
}

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const env = opts.env ?? process.env;
  const say = opts.say ?? ((l: string) => process.stderr.write(l + '\n'));
  const files = [...opts.files];
  const onReload = opts.onReload;
  const first = loadPolicy(files, env);
  for (const w of first.warnings) say(`lollms-guard: warning: ${w}`);
  const cb = first.raw.upstream.circuit_breaker;
  // Metrics live as long as the process: counters survive reloads.
  const metrics = createMetrics({ collectDefault: !opts.dryRun });
  const sampleAudit = auditSampler(metrics);
  const breaker = new CircuitBreaker(cb.failure_threshold, cb.recovery_timeout_seconds * 1000, cb.enabled, Date.now, (st) => metrics.circuit(st));
  metrics.policyLoaded(first.hash);
  // One Redis client per process, shared by the rate limits and the lockout, kept while its settings do not change.
  const sharedRedis = new SharedRedis({
    say,
    onSwitch: (mode, from, to) => {
      metrics.storeSwitch(mode);
      currentAudit().event({ action: 'store_switched', reason: `${mode}: the master serving the limits moved`, details: { mode, from, to } });
    },
  });
  const prepareRedis = (policy: CompiledPolicy): Promise<PreparedRedis> =>
    opts.dryRun ? sharedRedis.prepare({ ...policy.raw.security.rate_limiting, store: 'memory' }, env) : sharedRedis.prepare(policy.raw.security.rate_limiting, env);
  // Lockout state outlives reloads that keep its settings; a new table is installed only with its generation.
  let lockouts: { key: string; table: Lockouts } | undefined;
  const prepareLockouts = (policy: CompiledPolicy, shared: SharedClient | undefined): { table: Lockouts; commit(): void; abandon(): void } => {
    const s = policy.raw.security;
    const key = lockoutKey(s.authentication, s.rate_limiting, env, shared);
    if (lockouts?.key === key) return { table: lockouts.table, commit: () => {}, abandon: () => {} };
    const table = createLockouts(s.authentication, opts.dryRun ? { ...s.rate_limiting, store: 'memory' } : s.rate_limiting, env, shared);
    return {
      table,
      commit: () => {
        void lockouts?.table.close();
        lockouts = { key, table };
      },
      abandon: () => void table.close(),
    };
  };
  // Read lazily (requests only start once it is set) so events of a request that outlives a reload reach
  // the current logger.
  let gen: Generation = undefined as unknown as Generation;
  const currentAudit = (): AuditLogger => gen.audit;
  // Issuers' keys outlive reloads that keep the issuer; an issuer unreachable at start is retried, never fatal.
  const oidcKeys = new KeySources({
    onEvent: (e) => {
      if (e.action === 'oidc_keys_unavailable') say(`lollms-guard: warning: OIDC issuer ${e.issuer}: ${e.reason}`);
      gen?.audit.event({ action: e.action, reason: e.reason, details: { issuer: e.issuer, keys: e.keys } });
    },
  });
  gen = build(first, undefined, await prepareRedis(first));
  // Serve once every issuer's first key read settled (bounded by its fetch timeouts), keys or not.
  await Promise.all(gen.keys.map((k) => k.settled()));
  let shuttingDown = false;

  /**
   * Builds one generation. Everything that can fail (extensions, pipeline factories) is built first; only
   * then does a new audit logger take over from the live one and a new lockout table replace the old, so a
   * refused reload leaves the running generation exactly as it was.
   */
  function build(policy: CompiledPolicy, previous: AuditLogger | undefined, redis: PreparedRedis): Generation {
    let audit: AuditLogger | undefined;
    const early: SecurityEvent[] = [];
    const live = (): AuditLogger => audit ?? currentAudit();
    const lateAudit: AuditLogger = {
      request: (c, r) => live().request(c, r),
      event: (e) => {
        const a = audit ?? gen?.audit;
        if (a) a.event(e);
        else early.push(e); // first start: events from factories wait for the logger
      },
      healthy: () => live().healthy(),
      get linesWritten() { return live().linesWritten; },
      get errors() { return live().errors; },
      get lost() { return live().lost; },
      get held() { return live().held; },
      get spooled() { return live().spooled; },
      get warnings() { return live().warnings; },
      close: () => live().close(),
    };
    const extraKeys = resolveExtraKeys(policy, env, say, !opts.dryRun);
    const lockouts = prepareLockouts(policy, redis.shared);
    let ext: Extensions;
    try {
      ext = createExtensions(policy, { audit: lateAudit, env, say, metrics, dryRun: opts.dryRun !== undefined, redis: redis.shared });
    } catch (e) {
      lockouts.abandon();
      redis.abandon();
      throw e;
    }
    let papp: PolicyApp;
    let keys: KeySource[] = [];
    try {
      keys = oidcKeys.acquire(policy.raw.security.authentication.oidc);
      const probe = upstreamProbe(policy.raw.upstream.url);
      const upstreamKeyEnv = policy.raw.upstream.api_key_env;
      papp = createPolicyApp(policy, {
        auth: {
          extraKeys,
          lockouts: lockouts.table,
          oidc: { sources: keys, env },
          onEvent: (e) => {
            authEvent(currentAudit(), e);
            if (e.action === 'auth_failure') metrics.authFailure(e.code ?? e.reason);
            else if (e.action === 'lockout') metrics.authFailure('lockout');
          },
        },
        upstream: { breaker, upstreamKey: upstreamKeyEnv ? env[upstreamKeyEnv] || undefined : undefined, tls: first.raw.security.tls.enabled, hooks: ext.hooks },
        health: {
          checks: async () => {
            const checks: Record<string, CheckState> = {
              upstream: breaker.current === 'open' ? 'down' : await probe(),
              // fail_open keeps serving without its audit: degraded, not down (a probe must not pull the pod).
              audit: live().healthy() ? 'ok' : policy.raw.logging.security.on_failure === 'fail_open' ? 'degraded' : 'down',
            };
            const store = ext.storeHealthy();
            if (store !== undefined) checks.rate_limit_store = store ? 'ok' : 'degraded';
            return checks;
          },
        },
        onDone: (ctx, status, userAgent) => {
          const a = currentAudit();
          requestDone(a, ctx, status, userAgent);
          metrics.request(ctx, status);
          sampleAudit(a);
          opts.onRequest?.(ctx, status);
        },
        onWebSocketOpen: (ctx) => metrics.websocket.opened(ctx),
        dryRun: opts.dryRun,
        auditWritable: () => live().healthy(),
        extra: ext.stages,
      });
    } catch (e) {
      lockouts.abandon();
      oidcKeys.abandon(keys);
      void ext.close();
      redis.abandon();
      throw e;
    }
    const sameAudit = previous !== undefined && JSON.stringify(policy.raw.logging.security) === JSON.stringify(gen.papp.policy.raw.logging.security);
    // A changed audit section gets a new logger that takes over from the old one (its chain continues).
    audit = sameAudit ? previous : createAuditLogger(opts.dryRun ? { ...policy.raw.logging.security, enabled: false } : policy.raw.logging.security, {
      mode: policy.mode,
      policyHash: policy.hash,
      stateDir: policy.raw.server.state_dir,
      auditLevel: policy.raw.security.audit_level,
      env,
      secretEnvNames: [policy.raw.upstream.api_key_env, 'LOLLMSBOT_API_KEY'],
      previous,
      say,
    });
    if (!sameAudit) for (const w of audit.warnings) say(`lollms-guard: warning: ${w}`);
    redis.commit();
    lockouts.commit();
    oidcKeys.retain(policy.raw.security.authentication.oidc, keys);
    for (const e of early.splice(0)) audit.event(e);
    if (!previous) audit.event({ action: 'configuration_start', details: { files: policy.files.length, policy_hash: policy.hash, mode: policy.mode } });
    return { papp, audit, ext, keys };
  }

  const p = first.raw.server;
  const tlsOn = first.raw.security.tls.enabled;
  const listenerOptions = {
    maxHeaderSize: p.max_header_bytes,
    ...listenerTimeouts(p.headers_timeout_seconds, p.body_timeout_seconds),
    noDelay: true,
  };
  // Answers in flight per socket: a draining server closes each socket as soon as it has none.
  const inflight = new Map<Socket, number>();
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    if (shuttingDown) res.setHeader('Connection', 'close');
    const sock = req.socket;
    inflight.set(sock, (inflight.get(sock) ?? 0) + 1);
    res.once('close', () => {
      const n = (inflight.get(sock) ?? 1) - 1;
      if (n === 0 && sock.destroyed) inflight.delete(sock);
      else inflight.set(sock, n);
      if (n === 0 && shuttingDown) sock.end();
    });
    guard.request(req, res);
    const g = gen;
    g.papp.handle(req, res);
  };
  const server: http.Server = tlsOn ? https.createServer({ ...listenerOptions, ...tlsServerOptions(first.raw.security.tls) }, handler) : http.createServer(listenerOptions, handler);
  // Expect: 100-continue: a body the proxy would refuse for its declared size is not invited at all.
  server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const n = Number(req.headers['content-length']);
    if (!(n > gen.papp.policy.raw.server.max_body_bytes)) res.writeContinue();
    handler(req, res);
  });
  // trust_proxy may change on reload: the exemption follows the live policy (compiled again only when it changed).
  let trustText = '';
  let trustPeer = proxyaddr.compile([]);
  const trusted = (ip: string): boolean => {
    const t = gen.papp.policy.raw.server.trust_proxy;
    const text = t.join(',');
    if (text !== trustText) {
      trustText = text;
      trustPeer = proxyaddr.compile([...t]);
    }
    return trustPeer(ip, 0);
  };
  // Sockets handed to the 'upgrade' event: the listener's close() does not wait for them, shutdown does.
  const upgrades = new Set<Socket>();
  // Upgrades (WebSocket; h2c and others are refused there) run the current policy's upgrade stages.
  server.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
    if (shuttingDown) {
      const body = errorBody('shutting_down');
      socket.on('error', () => socket.destroy());
      socket.end(`HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      return;
    }
    guard.upgrade(socket);
    upgrades.add(socket);
    socket.once('close', () => upgrades.delete(socket));
    gen.papp.upgrade(req, socket, head);
  });
  // Certificate renewals (certbot, cert-manager) apply to new connections without a restart.
  const reportTls = (r: TlsReloadResult & { trigger: string }): void => {
    if (r.changed) {
      say(`lollms-guard: TLS certificate reloaded (${r.trigger}); new connections use it`);
      gen.audit.event({ action: 'tls_reload', reason: `certificate and key reloaded on ${r.trigger}` });
    } else if (r.problem) {
      say(`lollms-guard: ${r.problem}`);
      gen.audit.event({ action: 'tls_reload_failed', reason: r.problem });
    }
  };
  const tlsReloader = tlsOn ? createTlsReloader(server as unknown as import('node:tls').Server, first.raw.security.tls, { watch: opts.watch !== false && !opts.dryRun, onResult: reportTls }) : undefined;
  if (tlsOn) {
    const problem = cipherKeyProblem(first.raw.security.tls, readFileSync(first.raw.security.tls.cert_file));
    if (problem) say(`lollms-guard: warning: ${problem}`);
  }
  const guard = guardConnections(server, {
    headersSeconds: p.headers_timeout_seconds,
    bodySeconds: p.body_timeout_seconds,
    maxPerAddress: p.max_connections_per_ip,
    trusted,
    tls: tlsOn,
    onRefused: (ip, group, count) => gen.audit.event({ action: 'connection_refused', ip, reason: 'server.max_connections_per_ip', code: 'too_many_connections', details: { address_group: group, refused: count } }),
  });
  server.on('clientError', (err: Error & { code?: string }, socket: Socket) => {
    if (!socket.writable) return socket.destroy();
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    // The body has its own timer (connections.ts): a listener timeout is a request head that never completed.
    const code = status === 431 ? 'headers_too_large' : status === 408 ? 'headers_timeout' : 'bad_request';
    const body = errorBody(code);
    const reason = http.STATUS_CODES[status] ?? 'Bad Request';
    socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Error-Code: ${code}\r\nConnection: close\r\n\r\n${body}`);
    gen.audit.event({ action: 'client_error', outcome: 'failure', reason: code, ip: socket.remoteAddress, eventClass: 'validation_failures', code });
  });
  const sockets = new Set<Socket>();
  // With TLS, a connection still in its handshake is no request socket yet: the grace timer ends it too.
  const rawSockets = new Set<Socket>();
  if (tlsOn) {
    server.on('connection', (raw: Socket) => {
      rawSockets.add(raw);
      raw.once('close', () => rawSockets.delete(raw));
    });
  }
  server.on(tlsOn ? 'secureConnection' : 'connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => {
      sockets.delete(s);
      if (!inflight.get(s)) inflight.delete(s);
    });
  });

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(opts.listen?.port ?? p.port, opts.listen?.host ?? p.host, () => resolveListen());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : p.port;
  const mon = first.raw.monitoring;
  let metricsServer: MetricsServer | undefined;
  if (mon.metrics_enabled && !opts.dryRun) {
    try {
      metricsServer = await startMetricsServer(metrics, mon.metrics_host, mon.metrics_port);
    } catch (e) {
      server.close();
      const err = e as NodeJS.ErrnoException;
      throw Object.assign(new Error(`metrics listener ${mon.metrics_host}:${mon.metrics_port}: ${err.code ?? err.message}. Change monitoring.metrics_host / metrics_port or set monitoring.metrics_enabled = false`), { code: 'METRICS_LISTEN' });
    }
  }
  const bound = opts.listen?.host ?? p.host;
  const host = bound.includes(':') ? `[${bound}]` : bound;
  const url = `${tlsOn ? 'https' : 'http'}://${host}:${port}`;
  const watchers = opts.watch === false || opts.dryRun ? [] : watchFiles(files, () => {
    void reload().then((r) => {
      if (r.ok) say(`lollms-guard: policy reloaded${r.restartNeeded?.length ? `; restart to apply: ${r.restartNeeded.join(', ')}` : ''}`);
      else {
        for (const p of r.problems ?? []) say(p);
        say('lollms-guard: reload refused, still serving the previous policy');
      }
    });
  });

  return {
    url,
    port,
    policy: () => gen.papp.policy,
    audit: () => gen.audit,
    metrics,
    metricsUrl: metricsServer ? `${metricsServer.url}/metrics` : undefined,
    reload,
    async close() {
      if (shuttingDown) return;
      shuttingDown = true;
      for (const w of watchers) w.close();
      tlsReloader?.close();
      const grace = gen.papp.policy.raw.server.shutdown_grace_seconds * 1000;
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      // Open WebSockets end now (their audit line says "shutdown"); keep-alive sockets between requests, and
      // connections that never sent one, go too.
      for (const s of upgrades) closeWebSocket(s, 'shutdown');
      for (const s of sockets) if (!inflight.get(s)) s.end();
      const timer = setTimeout(() => {
        for (const s of sockets) s.destroy();
        for (const s of rawSockets) s.destroy();
      }, grace);
      await closed;
      // Upgrade sockets (refusals being written, WebSockets closing) write their audit lines on 'close'.
      for (let i = 0; i < 400 && upgrades.size > 0; i++) {
        if (i === 200) for (const s of upgrades) s.destroy();
        await new Promise((r) => setTimeout(r, 5));
      }
      clearTimeout(timer);
      // Answers cut by the grace timer emit 'close' (and so their audit line) on a later tick: wait for them.
      for (let i = 0; i < 200 && [...inflight.values()].some((n) => n > 0); i++) await new Promise((r) => setTimeout(r, 5));
      gen.papp.pipeline.close();
      await gen.ext.close();
      await gen.audit.close();
      await metricsServer?.close();
      await lockouts?.table.close();
      await sharedRedis.close();
      oidcKeys.close();
    },
  };

  async function reload(): Promise<ReloadResult> {
    // The certificate files are re-read whatever becomes of the policy (SIGHUP after a renewal).
    const t = tlsReloader?.reload();
    if (t && (t.changed || t.problem)) reportTls({ ...t, trigger: 'reload' });
    let next: CompiledPolicy;
    try {
      next = loadPolicy(files, env);
    } catch (e) {
      const problems = e instanceof PolicyError ? e.problems.map(formatProblem) : [(e as Error).message];
      gen.audit.event({ action: 'configuration_reload_failed', reason: 'invalid policy; the previous policy stays in force', details: { problems: problems.join('\n') } });
      onReload?.(false, gen.papp.policy.hash);
      metrics.policyReload(false);
      return { ok: false, problems };
    }
    const fixed = restartOnly(first, next);
    const old = gen;
    let fresh: Generation;
    try {
      fresh = build(next, old.audit, await prepareRedis(next));
    } catch (e) {
      const problems = [(e as Error).message];
      old.audit.event({ action: 'configuration_reload_failed', reason: 'policy could not be applied; the previous policy stays in force', details: { problems: problems.join('\n') } });
      onReload?.(false, gen.papp.policy.hash);
      metrics.policyReload(false);
      return { ok: false, problems };
    }
    await Promise.all(fresh.keys.map((k) => k.settled()));
    const nc = next.raw.upstream.circuit_breaker;
    breaker.configure(nc.failure_threshold, nc.recovery_timeout_seconds * 1000, nc.enabled);
    gen = fresh;
    // Audit lines always go to the current logger; a replaced one was handed over (and closed) by its successor.
    // Requests in flight finish under the pipeline they started with; its upstream pool closes afterwards.
    setTimeout(() => {
      old.papp.pipeline.close();
      void old.ext.close();
    }, (old.papp.policy.raw.server.request_timeout_seconds + 1) * 1000).unref();
    gen.audit.event({ action: 'configuration_reload', reason: fixed.length ? `applied; needs a restart to change: ${fixed.join(', ')}` : 'applied', details: { policy_hash: next.hash } });
    onReload?.(true, next.hash);
    metrics.policyReload(true, next.hash);
    return { ok: true, restartNeeded: fixed };
  }

}

/** Keys read only when the listener is created: a reload names them instead of applying them. */
const RESTART_ONLY = ['server.host', 'server.port', 'server.max_header_bytes', 'server.headers_timeout_seconds', 'server.body_timeout_seconds', 'server.max_connections_per_ip', 'security.tls'] as const;

function restartOnly(a: CompiledPolicy, b: CompiledPolicy): string[] {
  const get = (p: CompiledPolicy, path: string): string => JSON.stringify(path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], p.raw));
  return RESTART_ONLY.filter((k) => get(a, k) !== get(b, k));
}

/** Watches the policy files (their directories, so editors' rename-on-save is seen) and calls back debounced. */
function watchFiles(files: readonly string[], onChange: () => void): FSWatcher[] {
  const names = new Map<string, Set<string>>();
  for (const f of files) {
    const abs = resolvePath(f);
    const dir = dirname(abs);
    if (!names.has(dir)) names.set(dir, new Set());
    names.get(dir)!.add(basename(abs));
  }
  let timer: NodeJS.Timeout | undefined;
  const out: FSWatcher[] = [];
  for (const [dir, set] of names) {
    try {
      const w = watch(dir, { persistent: false }, (_event, name) => {
        if (name && !set.has(name.toString())) return;
        clearTimeout(timer);
        timer = setTimeout(onChange, 100);
      });
      w.on('error', () => w.close());
      out.push(w);
    } catch {
      /* a directory that cannot be watched still reloads on SIGHUP */
    }
  }
  return out;
}

function authEvent(audit: AuditLogger, e: AuthEvent): void {
  const details = e.retryAfterSeconds || e.issuer ? { retry_after_seconds: e.retryAfterSeconds, issuer: e.issuer } : undefined;
  audit.event({ action: e.action, outcome: e.action === 'stale_key' ? 'success' : 'failure', ip: e.ip, userId: e.keyId, reason: e.reason, code: e.code, eventClass: 'authentication', details });
}

function requestDone(audit: AuditLogger, ctx: RequestContext, status: number, userAgent: string | undefined): void {
  for (const d of ctx.decisions) {
    if (d.outcome === 'would_deny') audit.event({ action: 'would_deny', ctx, rule: d.rule, code: d.code, reason: d.reason, eventClass: d.stage === 'authentication' ? 'authentication' : d.stage === 'validation' ? 'validation_failures' : 'authorization' });
    else if (d.outcome === 'deny' && (d.stage === 'authorization' || d.stage === 'cross-site')) audit.event({ action: 'access_denied', ctx, rule: d.rule, code: d.code, reason: d.reason });
    else if (d.outcome === 'deny' && d.stage === 'validation') audit.event({ action: 'validation_failure', ctx, rule: d.rule, code: d.code, reason: d.reason });
  }
  if (ctx.redactions.length > 0) {
    const kinds: Record<string, number> = {};
    for (const r of ctx.redactions) kinds[`${r.direction}.${r.kind}`] = (kinds[`${r.direction}.${r.kind}`] ?? 0) + r.count;
    audit.event({ action: 'redaction', ctx, details: kinds });
  }
  audit.request(ctx, { status, userAgent });
}
