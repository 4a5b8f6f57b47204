// Security headers stage: helmet's set plus the policy's [security.headers.values], on every answer (errors too).
import helmet from 'helmet';
import type { RequestHandler } from 'express';
import type { HeadersSection } from './compiled.js';

export function createSecurityHeaders(section: HeadersSection): RequestHandler | null {
  if (!section.enabled) return null;
  const base = helmet({
    // An API answers JSON and streams: the CSP that fits is the policy's own (default-src 'none').
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    crossOriginResourcePolicy: { policy: 'same-site' },
    xPoweredBy: true,
  });
  const extra = Object.entries(section.values).map(([k, v]) => [k, v] as const);
  return function securityHeaders(req, res, next) {
    base(req, res, (err?: unknown) => {
      if (err) return next(err);
      for (const [k, v] of extra) res.setHeader(k, v);
      next();
    });
  };
}
