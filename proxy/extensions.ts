// Wires the policy areas that plug into slots of the pipeline (rate limits, redaction) for one loaded policy.
import type { RequestHandler } from 'express';
import type { CompiledPolicy } from '../policies/compiled.js';
import type { AuditLogger } from './audit/types.js';
import type { Metrics } from './metrics/index.js';
import type { ResponseHooks } from './upstream/forward.js';

export interface Extensions {
  readonly stages: { rateLimit?: RequestHandler; tokenBudget?: RequestHandler; redactRequest?: RequestHandler };
  readonly hooks: ResponseHooks;
  /** undefined when no shared store is used. */
  storeHealthy(): boolean | undefined;
  close(): Promise<void>;
}

export interface ExtensionDeps {
  readonly audit: AuditLogger;
  readonly env: NodeJS.ProcessEnv;
  readonly say: (line: string) => void;
  readonly metrics: Metrics;
  /** `explain`: use a local store, touch nothing shared. */
  readonly dryRun?: boolean;
}

export function createExtensions(_policy: CompiledPolicy, _deps: ExtensionDeps): Extensions {
  return {
    stages: {},
    hooks: {},
    storeHealthy: () => undefined,
    close: async () => {},
  };
}
