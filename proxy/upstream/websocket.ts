// WebSocket forward stage: http-proxy's ws pass with the client key swapped for the upstream's, limits, byte counts.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type Server from 'http-proxy';
import { lazyRequire } from '../../kernel/lazy.js';
import type { RequestHandler } from 'express';
import type { CompiledPolicy } from '../../kernel/policy.js';
import type { HeaderJudge } from '../response/headers.js';
import type { RequestContext } from '../../kernel/context.js';
import { answerError } from '../../kernel/deny.js';
import { encodePath } from '../normalize-path.js';
import { MARKER_PROTOCOL, type HeldUpgrade } from '../upgrade.js';
import type { CircuitBreaker } from './circuit.js';
import { FrameWatcher } from './ws-frames.js';

/** Request headers never forwarded on a handshake: client credentials, hop-by-hop ones we set ourselves. */
const DROP_REQUEST = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'expect', 'authorization', 'x-api-key', 'cookie', 'forwarded', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-real-ip', 'content-length'];
/** Handshake headers a client may not strip by naming them in Connection. */
const KEEP_REQUEST = new Set(['host', 'upgrade', 'sec-websocket-key', 'sec-websocket-version', 'sec-websocket-protocol', 'sec-websocket-extensions', 'x-request-id', 'traceparent']);
/** http-proxy, loaded at a policy's first WebSocket handshake. */
const httpProxy = lazyRequire<typeof Server>('http-proxy');
const VERSION_HEADERS = ['server', 'x-powered-by', 'x-aspnet-version', 'x-aspnetmvc-version', 'x-runtime', 'x-version', 'via', 'x-generator', 'x-served-by', 'x-backend-server'];

export interface WebSocketDeps {
  readonly breaker: CircuitBreaker;
  readonly upstreamKey: string | undefined;
  readonly tls: boolean;
  /** Told when a connection opens (after the 101) and when it is over (before its audit line). */
  readonly onOpen?: (ctx: RequestContext) => void;
  /** Header values that leak (proxy/response/headers.ts); set when the disclosure section is on. */
  readonly judgeHeader?: HeaderJudge;
}

/** One upgraded connection, found by its client socket (shutdown closes them with reason "shutdown"). */
interface Live {
  readonly ctx: RequestContext;
  readonly client: Socket;
  readonly res: ServerResponse;
  upstream?: Socket;
  /** The handshake request while it waits for the upstream's answer. */
  pending?: { destroy(): void };
  upgraded: boolean;
  closed: boolean;
  timers: NodeJS.Timeout[];
  /** Offered the bare marker protocol (answered with it when the upstream chose none). */
  readonly marker: boolean;
  /** The client socket as read before the 101 (proxy/upgrade.ts); its bytes go back to it at the 101. */
  readonly held: HeldUpgrade | undefined;
}

const live = new WeakMap<Socket, Live>();

/** Ends an open WebSocket connection (both sockets), recording why. No-op for anything else. */
export function closeWebSocket(client: Socket, reason: string): void {
  const c = live.get(client);
  if (c) finish(c, reason);
}

function finish(c: Live, reason: string): void {
  if (c.closed) return;
  c.closed = true;
  if (c.ctx.websocket && c.ctx.websocket.closeReason === undefined) c.ctx.websocket.closeReason = reason;
  for (const t of c.timers) clearTimeout(t);
  if (!c.upgraded) c.pending?.destroy();
  c.upstream?.destroy();
  c.client.destroy();
}

