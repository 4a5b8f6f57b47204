// CORS stage: the cors package configured from [security.cors]; preflights end here, unlisted origins get no ACAO.
import cors from 'cors';
import type { RequestHandler } from 'express';
import type { CorsSection } from './compiled.js';

export function createCors(section: CorsSection): RequestHandler | null {
  if (!section.enabled) return null;
  const any = section.origins.includes('*');
  const listed = new Set(section.origins.map((o) => o.replace(/\/+$/, '')));
  return cors({
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
}
