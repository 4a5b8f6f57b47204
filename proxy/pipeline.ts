// The request's whole path, top to bottom: the request stages, then the response filters, built once per policy load.
import type { RequestHandler } from 'express';
import type { CompiledPolicy } from '../kernel/policy.js';
import type { RequestContext } from '../kernel/context.js';
import { answerError } from '../kernel/deny.js';
import { createSecurityHeaders } from '../policies/headers.js';
import { createCors } from '../policies/cors.js';
import { createAuthentication, type AuthDeps } from '../policies/auth.js';
import { createAuthorization } from '../policies/authorization.js';
import { createValidation } from '../policies/validation.js';
import { createCrossSite } from '../policies/cross-site.js';
import { createPathValueGuard, createRequestLinePathGuard } from '../policies/lollms/path-values.js';
import { createRateLimiting, type RateLimiting } from '../policies/rate-limit/index.js';
import { compileDisclosure, type Redactor } from '../policies/disclosure/index.js';
import { createPromptRedaction } from '../policies/disclosure/prompt.js';
import type { AuditLogger } from './audit/types.js';
import type { Metrics } from './metrics/index.js';
import type { SharedClient } from './stores/shared-redis.js';
import { createRateStore } from './stores/index.js';
import { createIntake } from './intake.js';
import { createHealth, type HealthSources } from './health.js';
import { createBodyReader, createDeclaredLengthCheck } from './body.js';
import { createForward, type UpstreamDeps } from './upstream/forward.js';
import { createWebSocketForward } from './upstream/websocket.js';
import { compileSecretPaths, createUpgradeCheck, maskedContext } from './upgrade.js';
import { ResponseChain } from './response/chain.js';
import { createBreakerVerdict } from './response/breaker.js';
import { createSanitize } from './response/sanitize.js';
import { createHeaderJudge, createResponseHeaders } from './response/headers.js';
import { createResponseRedaction } from './response/redaction.js';
import { createUsageObservation } from './response/usage.js';
import type { ResponseFilter } from './response/filter.js';

export interface PipelineDeps {
  readonly auth: AuthDeps;
  readonly upstream: UpstreamDeps;
  readonly health: HealthSources;
  /** What the rate limits report to and count in. */
  readonly limits: {
    readonly audit: AuditLogger;
    readonly env: NodeJS.ProcessEnv;
    readonly say: (line: string) => void;
    readonly metrics: Metrics;
    /** The process's Redis client, shared with the lockout (undefined: memory store, or explain). */
    readonly redis?: SharedClient;
  };
  /** The per-request audit line, once the answer is over. */
  readonly onDone: (ctx: RequestContext, status: number, userAgent: string | undefined) => void;
  /** A WebSocket connection opened (after the upstream's 101). */
  readonly onWebSocketOpen?: (ctx: RequestContext) => void;
  /** fail_closed audit: false while the audit cannot be written. */
  readonly auditWritable: () => boolean;
  /** `explain`: the request is decided but not forwarded; the client address may be given. */
  readonly dryRun?: { readonly clientIp?: string };
}

type Named<T> = readonly [name: string, item: T];

export interface Pipeline {
  readonly stages: ReadonlyArray<Named<RequestHandler>>;
  /** The stages an Upgrade request runs (proxy/upgrade.ts): no body, the WebSocket forward last. */
  readonly upgradeStages: ReadonlyArray<Named<RequestHandler>>;
  /** What every forwarded answer passes through, in order (proxy/response/). */
  readonly responseFilters: ReadonlyArray<Named<ResponseFilter>>;
  /** undefined when no shared store is used. */
  storeHealthy(): boolean | undefined;
  close(): Promise<void>;
}

export function buildPipeline(policy: CompiledPolicy, deps: PipelineDeps): Pipeline {
  const rl = createLimits(policy, deps);
  try {
    return assemble(policy, deps, rl);
  } catch (e) {
    void rl?.close();
    throw e;
  }
}

