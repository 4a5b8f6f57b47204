// security.information_disclosure.sanitize_errors: a 5xx never reaches the client as sent; a 4xx only when clean.
import type { CompiledPolicy } from '../../kernel/policy.js';
import type { ResponseFilter } from './filter.js';

const RULE = 'security.information_disclosure.sanitize_errors';

/** `sensitive` judges a 4xx body (stack traces, paths, addresses, credentials); null when the key is off. */
export function createSanitize(policy: CompiledPolicy, sensitive: (text: string) => boolean): ResponseFilter | null {
  const d = policy.raw.security.information_disclosure;
  if (!d.enabled || policy.mode === 'disabled' || !d.sanitize_errors) return null;
  return {
    name: 'sanitise errors',
    onHead: (x) => (x.status >= 500 ? { code: 'upstream_error', outcome: 'modify', rule: RULE } : undefined),
    // A 4xx is judged whole, so it is held even when it would stream.
    holds: (x) => x.status >= 400,
    onBody: (x, body) => (x.status >= 400 && sensitive(body.text) ? { code: 'upstream_rejected', outcome: 'modify', rule: RULE, status: x.status } : undefined),
  };
}
