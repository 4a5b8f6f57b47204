// Response headers: hop-by-hop and cookies dropped, versions and internal addresses hidden, Location made local,
// and values that carry a secret, a stack frame or a server path dropped.
import type { CompiledPolicy } from '../../kernel/policy.js';
import type { RequestContext } from '../../kernel/context.js';
import type { Redactor } from '../../policies/disclosure/index.js';
import type { ResponseFilter } from './filter.js';

const DROP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'content-length', 'set-cookie']);
const VERSION_HEADERS = new Set(['server', 'x-powered-by', 'x-aspnet-version', 'x-aspnetmvc-version', 'x-runtime', 'x-version', 'via', 'x-generator', 'x-served-by', 'x-backend-server']);
/** Loopback, private and link-local IPv4 (and bracketed IPv6 loopback / ULA / link-local) in a header value. */
const INTERNAL_ADDRESS = /(?:^|[^\d.])(?:127\.\d{1,3}|10\.\d{1,3}|192\.168|172\.(?:1[6-9]|2\d|3[01])|169\.254)\.\d{1,3}(?:\.\d{1,3})?(?![\d.])|\[(?:::1|f[cd][0-9a-f]{2}:[^\]]*|fe80:[^\]]*)\]/i;

/** Headers whose value the proxy itself shapes or checks; never judged as free text. */
const STRUCTURAL = new Set(['content-type', 'content-length', 'content-encoding', 'date', 'vary', 'cache-control', 'x-request-id', 'sec-websocket-accept', 'sec-websocket-protocol', 'sec-websocket-extensions']);

/** Judges one header value with the detectors that judge bodies; true when it must not reach the client. */
export type HeaderJudge = (name: string, value: string, ctx?: RequestContext) => boolean;

/**
 * The judge for a policy's redactor: a value the sensitive-error check flags (stack frames, server paths,
 * internal addresses, credentials) or that the answer redactor would change is dropped whole — a header
 * cut in the middle helps nobody, and the name stays in the audit as a redaction.
 */
export function createHeaderJudge(redactor: Redactor | undefined, direction: 'request' | 'response' = 'response'): HeaderJudge | undefined {
  if (!redactor) return undefined;
  // A request header is judged for credentials only: a client's own stack trace or path in a header is its business.
  const leaking = direction === 'response' ? (v: string) => redactor.looksSensitiveError(v) || redactor.redactText(v).text !== v : (v: string) => redactor.redactText(v).text !== v;
  return (name, value, ctx) => {
    if (STRUCTURAL.has(name) || value.length === 0) return false;
    const leaks = leaking(value);
    if (leaks) ctx?.redactions.push({ kind: 'header', direction, location: `header:${name}`, count: 1 });
    return leaks;
  };
}

export function createResponseHeaders(policy: CompiledPolicy, judge?: HeaderJudge): ResponseFilter {
  const d = policy.raw.security.information_disclosure;
  const disclosureOn = d.enabled && policy.mode !== 'disabled';
  const hideVersions = disclosureOn && d.hide_versions;
  const upstreamOrigin = new URL(policy.raw.upstream.url).origin;
  /** A Location pointing at the upstream (or any internal address) keeps only its path and query. */
  const localLocation = (v: string): string => {
    try {
      const u = new URL(v, upstreamOrigin);
      if (u.origin === upstreamOrigin || INTERNAL_ADDRESS.test(u.hostname) || u.hostname === 'localhost') return u.pathname + u.search + u.hash;
      return v;
    } catch {
      return v;
    }
  };
  return {
    name: 'response headers',
    onHead({ ctx, res, status, headers, copied }) {
      res.statusCode = status;
      const hop = connectionTokens(headers.connection);
      for (const [name, value] of Object.entries(headers)) {
        // Headers the proxy set already (security headers, CORS) win over the upstream's.
        if (value === undefined || DROP.has(name) || hop.has(name) || name.startsWith('access-control-') || res.hasHeader(name)) continue;
        if (hideVersions && VERSION_HEADERS.has(name)) continue;
        if (name === 'location' || name === 'content-location') {
          // Redirects built from the upstream's own address (Starlette's redirect_slashes) become relative;
          // a redirect elsewhere is judged like any other value (a key in its query stays out).
          const v = localLocation(String(value));
          if (!(judge && disclosureOn && judge(name, v, ctx))) {
            res.setHeader(name, v);
            copied.push(name);
          }
          continue;
        }
        if (disclosureOn && typeof value === 'string' && INTERNAL_ADDRESS.test(value)) continue;
        if (judge && disclosureOn && (Array.isArray(value) ? value.some((v) => judge(name, v, ctx)) : judge(name, String(value), ctx))) continue;
        res.setHeader(name, value);
        copied.push(name);
      }
      return undefined;
    },
  };
}

/** Header names a Connection header lists: hop-by-hop too (RFC 9110 7.6.1), never forwarded. */
export function connectionTokens(v: string | string[] | undefined): Set<string> {
  const out = new Set<string>();
  for (const part of Array.isArray(v) ? v : v ? [v] : []) {
    for (const t of part.split(',')) {
      const n = t.trim().toLowerCase();
      if (n && n !== 'close' && n !== 'keep-alive') out.add(n);
    }
  }
  return out;
}
