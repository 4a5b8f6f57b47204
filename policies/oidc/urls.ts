// The one rule for issuer and JWKS addresses: https, or plain http only to a loopback host.
import { isIP } from 'node:net';

/** True for localhost, 127.0.0.0/8 and ::1. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h === '::1' || h === '0:0:0:0:0:0:0:1';
}

/** Why a URL may not serve keys or name an issuer, or null when it may. */
export function urlProblem(url: string): string | null {
  let u: URL;
  try { u = new URL(url); } catch { return `${JSON.stringify(url)} is not a URL`; }
  if (u.protocol === 'https:' && u.hostname !== '') return null;
  if (u.protocol === 'http:' && isLoopbackHost(u.hostname)) return null;
  if (u.protocol === 'http:') return `${JSON.stringify(url)} uses http outside loopback: keys fetched over plain http can be swapped in transit; use https`;
  return `${JSON.stringify(url)} is not an https URL`;
}
