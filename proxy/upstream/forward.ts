// Forward stage: the only place that knows the HTTP client (undici). Sends the checked body, relays the answer through the response filters.
import type { Pool as UndiciPool } from 'undici';
import { lazyRequire } from '../../kernel/lazy.js';
import type { RequestHandler } from 'express';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { CompiledPolicy } from '../../kernel/policy.js';
import type { RequestContext } from '../../kernel/context.js';
import { answerError, recordOutcome, type OutcomeOptions } from '../../kernel/deny.js';
import type { ErrorCode } from '../../kernel/errors.js';
import { isJsonType, isStreamedAnswer } from '../../kernel/media-type.js';
import { encodePath } from '../normalize-path.js';
import { stripMethodParam } from '../method-override.js';
import { createRequestHeaders } from './request-headers.js';
import { CircuitBreaker } from './circuit.js';
import { decoded, decodingFor, type Decoding } from './decode.js';
import type { ResponseChain } from '../response/chain.js';
import type { Body, Exchange, PieceFilter, Replacement } from '../response/filter.js';
import { Leg, type AnswerSource } from './leg.js';
import type { HeaderJudge } from '../response/headers.js';
import { bomEncoding, Recoded, recodingFor, sniffJsonEncoding, type Recoding } from './charset.js';
import { exactNumbers, stringifyExact } from '../../kernel/json-exact.js';

// undici's Pool from its own file: the package's index also loads fetch, WebSocket, the caches and the mock
// agents (~8 MB of resident memory the guard never uses: docs/performance.md "Fourth round"). undici has no
// "exports" map: the path is the package's; an upgrade that moved it fails every forwarding test at once.
// Requests go through the pool's dispatch() with our own handler (./leg.ts says why).
const Pool = lazyRequire<typeof UndiciPool>('undici/lib/dispatcher/pool.js');

export interface UpstreamDeps {
  readonly breaker: CircuitBreaker;
  readonly upstreamKey: string | undefined;
  readonly tls: boolean;
  /** With redact_requests: a client header whose value holds a secret is not forwarded. */
  readonly judgeRequestHeader?: HeaderJudge;
}

