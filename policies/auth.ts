// Authentication stage: OIDC access token (policies/oidc/) or API key from Authorization/X-API-Key, sha256 lookup, expiry, staleness, IP lockout.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { AuthenticationSection, AuthorizationSection } from '../kernel/policy.js';
import type { Principal } from '../kernel/context.js';
import { deny } from '../kernel/deny.js';
import type { Lockouts } from './lockout.js';
import { createTokenAuthentication, type OidcDeps, type TokenAuthEvent } from './oidc/stage.js';

export interface ExtraKey {
  readonly id: string;
  readonly sha256: string;
  readonly role: string;
  readonly source: 'env' | 'generated';
}

export interface AuthEvent {
  readonly action: 'auth_failure' | 'lockout' | 'stale_key' | 'expired_key';
  readonly ip: string;
  readonly keyId?: string;
  readonly reason: string;
  readonly retryAfterSeconds?: number;
  /** Access tokens: the refusal's code and the token's issuer. */
  readonly code?: TokenAuthEvent['code'];
  readonly issuer?: string;
}

export interface AuthDeps {
  /** Keys that do not live in the policy file (env LOLLMSBOT_API_KEY, the generated first-start key). */
  readonly extraKeys: readonly ExtraKey[];
  readonly lockouts: Lockouts;
  readonly onEvent: (e: AuthEvent) => void;
  readonly now?: () => number;
  /** Client certificates that stand for a key (verified by the TLS layer against ca_file). */
  readonly tlsIdentities?: ReadonlyArray<{ id: string; fingerprint_sha256?: string; subject?: string; role?: string }>;
  /** OIDC access tokens (`security.authentication.oidc`): key sources and env (policies/oidc/). */
  readonly oidc?: OidcDeps;
}

interface KeyRecord {
  readonly digest: Buffer;
  readonly id: string;
  readonly role: string;
  readonly source: Principal['source'];
  readonly expiresAt: number;
  readonly staleAt: number;
  readonly disabled: boolean;
}

const DAY_MS = 86_400_000;

