// Security headers stage: helmet's set plus the policy's [security.headers.values], on every answer (errors too).
import helmet from 'helmet';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import type { HeadersSection } from '../kernel/policy.js';

/**
 * Helmet's headers are static: run its middleware once against a recording response when the policy loads,
 * then set the recorded values (policy values last, so they win) with one loop per request.
 */
export function compileSecurityHeaders(section: HeadersSection): ReadonlyArray<readonly [string, string]> {
  const base = helmet({
    // An API answers JSON and streams: the CSP that fits is the policy's own (default-src 'none').
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    crossOriginResourcePolicy: { policy: 'same-site' },
    xPoweredBy: true,
  });
  const recorded = new Map<string, readonly [string, string]>();
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      recorded.set(name.toLowerCase(), [name, Array.isArray(value) ? value.join(', ') : String(value)]);
      return recorder;
    },
    removeHeader(name: string) {
      recorded.delete(name.toLowerCase());
    },
  };
  let failed: unknown;
  base({ headers: {} } as IncomingMessage, recorder as unknown as ServerResponse, (err?: unknown) => (failed = err));
  if (failed) throw failed instanceof Error ? failed : new Error('helmet failed');
  for (const [k, v] of Object.entries(section.values)) recorded.set(k.toLowerCase(), [k, v]);
  return [...recorded.values()];
}

export function createSecurityHeaders(section: HeadersSection): RequestHandler | null {
  if (!section.enabled) return null;
  const headers = compileSecurityHeaders(section);
  return function securityHeaders(_req, res, next) {
    for (const [k, v] of headers) res.setHeader(k, v);
    next();
  };
}
