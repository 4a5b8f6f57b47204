// One trusted issuer's verifier: jose checks signature, exp/nbf/aud; claims become a principal (subject + mapped role).
import { jwtVerify, errors, type JWTPayload, type JWTVerifyGetKey, type JWTHeaderParameters, type FlattenedJWSInput } from 'jose';
import type { OidcIssuer } from '../../kernel/policy.js';
import type { KeySource } from './keys.js';

/** Why a token was refused: each is a stable code of kernel/errors.ts. */
export type TokenCode =
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'token_wrong_audience'
  | 'token_unknown_key'
  | 'token_bad_signature'
  | 'token_algorithm_not_allowed'
  | 'token_invalid'
  | 'token_role_unmapped'
  | 'token_verifier_unavailable';

export type TokenVerdict =
  | { readonly ok: true; readonly subject: string; readonly role: string }
  /** subject is set only when the signature was good (expired, wrong audience, unmapped): never a forged claim. */
  | { readonly ok: false; readonly code: TokenCode; readonly reason: string; readonly subject?: string };

/** Our "no keys were ever read" signal through jose's key resolver. */
class KeysUnavailable extends Error {}
/** An HS* token for an issuer whose hmac_secret_env is unset: re-reading the JWKS would not help. */
class NoSecret extends Error {}

const MAX_SUBJECT = 256;
/** Space-delimited scope strings (RFC 8693 "scope", Entra "scp"); other claims keep spaces inside values. */
const SPACE_LISTS = new Set(['scope', 'scp']);

/** A claim by exact name first (Auth0-style "https://x/roles"), else by dotted path ("realm_access.roles"). */
export function readClaim(payload: JWTPayload, path: string): unknown {
  if (Object.hasOwn(payload, path)) return payload[path];
  let v: unknown = payload;
  for (const part of path.split('.')) {
    if (v === null || typeof v !== 'object' || Array.isArray(v) || !Object.hasOwn(v, part)) return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

export class IssuerVerifier {
  readonly issuer: string;
  private readonly roleMap: ReadonlyArray<readonly [claimValue: string, role: string]>;
  private readonly getKey: JWTVerifyGetKey;
  private readonly options: Parameters<typeof jwtVerify>[2];

  constructor(private readonly cfg: OidcIssuer, private readonly source: KeySource, secret: Uint8Array | undefined) {
    this.issuer = cfg.issuer;
    this.roleMap = Object.entries(cfg.role_map);
    this.options = {
      issuer: cfg.issuer,
      audience: [...cfg.audiences],
      algorithms: [...cfg.algorithms],
      clockTolerance: cfg.clock_skew_seconds,
      // A token without an expiry would be valid forever.
      requiredClaims: ['exp'],
    };
    this.getKey = (header: JWTHeaderParameters, token: FlattenedJWSInput) => {
      // Symmetric algorithms get the named secret and nothing else; asymmetric ones only the JWKS.
      if (header.alg?.startsWith('HS')) {
        if (secret) return secret;
        throw new NoSecret();
      }
      const jwks = this.source.getKey;
      if (!jwks) throw new KeysUnavailable();
      return jwks(header, token);
    };
  }

  async verify(token: string, now: number): Promise<TokenVerdict> {
    let payload: JWTPayload;
    try {
      payload = await this.check(token, now);
    } catch (e) {
      if (!(e instanceof errors.JWKSNoMatchingKey) || !this.source.ready) return this.refusal(e);
      // An unknown kid: the IdP may have rotated its keys. Re-read (rate-limited) and try once more.
      if (!(await this.source.refreshIfAllowed())) return this.refusal(e);
      try { payload = await this.check(token, now); } catch (e2) { return this.refusal(e2); }
    }
    const raw = readClaim(payload, this.cfg.subject_claim);
    const subject = typeof raw === 'string' ? raw : typeof raw === 'number' ? String(raw) : '';
    if (subject === '' || subject.length > MAX_SUBJECT) {
      return { ok: false, code: 'token_invalid', reason: `claim ${this.cfg.subject_claim} (subject_claim) is missing, empty or not a string` };
    }
    const role = this.roleOf(payload);
    if (role === undefined) {
      return { ok: false, code: 'token_role_unmapped', reason: `no value of claim ${this.cfg.role_claim || '(role_claim empty)'} is in role_map and default_role is empty`, subject };
    }
    return { ok: true, subject, role };
  }

  private check(token: string, now: number): Promise<JWTPayload> {
    return jwtVerify(token, this.getKey, { ...this.options, currentDate: new Date(now) }).then((r) => r.payload);
  }

  private roleOf(payload: JWTPayload): string | undefined {
    if (this.cfg.role_claim !== '' && this.roleMap.length > 0) {
      const v = readClaim(payload, this.cfg.role_claim);
      const values = new Set<string>();
      if (typeof v === 'string') for (const x of SPACE_LISTS.has(this.cfg.role_claim) ? v.split(/\s+/) : [v]) values.add(x);
      else if (Array.isArray(v)) for (const x of v) if (typeof x === 'string') values.add(x);
      for (const [claimValue, role] of this.roleMap) if (values.has(claimValue)) return role;
    }
    return this.cfg.default_role !== '' ? this.cfg.default_role : undefined;
  }

  /** jose's error classes -> our codes. Messages are our own: jose's could quote claim values. */
  private refusal(e: unknown): TokenVerdict {
    const verifiedSubject = (p: JWTPayload | undefined): string | undefined => {
      const s = p ? readClaim(p, this.cfg.subject_claim) : undefined;
      return typeof s === 'string' && s.length <= MAX_SUBJECT ? s : undefined;
    };
    if (e instanceof KeysUnavailable) {
      void this.source.refreshIfAllowed(); // in the background: this request is answered 503 now
      return { ok: false, code: 'token_verifier_unavailable', reason: 'the issuer\'s keys could not be read yet' };
    }
    if (e instanceof errors.JWTExpired) return { ok: false, code: 'token_expired', reason: 'exp is in the past (beyond clock_skew_seconds)', subject: verifiedSubject(e.payload) };
    if (e instanceof errors.JWTClaimValidationFailed) {
      const subject = verifiedSubject(e.payload);
      if (e.claim === 'aud') return { ok: false, code: 'token_wrong_audience', reason: `aud names none of ${this.cfg.audiences.join(', ')}`, subject };
      if (e.claim === 'nbf') return { ok: false, code: 'token_not_yet_valid', reason: 'nbf is in the future (beyond clock_skew_seconds)', subject };
      return { ok: false, code: 'token_invalid', reason: `claim ${e.claim} ${e.reason === 'missing' ? 'is missing' : 'is not valid'}`, subject };
    }
    if (e instanceof NoSecret) return { ok: false, code: 'token_unknown_key', reason: 'an HS* token, but the variable hmac_secret_env names is not set' };
    if (e instanceof errors.JWKSNoMatchingKey) return { ok: false, code: 'token_unknown_key', reason: 'no key of the issuer matches the token\'s kid and alg' };
    if (e instanceof errors.JWSSignatureVerificationFailed) return { ok: false, code: 'token_bad_signature', reason: 'signature does not verify' };
    if (e instanceof errors.JOSEAlgNotAllowed) return { ok: false, code: 'token_algorithm_not_allowed', reason: `alg not in ${this.cfg.algorithms.join(', ')}` };
    if (e instanceof errors.JWKSMultipleMatchingKeys) return { ok: false, code: 'token_bad_signature', reason: 'signature verifies with none of the matching keys' };
    return { ok: false, code: 'token_invalid', reason: 'not a well-formed signed JWT' };
  }
}
