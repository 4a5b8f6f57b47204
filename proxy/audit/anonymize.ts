// The anonymize stage: keyed HMAC-SHA256 pseudonyms instead of client addresses and key ids (GDPR).
import { createHmac } from 'node:crypto';
import type { AuditFacts } from './types.js';

/** Detail keys that hold an address or an identity and get the same pseudonym treatment. */
const IDENTITY_KEYS = new Set(['ip', 'client_ip', 'source_ip', 'peer_ip', 'address', 'user', 'user_id', 'key_id']);

export type Anonymizer = (f: AuditFacts) => AuditFacts;

/** hex HMAC-SHA256(key, value): stable for one key, so the same client keeps the same pseudonym. */
export function pseudonym(key: Buffer, value: string): string {
  return createHmac('sha256', key).update(value, 'utf8').digest('hex');
}

export function createAnonymizer(key: Buffer): Anonymizer {
  const h = (v: string | undefined): string | undefined => (v === undefined ? undefined : pseudonym(key, v));
  return (f) => {
    let details = f.details;
    if (details && Object.keys(details).some((k) => IDENTITY_KEYS.has(k))) {
      const d: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(details)) d[k] = IDENTITY_KEYS.has(k) && typeof v === 'string' ? h(v) : v;
      details = d;
    }
    return { ...f, ip: undefined, ipHash: h(f.ip), userId: h(f.userId), details };
  };
}
