// Forward stage: the only place that knows http-proxy. Sends the checked body upstream and streams the answer back.
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import httpProxy from 'http-proxy';
import type { RequestHandler } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { CompiledPolicy } from '../../kernel/policy.js';
import type { RequestContext } from '../../kernel/context.js';
import { sendError } from '../../kernel/deny.js';
import { encodePath } from '../normalize-path.js';
import { OVERRIDE_HEADERS, stripMethodParam } from '../method-override.js';
import { CircuitBreaker } from './circuit.js';
import { StreamObserver, observeBody } from './observe.js';
import { PassObserver } from './pass-observe.js';

/** Headers that describe one connection, never the message (RFC 9110 7.6.1), plus credentials of the client. */
const DROP_REQUEST = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect', 'authorization', 'x-api-key', 'cookie', 'forwarded', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-real-ip', 'accept-encoding'];
/** Headers the proxy itself sets or vouches for: a client listing them in Connection cannot strip them. */
const KEEP_REQUEST = new Set(['host', 'content-type', 'content-length', 'x-request-id', 'traceparent']);
const DROP_RESPONSE = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'content-length', 'set-cookie']);
const VERSION_HEADERS = new Set(['server', 'x-powered-by', 'x-aspnet-version', 'x-aspnetmvc-version', 'x-runtime', 'x-version', 'via', 'x-generator', 'x-served-by', 'x-backend-server']);
/** Loopback, private and link-local IPv4 (and bracketed IPv6 loopback / ULA / link-local) in a header value. */
const INTERNAL_ADDRESS = /(?:^|[^\d.])(?:127\.\d{1,3}|10\.\d{1,3}|192\.168|172\.(?:1[6-9]|2\d|3[01])|169\.254)\.\d{1,3}(?:\.\d{1,3})?(?![\d.])|\[(?:::1|f[cd][0-9a-f]{2}:[^\]]*|fe80:[^\]]*)\]/i;
const JSON_TYPE = /^\s*application\/(?:[\w.+-]+\+)?json\b/i;

/** A filter over a streamed answer (redaction plugs in here). Throwing fails the answer closed. */
export interface StreamFilter {
  push(chunk: Buffer): Buffer;
  end(): Buffer;
  /** Bytes that end the stream well-formed when the filter failed (fail closed). */
  errorTrailer?(): Buffer;
}

export interface ResponseHooks {
  /** Rewrites a buffered JSON answer; return the body (changed or not). */
  json?(ctx: RequestContext, body: unknown): unknown;
  /** Rewrites a buffered text answer. */
  text?(ctx: RequestContext, text: string): string;
  /** A filter for a streamed answer, or null. */
  stream?(ctx: RequestContext, contentType: string | undefined, head: Buffer): StreamFilter | null;
  /** Does this 4xx body carry internals (stack traces, paths, addresses)? */
  sensitiveError?(text: string): boolean;
}

export interface UpstreamDeps {
  readonly breaker: CircuitBreaker;
  readonly upstreamKey: string | undefined;
  readonly tls: boolean;
  readonly hooks: ResponseHooks;
}

