// The access-token half of authentication: tells a JWT of a trusted issuer from an API key, verifies it, sets the principal.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthenticationSection } from '../../kernel/policy.js';
import type { Lockouts } from '../lockout.js';
import { deny } from '../../kernel/deny.js';
import type { Principal } from '../../kernel/context.js';
import { KeySource, type KeySourceOptions } from './keys.js';
import { IssuerVerifier, type TokenCode } from './verify.js';

export interface TokenAuthEvent {
  readonly action: 'auth_failure' | 'lockout';
  readonly ip: string;
  readonly keyId?: string;
  readonly reason: string;
  readonly code?: TokenCode;
  readonly issuer?: string;
  readonly retryAfterSeconds?: number;
}

export interface OidcDeps {
  /** One key source per `security.authentication.oidc` table, same order (proxy/server.ts keeps them across reloads). */
  readonly sources?: readonly KeySource[];
  /** Where hmac_secret_env names are read. */
  readonly env?: NodeJS.ProcessEnv;
  readonly keyEvents?: KeySourceOptions['onEvent'];
}

export interface TokenAuthDeps {
  readonly lockouts: Lockouts;
  readonly onEvent: (e: TokenAuthEvent) => void;
  readonly now: () => number;
  readonly oidc?: OidcDeps;
  /** The principal a refused token leaves behind in permissive mode (as for a refused key). */
  readonly anonymous: Principal;
}

/** The candidate a header names: a verifier and the token, or undefined when it is not a token of ours. */
export interface TokenCandidate {
  readonly verifier: IssuerVerifier;
  readonly token: string;
}

export interface TokenAuthentication {
  /** Cheap and synchronous: three base64url parts whose payload's "iss" is a trusted issuer. */
  candidate(authorization: string | string[] | undefined): TokenCandidate | undefined;
  authenticate(c: TokenCandidate, req: IncomingMessage, res: ServerResponse, next: () => void): Promise<void>;
}

const BEARER_JWT = /^Bearer[ \t]+([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]*)[ \t]*$/i;
/** Entra ID tokens with many groups reach a few KB; anything far larger is not worth decoding. */
const MAX_TOKEN = 16 * 1024;
/** Refusals that point at a forged or garbled token count towards the IP lockout; routine ones (expired) do not. */
const COUNTS_AS_FAILURE: ReadonlySet<TokenCode> = new Set(['token_bad_signature', 'token_unknown_key', 'token_algorithm_not_allowed', 'token_invalid']);

/** Undefined when the policy trusts no issuer: the key path is then exactly as before. */
export function createTokenAuthentication(section: AuthenticationSection, deps: TokenAuthDeps): TokenAuthentication | undefined {
  if (section.oidc.length === 0) return undefined;
  const env = deps.oidc?.env ?? process.env;
  const sources = deps.oidc?.sources ?? section.oidc.map((c) => new KeySource(c, { onEvent: deps.oidc?.keyEvents }));
  const byIssuer = new Map<string, IssuerVerifier>();
  section.oidc.forEach((c, i) => {
    const secretValue = c.hmac_secret_env !== '' ? env[c.hmac_secret_env] : undefined;
    const secret = secretValue ? new TextEncoder().encode(secretValue) : undefined;
    byIssuer.set(c.issuer, new IssuerVerifier(c, sources[i], secret));
  });
  const lockWindowS = Math.ceil(section.lockout_duration_minutes * 60);

  return {
    candidate(authorization) {
      if (typeof authorization !== 'string' || authorization.length > MAX_TOKEN) return undefined;
      const m = BEARER_JWT.exec(authorization);
      if (!m) return undefined;
      let iss: unknown;
      try {
        iss = (JSON.parse(Buffer.from(m[2], 'base64url').toString('utf8')) as { iss?: unknown }).iss;
      } catch {
        return undefined; // not a JWT after all: it may still be an API key
      }
      const verifier = typeof iss === 'string' ? byIssuer.get(iss) : undefined;
      return verifier ? { verifier, token: `${m[1]}.${m[2]}.${m[3]}` } : undefined;
    },

    async authenticate({ verifier, token }, req, res, next) {
      const ctx = req.ctx;
      const v = await verifier.verify(token, deps.now());
      if (v.ok) {
        ctx.principal = { keyId: v.subject, role: v.role, source: 'oidc', issuer: verifier.issuer };
        ctx.decisions.push({ stage: 'authentication', outcome: 'allow', rule: 'security.authentication.oidc', at: verifier.issuer, reason: `access token verified; role ${v.role}` });
        return next();
      }
      const ip = ctx.clientIp;
      deps.onEvent({ action: 'auth_failure', ip, keyId: v.subject, reason: v.reason, code: v.code, issuer: verifier.issuer });
      if (COUNTS_AS_FAILURE.has(v.code) && (await deps.lockouts.fail(ip))) {
        deps.onEvent({ action: 'lockout', ip, keyId: v.subject, reason: `${section.max_failed_attempts} failed attempts`, issuer: verifier.issuer, retryAfterSeconds: lockWindowS });
      }
      // RFC 6750 §3: tell OAuth clients whether to get a new token (invalid_token) or more rights (insufficient_scope).
      const challenge = v.code === 'token_role_unmapped' ? 'Bearer error="insufficient_scope"' : 'Bearer error="invalid_token"';
      const headers: Record<string, string> = v.code === 'token_verifier_unavailable' ? { 'Retry-After': '5' } : { 'WWW-Authenticate': challenge };
      if (deny(req, res, v.code, { stage: 'authentication', rule: 'security.authentication.oidc', at: verifier.issuer, reason: v.reason, headers })) return;
      ctx.principal = deps.anonymous;
      next();
    },
  };
}
