// Slow and greedy clients: to-the-second header, body and idle timers, and a cap on connections per client address.
import type http from 'node:http';
import type { Socket } from 'node:net';
import ipaddr from 'ipaddr.js';
import { errorBody, ERRORS, type ErrorCode } from '../kernel/errors.js';
import { closeAfterAnswer } from './body.js';
import { recordOutcome, sendError } from '../kernel/deny.js';

/**
 * Options for the listener itself. Node checks headersTimeout / requestTimeout only every
 * connectionsCheckingInterval (30 s by default: a slowloris socket lived 8 s past a 2 s limit); at 250 ms a
 * silent or header-trickling socket is cut within a quarter second of the limit. requestTimeout is only a
 * backstop here: the body timer below answers first, with a status and an audit line that agree.
 */
export function listenerTimeouts(headersSeconds: number, bodySeconds: number): Pick<http.ServerOptions, 'headersTimeout' | 'requestTimeout' | 'keepAliveTimeout' | 'connectionsCheckingInterval'> {
  const headersMs = Math.max(1, Math.round(headersSeconds * 1000));
  return {
    headersTimeout: headersMs,
    requestTimeout: headersMs + Math.round(bodySeconds * 1000) + 1000,
    // Node adds a second to keepAliveTimeout; idleTimer() below closes on time, this is the backstop.
    keepAliveTimeout: Math.min(5000, headersMs),
    connectionsCheckingInterval: 250,
  };
}

/**
 * The group a client address counts in: an IPv4 address alone (IPv4-mapped IPv6 is IPv4), an IPv6
 * address by its /64 (one subscriber or host usually owns a whole /64, so per-address counting would
 * be no limit at all).
 */
export function addressGroup(ip: string): string {
  if (!ipaddr.isValid(ip)) return ip;
  let a = ipaddr.parse(ip);
  if (a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress()) a = (a as ipaddr.IPv6).toIPv4Address();
  if (a.kind() === 'ipv4') return a.toString();
  const parts = (a as ipaddr.IPv6).parts.slice(0, 4).map((p) => p.toString(16));
  return `${parts.join(':')}::/64`;
}

export interface ConnectionGuardOptions {
  readonly headersSeconds: number;
  readonly bodySeconds: number;
  /** Most open connections one address group may hold; 0 = no cap. */
  readonly maxPerAddress: number;
  /** Peers in server.trust_proxy: a reverse proxy in front multiplexes many clients, it is not capped. */
  readonly trusted: (ip: string) => boolean;
  readonly tls: boolean;
  /** Told when connections are refused by the cap: at most once per group per 10 s, with the count (audit). */
  readonly onRefused: (ip: string, group: string, count: number) => void;
}

export interface ConnectionGuard {
  /** Call at the start of each request: arms the body timer and stops the idle one. */
  request(req: http.IncomingMessage, res: http.ServerResponse): void;
  /** Call when a socket is handed to the 'upgrade' event: a keep-alive idle timer must not cut a WebSocket. */
  upgrade(sock: Socket): void;
  /** Open connections per address group (for tests and metrics). */
  readonly open: ReadonlyMap<string, number>;
}

const idle = new WeakMap<Socket, NodeJS.Timeout>();

export function guardConnections(server: http.Server, o: ConnectionGuardOptions): ConnectionGuard {
  const open = new Map<string, number>();
  const idleMs = Math.min(5000, Math.max(1, Math.round(o.headersSeconds * 1000)));
  const bodyMs = Math.max(1, Math.round(o.bodySeconds * 1000));
  const refusal = refusalBytes('too_many_connections');
  // A flood of refused connections must not flood the audit log: one line per group per 10 s, counted.
  const refused = new Map<string, { since: number; count: number }>();
  const report = (ip: string, group: string): void => {
    const now = Date.now();
    const r = refused.get(group);
    if (r && now - r.since < 10_000) {
      r.count++;
      return;
    }
    if (refused.size > 10_000) refused.clear();
    refused.set(group, { since: now, count: 0 });
    o.onRefused(ip, group, (r?.count ?? 0) + 1);
  };

  server.on('connection', (sock: Socket) => {
    const ip = sock.remoteAddress ?? '';
    if (o.maxPerAddress > 0 && !o.trusted(ip)) {
      const group = addressGroup(ip);
      const n = (open.get(group) ?? 0) + 1;
      if (n > o.maxPerAddress) {
        report(ip, group);
        // Plain HTTP: a 429 the client can read, then close. TLS: no plaintext on the wire, just close.
        if (o.tls) sock.destroy();
        else {
          sock.end(refusal);
          setTimeout(() => sock.destroy(), 1000).unref();
        }
        return;
      }
      open.set(group, n);
      sock.once('close', () => {
        const left = (open.get(group) ?? 1) - 1;
        if (left <= 0) open.delete(group);
        else open.set(group, left);
      });
    }
    sock.once('close', () => clearTimeout(idle.get(sock)));
  });

  /** Between answers a keep-alive socket gets headers_timeout (at most 5 s) to start its next request. */
  const armIdle = (sock: Socket): void => {
    clearTimeout(idle.get(sock));
    if (sock.destroyed) return;
    idle.set(sock, setTimeout(() => sock.destroy(), idleMs).unref());
  };

  return {
    open,
    upgrade(sock) {
      clearTimeout(idle.get(sock));
    },
    request(req, res) {
      const sock = req.socket;
      clearTimeout(idle.get(sock));
      // The whole body within body_timeout_seconds of the request head, read by a stage or discarded.
      const body = req.complete
        ? undefined
        : setTimeout(() => {
            if (req.complete) return;
            const ctx = req.ctx;
            if (res.headersSent) {
              sock.destroy();
              return;
            }
            if (ctx) recordOutcome(ctx, 'body_timeout', { stage: 'body', outcome: 'deny', rule: 'server.body_timeout_seconds' });
            closeAfterAnswer(req, res);
            sendError(res, 'body_timeout');
          }, bodyMs).unref();
      if (body) {
        // The socket outlives the request (keep-alive): its listener goes with the body, or one per request piles up
        // on the socket, each holding its request, answer and context (measured: RSS +150 MB over 20,000 requests).
        const clear = (): void => { clearTimeout(body); sock.off('close', clear); };
        req.once('end', clear);
        sock.once('close', clear);
      }
      res.once('finish', () => {
        if (!res.hasHeader('connection') || String(res.getHeader('connection')).toLowerCase() !== 'close') armIdle(sock);
      });
    },
  };
}

function refusalBytes(code: ErrorCode): string {
  const body = errorBody(code);
  const status = ERRORS[code].status;
  return `HTTP/1.1 ${status} Too Many Requests\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nRetry-After: 1\r\nX-Error-Code: ${code}\r\nConnection: close\r\n\r\n${body}`;
}
