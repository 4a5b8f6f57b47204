// SSRF guard for URLs inside request bodies that the model host might fetch (image_url parts, file references).
import { lookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';
import type { UrlValidation } from '../kernel/policy.js';

const URL_KEYS = new Set(['url', 'image_url', 'file_url', 'audio_url', 'video_url']);
const LOCAL_RANGES = new Set(['loopback', 'linkLocal', 'unspecified', 'broadcast', 'multicast', 'reserved']);
const PRIVATE_RANGES = new Set(['private', 'uniqueLocal', 'carrierGradeNat']);

/** Every URL-looking string in the places the model host would fetch from. */
export function collectUrls(body: unknown, out: string[] = [], key = '', depth = 0): string[] {
  if (depth > 64) return out;
  if (typeof body === 'string') {
    if ((URL_KEYS.has(key) || key === 'images') && /^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(body)) out.push(body);
  } else if (Array.isArray(body)) {
    for (const v of body) collectUrls(v, out, key, depth + 1);
  } else if (body && typeof body === 'object') {
    for (const k of Object.keys(body)) collectUrls((body as Record<string, unknown>)[k], out, k, depth + 1);
  }
  return out;
}

export interface UrlVerdict {
  readonly ok: boolean;
  readonly reason?: string;
}

export function createUrlGuard(section: UrlValidation): ((url: string) => Promise<UrlVerdict>) | null {
  if (!section.enabled) return null;
  const schemes = new Set(section.allowed_schemes.map((s) => s.toLowerCase().replace(/:$/, '')));
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const d of section.allowed_domains) {
    const l = d.toLowerCase();
    if (l.startsWith('*.')) suffixes.push(l.slice(1));
    else exact.add(l);
  }
  const domainOk = (host: string): boolean =>
    (exact.size === 0 && suffixes.length === 0) || exact.has(host) || suffixes.some((s) => host.endsWith(s));

  function addressBad(ip: string): string | null {
    let addr: ipaddr.IPv4 | ipaddr.IPv6;
    try {
      addr = ipaddr.process(ip);
    } catch {
      return 'unreadable address';
    }
    const range = addr.range();
    if (section.deny_local_addresses && LOCAL_RANGES.has(range)) return `${range} address`;
    if (section.deny_private_ranges && PRIVATE_RANGES.has(range)) return `${range} address`;
    return null;
  }

  return async function checkUrl(raw: string): Promise<UrlVerdict> {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      return { ok: false, reason: 'unreadable URL' };
    }
    const scheme = u.protocol.slice(0, -1).toLowerCase();
    if (!schemes.has(scheme)) return { ok: false, reason: `scheme ${scheme} not allowed` };
    if (scheme === 'data') return { ok: true };
    const host = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
    if (!host) return { ok: false, reason: 'no host' };
    if (!domainOk(host)) return { ok: false, reason: 'domain not allowed' };
    if (!section.deny_local_addresses && !section.deny_private_ranges) return { ok: true };
    if (ipaddr.isValid(host)) {
      const bad = addressBad(host);
      return bad ? { ok: false, reason: bad } : { ok: true };
    }
    if (host === 'localhost' || host.endsWith('.localhost')) return { ok: false, reason: 'loopback name' };
    try {
      const addrs = await lookup(host, { all: true, verbatim: true });
      for (const a of addrs) {
        const bad = addressBad(a.address);
        if (bad) return { ok: false, reason: `${bad} (resolved)` };
      }
      return { ok: true };
    } catch {
      return { ok: false, reason: 'name does not resolve' };
    }
  };
}
