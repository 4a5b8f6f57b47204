// Body stage: reads the request body through raw-body (express.raw), counted while reading: 413 past the limit.
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import type { ServerSection } from '../policies/compiled.js';
import { deny, sendError } from './deny.js';

export function createBodyReader(server: ServerSection): RequestHandler {
  const raw = express.raw({ type: () => true, limit: server.max_body_bytes, inflate: false });
  const read: RequestHandler = function readBody(req, res, next) {
    raw(req, res, (err?: unknown) => {
      if (err) return next(err);
      const b = (req as { body?: unknown }).body;
      if (Buffer.isBuffer(b) && b.length > 0) {
        req.ctx.rawBody = b;
        req.ctx.forwardBody = b;
        req.ctx.requestBytes = b.length;
      }
      next();
    });
  };
  return read;
}

/** Turns body-reading failures into catalogue errors; anything else becomes a generic 500 with no detail. */
export const bodyErrors: ErrorRequestHandler = function bodyErrors(err, req, res, _next) {
  const e = err as { type?: string; status?: number };
  const ctx = req.ctx;
  switch (e.type) {
    case 'entity.too.large':
      deny(req, res, 'body_too_large', { stage: 'body', rule: 'server.max_body_bytes', always: true });
      return;
    case 'encoding.unsupported':
    case 'charset.unsupported':
      deny(req, res, 'unsupported_media_type', { stage: 'body', rule: 'content-encoding', always: true });
      return;
    case 'request.aborted':
      if (ctx) ctx.aborted = true;
      res.destroy();
      return;
    case 'request.size.invalid':
    case 'stream.encoding.set':
      deny(req, res, 'bad_request', { stage: 'body', always: true });
      return;
    default:
      if (ctx) {
        ctx.decisions.push({ stage: 'internal', outcome: 'deny', code: 'internal_error' });
        ctx.errorCode = 'internal_error';
      }
      sendError(res, 'internal_error');
  }
};