function assemble(policy: CompiledPolicy, deps: PipelineDeps, rl: RateLimiting | undefined): Pipeline {
  const p = policy.raw;
  const s = p.security;
  const enforcing = policy.mode !== 'disabled';
  const disclosure = s.information_disclosure;
  // One compiled redactor serves the prompt stage, the answer's redaction and the 4xx judge.
  const redactor: Redactor | undefined = disclosure.enabled && enforcing
    ? compileDisclosure({ ...disclosure, filters: { ...disclosure.filters }, patterns: { ...disclosure.patterns } })
    : undefined;
  const authz = createAuthorization(s.authorization, p.upstream.kind);
  const judgeHeader = createHeaderJudge(redactor);

  const responseFilters: Array<Named<ResponseFilter | null>> = [
    ['breaker verdict (a 5xx counts against the upstream)', createBreakerVerdict(deps.upstream.breaker)],
    ['sanitise errors: 5xx, sensitive 4xx', redactor ? createSanitize(policy, (t) => redactor.looksSensitiveError(t)) : null],
    ['response headers: hop-by-hop, versions, internal addresses, leaking values, Location', createResponseHeaders(policy, judgeHeader)],
    ['redaction of the answer: JSON, text, stream', createResponseRedaction(redactor, disclosure.redact_responses, p.upstream.max_buffered_response_bytes)],
    ['usage observation', createUsageObservation()],
  ];
  const filters = responseFilters.filter((x): x is Named<ResponseFilter> => x[1] !== null);
  const judgeRequestHeader = redactor && disclosure.redact_requests ? createHeaderJudge(redactor, 'request') : undefined;
  const forward = createForward(policy, { ...deps.upstream, judgeRequestHeader }, new ResponseChain(filters.map(([, f]) => f)));
  const dryForward: RequestHandler = (req, res) => {
    req.ctx.decisions.push({ stage: 'forward', outcome: 'allow', rule: 'upstream.url', reason: `dry run: not sent to ${p.upstream.url}` });
    res.statusCode = 200;
    res.setHeader('Content-Type', 'application/json');
    res.end('{"dry_run":true}');
  };
  const auditGate: RequestHandler = (req, res, next) => {
    if (deps.auditWritable()) return next();
    answerError(req.ctx, res, 'audit_unavailable', { stage: 'audit', outcome: 'deny', rule: 'logging.security.on_failure' });
  };

  const stages: Array<Named<RequestHandler | null | undefined>> = [
    ['security headers', enforcing ? createSecurityHeaders(s.headers) : null],
    ['intake: request id, trace, client ip, path', createIntake(policy, { onDone: deps.onDone, clientIp: deps.dryRun?.clientIp })],
    ['declared body length (413 before reading)', createDeclaredLengthCheck(p.server)],
    ['cors (preflights end here)', enforcing ? createCors(s.cors) : null],
    ['cross-site requests (Origin)', enforcing ? createCrossSite(s.cors, { host: p.server.host, tls: s.tls.enabled }) : null],
    ['LoLLMS paths in the URL and query', enforcing ? createRequestLinePathGuard() : null],
    ['health', createHealth(deps.health)],
    ['audit gate (on_failure = fail_closed)', p.logging.security.on_failure === 'fail_closed' ? auditGate : null],
    ['authentication', enforcing ? createAuthentication(s.authentication, s.authorization, { ...deps.auth, tlsIdentities: s.tls.enabled ? s.tls.client.identities : [] }) : null],
    ['authorization: route', enforcing ? authz.routeStage : null],
    ['rate limits', rl?.requestStage],
    ['body (bounded read)', createBodyReader(p.server)],
    ['validation', enforcing ? createValidation(s.validation) : null],
    ['LoLLMS path values and fetched URLs', enforcing ? createPathValueGuard(s.validation.urls) : null],
    ['authorization: model and token cap', enforcing ? authz.bodyStage : null],
    ['redaction of the prompt', redactor ? createPromptRedaction(redactor, disclosure) : null],
    ['token budget', rl?.tokenStage],
    ['forward upstream, relay the answer through the response filters', deps.dryRun ? dryForward : forward.stage],
  ];
  const active = stages.filter((x): x is Named<RequestHandler> => typeof x[1] === 'function');

  // An upgrade is authorised like a GET on its path; its audit line and metrics never show a secret path segment.
  const mask = compileSecretPaths(p.server.websocket.secret_paths);
  const ws = createWebSocketForward(policy, { ...deps.upstream, judgeHeader, onOpen: (ctx) => deps.onWebSocketOpen?.(maskedContext(ctx, mask)) });
  const upgradeStages: Array<Named<RequestHandler | null | undefined>> = [
    ['security headers', enforcing ? createSecurityHeaders(s.headers) : null],
    ['intake', createIntake(policy, { onDone: (ctx, status, ua) => deps.onDone(maskedContext(ctx, mask), status, ua), clientIp: deps.dryRun?.clientIp })],
    ['upgrade: websocket only', createUpgradeCheck(policy)],
    ['cross-site upgrades (Origin)', enforcing ? createCrossSite(s.cors, { host: p.server.host, tls: s.tls.enabled }, { upgrades: true }) : null],
    ['LoLLMS paths in the URL and query', enforcing ? createRequestLinePathGuard() : null],
    ['audit gate (on_failure = fail_closed)', p.logging.security.on_failure === 'fail_closed' ? auditGate : null],
    ['authentication', enforcing ? createAuthentication(s.authentication, s.authorization, { ...deps.auth, tlsIdentities: s.tls.enabled ? s.tls.client.identities : [] }) : null],
    ['authorization: route', enforcing ? authz.routeStage : null],
    ['rate limits', rl?.requestStage],
    ['forward the upgrade, relay frames both ways', deps.dryRun ? dryForward : ws.stage],
  ];
  const upgradeActive = upgradeStages.filter((x): x is Named<RequestHandler> => typeof x[1] === 'function');
  const section = s.rate_limiting;
  return {
    stages: active,
    upgradeStages: upgradeActive,
    responseFilters: filters,
    storeHealthy: () => (rl && section.store === 'redis' && !deps.dryRun ? rl.storeHealthy() : undefined),
    close: async () => {
      forward.close();
      ws.close();
      await rl?.close();
    },
  };
}

