// The anonymize stage: keyed HMAC-SHA256 pseudonyms instead of client addresses and key ids (GDPR).
import { createHmac } from 'node:crypto';
import type { Decision } from '../../kernel/context.js';
import type { AuditFacts } from './types.js';

/** Detail keys that hold an address or an identity and get the same pseudonym treatment. */
const IDENTITY_KEYS = new Set(['ip', 'client_ip', 'source_ip', 'peer_ip', 'address', 'user', 'user_id', 'key_id']);

export type Anonymizer = (f: AuditFacts) => AuditFacts;

/** hex HMAC-SHA256(key, value): stable for one key, so the same client keeps the same pseudonym. */
export function pseudonym(key: Buffer, value: string): string {
  return createHmac('sha256', key).update(value, 'utf8').digest('hex');
}

/**
 * Pseudonyms for facts.ip (moved to ipHash: ECS source.address) and facts.userId. Free-text fields that quote
 * the raw values (the entry a decision names by key id, a reason naming the address) get the pseudonym too.
 */
export function createAnonymizer(key: Buffer): Anonymizer {
  const h = (v: string | undefined): string | undefined => (v === undefined ? undefined : pseudonym(key, v));
  return (f) => {
    const swaps: Array<[string, string]> = [];
    if (f.ip) swaps.push([f.ip, h(f.ip)!]);
    if (f.userId) swaps.push([f.userId, h(f.userId)!]);
    const swap = (s: string | undefined): string | undefined => {
      if (s === undefined) return s;
      let out = s;
      for (const [raw, ps] of swaps) if (raw.length >= 3 && out.includes(raw)) out = out.split(raw).join(ps);
      return out;
    };
    const swapAny = (v: unknown, k?: string): unknown => {
      if (typeof v === 'string') return k !== undefined && IDENTITY_KEYS.has(k) ? h(v) : swap(v);
      if (Array.isArray(v)) return v.map((x) => swapAny(x));
      if (v !== null && typeof v === 'object') {
        return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([kk, x]) => [kk, swapAny(x, kk)]));
      }
      return v;
    };
    const decisions = f.decisions?.map((d): Decision => ({
      ...d,
      ...(d.at !== undefined ? { at: swap(d.at) } : {}),
      ...(d.reason !== undefined ? { reason: swap(d.reason) } : {}),
    }));
    return {
      ...f, ip: undefined, ipHash: h(f.ip), userId: h(f.userId),
      reason: swap(f.reason), rule: swap(f.rule), decisions,
      details: f.details ? (swapAny(f.details) as Record<string, unknown>) : undefined,
    };
  };
}