/** The pieces a policy load builds once: agent, proxy, header values. */
export function createForward(policy: CompiledPolicy, deps: UpstreamDeps): { stage: RequestHandler; close(): void } {
  const up = policy.raw.upstream;
  const target = new URL(up.url);
  const secure = target.protocol === 'https:';
  const AgentClass = secure ? https.Agent : http.Agent;
  const expiryMs = up.keepalive_expiry_seconds * 1000;
  const agent = new (class extends AgentClass {
    override keepSocketAlive(socket: Socket): boolean {
      socket.setKeepAlive(true, 1000);
      socket.unref();
      socket.setTimeout(expiryMs);
      return true;
    }
    override reuseSocket(socket: Socket, req: http.ClientRequest): void {
      socket.setTimeout(0);
      socket.ref();
      super.reuseSocket(socket, req);
    }
  })({ keepAlive: true, maxSockets: up.max_connections, maxFreeSockets: up.max_keepalive_connections, scheduling: 'lifo' });
  const proxy = httpProxy.createProxyServer({ target: up.url, agent, selfHandleResponse: true, changeOrigin: true, xfwd: false, ws: false, secure: true });
  const bearer = deps.upstreamKey ? `Bearer ${deps.upstreamKey}` : undefined;
  const timeoutMs = up.timeout_seconds * 1000;
  const disclosure = policy.raw.security.information_disclosure;
  const disclosureOn = disclosure.enabled && policy.mode !== 'disabled';
  const hideVersions = disclosureOn && disclosure.hide_versions;
  const sanitize = disclosureOn && disclosure.sanitize_errors;
  const trusted = policy.raw.server.trust_proxy.length > 0;
  const proto = deps.tls ? 'https' : 'http';
  const breaker = deps.breaker;
  const maxBuffered = up.max_buffered_response_bytes;
  /** Only answers some hook rewrites are held in memory; the rest stream through as they arrive. */
  const rewrites = deps.hooks.json !== undefined || deps.hooks.text !== undefined;
  /** Per forwarded request: did the upstream give a verdict, was its answer fully relayed, did we cut it. */
  const exchanges = new WeakMap<IncomingMessage, Exchange>();
  const upstreamOrigin = target.origin;
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

  proxy.on('proxyReq', (proxyReq, req, res) => {
    const ctx = (req as IncomingMessage).ctx;
    const st = exchanges.get(req as IncomingMessage);
    const start = process.hrtime.bigint();
    // The answer is over on our side (client gone, or the proxy answered already, e.g. request_timeout) before
    // the upstream's answer was fully relayed: stop the upstream work at once.
    res.once('close', () => {
      if (st?.upstreamDone || proxyReq.destroyed) return;
      if (st) st.abandoned = true;
      proxyReq.destroy();
    });
    proxyReq.setTimeout(timeoutMs, () => {
      (proxyReq as unknown as { timedOut: boolean }).timedOut = true;
      proxyReq.destroy(new Error('upstream timeout'));
    });
    proxyReq.once('response', () => {
      ctx.upstreamTtfbMs = Number(process.hrtime.bigint() - start) / 1e6;
    });
  });

  proxy.on('proxyRes', (proxyRes, req, res) => {
    const st = exchanges.get(req as IncomingMessage);
    if (st) {
      st.verdict = true;
      proxyRes.once('end', () => (st.upstreamDone = true));
    }
    answer((req as IncomingMessage).ctx, proxyRes, res as ServerResponse);
  });

  function answer(ctx: RequestContext, proxyRes: IncomingMessage, res: ServerResponse): void {
    const status = proxyRes.statusCode ?? 502;
    ctx.upstreamStatus = status;
    if (status >= 500) breaker.failure();
    else breaker.success();
    // The proxy already answered (request_timeout) or the client left: nothing may be written any more.
    if (res.writableEnded || res.destroyed) {
      proxyRes.destroy();
      return;
    }
    res.once('close', () => {
      if (!res.writableFinished) proxyRes.destroy();
    });
    if (status >= 500 && sanitize) {
      proxyRes.resume();
      ctx.decisions.push({ stage: 'upstream', outcome: 'modify', code: 'upstream_error', rule: 'security.information_disclosure.sanitize_errors' });
      ctx.errorCode = 'upstream_error';
      return sendError(res, 'upstream_error');
    }
    res.statusCode = status;
    const hop = connectionTokens(proxyRes.headers.connection);
    for (const [name, value] of Object.entries(proxyRes.headers)) {
      if (value === undefined || DROP_RESPONSE.has(name) || hop.has(name) || name.startsWith('access-control-') || res.hasHeader(name)) continue;
      if (hideVersions && VERSION_HEADERS.has(name)) continue;
      if (name === 'location' || name === 'content-location') {
        // Redirects built from the upstream's own address (Starlette's redirect_slashes) become relative.
        res.setHeader(name, localLocation(String(value)));
        continue;
      }
      if (disclosureOn && typeof value === 'string' && INTERNAL_ADDRESS.test(value)) continue;
      res.setHeader(name, value);
    }
    const type = proxyRes.headers['content-type'];
    const streamed = isStream(ctx, type);
    if (status >= 400 && sanitize) return buffered(ctx, proxyRes, res, status, type);
    if (!streamed) return rewrites ? buffered(ctx, proxyRes, res, status, type) : passThrough(ctx, proxyRes, res, type);
    res.setHeader('Cache-Control', res.getHeader('cache-control') ?? 'no-cache');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    const observer = new StreamObserver(ctx);
    let filter: StreamFilter | null | undefined;
    const write = (out: Buffer): void => {
      if (out.length === 0) return;
      ctx.responseBytes += out.length;
      observer.push(out);
      if (!res.write(out)) {
        proxyRes.pause();
        res.once('drain', () => proxyRes.resume());
      }
    };
    proxyRes.on('data', (chunk: Buffer) => {
      try {
        if (filter === undefined) filter = deps.hooks.stream?.(ctx, type, chunk) ?? null;
        write(filter ? filter.push(chunk) : chunk);
      } catch {
        failClosed(ctx, proxyRes, res, filter);
      }
    });
    proxyRes.on('end', () => {
      try {
        if (filter) write(filter.end());
      } catch {
        return failClosed(ctx, proxyRes, res, filter);
      }
      observer.end();
      res.end();
    });
    proxyRes.on('error', () => res.destroy());
  }

  function buffered(ctx: RequestContext, proxyRes: IncomingMessage, res: ServerResponse, status: number, type: string | undefined): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    proxyRes.on('data', (c: Buffer) => {
      if (over) return;
      size += c.length;
      if (size > maxBuffered) {
        over = true;
        chunks.length = 0;
        proxyRes.destroy();
        ctx.decisions.push({ stage: 'upstream', outcome: 'deny', code: 'response_too_large', rule: 'upstream.max_buffered_response_bytes', reason: 'answer above upstream.max_buffered_response_bytes' });
        ctx.errorCode = 'response_too_large';
        res.removeHeader('content-type');
        return sendError(res, 'response_too_large');
      }
      chunks.push(c);
    });
    proxyRes.on('error', () => {
      if (!over) sendError(res, 'upstream_error');
    });
    proxyRes.on('end', () => {
      if (over || res.headersSent || res.writableEnded) return;
      let body: Buffer = Buffer.concat(chunks);
      const text = body.toString('utf8');
      if (status >= 400 && sanitize) {
        // sanitize implies an active disclosure policy, whose detectors judge the body.
        const sensitive = deps.hooks.sensitiveError?.(text) ?? false;
        if (sensitive) {
          ctx.decisions.push({ stage: 'upstream', outcome: 'modify', code: 'upstream_rejected', rule: 'security.information_disclosure.sanitize_errors' });
          res.removeHeader('content-type');
          ctx.errorCode = 'upstream_rejected';
          return sendError(res, 'upstream_rejected', undefined, undefined, status);
        }
      }
      try {
        body = transformBuffered(ctx, body, text, type);
      } catch {
        ctx.errorCode = 'upstream_error';
        res.removeHeader('content-type');
        return sendError(res, 'upstream_error');
      }
      ctx.responseBytes = body.length;
      res.setHeader('Content-Length', body.length);
      res.end(body);
    });
  }

  /** A non-streamed answer nothing rewrites: relayed as it arrives, with its length, observed on the side. */
  function passThrough(ctx: RequestContext, proxyRes: IncomingMessage, res: ServerResponse, type: string | undefined): void {
    const length = proxyRes.headers['content-length'];
    if (length !== undefined && /^\d+$/.test(length)) res.setHeader('Content-Length', length);
    const observer = new PassObserver(ctx, JSON_TYPE.test(type ?? ''));
    proxyRes.on('data', (c: Buffer) => {
      ctx.responseBytes += c.length;
      observer.push(c);
      if (!res.write(c)) {
        proxyRes.pause();
        res.once('drain', () => proxyRes.resume());
      }
    });
    proxyRes.on('end', () => {
      observer.end();
      res.end();
    });
    proxyRes.on('error', () => res.destroy());
  }

  function transformBuffered(ctx: RequestContext, body: Buffer, text: string, type: string | undefined): Buffer {
    // The server's content type decides, never the text: a model asked to "answer in JSON" on a text
    // endpoint must not switch the answer to field-by-field JSON handling.
    if (JSON_TYPE.test(type ?? '')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      if (parsed !== undefined) {
        const out = deps.hooks.json ? deps.hooks.json(ctx, parsed) : parsed;
        observeBody(ctx, out);
        return out === parsed ? body : Buffer.from(JSON.stringify(out));
      }
    }
    const out = deps.hooks.text ? deps.hooks.text(ctx, text) : text;
    ctx.completionChars += out.length;
    return out === text ? body : Buffer.from(out);
  }

  /** A filter failed: nothing more of the upstream's bytes goes out; the stream ends with an error event. */
  function failClosed(ctx: RequestContext, proxyRes: IncomingMessage, res: ServerResponse, filter: StreamFilter | null | undefined): void {
    ctx.decisions.push({ stage: 'upstream', outcome: 'deny', code: 'redaction_failed' });
    ctx.errorCode = 'redaction_failed';
    proxyRes.removeAllListeners('data');
    proxyRes.destroy();
    if (res.writableEnded) return;
    let trailer: Buffer | undefined;
    try {
      trailer = filter?.errorTrailer?.();
    } catch {
      trailer = undefined;
    }
    res.end(trailer ?? '\n');
  }

  const stage: RequestHandler = function forward(req, res) {
    const ctx = req.ctx;
    if (!breaker.admit()) {
      ctx.decisions.push({ stage: 'upstream', outcome: 'deny', code: 'circuit_open', rule: 'upstream.circuit_breaker' });
      ctx.errorCode = 'circuit_open';
      return sendError(res, 'circuit_open', { 'Retry-After': String(breaker.retryAfterSeconds()) });
    }
    if (ctx.json && Object.hasOwn(ctx.json, '_method')) {
      delete ctx.json._method; // a framework's method override (proxy/method-override.ts)
      ctx.forwardBody = undefined;
    }
    const body = ctx.forwardBody ?? (ctx.json ? Buffer.from(JSON.stringify(ctx.json)) : ctx.rawBody ?? Buffer.alloc(0));
    const h = req.headers;
    const inboundXff = h['x-forwarded-for'];
    const inboundProto = h['x-forwarded-proto'];
    for (const name of connectionTokens(h.connection)) if (!KEEP_REQUEST.has(name)) delete h[name];
    for (const name of DROP_REQUEST) delete h[name];
    for (const name of OVERRIDE_HEADERS) delete h[name];
    h['x-forwarded-for'] = trusted && typeof inboundXff === 'string' && ctx.peerIp !== ctx.clientIp ? `${inboundXff}, ${ctx.peerIp}` : ctx.clientIp;
    h['x-forwarded-proto'] = trusted && typeof inboundProto === 'string' && ctx.peerIp !== ctx.clientIp ? inboundProto : proto;
    h['accept-encoding'] = 'identity';
    if (bearer) h.authorization = bearer;
    if (body.length > 0 || req.method === 'POST' || req.method === 'PUT' || req.method === 'PATCH') h['content-length'] = String(body.length);
    else delete h['content-length'];
    req.url = encodePath(ctx.path) + stripMethodParam(ctx.query);
    ctx.requestBytes = body.length;
    const st: Exchange = { verdict: false, upstreamDone: false, abandoned: false };
    exchanges.set(req, st);
    // A request that ends without the upstream's verdict (client gone, proxy timeout) frees a half-open probe.
    res.once('close', () => {
      if (!st.verdict) breaker.release();
    });
    proxy.web(req, res, { buffer: bodyStream(body) }, (err: Error & { code?: string }) => {
      if (st.abandoned) return; // we cut it ourselves: no verdict on the upstream
      const timedOut = err.message === 'upstream timeout';
      st.verdict = true;
      breaker.failure();
      if (res.writableEnded || res.destroyed) return;
      const code = timedOut ? 'upstream_timeout' : 'upstream_unavailable';
      ctx.decisions.push({ stage: 'upstream', outcome: 'deny', code, rule: timedOut ? 'upstream.timeout_seconds' : 'upstream.url', reason: err.code });
      ctx.errorCode = code;
      sendError(res, code);
    });
  };

  return {
    stage,
    close() {
      proxy.close();
      agent.destroy();
    },
  };
}

