// The request's whole path, top to bottom: one ordered list of stages built once per policy load.
import type { RequestHandler } from 'express';
import type { CompiledPolicy } from '../kernel/policy.js';
import { createSecurityHeaders } from '../policies/headers.js';
import { createCors } from '../policies/cors.js';
import { createAuthentication, type AuthDeps } from '../policies/auth.js';
import { createAuthorization } from '../policies/authorization.js';
import { createValidation } from '../policies/validation.js';
import { createCrossSite } from '../policies/cross-site.js';
import { createPathValueGuard, createRequestLinePathGuard } from '../policies/lollms/path-values.js';
import type { RequestContext } from '../kernel/context.js';
import { createIntake } from './intake.js';
import { createHealth, type HealthSources } from './health.js';
import { createBodyReader, createDeclaredLengthCheck } from './body.js';
import { sendError } from '../kernel/deny.js';
import { createForward, type UpstreamDeps } from './upstream/forward.js';
import { createWebSocketForward } from './upstream/websocket.js';
import { compileSecretPaths, createUpgradeCheck, maskedContext } from './upgrade.js';

export interface PipelineDeps {
  readonly auth: AuthDeps;
  readonly upstream: UpstreamDeps;
  readonly health: HealthSources;
  /** The per-request audit line, once the answer is over. */
  readonly onDone: (ctx: RequestContext, status: number, userAgent: string | undefined) => void;
  /** A WebSocket connection opened (after the upstream's 101). */
  readonly onWebSocketOpen?: (ctx: RequestContext) => void;
  /** fail_closed audit: false while the audit cannot be written. */
  readonly auditWritable: () => boolean;
  /** `explain`: the request is decided but not forwarded; the client address may be given. */
  readonly dryRun?: { readonly clientIp?: string };
  /** Stages contributed by other policy areas, by slot (rate limits, redaction). */
  readonly extra?: {
    readonly rateLimit?: RequestHandler;
    readonly tokenBudget?: RequestHandler;
    readonly redactRequest?: RequestHandler;
  };
}

export interface Pipeline {
  readonly stages: ReadonlyArray<readonly [name: string, handler: RequestHandler]>;
  /** The stages an Upgrade request runs (proxy/upgrade.ts): no body, the WebSocket forward last. */
  readonly upgradeStages: ReadonlyArray<readonly [name: string, handler: RequestHandler]>;
  close(): void;
}

export function buildPipeline(policy: CompiledPolicy, deps: PipelineDeps): Pipeline {
  const p = policy.raw;
  const s = p.security;
  const enforcing = policy.mode !== 'disabled';
  const authz = createAuthorization(s.authorization, p.upstream.kind);
  const forward = createForward(policy, deps.upstream);
  const dryForward: RequestHandler = (req, res) => {
    req.ctx.decisions.push({ stage: 'forward', outcome: 'allow', rule: 'upstream.url', reason: `dry run: not sent to ${p.upstream.url}` });
    res.statusCode = 200;
    res.setHeader('Content-Type', 'application/json');
    res.end('{"dry_run":true}');
  };
  const auditGate: RequestHandler = (req, res, next) => {
    if (deps.auditWritable()) return next();
    req.ctx.decisions.push({ stage: 'audit', outcome: 'deny', code: 'audit_unavailable', rule: 'logging.security.on_failure' });
    req.ctx.errorCode = 'audit_unavailable';
    sendError(res, 'audit_unavailable');
  };

  const stages: Array<readonly [string, RequestHandler | null | undefined]> = [
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
    ['rate limits', enforcing ? deps.extra?.rateLimit : null],
    ['body (bounded read)', createBodyReader(p.server)],
    ['validation', enforcing ? createValidation(s.validation) : null],
    ['LoLLMS path values and fetched URLs', enforcing ? createPathValueGuard(s.validation.urls) : null],
    ['authorization: model and token cap', enforcing ? authz.bodyStage : null],
    ['redaction of the prompt', enforcing ? deps.extra?.redactRequest : null],
    ['token budget', enforcing ? deps.extra?.tokenBudget : null],
    ['forward upstream, stream the answer back', deps.dryRun ? dryForward : forward.stage],
  ];
  const active = stages.filter((x): x is readonly [string, RequestHandler] => typeof x[1] === 'function');

  // An upgrade is authorised like a GET on its path; its audit line and metrics never show a secret path segment.
  const mask = compileSecretPaths(p.server.websocket.secret_paths);
  const ws = createWebSocketForward(policy, { ...deps.upstream, onOpen: (ctx) => deps.onWebSocketOpen?.(maskedContext(ctx, mask)) });
  const upgradeStages: Array<readonly [string, RequestHandler | null | undefined]> = [
    ['security headers', enforcing ? createSecurityHeaders(s.headers) : null],
    ['intake', createIntake(policy, { onDone: (ctx, status, ua) => deps.onDone(maskedContext(ctx, mask), status, ua), clientIp: deps.dryRun?.clientIp })],
    ['upgrade: websocket only', createUpgradeCheck(policy)],
    ['cross-site upgrades (Origin)', enforcing ? createCrossSite(s.cors, { host: p.server.host, tls: s.tls.enabled }, { upgrades: true }) : null],
    ['LoLLMS paths in the URL and query', enforcing ? createRequestLinePathGuard() : null],
    ['audit gate (on_failure = fail_closed)', p.logging.security.on_failure === 'fail_closed' ? auditGate : null],
    ['authentication', enforcing ? createAuthentication(s.authentication, s.authorization, { ...deps.auth, tlsIdentities: s.tls.enabled ? s.tls.client.identities : [] }) : null],
    ['authorization: route', enforcing ? authz.routeStage : null],
    ['rate limits', enforcing ? deps.extra?.rateLimit : null],
    ['forward the upgrade, relay frames both ways', deps.dryRun ? dryForward : ws.stage],
  ];
  const upgradeActive = upgradeStages.filter((x): x is readonly [string, RequestHandler] => typeof x[1] === 'function');
  return {
    stages: active,
    upgradeStages: upgradeActive,
    close: () => {
      forward.close();
      ws.close();
    },
  };
}