/** The pieces a policy load builds once: connection pool, header values; the answer goes through `filters`. */
export function createForward(policy: CompiledPolicy, deps: UpstreamDeps, filters: ResponseChain): { stage: RequestHandler; close(): void } {
  const up = policy.raw.upstream;
  const target = new URL(up.url);
  /** A path in upstream.url prefixes every request's path. */
  const base = target.pathname.replace(/\/+$/, '');
  const timeoutMs = up.timeout_seconds * 1000;
  const expiryMs = up.keepalive_expiry_seconds * 1000;
  // One pool per policy load. An idle connection lives keepalive_expiry_seconds (a shorter Keep-Alive hint
  // from the upstream wins); the timeouts are idle ones, as a socket timeout: before the head, between pieces.
  const pool: UndiciPool = new (Pool())(target.origin, {
    connections: up.max_connections,
    keepAliveTimeout: expiryMs,
    keepAliveMaxTimeout: expiryMs,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connect: { rejectUnauthorized: true, timeout: timeoutMs },
  });
  const rewriteHeaders = createRequestHeaders(policy, deps);
  const breaker = deps.breaker;
  const maxBuffered = up.max_buffered_response_bytes;

  function answer(ctx: RequestContext, status: number, headers: IncomingHttpHeaders, fromUpstream: Leg, res: ServerResponse): void {
    ctx.upstreamStatus = status;
    const decoding = decodingFor(headers['content-encoding']);
    if (decoding.kind !== 'identity') {
      // The client gets the decoded answer: neither the coding nor the compressed length applies to it.
      headers = { ...headers };
      delete headers['content-encoding'];
      delete headers['content-length'];
    }
    // A charset other than UTF-8 is decoded and the answer sent as UTF-8 (./charset.ts): the type says so.
    const recoding = recodingFor(headers['content-type']);
    if (recoding.kind === 'decode') {
      headers = { ...headers, 'content-type': recoding.type };
      delete headers['content-length'];
    }
    const type = headers['content-type'];
    const x: Exchange = { ctx, res, status, headers, type, streamed: isStreamedAnswer(ctx, type), copied: [] };
    try {
      start(x, decoding, recoding, fromUpstream);
    } catch {
      // A filter that throws on the head must not become an unhandled rejection (which ends the process).
      fromUpstream.destroy();
      refuse(x, 'upstream_error', { stage: 'upstream', outcome: 'deny', reason: 'response filter failed on the head' });
    }
  }

  function start(x: Exchange, decoding: Decoding, recoding: Recoding, leg: Leg): void {
    let fromUpstream: AnswerSource = leg;
    const { ctx, res, status } = x;
    const head = filters.head(x);
    if (head === 'gone') {
      fromUpstream.destroy();
      return;
    }
    if (head) {
      fromUpstream.resume();
      return replace(x, head);
    }
    if (decoding.kind === 'unknown') {
      // Bytes the proxy cannot read are bytes it cannot check: never relayed.
      fromUpstream.destroy();
      return refuse(x, 'upstream_error', { stage: 'upstream', outcome: 'deny', reason: `content-encoding ${decoding.coding} not decodable` });
    }
    if (recoding.kind === 'unknown' && hasBody(ctx, status)) {
      fromUpstream.destroy();
      return refuse(x, 'upstream_error', { stage: 'upstream', outcome: 'deny', reason: `charset ${recoding.charset} not decodable` });
    }
    if (decoding.kind === 'decode' && hasBody(ctx, status)) fromUpstream = decoded(leg.toReadable(), decoding.steps);
    if (recoding.kind === 'decode' && hasBody(ctx, status)) fromUpstream = new Recoded(fromUpstream, recoding.label);
    else if (x.streamed && hasBody(ctx, status)) fromUpstream = new Recoded(fromUpstream, 'bom');
    res.once('close', () => {
      if (!res.writableFinished) fromUpstream.destroy();
    });
    if (filters.holds(x)) return buffered(x, fromUpstream);
    relay(x, fromUpstream);
  }

  /** The answer is replaced by an error: none of the upstream's headers (Location, ETag, Content-Disposition...) stay on it. */
  function refuse(x: Exchange, code: ErrorCode, opts: OutcomeOptions): void {
    if (!x.res.headersSent) for (const name of x.copied) x.res.removeHeader(name);
    answerError(x.ctx, x.res, code, opts);
  }
  /** The upstream's body failed: a body timeout is a 504 like a head timeout, anything else a 502. */
  function bodyFailed(x: Exchange, e: Error & { code?: string }, reason: string): void {
    const timedOut = e.code === 'UND_ERR_BODY_TIMEOUT';
    refuse(x, timedOut ? 'upstream_timeout' : 'upstream_error', { stage: 'upstream', outcome: 'deny', rule: timedOut ? 'upstream.timeout_seconds' : undefined, reason: e.code ? `${reason} (${e.code})` : reason });
  }

  function replace(x: Exchange, r: Replacement): void {
    refuse(x, r.code, { stage: 'upstream', outcome: r.outcome, rule: r.rule, status: r.status });
  }

  /** Some filter needs the whole answer: held up to upstream.max_buffered_response_bytes. */
  function buffered(x: Exchange, fromUpstream: AnswerSource): void {
    const { ctx, res } = x;
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    fromUpstream.on('data', (c: Buffer) => {
      if (over) return;
      size += c.length;
      if (size > maxBuffered) {
        over = true;
        chunks.length = 0;
        fromUpstream.destroy();
        return refuse(x, 'response_too_large', { stage: 'upstream', outcome: 'deny', rule: 'upstream.max_buffered_response_bytes', reason: 'answer above upstream.max_buffered_response_bytes' });
      }
      chunks.push(c);
    });
    fromUpstream.on('error', (e: Error & { code?: string }) => {
      if (over) return;
      bodyFailed(x, e, 'the answer failed while it was read');
    });
    fromUpstream.on('end', () => {
      if (over || res.headersSent || res.writableEnded) return;
      const raw = Buffer.concat(chunks);
      // The server's content type decides, never the text: a model asked to "answer in JSON" on a text
      // endpoint must not switch the answer to field-by-field JSON handling.
      const json = isJsonType(x.type);
      // A UTF-16 byte order mark wins over any charset, as in browsers (./charset.ts bomEncoding); short of one, JSON
      // (or no type at all) naming no charset is UTF-16 by its first bytes, as Python clients' .json() reads it.
      const bom = bomEncoding(raw);
      let sniffed = bom ?? ((json || x.type === undefined) && !/charset/i.test(x.type ?? '') ? sniffJsonEncoding(raw) : null);
      if (sniffed === 'utf-32') {
        if (json) return refuse(x, 'upstream_error', { stage: 'upstream', outcome: 'deny', reason: 'UTF-32 JSON not decodable' });
        sniffed = null;
      }
      let text = sniffed ? new TextDecoder(sniffed).decode(raw) : raw.toString('utf8');
      // Only what then reads as JSON was UTF-16 JSON: other bytes (an untyped file) go as they came.
      if (sniffed && !bom && (!/^\s*[[{"]/.test(text) || (!json && parseJson(text) === undefined))) { sniffed = null; text = raw.toString('utf8'); }
      /** The bytes to send when no filter changed the answer: the upstream's own, unless they were not UTF-8. */
      const same = (): Buffer => (sniffed ? Buffer.from(text, 'utf8') : raw);
      const parsed = json ? parseJson(text) : undefined;
      const body: Body = { raw, text, json: parsed, numbers: parsed === undefined ? undefined : exactNumbers(text, parsed) };
      let out: Buffer;
      try {
        const r = filters.body(x, body);
        if (r) return replace(x, r);
        out = body.json !== undefined ? (body.json === parsed ? same() : Buffer.from(stringifyExact(body.json, body.numbers))) : body.text === text ? same() : Buffer.from(body.text);
      } catch {
        return refuse(x, 'upstream_error', { stage: 'upstream', outcome: 'deny', rule: 'security.information_disclosure.redact_responses', reason: 'response filter failed closed' });
      }
      ctx.responseBytes = out.length;
      res.setHeader('Content-Length', out.length);
      res.end(out);
    });
  }

  /** Relayed as it arrives, each piece through the filters; a stream's head goes out at once. */
  function relay(x: Exchange, fromUpstream: AnswerSource): void {
    const { ctx, res } = x;
    if (x.streamed) {
      res.setHeader('Cache-Control', res.getHeader('cache-control') ?? 'no-cache');
      res.setHeader('X-Accel-Buffering', 'no');
      res.flushHeaders();
    } else {
      const length = x.headers['content-length'];
      if (length !== undefined && /^\d+$/.test(length)) {
        res.setHeader('Content-Length', length);
        x.copied.push('content-length');
      }
    }
    let pieces: PieceFilter | null | undefined;
    const write = (out: Buffer): void => {
      if (out.length === 0) return;
      ctx.responseBytes += out.length;
      if (!res.write(out)) {
        fromUpstream.pause();
        res.once('drain', () => fromUpstream.resume());
      }
    };
    fromUpstream.on('data', (chunk: Buffer) => {
      try {
        if (pieces === undefined) pieces = filters.pieces(x, chunk);
        write(pieces ? pieces.push(chunk) : chunk);
      } catch {
        failClosed(ctx, fromUpstream, res, pieces);
      }
    });
    fromUpstream.on('end', () => {
      try {
        if (pieces) write(pieces.end());
      } catch {
        return failClosed(ctx, fromUpstream, res, pieces);
      }
      res.end();
    });
    fromUpstream.on('error', (e: Error & { code?: string }) => {
      // Before the first byte (a corrupt compressed answer) the client still gets a proper error.
      if (res.headersSent) return res.destroy();
      bodyFailed(x, e, 'the answer failed before its first byte');
    });
  }

  /** A filter failed: nothing more of the upstream's bytes goes out; the stream ends with an error event. */
  function failClosed(ctx: RequestContext, fromUpstream: AnswerSource, res: ServerResponse, pieces: PieceFilter | null | undefined): void {
    recordOutcome(ctx, 'redaction_failed', { stage: 'upstream', outcome: 'deny', rule: 'security.information_disclosure.redact_responses', reason: 'response filter failed closed' });
    fromUpstream.removeAllListeners('data');
    fromUpstream.destroy();
    if (res.writableEnded) return;
    // A relay with the upstream's Content-Length cannot take a trailer: bytes past it would be read as the next answer.
    if (res.hasHeader('content-length')) return void res.destroy();
    let trailer: Buffer | undefined;
    try {
      trailer = pieces?.errorTrailer?.();
    } catch {
      trailer = undefined;
    }
    res.end(trailer ?? '\n');
  }

  const stage: RequestHandler = function forward(req, res) {
    const ctx = req.ctx;
    if (!breaker.admit()) {
      return answerError(ctx, res, 'circuit_open', { stage: 'upstream', outcome: 'deny', rule: 'upstream.circuit_breaker', headers: { 'Retry-After': String(breaker.retryAfterSeconds()) } });
    }
    if (ctx.json && Object.hasOwn(ctx.json, '_method')) {
      delete ctx.json._method; // a framework's method override (proxy/method-override.ts)
      ctx.forwardBody = undefined;
    }
    const body = ctx.forwardBody ?? (ctx.json ? Buffer.from(stringifyExact(ctx.json, ctx.jsonNumbers)) : ctx.rawBody ?? Buffer.alloc(0));
    rewriteHeaders(req.headers, ctx, body.length, req.method);
    delete req.headers.host; // the pool names the upstream's own host
    ctx.requestBytes = body.length;
    const st: LegState = { verdict: false, abandoned: false };
    const start = process.hrtime.bigint();
    const failed = (err: Error & { code?: string }): void => {
      if (st.abandoned) return; // we cut it ourselves: no verdict on the upstream
      st.verdict = true;
      // undici refusing the request itself (arguments, a closed pool) says nothing about the upstream.
      if (LOCAL_ERROR.test(err.code ?? '')) {
        breaker.release();
        return answerError(ctx, res, 'internal_error', { stage: 'upstream', outcome: 'deny', reason: err.code });
      }
      breaker.failure();
      if (res.writableEnded || res.destroyed) return;
      const timedOut = err.code === 'UND_ERR_HEADERS_TIMEOUT' || err.code === 'UND_ERR_CONNECT_TIMEOUT';
      const code = timedOut ? 'upstream_timeout' : 'upstream_unavailable';
      answerError(ctx, res, code, { stage: 'upstream', outcome: 'deny', rule: timedOut ? 'upstream.timeout_seconds' : 'upstream.url', reason: err.code });
    };
    const leg = new Leg({
      head(status, headers) {
        ctx.upstreamTtfbMs = Number(process.hrtime.bigint() - start) / 1e6;
        st.verdict = true;
        answer(ctx, status, headers, leg, res);
      },
      failed,
    });
    // The answer is over on our side (client gone, or the proxy answered already, e.g. request_timeout) before
    // the upstream's answer was fully relayed: stop the upstream work at once. Without the upstream's verdict
    // the request frees a half-open probe.
    res.once('close', () => {
      if (!st.verdict) breaker.release();
      if (leg.done) return;
      st.abandoned = true;
      leg.destroy();
    });
    try {
      pool.dispatch({
        path: base + encodePath(ctx.path) + stripMethodParam(ctx.query),
        method: req.method ?? 'GET',
        headers: req.headers as Record<string, string | string[]>,
        body: body.length > 0 ? body : undefined,
      }, leg);
    } catch (e) {
      // undici refusing the arguments (a header value it will not send): our side's error, as request() reported it.
      failed(e as Error & { code?: string });
    }
  };

  return {
    stage,
    close() {
      void pool.destroy().catch(() => {});
    },
  };
}

/** undici error codes raised on our side of the connection, before the upstream could judge anything. */
const LOCAL_ERROR = /^UND_ERR_(?:INVALID_ARG|NOT_SUPPORTED|DESTROYED|CLOSED|REQ_CONTENT_LENGTH_MISMATCH)$/;

interface LegState {
  verdict: boolean;
  abandoned: boolean;
}

/** HEAD, 1xx, 204 and 304 answers have no body to decode, whatever their headers say. */
function hasBody(ctx: RequestContext, status: number): boolean {
  return ctx.method !== 'HEAD' && status >= 200 && status !== 204 && status !== 304;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
