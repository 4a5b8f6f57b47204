// Body stages: a declared length over the limit is refused before any byte is read; the body is read counted, 413 past it.
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServerSection } from '../kernel/policy.js';
import { answerError, deny, sendError } from '../kernel/deny.js';

/**
 * Ends a connection whose request body will not be read: the answer goes out with `Connection: close`,
 * then the socket is half-closed and whatever the client still sends is discarded for a moment (so it
 * reads the answer instead of a reset), then destroyed.
 */
export function closeAfterAnswer(req: IncomingMessage, res: ServerResponse): void {
  if (!res.headersSent) res.setHeader('Connection', 'close');
  const sock = req.socket;
  const cut = (): void => {
    sock.end();
    setTimeout(() => sock.destroy(), 1000).unref();
  };
  if (res.writableFinished) cut();
  else res.once('finish', cut);
}

function declaredLength(req: IncomingMessage): number | undefined {
  const cl = req.headers['content-length'];
  if (cl === undefined) return undefined;
  const n = /^\d{1,15}$/.test(cl) ? Number(cl) : NaN;
  return n;
}

/** Early stage (right after intake): Content-Length over server.max_body_bytes gets 413 at once, body unread. */
export function createDeclaredLengthCheck(server: ServerSection): RequestHandler {
  const limit = server.max_body_bytes;
  return function declaredLengthCheck(req, res, next) {
    const n = declaredLength(req);
    if (n === undefined || n <= limit) return next();
    closeAfterAnswer(req, res);
    deny(req, res, Number.isNaN(n) ? 'bad_request' : 'body_too_large', { stage: 'body', ...(Number.isNaN(n) ? {} : { rule: 'server.max_body_bytes' }), always: true });
  };
}

export function createBodyReader(server: ServerSection): RequestHandler {
  const limit = server.max_body_bytes;
  return function readBody(req, res, next) {
    const ctx = req.ctx;
    const chunked = req.headers['transfer-encoding'] !== undefined;
    const n = declaredLength(req);
    if (!chunked && (n === undefined || n === 0)) return next();
    const enc = req.headers['content-encoding'];
    // Compressed bodies are not inflated (a zip bomb stays outside); the checks need the plain text.
    if (enc !== undefined && enc.trim().toLowerCase() !== 'identity') {
      closeAfterAnswer(req, res);
      deny(req, res, 'unsupported_media_type', { stage: 'body', always: true });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    const onData = (c: Buffer): void => {
      if (over) return;
      size += c.length;
      if (size > limit) {
        over = true;
        chunks.length = 0;
        req.pause();
        closeAfterAnswer(req, res);
        deny(req, res, 'body_too_large', { stage: 'body', rule: 'server.max_body_bytes', always: true });
        return;
      }
      chunks.push(c);
    };
    const onEnd = (): void => {
      cleanup();
      if (over) return;
      if (size > 0) {
        const b = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
        ctx.rawBody = b;
        ctx.forwardBody = b;
        ctx.requestBytes = b.length;
      }
      next();
    };
    const onGone = (): void => {
      cleanup();
      if (over || req.complete) return;
      ctx.aborted = true;
      res.destroy();
    };
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onGone);
      req.off('close', onGone);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onGone);
    req.on('close', onGone);
  };
}

/** Turns a stage's thrown error into a generic 500 with no detail. */
export const bodyErrors: ErrorRequestHandler = function bodyErrors(_err, req, res, _next) {
  const ctx = req.ctx;
  if (ctx) answerError(ctx, res, 'internal_error', { stage: 'internal', outcome: 'deny' });
  else sendError(res, 'internal_error');
};
