// Upgrade requests: the key from a query parameter or Sec-WebSocket-Protocol, the upgrade check, and secret path masks.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RequestHandler } from 'express';
import type { CompiledPolicy } from '../kernel/policy.js';
import type { RequestContext } from '../kernel/context.js';
import { deny } from '../kernel/deny.js';

/** Subprotocol entries that carry a key: ours, and the one OpenAI's browser realtime client sends. */
export const KEY_PROTOCOL_PREFIXES = ['lollms-guard.key.', 'openai-insecure-api-key.'] as const;
/** A key with characters a subprotocol may not carry, base64url-encoded (as Kubernetes does for bearer tokens). */
export const B64_KEY_PROTOCOL_PREFIX = 'lollms-guard.b64key.';
/** The bare entry a browser offers next to its key entry, so the 101 can name a protocol it offered. */
export const MARKER_PROTOCOL = 'lollms-guard';

export interface Credentials {
  /** The client offered the bare marker protocol. */
  readonly marker: boolean;
}

/**
 * Moves a key given in the query (`query_key_param`) or in Sec-WebSocket-Protocol into the header the
 * authentication stage reads, and removes it from the URL and the protocol list, so neither the upstream nor
 * the audit line (which never logs queries anyway) sees it. A key in a header wins over both.
 */
export function takeCredentials(req: IncomingMessage, policy: CompiledPolicy): Credentials {
  const param = policy.raw.server.websocket.query_key_param;
  const h = req.headers;
  let key: string | undefined;
  let marker = false;
  const proto = h['sec-websocket-protocol'];
  if (proto !== undefined) {
    const kept: string[] = [];
    for (const raw of (Array.isArray(proto) ? proto.join(',') : proto).split(',')) {
      const p = raw.trim();
      if (p === '') continue;
      const prefix = KEY_PROTOCOL_PREFIXES.find((x) => p.startsWith(x));
      if (prefix) key ??= p.slice(prefix.length);
      else if (p.startsWith(B64_KEY_PROTOCOL_PREFIX)) key ??= Buffer.from(p.slice(B64_KEY_PROTOCOL_PREFIX.length), 'base64url').toString('utf8');
      else if (p === MARKER_PROTOCOL) marker = true;
      else kept.push(p);
    }
    if (kept.length > 0) h['sec-websocket-protocol'] = kept.join(', ');
    else delete h['sec-websocket-protocol'];
  }
  const fromQuery = stripKeyParam(req, param); // always: a header key wins, the parameter still goes
  key ??= fromQuery;
  if (key !== undefined && key !== '' && h.authorization === undefined && h['x-api-key'] === undefined) {
    const headers = policy.raw.security.authentication.api_key_headers.map((x) => x.toLowerCase());
    if (headers.includes('authorization')) h.authorization = `Bearer ${key}`;
    else if (headers.includes('x-api-key')) h['x-api-key'] = key;
  }
  return { marker };
}

/**
 * Removes the key parameter (`query_key_param`, in any case: `API_KEY` too) from req.url; returns the value of
 * the first one spelled exactly as configured. HTTP requests never authenticate by it, but it is still the
 * proxy's credential and never reaches the upstream. Pairs kept stay byte for byte (URLSearchParams would
 * re-encode them); only names are decoded.
 */
export function stripKeyParam(req: IncomingMessage, param: string): string | undefined {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  if (param === '' || q < 0) return undefined;
  const lower = param.toLowerCase();
  let key: string | undefined;
  let dropped = false;
  const kept: string[] = [];
  for (const pair of url.slice(q + 1).split('&')) {
    const eq = pair.indexOf('=');
    const name = decodeQuery(eq < 0 ? pair : pair.slice(0, eq));
    if (name !== undefined && name.toLowerCase() === lower) {
      if (name === param) key ??= decodeQuery(eq < 0 ? '' : pair.slice(eq + 1));
      dropped = true;
      continue;
    }
    kept.push(pair);
  }
  if (dropped) req.url = url.slice(0, q) + (kept.length > 0 ? `?${kept.join('&')}` : '');
  return key;
}

