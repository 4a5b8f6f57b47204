// CORS stage: the cors package configured from [security.cors]; preflights end here, unlisted origins get no ACAO.
import cors from 'cors';
import type { RequestHandler } from 'express';
import type { CorsSection } from '../kernel/policy.js';

export function createCors(section: CorsSection): RequestHandler | null {
  if (!section.enabled) return null;
  const any = section.origins.includes('*');
  const listed = new Set(section.origins.map((o) => o.replace(/\/+$/, '')));
  const mw = cors({
    // "*" with credentials would let any site act as the user: reflect only listed origins then.
    origin: any && !section.credentials ? '*' : (origin, cb) => cb(null, origin !== undefined && listed.has(origin)),
    methods: section.methods,
    allowedHeaders: section.allowed_headers,
    exposedHeaders: section.exposed_headers,
    credentials: section.credentials,
    maxAge: section.max_age_seconds,
    preflightContinue: false,
    optionsSuccessStatus: 204,
  });
  return function corsStage(req, res, next) {
    const preflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
    if (!preflight) return mw(req, res, next);
    // The cors package hands a preflight from an unlisted origin on to the next stage (auth, then upstream in
    // permissive mode). Every preflight ends here: unlisted origins get 204 without any Access-Control-* header.
    mw(req, res, (err?: unknown) => {
      if (err) return next(err);
      res.statusCode = 204;
      res.setHeader('Vary', 'Origin');
      res.setHeader('Content-Length', '0');
      res.end();
    });
  };
}