/** [security.rate_limiting]; `explain` decides with a local store: it must neither need Redis nor spend anybody's quota. */
function createLimits(policy: CompiledPolicy, deps: PipelineDeps): RateLimiting | undefined {
  const dry = deps.dryRun !== undefined;
  const section = dry ? { ...policy.raw.security.rate_limiting, store: 'memory' as const } : policy.raw.security.rate_limiting;
  if (!section.enabled || policy.mode === 'disabled') return undefined;
  const { audit, env, say, metrics, redis } = deps.limits;
  return createRateLimiting(section, {
    debug: policy.raw.debug,
    store: (watch) => createRateStore(section, { shared: dry ? undefined : redis, env }, watch),
    onEvent: (e, ctx) => {
      if (e.action === 'rate_limit_exceeded' || e.action === 'ban') metrics.rateLimited(e.action === 'ban' ? 'ban' : e.scope ?? 'unknown');
      if (e.action === 'store_outage' || e.action === 'store_recovered') metrics.storeState(e.action === 'store_recovered');
      if (e.action === 'bypass_enabled') say('lollms-guard: warning: rate limits are bypassed ([debug] bypass_rate_limits)');
      audit.event({ action: e.action, ctx, rule: e.rule, details: { scope: e.scope, endpoint: e.endpoint, identity: e.identity, retry_after_seconds: e.retryAfterSeconds } });
    },
  });
}
