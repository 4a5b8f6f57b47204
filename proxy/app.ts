// The express app for one loaded policy: the pipeline's stages mounted in order, then the error mapper.
import express, { type Express } from 'express';
import type { CompiledPolicy } from '../policies/compiled.js';
import { buildPipeline, type Pipeline, type PipelineDeps } from './pipeline.js';
import { bodyErrors } from './body.js';

export interface PolicyApp {
  readonly policy: CompiledPolicy;
  readonly app: Express;
  readonly pipeline: Pipeline;
}

export function createPolicyApp(policy: CompiledPolicy, deps: PipelineDeps): PolicyApp {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  const trust = policy.raw.server.trust_proxy;
  // proxy-addr (express' "trust proxy") walks X-Forwarded-For from the right, believing only these peers.
  app.set('trust proxy', trust.length > 0 ? [...trust] : false);
  const pipeline = buildPipeline(policy, deps);
  for (const [, handler] of pipeline.stages) app.use(handler);
  app.use(bodyErrors);
  return { policy, app, pipeline };
}
