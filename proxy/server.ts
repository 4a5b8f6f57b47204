// The running proxy: the listener, its sockets and shutdown; the policy generation in force is swapped by reload.
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { cipherKeyProblem, tlsServerOptions } from './tls.js';
import { createTlsReloader, type TlsReloadResult } from './tls-reload.js';
import { loadPolicy } from '../policies/load.js';
import type { CompiledPolicy } from '../kernel/policy.js';
import type { AuditLogger } from './audit/types.js';
import type { RequestContext } from '../kernel/context.js';
import { errorBody } from '../kernel/errors.js';
import { CircuitBreaker } from './upstream/circuit.js';
import { createMetrics, startMetricsServer, type Metrics, type MetricsServer } from './metrics/index.js';
import { closeWebSocket } from './upstream/websocket.js';
import { guardConnections, listenerTimeouts } from './connections.js';
import { Generations } from './generation.js';
import { createReload, watchPolicy, type ReloadResult } from './reload.js';

export type { ReloadResult } from './reload.js';

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

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const env = opts.env ?? process.env;
  const say = opts.say ?? ((l: string) => process.stderr.write(l + '\n'));
  const files = [...opts.files];
  const first = loadPolicy(files, env);
  for (const w of first.warnings) say(`lollms-guard: warning: ${w}`);
  const cb = first.raw.upstream.circuit_breaker;
  // Metrics live as long as the process: counters survive reloads.
  const metrics = createMetrics({ collectDefault: !opts.dryRun });
  const breaker = new CircuitBreaker(cb.failure_threshold, cb.recovery_timeout_seconds * 1000, cb.enabled, Date.now, (st) => metrics.circuit(st));
  metrics.policyLoaded(first.hash);
  const gens = new Generations({ env, say, metrics, breaker, tls: first.raw.security.tls.enabled, dryRun: opts.dryRun, onRequest: opts.onRequest });
  gens.install(await gens.build(first));
  // Serve once every issuer's first key read settled (bounded by its fetch timeouts), keys or not.
  await Promise.all(gens.current.keys.map((k) => k.settled()));
  let shuttingDown = false;

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
    gens.current.papp.handle(req, res);
  };
  const server: http.Server = tlsOn ? https.createServer({ ...listenerOptions, ...tlsServerOptions(first.raw.security.tls) }, handler) : http.createServer(listenerOptions, handler);
  // Expect: 100-continue: a body the proxy would refuse for its declared size is not invited at all.
  server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const n = Number(req.headers['content-length']);
    if (!(n > gens.current.papp.policy.raw.server.max_body_bytes)) res.writeContinue();
    handler(req, res);
  });
  // Sockets handed to the 'upgrade' event: the listener's close() does not wait for them, shutdown does.
  const upgrades = new Set<Socket>();
  // Upgrades (WebSocket; h2c and others are refused there) run the current policy's upgrade stages. So does
  // CONNECT, which node hands over the same way: refused there (method_not_allowed) with an answer and an audit
  // line, where without a listener node dropped the connection unanswered.
  const onUpgrade = (req: http.IncomingMessage, socket: Socket, head: Buffer): void => {
    if (shuttingDown) {
      const body = errorBody('shutting_down');
      socket.on('error', () => socket.destroy());
      socket.end(`HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      return;
    }
    guard.upgrade(socket);
    upgrades.add(socket);
    socket.once('close', () => upgrades.delete(socket));
    gens.current.papp.upgrade(req, socket, head);
  };
  server.on('upgrade', onUpgrade);
  server.on('connect', onUpgrade);
  // Certificate renewals (certbot, cert-manager) apply to new connections without a restart.
  const reportTls = (r: TlsReloadResult & { trigger: string }): void => {
    if (r.changed) {
      say(`lollms-guard: TLS certificate reloaded (${r.trigger}); new connections use it`);
      gens.current.audit.event({ action: 'tls_reload', reason: `certificate and key reloaded on ${r.trigger}` });
    } else if (r.problem) {
      say(`lollms-guard: ${r.problem}`);
      gens.current.audit.event({ action: 'tls_reload_failed', reason: r.problem });
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
    // trust_proxy may change on reload: the exemption follows the live policy (compiled with it).
    trusted: (ip) => gens.current.trusted(ip),
    tls: tlsOn,
    onRefused: (ip, group, count) => gens.current.audit.event({ action: 'connection_refused', ip, reason: 'server.max_connections_per_ip', code: 'too_many_connections', details: { address_group: group, refused: count } }),
  });
  server.on('clientError', (err: Error & { code?: string }, socket: Socket) => {
    if (!socket.writable) return socket.destroy();
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    // The body has its own timer (connections.ts): a listener timeout is a request head that never completed.
    const code = status === 431 ? 'headers_too_large' : status === 408 ? 'headers_timeout' : 'bad_request';
    const body = errorBody(code);
    const reason = http.STATUS_CODES[status] ?? 'Bad Request';
    socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Error-Code: ${code}\r\nConnection: close\r\n\r\n${body}`);
    gens.current.audit.event({ action: 'client_error', outcome: 'failure', reason: code, ip: socket.remoteAddress, eventClass: 'validation_failures', code });
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
  const reload = createReload({
    files, env, first, generations: gens, breaker, metrics, onReload: opts.onReload,
    reloadTls: () => {
      const t = tlsReloader?.reload();
      if (t && (t.changed || t.problem)) reportTls({ ...t, trigger: 'reload' });
    },
  });
  const watchers = opts.watch === false || opts.dryRun ? [] : watchPolicy(files, reload, say);

  return {
    url,
    port,
    policy: () => gens.current.papp.policy,
    audit: () => gens.current.audit,
    metrics,
    metricsUrl: metricsServer ? `${metricsServer.url}/metrics` : undefined,
    reload,
    async close() {
      if (shuttingDown) return;
      shuttingDown = true;
      for (const w of watchers) w.close();
      tlsReloader?.close();
      const grace = gens.current.papp.policy.raw.server.shutdown_grace_seconds * 1000;
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
      await gens.close();
      await metricsServer?.close();
    },
  };
}