export function sha256Hex(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

function parseTime(s: string | undefined, fallback: number): number {
  if (!s) return fallback;
  const t = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00:00Z` : s);
  return Number.isNaN(t) ? fallback : t;
}

export function createAuthentication(
  section: AuthenticationSection,
  authz: AuthorizationSection,
  deps: AuthDeps,
): RequestHandler {
  const now = deps.now ?? Date.now;
  const keys = new Map<string, KeyRecord>();
  const rotationMs = section.api_key_rotation_days > 0 ? section.api_key_rotation_days * DAY_MS : Infinity;
  for (const k of section.keys) {
    const created = parseTime(k.created, NaN);
    keys.set(k.sha256.toLowerCase(), {
      digest: Buffer.from(k.sha256, 'hex'),
      id: k.id,
      role: k.role ?? authz.default_role,
      source: 'key',
      expiresAt: parseTime(k.expires, Infinity),
      staleAt: Number.isNaN(created) ? Infinity : created + rotationMs,
      disabled: k.disabled === true,
    });
  }
  for (const k of deps.extraKeys) {
    keys.set(k.sha256, { digest: Buffer.from(k.sha256, 'hex'), id: k.id, role: k.role, source: k.source, expiresAt: Infinity, staleAt: Infinity, disabled: false });
  }
  const readBearer = section.api_key_headers.some((h) => h.toLowerCase() === 'authorization');
  const readXApiKey = section.api_key_headers.some((h) => h.toLowerCase() === 'x-api-key');
  const lockWindowMs = section.lockout_duration_minutes * 60_000;
  const staleReported = new Map<string, number>();
  const anonymous: Principal = Object.freeze({ keyId: 'anonymous', role: authz.default_role, source: 'anonymous' });
  const tokens = createTokenAuthentication(section, { lockouts: deps.lockouts, onEvent: deps.onEvent, now, oidc: deps.oidc, anonymous });

  const certIds = (deps.tlsIdentities ?? []).map((i) => ({
    id: i.id,
    role: i.role ?? authz.default_role,
    fp: i.fingerprint_sha256 ? i.fingerprint_sha256.replace(/:/g, '').toLowerCase() : undefined,
    subject: i.subject,
  }));

  function certPrincipal(socket: unknown): Principal | undefined {
    const s = socket as { authorized?: boolean; getPeerCertificate?: () => { fingerprint256?: string; subject?: { CN?: string } } };
    if (!s.authorized || typeof s.getPeerCertificate !== 'function') return undefined;
    const cert = s.getPeerCertificate();
    const fp = cert.fingerprint256?.replace(/:/g, '').toLowerCase();
    const cn = cert.subject?.CN;
    const hit = certIds.find((c) => (c.fp !== undefined && c.fp === fp) || (c.fp === undefined && c.subject !== undefined && c.subject === cn));
    return hit ? { keyId: hit.id, role: hit.role, source: 'tls' } : undefined;
  }

  function presented(h: Record<string, string | string[] | undefined>): string | undefined {
    if (readBearer) {
      const a = h.authorization;
      if (typeof a === 'string') {
        const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(a);
        if (m) return m[1];
        return a.length > 0 ? '' : undefined;
      }
    }
    if (readXApiKey) {
      const x = h['x-api-key'];
      if (typeof x === 'string') return x.trim();
    }
    return undefined;
  }

  return async function authenticate(req, res, next) {
    const ctx = req.ctx;
    const t = now();
    const ip = ctx.clientIp;
    const locked = await deps.lockouts.lockedFor(ip);
    if (locked > 0) {
      const retry = String(Math.ceil(locked / 1000));
      if (deny(req, res, 'client_locked_out', { stage: 'authentication', rule: 'security.authentication.max_failed_attempts', headers: { 'Retry-After': retry } })) return;
    }
    // A JWT whose "iss" is a trusted issuer is an access token; anything else is looked up as a key.
    const token = tokens?.candidate(req.headers.authorization);
    if (token) return tokens!.authenticate(token, req, res, next);
    const key = presented(req.headers);
    if (key === undefined && certIds.length > 0) {
      const who = certPrincipal(req.socket);
      if (who) {
        ctx.principal = who;
        ctx.decisions.push({ stage: 'authentication', outcome: 'allow', rule: 'security.tls.client.identities', at: who.keyId });
        return next();
      }
    }
    if (key === undefined) {
      if (!section.require_api_key) {
        ctx.principal = anonymous;
        ctx.decisions.push({ stage: 'authentication', outcome: 'allow', rule: 'security.authentication.require_api_key' });
        return next();
      }
      return fail('missing_api_key', 'no key presented');
    }
    let rec: KeyRecord | undefined;
    if (key.length >= section.api_key_min_length && key.length <= 512) {
      const digest = createHash('sha256').update(key, 'utf8').digest();
      const found = keys.get(digest.toString('hex'));
      if (found && timingSafeEqual(found.digest, digest)) rec = found;
    }
    if (!rec || rec.disabled) return fail('invalid_api_key', rec ? 'key disabled' : 'unknown key', rec?.id);
    if (t >= rec.expiresAt) {
      deps.onEvent({ action: 'expired_key', ip, keyId: rec.id, reason: 'key expired' });
      return fail('expired_api_key', 'key expired', rec.id);
    }
    const stale = t >= rec.staleAt;
    if (stale) {
      const last = staleReported.get(rec.id) ?? 0;
      if (t - last > 3_600_000) {
        staleReported.set(rec.id, t);
        deps.onEvent({ action: 'stale_key', ip, keyId: rec.id, reason: 'key older than api_key_rotation_days' });
      }
    }
    ctx.principal = { keyId: rec.id, role: rec.role, source: rec.source, stale };
    ctx.decisions.push({ stage: 'authentication', outcome: 'allow', rule: rec.source === 'key' ? 'security.authentication.keys' : 'security.authentication.require_api_key', at: rec.id, reason: stale ? 'stale key' : undefined });
    next();

    async function fail(code: 'missing_api_key' | 'invalid_api_key' | 'expired_api_key', reason: string, keyId?: string): Promise<void> {
      deps.onEvent({ action: 'auth_failure', ip, keyId, reason });
      if (await deps.lockouts.fail(ip)) {
        deps.onEvent({ action: 'lockout', ip, keyId, reason: `${section.max_failed_attempts} failed attempts`, retryAfterSeconds: Math.ceil(lockWindowMs / 1000) });
      }
      if (deny(req, res, code, { stage: 'authentication', ...(keyId !== undefined ? { rule: 'security.authentication.keys', at: keyId } : { rule: 'security.authentication.require_api_key' }), reason, headers: code === 'missing_api_key' ? { 'WWW-Authenticate': 'Bearer' } : undefined })) return;
      ctx.principal = anonymous;
      next();
    }
  };
}
