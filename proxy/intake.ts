// First stage: request id, W3C trace context, client address, normalised path; the audit line is armed here.
import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { CompiledPolicy } from '../kernel/policy.js';
import type { RequestContext } from '../kernel/context.js';
import { normalizePath } from './normalize-path.js';
import { answerError } from '../kernel/deny.js';

const SANE_ID = /^[A-Za-z0-9._:@-]{1,128}$/;
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZERO_TRACE = '0'.repeat(32);

export interface IntakeDeps {
  /** Called once per request when the answer is over (finished or client gone). */
  readonly onDone: (ctx: RequestContext, status: number, userAgent: string | undefined) => void;
  /** Fixed client address (`explain --ip`). */
  readonly clientIp?: string;
}

export function createIntake(policy: CompiledPolicy, deps: IntakeDeps): RequestHandler {
  const requestTimeoutMs = policy.raw.server.request_timeout_seconds * 1000;
  return function intake(req, res, next) {
    const inboundId = req.headers['x-request-id'];
    const id = typeof inboundId === 'string' && SANE_ID.test(inboundId) ? inboundId : randomUUID();
    const tp = req.headers.traceparent;
    const m = typeof tp === 'string' ? TRACEPARENT.exec(tp) : null;
    // randomUUID draws from a pooled CSPRNG buffer: far cheaper per request than randomBytes.
    const fresh = randomUUID();
    const traceId = m && m[1] !== ZERO_TRACE ? m[1] : randomUUID().replace(/-/g, '');
    const flags = m ? m[3] : '01';
    const spanId = fresh.slice(24, 36) + fresh.slice(0, 4);
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    const path = normalizePath(rawPath);
    const ctx: RequestContext = {
      id,
      traceId,
      spanId,
      startNs: process.hrtime.bigint(),
      policy,
      clientIp: deps.clientIp ?? stripV4Mapped(req.ip ?? req.socket.remoteAddress ?? ''),
      peerIp: stripV4Mapped(req.socket.remoteAddress ?? ''),
      method: (req.method ?? 'GET').toUpperCase(),
      path: path ?? rawPath,
      query: q < 0 ? '' : url.slice(q),
      decisions: [],
      usage: {},
      completionChars: 0,
      promptChars: 0,
      redactions: [],
      requestBytes: 0,
      responseBytes: 0,
      aborted: false,
      onDone: [],
      audited: false,
    };
    req.ctx = ctx;
    res.setHeader('X-Request-ID', id);
    req.headers['x-request-id'] = id;
    req.headers.traceparent = `00-${traceId}-${spanId}-${flags}`;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      if (!res.writableFinished && !ctx.websocket?.opened) ctx.aborted = true;
      for (const f of ctx.onDone) {
        try {
          f(ctx);
        } catch {
          /* a cleanup hook must never break the audit line */
        }
      }
      deps.onDone(ctx, res.statusCode, typeof req.headers['user-agent'] === 'string' ? req.headers['user-agent'] : undefined);
    };
    // server.request_timeout_seconds bounds the whole exchange, a long stream included.
    const limit = setTimeout(() => {
      // An open WebSocket is bounded by server.websocket.max_lifetime_seconds instead.
      if (res.writableEnded || ctx.websocket?.opened) return;
      // Once the answer's head is out the connection is cut (sendError does it): the audit still says why.
      answerError(ctx, res, 'request_timeout', { stage: 'intake', outcome: 'deny', rule: 'server.request_timeout_seconds' });
    }, requestTimeoutMs);
    limit.unref();
    res.once('close', () => {
      clearTimeout(limit);
      finish();
    });
    // TRACE echoes the request, credentials included (cross-site tracing): no role opens it. (TRACK never gets here: node's parser refuses it.)
    if (ctx.method === 'TRACE') {
      answerError(ctx, res, 'method_not_allowed', { stage: 'intake', outcome: 'deny', reason: `${ctx.method} echoes the request: never forwarded` });
      return;
    }
    if (path === null) {
      // CONNECT's target is host:port, no path: what it asks (a tunnel) is refused as a method, not as a bad path.
      if (req.method === 'CONNECT') answerError(ctx, res, 'method_not_allowed', { stage: 'intake', outcome: 'deny', reason: 'CONNECT: the proxy opens no tunnels' });
      else answerError(ctx, res, 'bad_request', { stage: 'intake', outcome: 'deny' });
      return;
    }
    next();
  };
}

function stripV4Mapped(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}
