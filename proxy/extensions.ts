// Wires the policy areas that plug into slots of the pipeline (rate limits, redaction) for one loaded policy.
import type { RequestHandler } from 'express';
import type { CompiledPolicy } from '../kernel/policy.js';
import { compileDisclosure, detectStreamFormat, streamErrorTrailer, type RedactionRecord } from '../policies/disclosure/index.js';
import type { AuditLogger } from './audit/types.js';
import type { Metrics } from './metrics/index.js';
import type { RequestContext } from '../kernel/context.js';
import type { ResponseHooks } from './upstream/forward.js';
import { deny } from '../kernel/deny.js';
import { createRateLimiting } from '../policies/rate-limit/index.js';
import type { SharedClient } from './stores/shared-redis.js';
import { createRateStore } from './stores/index.js';

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
  /** The process's Redis client, shared with the lockout (undefined: memory store, or explain). */
  readonly redis?: SharedClient;
}

export function createExtensions(policy: CompiledPolicy, deps: ExtensionDeps): Extensions {
  const disclosure = createDisclosure(policy);
  // explain decides with a local store: it must neither need Redis nor spend anybody's quota.
  const section = deps.dryRun ? { ...policy.raw.security.rate_limiting, store: 'memory' as const } : policy.raw.security.rate_limiting;
  const rl = section.enabled && policy.mode !== 'disabled'
    ? createRateLimiting(section, {
        debug: policy.raw.debug,
        store: (watch) => createRateStore(section, { shared: deps.dryRun ? undefined : deps.redis, env: deps.env }, watch),
        onEvent: (e, ctx) => {
          if (e.action === 'rate_limit_exceeded' || e.action === 'ban') deps.metrics.rateLimited(e.action === 'ban' ? 'ban' : e.scope ?? 'unknown');
          if (e.action === 'store_outage' || e.action === 'store_recovered') deps.metrics.storeState(e.action === 'store_recovered');
          if (e.action === 'bypass_enabled') deps.say('lollms-guard: warning: rate limits are bypassed ([debug] bypass_rate_limits)');
          deps.audit.event({ action: e.action, ctx, rule: e.rule, details: { scope: e.scope, identity: e.identity, retry_after_seconds: e.retryAfterSeconds } });
        },
      })
    : undefined;
  return {
    stages: { redactRequest: disclosure.stage, rateLimit: rl?.requestStage, tokenBudget: rl?.tokenStage },
    hooks: disclosure.hooks,
    storeHealthy: () => (rl && section.store === 'redis' ? rl.storeHealthy() : undefined),
    close: async () => {
      await rl?.close();
    },
  };
}

/** [security.information_disclosure]: the prompt stage and the answer hooks, from one compiled redactor. */
function createDisclosure(policy: CompiledPolicy): { stage?: RequestHandler; hooks: ResponseHooks } {
  const section = policy.raw.security.information_disclosure;
  if (!section.enabled || policy.mode === 'disabled') return { hooks: {} };
  const redactor = compileDisclosure({ ...section, filters: { ...section.filters }, patterns: { ...section.patterns } });
  const note = (ctx: RequestContext, records: readonly RedactionRecord[]): void => {
    for (const r of records) ctx.redactions.push({ kind: r.kind, direction: r.direction, location: r.location, count: r.count });
  };
  const block = section.request_action === 'block';

  const stage: RequestHandler | undefined = section.redact_requests
    ? function redactPrompt(req, res, next) {
        const ctx = req.ctx;
        if (!ctx.json) return next();
        // Blocking must not leave a half-scrubbed body behind in permissive mode: scan a copy first.
        const target = block ? structuredClone(ctx.json) : ctx.json;
        const { records } = redactor.redactRequestBody(target);
        if (records.length === 0) return next();
        if (block) {
          const kinds = [...new Set(records.map((r) => r.kind))].join(', ');
          note(ctx, records);
          if (deny(req, res, 'sensitive_data_blocked', { stage: 'redaction', rule: 'information_disclosure.request_action', reason: `kind: ${kinds}`, detail: `Kind: ${kinds}.` })) return;
          return next();
        }
        note(ctx, records);
        ctx.forwardBody = undefined;
        ctx.decisions.push({ stage: 'redaction', outcome: 'modify', rule: 'information_disclosure.redact_requests', reason: [...new Set(records.map((r) => r.kind))].join(', ') });
        next();
      }
    : undefined;

  const hooks: ResponseHooks = {
    sensitiveError: (text) => redactor.looksSensitiveError(text),
  };
  if (section.redact_responses) {
    hooks.json = (ctx, body) => {
      const { body: out, records } = redactor.redactResponseJson(body);
      if (records.length === 0) return body;
      note(ctx, records);
      // Redaction works in place: hand back a new identity so the answer is re-serialised.
      return out !== null && typeof out === 'object' ? (Array.isArray(out) ? [...out] : { ...(out as object) }) : out;
    };
    hooks.text = (ctx, text) => {
      const { text: out, kinds } = redactor.redactText(text);
      for (const [kind, count] of kinds) ctx.redactions.push({ kind, direction: 'response', location: 'body', count });
      return out;
    };
    hooks.stream = (ctx, contentType, head) => {
      const format = streamFormat(ctx.path, contentType, head);
      const sr = redactor.createStreamRedactor(format, (r) => note(ctx, [r]));
      return { push: (c) => sr.push(c), end: () => sr.end(), errorTrailer: () => streamErrorTrailer(format) };
    };
  }
  return { stage, hooks };
}

/**
 * The framing of a streamed answer, from what the server said (endpoint, content type), never from the
 * model's text: legacy /lollms_generate streams raw text while claiming text/event-stream.
 */
export function streamFormat(path: string, contentType: string | undefined, head: Buffer): 'sse' | 'ndjson' | 'text' {
  if (path.startsWith('/lollms_generate')) return 'text';
  const t = (contentType ?? '').toLowerCase();
  if (t.startsWith('text/plain')) return 'text';
  if (t.startsWith('text/event-stream')) return 'sse';
  if (/^application\/(x-ndjson|jsonl|json)/.test(t)) return 'ndjson';
  return detectStreamFormat(contentType, head);
}
