// The express app for one loaded policy: the pipeline's stages mounted in order, then the error mapper.
import express, { type Express, type RequestHandler } from 'express';
import type { CompiledPolicy } from '../policies/compiled.js';
import { buildPipeline, type Pipeline, type PipelineDeps } from './pipeline.js';
import { bodyErrors } from './body.js';

export interface PolicyApp {
  readonly policy: CompiledPolicy;
  readonly app: Express;
  readonly pipeline: Pipeline;
}

/**
 * The stages as one middleware: the same (req, res, next) contract as express' router, an async stage's
 * rejection goes to the error handler, but without the router's per-layer path matching (every stage
 * sees every request).
 */
export function chain(handlers: readonly RequestHandler[]): RequestHandler {
  return function pipeline(req, res, done) {
    let i = 0;
    const next = (err?: unknown): void => {
      if (err !== undefined && err !== null && err !== 'route' && err !== 'router') return done(err);
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

export function createPolicyApp(policy: CompiledPolicy, deps: PipelineDeps): PolicyApp {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  const trust = policy.raw.server.trust_proxy;
  // proxy-addr (express' "trust proxy") walks X-Forwarded-For from the right, believing only these peers.
  app.set('trust proxy', trust.length > 0 ? [...trust] : false);
  const pipeline = buildPipeline(policy, deps);
  app.use(chain(pipeline.stages.map(([, h]) => h)));
  app.use(bodyErrors);
  return { policy, app, pipeline };
}