export function createWebSocketForward(policy: CompiledPolicy, deps: WebSocketDeps): { stage: RequestHandler; close(): void } {
  const up = policy.raw.upstream;
  const ws = policy.raw.server.websocket;
  // No agent: an upgraded socket belongs to its connection, and closing a generation's pool must not cut it.
  const bearer = deps.upstreamKey ? `Bearer ${deps.upstreamKey}` : undefined;
  const disclosure = policy.raw.security.information_disclosure;
  const hideVersions = disclosure.enabled && policy.mode !== 'disabled' && disclosure.hide_versions;
  const trusted = policy.raw.server.trust_proxy.length > 0;
  const proto = deps.tls ? 'https' : 'http';
  const idleMs = ws.idle_timeout_seconds * 1000;
  const lifetimeMs = ws.max_lifetime_seconds * 1000;
  const handshakeMs = up.timeout_seconds * 1000;
  const conns = new WeakMap<IncomingMessage, Live>();
  const byUpstream = new WeakMap<Socket, Live>();

  // Made at the first handshake (most policies never see one).
  let made: Server | undefined;
  const relay = (): Server => made ??= listen(httpProxy().createProxyServer({ target: up.url, changeOrigin: true, xfwd: false, ws: true, secure: true, agent: false as unknown as undefined }));
  const listen = (proxy: Server): Server => {
    proxy.on('proxyReqWs', (proxyReq, req) => {
      const c = conns.get(req as IncomingMessage);
      if (!c) return proxyReq.destroy();
      const start = process.hrtime.bigint();
      c.pending = proxyReq;
      proxyReq.setTimeout(handshakeMs, () => proxyReq.destroy(Object.assign(new Error('upstream timeout'), { code: 'ETIMEDOUT' })));
      // Not a 101: our own error answer, never the upstream's raw one (version headers, tracebacks). http-proxy
      // adds a listener that pipes that raw answer to the client right after this event: it is removed once added.
      const onResponse = (proxyRes: IncomingMessage): void => {
        proxyRes.resume();
        const status = proxyRes.statusCode ?? 502;
        c.ctx.upstreamStatus = status;
        if (status >= 500) deps.breaker.failure();
        else deps.breaker.success();
        const code = status >= 400 && status < 500 ? 'upstream_rejected' : 'upstream_error';
        answerError(c.ctx, c.res, code, { stage: 'upstream', outcome: 'deny', reason: `upstream answered ${status} instead of 101`, status: code === 'upstream_rejected' ? status : undefined });
      };
      proxyReq.on('response', onResponse);
      process.nextTick(() => {
        for (const l of proxyReq.listeners('response')) if (l !== onResponse) proxyReq.off('response', l as (...a: unknown[]) => void);
      });
      proxyReq.on('upgrade', (proxyRes: IncomingMessage, upstream: Socket) => {
        proxyReq.setTimeout(0);
        deps.breaker.success();
        c.upstream = upstream;
        c.upgraded = true;
        // Before http-proxy's own 'upgrade' listener pipes the sockets: what the client sent so far goes first.
        c.held?.release();
        byUpstream.set(upstream, c);
        const ctx = c.ctx;
        ctx.upstreamStatus = 101;
        ctx.upstreamTtfbMs = Number(process.hrtime.bigint() - start) / 1e6;
        const h = proxyRes.headers;
        delete h['set-cookie'];
        if (hideVersions) for (const n of VERSION_HEADERS) delete h[n];
        const judge = deps.judgeHeader;
        if (judge) {
          for (const [n, v] of Object.entries(h)) {
            if (v !== undefined && (Array.isArray(v) ? v.some((x) => judge(n, x, ctx)) : judge(n, v, ctx))) delete h[n];
          }
        }
        h['x-request-id'] = ctx.id;
        const chosen = h['sec-websocket-protocol'];
        if (chosen === undefined && c.marker) h['sec-websocket-protocol'] = MARKER_PROTOCOL;
        ctx.websocket = { opened: true, openedAt: Date.now(), protocol: typeof h['sec-websocket-protocol'] === 'string' ? h['sec-websocket-protocol'] : undefined };
        // From here the response object is not the client's any more: the socket carries frames.
        c.res.statusCode = 101;
        c.res.detachSocket(c.client);
        upstream.once('end', () => {
          if (ctx.websocket && ctx.websocket.closeReason === undefined) ctx.websocket.closeReason = 'upstream';
        });
        c.client.once('end', () => {
          if (ctx.websocket && ctx.websocket.closeReason === undefined) ctx.websocket.closeReason = 'client';
        });
        c.client.setTimeout(idleMs, () => finish(c, 'idle_timeout'));
        c.timers.push(setTimeout(() => finish(c, 'max_lifetime'), lifetimeMs));
        upstream.once('close', () => finish(c, 'upstream'));
      });
    });

    // http-proxy has piped both ways now; counting from here sees every frame byte (its unshifted heads included).
    proxy.on('open', (upstream: Socket) => {
      const c = byUpstream.get(upstream);
      if (!c) return;
      const ctx = c.ctx;
      const w = ctx.websocket!;
      const fromClient = new FrameWatcher();
      const fromUpstream = new FrameWatcher();
      // Who closed is whose close frame came first: TCP's order says little (the server closes TCP first).
      const firstClose = (watcher: FrameWatcher, side: string): void => {
        if (watcher.closeCode === undefined || w.closeCode !== undefined || w.closeReason !== undefined) return;
        w.closeCode = watcher.closeCode;
        w.closeReason = side;
      };
      c.client.on('data', (b: Buffer) => {
        ctx.requestBytes += b.length;
        fromClient.push(b);
        w.framesToUpstream = fromClient.frames;
        firstClose(fromClient, 'client');
      });
      upstream.on('data', (b: Buffer) => {
        ctx.responseBytes += b.length;
        fromUpstream.push(b);
        w.framesToClient = fromUpstream.frames;
        firstClose(fromUpstream, 'upstream');
      });
      deps.onOpen?.(c.ctx);
    });
    proxy.on('error', () => undefined);
    return proxy;
  };

  const stage: RequestHandler = function forwardWebSocket(req, res) {
    const ctx = req.ctx;
    const client = req.socket;
    // The head node read past the request is held with the rest (proxy/upgrade.ts), not handed to http-proxy.
    const held = (req as { upgradeHeld?: HeldUpgrade }).upgradeHeld;
    if (!deps.breaker.admit()) {
      return answerError(ctx, res, 'circuit_open', { stage: 'upstream', outcome: 'deny', rule: 'upstream.circuit_breaker', headers: { 'Retry-After': String(deps.breaker.retryAfterSeconds()) } });
    }
    const c: Live = { ctx, client, res: res as ServerResponse, upgraded: false, closed: false, timers: [], marker: (req as { wsMarker?: boolean }).wsMarker === true, held };
    conns.set(req, c);
    live.set(client, c);
    const h = req.headers;
    const inboundXff = h['x-forwarded-for'];
    const inboundProto = h['x-forwarded-proto'];
    for (const name of connectionTokens(h.connection)) if (!KEEP_REQUEST.has(name)) delete h[name];
    for (const name of DROP_REQUEST) delete h[name];
    h.connection = 'Upgrade';
    h.upgrade = 'websocket';
    h['x-forwarded-for'] = trusted && typeof inboundXff === 'string' && ctx.peerIp !== ctx.clientIp ? `${inboundXff}, ${ctx.peerIp}` : ctx.clientIp;
    h['x-forwarded-proto'] = trusted && typeof inboundProto === 'string' && ctx.peerIp !== ctx.clientIp ? inboundProto : proto;
    if (bearer) h.authorization = bearer;
    req.url = encodePath(ctx.path) + ctx.query;
    ctx.requestBytes = 0;
    ctx.responseBytes = 0;
    res.once('close', () => {
      if (!c.upgraded) deps.breaker.release();
    });
    client.once('close', () => {
      finish(c, 'client');
      // The response was detached at the 101: its 'close' (and so the audit line) is ours to send.
      if (c.upgraded) res.emit('close');
    });
    relay().ws(req, client, Buffer.alloc(0), {}, (err: Error & { code?: string }) => {
      if (c.upgraded) return finish(c, 'error');
      // We cut the handshake ourselves (the client left, or shutdown): that is no verdict on the upstream, and
      // there is no one to answer. The response's 'close' has freed (or will free) a half-open probe; the line
      // says aborted (proxy/intake.ts), as for an HTTP client that leaves before its answer.
      if (c.closed) return;
      const timedOut = err.code === 'ETIMEDOUT';
      deps.breaker.failure();
      const code = timedOut ? 'upstream_timeout' : 'upstream_unavailable';
      answerError(ctx, res as ServerResponse, code, { stage: 'upstream', outcome: 'deny', rule: timedOut ? 'upstream.timeout_seconds' : 'upstream.url', reason: err.code });
    });
  };

  return { stage, close: () => made?.close() };
}

function connectionTokens(v: string | string[] | undefined): Set<string> {
  const out = new Set<string>();
  for (const part of Array.isArray(v) ? v : v ? [v] : []) {
    for (const t of part.split(',')) {
      const n = t.trim().toLowerCase();
      if (n && n !== 'close' && n !== 'keep-alive' && n !== 'upgrade') out.add(n);
    }
  }
  return out;
}