/** Header names a Connection header lists: hop-by-hop too (RFC 9110 7.6.1), never forwarded. */
function connectionTokens(v: string | string[] | undefined): Set<string> {
  const out = new Set<string>();
  for (const part of Array.isArray(v) ? v : v ? [v] : []) {
    for (const t of part.split(',')) {
      const n = t.trim().toLowerCase();
      if (n && n !== 'close' && n !== 'keep-alive') out.add(n);
    }
  }
  return out;
}

interface Exchange {
  verdict: boolean;
  upstreamDone: boolean;
  abandoned: boolean;
}

/** The checked body as the stream http-proxy pipes upstream (one chunk; no async iterator machinery). */
function bodyStream(body: Buffer): Readable {
  const r = new Readable({ read() {} });
  if (body.length > 0) r.push(body);
  r.push(null);
  return r;
}

/** Is this answer a stream? The request says so (stream: true, Ollama's default) or the content type does. */
function isStream(ctx: RequestContext, type: string | undefined): boolean {
  if (type && /text\/event-stream|application\/x-ndjson|application\/jsonl/i.test(type)) return true;
  const s = ctx.json?.stream;
  if (s === true || s === 1 || (typeof s === 'string' && /^(true|1|yes|on)$/i.test(s))) return true;
  if (s === undefined && ctx.path.startsWith('/api/') && (ctx.path === '/api/chat' || ctx.path === '/api/generate')) return true;
  return false;
}
