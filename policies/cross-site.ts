// Cross-site stage: a state-changing request whose Origin is neither listed in security.cors.origins nor the proxy's own is refused before authentication.
import { isIP } from 'node:net';
import type { RequestHandler } from 'express';
import type { CorsSection } from '../kernel/policy.js';
import { deny } from '../kernel/deny.js';
import { catalogue } from './lollms/compile.js';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);
const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || (isIP(h) === 4 && h.startsWith('127.'));
}

/** "http://Example.com:80/" -> "http://example.com" (scheme and host lower case, default port and slash dropped). */
export function canonicalOrigin(o: string): string | null {
  let u: URL;
  try {
    u = new URL(o);
  } catch {
    return null;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
  return `${u.protocol}//${u.host}`;
}

export interface OwnAddress {
  readonly host: string;
  readonly tls: boolean;
}

/**
 * The stage. The proxy's own origin is its scheme, the listening port and the bound host (with the loopback
 * names when bound to loopback; the local address when bound to all interfaces): never the Host header, which a
 * DNS-rebinding page controls.
 */
export function createCrossSite(cors: CorsSection, own: OwnAddress, opts: { readonly upgrades?: boolean } = {}): RequestHandler {
  // A WebSocket upgrade is a GET that opens a two-way channel, and browsers apply no CORS to it: its Origin is
  // checked like a state-changing request's (cross-site WebSocket hijacking).
  const safe = opts.upgrades ? new Set<string>() : SAFE;
  const any = cors.origins.includes('*');
  const listed = new Set(cors.origins.map(canonicalOrigin).filter((o): o is string => o !== null));
  const scheme = own.tls ? 'https' : 'http';
  const bound = own.host.includes(':') && !own.host.startsWith('[') ? `[${own.host}]` : own.host;
  const wildcard = own.host === '0.0.0.0' || own.host === '::' || own.host === '';
  const names = isLoopbackHost(own.host) ? [...new Set([bound.toLowerCase(), ...LOOPBACK_NAMES])] : wildcard ? [] : [bound.toLowerCase()];

  const ownOrigin = (origin: string, localPort: number | undefined, localAddress: string | undefined): boolean => {
    const port = localPort === undefined || (scheme === 'http' && localPort === 80) || (scheme === 'https' && localPort === 443) ? '' : `:${localPort}`;
    const hosts = [...names];
    if (wildcard && localAddress) {
      const a = localAddress.startsWith('::ffff:') && localAddress.includes('.') ? localAddress.slice(7) : localAddress;
      hosts.push(a.includes(':') ? `[${a}]` : a);
      if (isLoopbackHost(a)) hosts.push(...LOOPBACK_NAMES);
    }
    return hosts.some((h) => `${scheme}://${h}${port}` === origin);
  };

  return function crossSite(req, res, next) {
    const method = req.ctx.method;
    const header = req.headers.origin;
    if (safe.has(method) || header === undefined) return next();
    const origin = canonicalOrigin(String(header));
    if (origin !== null && (any || listed.has(origin) || ownOrigin(origin, req.socket.localPort, req.socket.localAddress))) return next();
    const entry = catalogue().lookup(req.ctx.path);
    if (deny(req, res, 'cross_site_request', {
      stage: 'cross-site',
      rule: 'security.cors.origins',
      reason: `${method} from Origin ${origin === null ? 'null or unreadable' : origin}, neither listed nor the proxy's own${entry ? ` (lollms catalogue ${entry.label})` : ''}`,
    })) return;
    next();
  };
}
