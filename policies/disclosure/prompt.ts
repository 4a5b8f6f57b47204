// security.information_disclosure.redact_requests: the prompt's findings scrubbed, or (request_action = "block") refused.
import type { RequestHandler } from 'express';
import type { RequestContext } from '../../kernel/context.js';
import { deny } from '../../kernel/deny.js';
import type { RedactionRecord } from './json-fields.js';
import type { Redactor } from './index.js';

/** Redactions are counted on the request context for the audit line, never their text. */
export function noteRedactions(ctx: RequestContext, records: readonly RedactionRecord[]): void {
  for (const r of records) ctx.redactions.push({ kind: r.kind, direction: r.direction, location: r.location, count: r.count });
}

/** undefined when prompts are not redacted. */
export function createPromptRedaction(redactor: Redactor, opts: { redact_requests: boolean; request_action?: 'redact' | 'block' }): RequestHandler | undefined {
  if (!opts.redact_requests) return undefined;
  const block = opts.request_action === 'block';
  return function redactPrompt(req, res, next) {
    const ctx = req.ctx;
    if (!ctx.json) return next();
    // Blocking must not leave a half-scrubbed body behind in permissive mode: scan a copy first.
    const target = block ? structuredClone(ctx.json) : ctx.json;
    const { records } = redactor.redactRequestBody(target);
    if (records.length === 0) return next();
    const kinds = [...new Set(records.map((r) => r.kind))].join(', ');
    noteRedactions(ctx, records);
    if (block) {
      if (deny(req, res, 'sensitive_data_blocked', { stage: 'redaction', rule: 'security.information_disclosure.request_action', reason: `kind: ${kinds}`, detail: `Kind: ${kinds}.` })) return;
      return next();
    }
    ctx.forwardBody = undefined;
    ctx.decisions.push({ stage: 'redaction', outcome: 'modify', rule: 'security.information_disclosure.redact_requests', reason: kinds });
    next();
  };
}
