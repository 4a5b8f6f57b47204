// The handler for one loaded policy: the pipeline's stages run in order on plain node req/res, then the error mapper.
import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Request, RequestHandler, Response } from 'express';
import proxyaddr from 'proxy-addr';
import type { CompiledPolicy } from '../kernel/policy.js';
import { buildPipeline, type Pipeline, type PipelineDeps } from './pipeline.js';
import { bodyErrors } from './body.js';
import { sendError } from '../kernel/deny.js';
import { stripKeyParam, takeCredentials, watchUpgradeSocket } from './upgrade.js';

export interface PolicyApp {
  readonly policy: CompiledPolicy;
  readonly pipeline: Pipeline;
  /** Runs one request through the pipeline. */
  readonly handle: (req: IncomingMessage, res: ServerResponse) => void;
  /** Runs one Upgrade request (the server's 'upgrade' event) through the upgrade stages. */
  readonly upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** Is this peer in server.trust_proxy (the list compiled once, for req.ip and the connection guard)? */
  readonly trusted: (ip: string) => boolean;
}

/**
 * The stages as one middleware, with express' (req, res, next) contract: an error or an async stage's
 * rejection goes to the error handler. Every stage sees every request, so there is no path matching.
 */
export function chain(handlers: readonly RequestHandler[]): RequestHandler {
  return function pipeline(req, res, done) {
    let i = 0;
    const next = (err?: unknown): void => {
      if (err !== undefined && err !== null && err !== 'route' && err !== 'router') return done(err);
      // Answered already (a timeout, an error) or the client is gone: no later stage may run.
      if (res.writableEnded || res.destroyed) return;
      const h = handlers[i++];
      if (!h) return done();
      try {
        const r = h(req, res, next) as unknown;
        if (r && typeof (r as Promise<void>).then === 'function') (r as Promise<void>).then(undefined, done);
      } catch (e) {
        done(e);
      }
    };
    next();
  };
}

/**
 * Stages are express-style middlewares, but the chain runs on plain node req/res rather than inside an
 * express app: express swaps each request's prototype, which measured ~140 µs of CPU per request here
 * (docs/architecture.md). express.raw still reads bodies; proxy-addr (express' "trust proxy") still
 * resolves the client address.
 */
export function createPolicyApp(policy: CompiledPolicy, deps: PipelineDeps): PolicyApp {
  const trust = policy.raw.server.trust_proxy;
  // The right-most X-Forwarded-For address not in trust_proxy: what express' req.ip would be.
  const trustFn = proxyaddr.compile(trust.length > 0 ? [...trust] : []);
  const pipeline = buildPipeline(policy, deps);
  const keyParam = policy.raw.server.websocket.query_key_param;
  const run = chain(pipeline.stages.map(([, h]) => h));
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    stripKeyParam(req, keyParam);
    Object.defineProperty(req, 'ip', { value: proxyaddr(req, trustFn), configurable: true, writable: true });
    run(req as Request, res as Response, (err?: unknown) => {
      if (err) bodyErrors(err, req as Request, res as Response, () => {});
      else if (!res.headersSent) sendError(res, 'not_found');
    });
  };
  const runUpgrade = chain(pipeline.upgradeStages.map(([, h]) => h));
  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    // Read from here on, so a client that leaves before the upstream's 101 is seen at once (proxy/upgrade.ts).
    const held = watchUpgradeSocket(socket, head);
    const { marker } = takeCredentials(req, policy);
    Object.assign(req, { upgradeHeld: held, wsMarker: marker });
    // A response bound to the raw socket: every stage answers a refusal as on any request, before any 101.
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket as import('node:net').Socket);
    res.once('finish', () => socket.end());
    Object.defineProperty(req, 'ip', { value: proxyaddr(req, trustFn), configurable: true, writable: true });
    runUpgrade(req as Request, res as Response, (err?: unknown) => {
      if (err) bodyErrors(err, req as Request, res as Response, () => {});
      else if (!res.headersSent) sendError(res, 'not_found');
    });
  };
  return { policy, pipeline, handle, upgrade, trusted: (ip) => trustFn(ip, 0) };
}
