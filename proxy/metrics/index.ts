// Prometheus metrics of the proxy: its own prom-client Registry, bounded labels, and a plain-HTTP /metrics listener.
import http from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RequestContext } from '../../kernel/context.js';
import { verdictOf } from '../audit/facts.js';
import { codeLabel, methodLabel, routeLabel, statusLabel, wordLabel } from './labels.js';
import { createWebSocketMetrics, type WebSocketMetrics } from './websocket.js';

export { routeLabel, KNOWN_ROUTES } from './labels.js';

export const PREFIX = 'lollms_guard_';

export type CircuitStateName = 'closed' | 'open' | 'half_open';
export type AuditLineState = 'written' | 'spooled' | 'dropped';

export interface Metrics {
  readonly registry: Registry;
  /** WebSocket connections (opened here; closed through request()). */
  readonly websocket: WebSocketMetrics;
  /**
   * Once per request when the answer ends (finish or client gone). Records requests_total, request_duration_seconds,
   * denials_total, and from the context also tokens_total (ctx.usage), redactions_total (ctx.redactions) and
   * upstream_ttfb_seconds (ctx.upstreamTtfbMs): do not also call tokens()/redaction()/upstreamTtfb() for that request.
   */
  request(ctx: RequestContext, status: number): void;
  /** Out-of-band observations (not tied to a finished RequestContext). */
  upstreamTtfb(seconds: number): void;
  rateLimited(scope: string): void;
  tokens(kind: 'input' | 'output', n: number): void;
  redaction(kind: string, direction: 'request' | 'response', n: number): void;
  audit(kind: AuditLineState, n?: number): void;
  circuit(state: CircuitStateName): void;
  /** Counts a reload (result ok|failed); on success with a hash, policy_info{hash} becomes the only series. */
  policyReload(ok: boolean, hash?: string): void;
  /** The policy loaded at start: sets policy_info{hash} without counting a reload. */
  policyLoaded(hash: string): void;
  authFailure(reason: string): void;
  /** The shared rate-limit store went away (false) or is back (true). */
  storeState(up: boolean): void;
  /** The Redis master serving the limits changed (Sentinel promotion, Cluster failover); mode standalone|sentinel|cluster. */
  storeSwitch(mode: string): void;
}

export interface MetricsOptions {
  /** Process / Node.js runtime metrics (prefixed lollms_guard_); default true. */
  readonly collectDefault?: boolean;
}

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
const TTFB_BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300];
const AUDIT_STATES: ReadonlySet<string> = new Set(['written', 'spooled', 'dropped']);
const CIRCUIT_VALUE: Readonly<Record<CircuitStateName, number>> = { closed: 0, half_open: 1, open: 2 };

const positive = (n: unknown): number => (typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : 0);