function decodeQuery(s: string): string | undefined {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/** Bytes a client may send before the 101 (RFC 6455 §4.1 says none at all); past this its socket is ended. */
export const EARLY_BYTES_LIMIT = 64 * 1024;

/** An upgrade's client socket, read while its handshake is pending (`watchUpgradeSocket`). */
export interface HeldUpgrade {
  /** At the 101: stop reading and put every byte read so far back at the socket's front, for the relay. */
  release(): void;
}

/**
 * Node hands the 'upgrade' event its socket unread (not flowing), and nothing reads it before the upstream's
 * 101: a client that leaves in the meantime is never seen (its FIN waits unread, the socket sits in CLOSE-WAIT)
 * and the handshake goes on upstream until upstream.timeout_seconds. So the socket is read from the upgrade
 * event on. An end (the client closed or half-closed its side, which the HTTP path also takes as leaving) or
 * more than EARLY_BYTES_LIMIT bytes destroys it, so the response closes and the pipeline, the WebSocket forward
 * and the audit line see a client that left. The bytes read (`head`, what node read past the request, then
 * anything sent before the 101) are kept, in order, for `release()`.
 */
export function watchUpgradeSocket(socket: Duplex, head: Buffer): HeldUpgrade {
  const held: Buffer[] = head.length > 0 ? [head] : [];
  let size = head.length;
  const onData = (b: Buffer): void => {
    size += b.length;
    if (size > EARLY_BYTES_LIMIT) {
      held.length = 0;
      socket.destroy();
      return;
    }
    held.push(b);
  };
  const onEnd = (): void => {
    socket.destroy();
  };
  socket.on('data', onData);
  socket.once('end', onEnd);
  return {
    release() {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.pause(); // the relay's pipe resumes it
      if (held.length > 0 && !socket.readableEnded) socket.unshift(held.length === 1 ? held[0] : Buffer.concat(held));
      held.length = 0;
    },
  };
}

/** A Sec-WebSocket-Key: the base64 of 16 bytes, canonical (21 characters, one carrying its last 2 bits, then "=="). */
const WS_KEY = /^[A-Za-z0-9+/]{21}[AQgw]==$/;
/** The one WebSocket version spoken: named in the 426 (RFC 6455 §4.4); a 426 names the protocol to upgrade to (RFC 9110 §15.5.22). */
const VERSION_REQUIRED = { 'Sec-WebSocket-Version': '13', Upgrade: 'websocket', Connection: 'Upgrade, close' } as const;

/**
 * First stage after intake for upgrades: only a bodiless GET asking for "websocket", and only when enabled; then
 * the opening handshake RFC 6455 §4.2.1 describes (HTTP/1.1, a Host, version 13, a key of 16 bytes), refused here,
 * in every mode, so the upstream never sees a handshake it would have to refuse (or, worse, would accept).
 * node emits 'upgrade' only with "Connection: Upgrade", so that one needs no check.
 */
export function createUpgradeCheck(policy: CompiledPolicy): RequestHandler {
  const enabled = policy.raw.server.websocket.enabled;
  return function upgradeCheck(req, res, next) {
    const ctx = req.ctx;
    ctx.websocket = { opened: false };
    const h = req.headers;
    const token = String(h.upgrade ?? '').trim().toLowerCase();
    const cl = h['content-length'];
    // A body on an upgrade would reach the upstream's HTTP parser as a second request: never forward one.
    const body = h['transfer-encoding'] !== undefined || (cl !== undefined && cl !== '0');
    if (req.method === 'CONNECT') {
      deny(req, res, 'method_not_allowed', { stage: 'upgrade', reason: 'CONNECT: the proxy opens no tunnels', always: true });
      return;
    }
    const why = !enabled ? 'server.websocket.enabled = false'
      : token !== 'websocket' ? 'only "Upgrade: websocket" is accepted'
      : req.method !== 'GET' ? 'a WebSocket upgrade is a GET'
      : body ? 'an upgrade request has no body' : undefined;
    if (why !== undefined) {
      deny(req, res, 'upgrade_not_supported', { stage: 'upgrade', ...(enabled ? {} : { rule: 'server.websocket.enabled' }), reason: why, always: true });
      return;
    }
    // Reasons name what is wrong, never the client's value.
    const malformed = req.httpVersionMajor < 1 || (req.httpVersionMajor === 1 && req.httpVersionMinor < 1) ? 'a WebSocket handshake is HTTP/1.1 or later'
      : h.host === undefined || h.host === '' ? 'a WebSocket handshake names its Host'
      : undefined;
    if (malformed === undefined && h['sec-websocket-version'] !== '13') {
      const reason = h['sec-websocket-version'] === undefined ? 'no Sec-WebSocket-Version' : 'Sec-WebSocket-Version is not 13';
      deny(req, res, 'unsupported_websocket_version', { stage: 'upgrade', reason, headers: VERSION_REQUIRED, always: true });
      return;
    }
    const key = h['sec-websocket-key'];
    const bad = malformed
      ?? (key === undefined ? 'no Sec-WebSocket-Key' : !WS_KEY.test(key) ? 'Sec-WebSocket-Key is not the base64 of 16 bytes' : undefined);
    if (bad === undefined) return next();
    deny(req, res, 'invalid_websocket_handshake', { stage: 'upgrade', reason: bad, always: true });
  };
}

/** Compiled `secret_paths`: the template a path matches, or the path itself. */
export function compileSecretPaths(templates: readonly string[]): (path: string) => string {
  const compiled = templates.map((t) => {
    const parts = t.split('/').map((seg) => (/^\{[^/{}]*\}$/.test(seg) ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    return { re: new RegExp(`^${parts.join('/')}/?$`), template: t };
  });
  return (path) => compiled.find((c) => c.re.test(path))?.template ?? path;
}

/** The context as the audit and the metrics see it: a secret path shows as its template. */
export function maskedContext(ctx: RequestContext, mask: (path: string) => string): RequestContext {
  const shown = mask(ctx.path);
  if (shown === ctx.path) return ctx;
  // Reasons (and an allow pattern in `at`) may quote the path ("GET /ws/dm/... not listed"): they show the template too.
  const hide = (s: string | undefined): string | undefined => (s === undefined ? s : s.split(ctx.path).join(shown));
  const decisions = ctx.decisions.map((d) => ({ ...d, reason: hide(d.reason), ...(d.at !== undefined ? { at: hide(d.at) } : {}) }));
  return { ...ctx, path: shown, decisions };
}