export function createMetrics(opts: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  const registers = [registry];
  const n = (s: string): string => PREFIX + s;

  const requests = new Counter({ name: n('requests_total'), help: 'Requests answered, by route bucket, method, status and policy decision.', labelNames: ['route', 'method', 'status', 'decision'] as const, registers });
  const duration = new Histogram({ name: n('request_duration_seconds'), help: 'Time from the request arriving to the answer ending (streams included).', labelNames: ['route'] as const, buckets: DURATION_BUCKETS, registers });
  const ttfb = new Histogram({ name: n('upstream_ttfb_seconds'), help: 'Time to the first upstream response byte.', buckets: TTFB_BUCKETS, registers });
  const denials = new Counter({ name: n('denials_total'), help: 'Denials by pipeline stage and error code.', labelNames: ['stage', 'code'] as const, registers });
  const rateLimits = new Counter({ name: n('rate_limit_rejections_total'), help: 'Requests rejected by a rate limit, by scope.', labelNames: ['scope'] as const, registers });
  const tokens = new Counter({ name: n('tokens_total'), help: 'LLM tokens seen (usage reported or estimated).', labelNames: ['kind'] as const, registers });
  const redactions = new Counter({ name: n('redactions_total'), help: 'Redacted matches by detector kind and direction.', labelNames: ['kind', 'direction'] as const, registers });
  const audit = new Counter({ name: n('audit_lines_total'), help: 'Audit lines by fate: written, spooled (waiting for the collector) or dropped.', labelNames: ['state'] as const, registers });
  const circuitState = new Gauge({ name: n('circuit_state'), help: 'Upstream circuit breaker: 0 closed, 1 half_open, 2 open.', registers });
  const circuitOpen = new Gauge({ name: n('circuit_open'), help: '1 while the upstream circuit breaker is open, else 0.', registers });
  const reloads = new Counter({ name: n('policy_reloads_total'), help: 'Policy reloads by result.', labelNames: ['result'] as const, registers });
  const policyInfo = new Gauge({ name: n('policy_info'), help: 'Always 1; the hash label names the policy in force.', labelNames: ['hash'] as const, registers });
  const storeUp = new Gauge({ name: n('rate_limit_store_up'), help: 'Shared rate-limit store: 1 deciding in Redis, 0 away (on_store_failure applies).', registers });
  const storeOutages = new Counter({ name: n('rate_limit_store_outages_total'), help: 'Transitions of the shared rate-limit store to away.', registers });
  const storeSwitches = new Counter({ name: n('rate_limit_store_switches_total'), help: 'Redis master changes followed (Sentinel promotion, Cluster slot failover), by mode.', labelNames: ['mode'] as const, registers });
  const authFailures = new Counter({ name: n('auth_failures_total'), help: 'Failed authentications by reason.', labelNames: ['reason'] as const, registers });

  // Series that alerts divide by or test for absence of exist from the start.
  for (const s of AUDIT_STATES) audit.inc({ state: s }, 0);
  for (const r of ['ok', 'failed']) reloads.inc({ result: r }, 0);
  for (const k of ['input', 'output']) tokens.inc({ kind: k }, 0);
  circuitState.set(0);
  circuitOpen.set(0);
  storeUp.set(1); // the memory store is always "up"; a shared store reports its transitions
  storeOutages.inc(0);
  for (const mode of ['standalone', 'sentinel', 'cluster']) storeSwitches.inc({ mode }, 0);

  if (opts.collectDefault !== false) collectDefaultMetrics({ register: registry, prefix: PREFIX });

  const setPolicy = (hash: string): void => {
    policyInfo.reset();
    policyInfo.set({ hash: String(hash).slice(0, 64) }, 1);
  };

  const websocket = createWebSocketMetrics(registry, PREFIX);
  const m: Metrics = {
    registry,
    websocket,
    request(ctx, status) {
      const route = routeLabel(ctx.path);
      const verdict = verdictOf(ctx.decisions, ctx.errorCode);
      requests.inc({ route, method: methodLabel(ctx.method), status: statusLabel(status), decision: verdict });
      const seconds = Number(process.hrtime.bigint() - ctx.startNs) / 1e9;
      if (Number.isFinite(seconds) && seconds >= 0) duration.observe({ route }, seconds);
      let denied = false;
      for (const d of ctx.decisions) {
        if (d.outcome !== 'deny') continue;
        denied = true;
        denials.inc({ stage: wordLabel(d.stage), code: codeLabel(d.code === undefined ? undefined : String(d.code)) });
      }
      if (!denied && verdict === 'deny') denials.inc({ stage: 'unknown', code: codeLabel(ctx.errorCode) });
      if (ctx.upstreamTtfbMs !== undefined && Number.isFinite(ctx.upstreamTtfbMs) && ctx.upstreamTtfbMs >= 0) ttfb.observe(ctx.upstreamTtfbMs / 1000);
      const u = ctx.usage;
      if (u) {
        if (positive(u.input)) tokens.inc({ kind: 'input' }, positive(u.input));
        if (positive(u.output)) tokens.inc({ kind: 'output' }, positive(u.output));
      }
      for (const r of ctx.redactions ?? []) m.redaction(r.kind, r.direction, r.count);
      if (ctx.websocket?.opened) websocket.closed(ctx);
    },
    upstreamTtfb(seconds) {
      if (Number.isFinite(seconds) && seconds >= 0) ttfb.observe(seconds);
    },
    rateLimited(scope) {
      rateLimits.inc({ scope: wordLabel(scope) });
    },
    tokens(kind, count) {
      if (positive(count)) tokens.inc({ kind: kind === 'output' ? 'output' : 'input' }, positive(count));
    },
    redaction(kind, direction, count) {
      if (positive(count)) redactions.inc({ kind: wordLabel(kind), direction: direction === 'response' ? 'response' : 'request' }, positive(count));
    },
    audit(kind, count = 1) {
      if (positive(count) && AUDIT_STATES.has(kind)) audit.inc({ state: kind }, positive(count));
    },
    circuit(state) {
      const v = CIRCUIT_VALUE[state] ?? 0;
      circuitState.set(v);
      circuitOpen.set(state === 'open' ? 1 : 0);
    },
    policyReload(ok, hash) {
      reloads.inc({ result: ok ? 'ok' : 'failed' });
      if (ok && hash) setPolicy(hash);
    },
    policyLoaded(hash) {
      setPolicy(hash);
    },
    authFailure(reason) {
      authFailures.inc({ reason: wordLabel(reason) });
    },
    storeState(up) {
      storeUp.set(up ? 1 : 0);
      if (!up) storeOutages.inc();
    },
    storeSwitch(mode) {
      storeSwitches.inc({ mode: mode === 'sentinel' || mode === 'cluster' ? mode : 'standalone' });
    },
  };
  return m;
}

export interface MetricsServer {
  /** Base URL of the listener (scrape `${url}/metrics`). */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Serves GET/HEAD /metrics (Prometheus text format 0.0.4) on its own listener; any other path or method is 404. */
export async function startMetricsServer(metrics: Metrics, host: string, port: number): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Cache-Control', 'no-store');
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.statusCode = 404;
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.end('not found\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) => {
        res.statusCode = 200;
        res.setHeader('Content-Type', metrics.registry.contentType);
        res.setHeader('Content-Length', Buffer.byteLength(text));
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      () => {
        res.statusCode = 500;
        res.setHeader('Content-Type', 'text/plain; charset=utf-8');
        res.end('metrics collection failed\n');
      },
    );
  });
  server.keepAliveTimeout = 5000;
  server.headersTimeout = 10000;
  server.requestTimeout = 30000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const bound = typeof addr === 'object' && addr ? addr.port : port;
  const h = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${h}:${bound}`,
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
