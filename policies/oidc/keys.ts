// An issuer's signing keys: discovery + JWKS fetched off the hot path, cached, refreshed on a timer or an unknown kid.
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import type { OidcIssuer } from '../../kernel/policy.js';
import { urlProblem } from './urls.js';
import { doublingDelay } from '../../kernel/backoff.js';

export interface KeyEvent {
  readonly action: 'oidc_keys_loaded' | 'oidc_keys_unavailable';
  readonly issuer: string;
  readonly reason: string;
  readonly keys?: number;
}

export interface KeySourceOptions {
  readonly onEvent?: (e: KeyEvent) => void;
  readonly now?: () => number;
}

/** Bodies larger than this are not a JWKS (a real one is a few KB). */
const MAX_DOC_BYTES = 1 << 20;

/** The fetch-relevant part of an issuer's table: two policies with the same one share the cached keys. */
export function sourceKey(c: OidcIssuer): string {
  return JSON.stringify([c.issuer, c.jwks_uri, c.jwks_file, c.refresh_interval_seconds, c.refresh_cooldown_seconds, c.fetch_timeout_seconds]);
}

/** Reads and checks a JWKS document (file or HTTP body). Throws with a message fit for an operator. */
export function parseJwks(text: string): JSONWebKeySet {
  let doc: unknown;
  try { doc = JSON.parse(text); } catch { throw new Error('not JSON'); }
  const keys = (doc as { keys?: unknown }).keys;
  if (!Array.isArray(keys) || keys.some((k) => k === null || typeof k !== 'object' || typeof (k as { kty?: unknown }).kty !== 'string')) {
    throw new Error('not a JWKS: expected {"keys": [{"kty": ...}, ...]}');
  }
  // Private parts never belong in a verifier's key set: refuse rather than hold a signing key in memory.
  if (keys.some((k) => typeof (k as { d?: unknown }).d === 'string' || typeof (k as { k?: unknown }).k === 'string')) {
    throw new Error('the JWKS holds a private or symmetric key; publish only public keys (HS* secrets go in hmac_secret_env)');
  }
  return { keys: keys as JSONWebKeySet['keys'] };
}

/**
 * The keys of one issuer. A failed refresh keeps the keys already known, so tokens keep verifying while the
 * IdP is briefly down; a start with the IdP unreachable leaves the source "unavailable" and retries with
 * back-off (cooldown, doubling up to the refresh interval) until keys arrive.
 */
export class KeySource {
  readonly issuer: string;
  private jwks: JWTVerifyGetKey | undefined;
  private jwksUri: string;
  private readonly discover: boolean;
  private inflight: Promise<boolean> | undefined;
  private lastAttempt = -Infinity;
  /** Keys in the last good set, to audit a change only. */
  private lastCount = -1;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly first: Promise<void>;
  /** Keys never fetched: a jwks_file, or HS* only. */
  private readonly local: boolean;
  private readonly now: () => number;
  private readonly intervalMs: number;
  private readonly cooldownMs: number;
  private readonly timeoutMs: number;

  constructor(private readonly cfg: OidcIssuer, private readonly opts: KeySourceOptions = {}) {
    this.issuer = cfg.issuer;
    this.now = opts.now ?? Date.now;
    this.intervalMs = cfg.refresh_interval_seconds * 1000;
    this.cooldownMs = cfg.refresh_cooldown_seconds * 1000;
    this.timeoutMs = cfg.fetch_timeout_seconds * 1000;
    this.jwksUri = cfg.jwks_uri;
    this.discover = cfg.jwks_uri === '' && cfg.jwks_file === '';
    // An issuer that signs only with a shared secret (HS*) has no public keys to fetch.
    this.local = cfg.jwks_file !== '' || cfg.algorithms.every((a) => a.startsWith('HS'));
    if (cfg.jwks_file === '' && this.local) {
      this.first = Promise.resolve();
    } else if (cfg.jwks_file !== '') {
      // Air-gapped: read once when the policy loads; a bad file fails the load (validate reports it too).
      let text: string;
      try { text = readFileSync(cfg.jwks_file, 'utf8'); } catch (e) {
        throw new Error(`security.authentication.oidc jwks_file ${JSON.stringify(cfg.jwks_file)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      try { this.jwks = createLocalJWKSet(parseJwks(text)); } catch (e) {
        throw new Error(`security.authentication.oidc jwks_file ${JSON.stringify(cfg.jwks_file)}: ${(e as Error).message}`);
      }
      this.first = Promise.resolve();
    } else {
      this.first = this.refresh().then(() => undefined);
    }
  }

  /** True once keys were read (from the file or the IdP). */
  get ready(): boolean { return this.jwks !== undefined; }

  /** The jose key resolver of the last good key set, or undefined when none was ever read. */
  get getKey(): JWTVerifyGetKey | undefined { return this.jwks; }

  /** Resolves when the first read settled (keys or not); never rejects. */
  settled(): Promise<void> { return this.first; }

  /** Re-reads unless one ran within the cooldown (an unknown kid must not let clients hammer the IdP). */
  refreshIfAllowed(): Promise<boolean> {
    if (this.local) return Promise.resolve(false);
    if (this.inflight) return this.inflight;
    if (this.now() - this.lastAttempt < this.cooldownMs) return Promise.resolve(false);
    return this.refresh();
  }

  /** One read (deduplicated); true when a new key set was installed. Never rejects. */
  refresh(): Promise<boolean> {
    if (this.local) return Promise.resolve(false);
    if (this.inflight) return this.inflight;
    this.lastAttempt = this.now();
    this.inflight = this.read().then(
      (set) => {
        this.jwks = createLocalJWKSet(set);
        if (this.failures > 0 || set.keys.length !== this.lastCount) {
          this.opts.onEvent?.({ action: 'oidc_keys_loaded', issuer: this.issuer, reason: this.failures > 0 ? 'keys read again after failures' : 'keys read', keys: set.keys.length });
        }
        this.lastCount = set.keys.length;
        this.failures = 0;
        return true;
      },
      (e: Error) => {
        this.failures++;
        const kept = this.jwks ? 'the keys already known stay in use' : 'tokens of this issuer are refused (503) until keys arrive';
        this.opts.onEvent?.({ action: 'oidc_keys_unavailable', issuer: this.issuer, reason: `${e.message}; ${kept}` });
        return false;
      },
    ).finally(() => {
      this.inflight = undefined;
      this.schedule();
    });
    return this.inflight;
  }

  /** Next background read: the interval when healthy, back-off from the cooldown when failing. */
  private schedule(): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    const wait = this.failures === 0 ? this.intervalMs : doublingDelay(this.failures - 1, this.cooldownMs, this.intervalMs);
    this.timer = setTimeout(() => void this.refresh(), wait);
    this.timer.unref();
  }

  /** Stops background reads (on-demand ones still work for requests that outlive their policy). */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  private async read(): Promise<JSONWebKeySet> {
    if (this.discover) {
      try {
        this.jwksUri = await this.discoverJwksUri();
      } catch (e) {
        // A JWKS address found before still works while discovery itself fails.
        if (this.jwksUri === '') throw e;
      }
    }
    return parseJwks(await this.get(this.jwksUri, 'JWKS'));
  }

  private async discoverJwksUri(): Promise<string> {
    const url = `${this.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    let doc: { issuer?: unknown; jwks_uri?: unknown };
    try { doc = JSON.parse(await this.get(url, 'discovery')) as typeof doc; } catch (e) {
      throw e instanceof SyntaxError ? new Error(`discovery ${url}: not JSON`) : e;
    }
    // OpenID Connect Discovery 1.0 §4.3: the document must name the very issuer it was fetched for.
    if (doc.issuer !== this.issuer) throw new Error(`discovery ${url}: the document names issuer ${JSON.stringify(doc.issuer)}, not ${JSON.stringify(this.issuer)}`);
    if (typeof doc.jwks_uri !== 'string') throw new Error(`discovery ${url}: no jwks_uri`);
    const bad = urlProblem(doc.jwks_uri);
    if (bad) throw new Error(`discovery ${url}: jwks_uri ${bad}`);
    return doc.jwks_uri;
  }

  private async get(url: string, what: string): Promise<string> {
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(this.timeoutMs), headers: { accept: 'application/json' }, redirect: 'error' });
    } catch (e) {
      const err = e as Error & { cause?: { code?: string } };
      const why = err.name === 'TimeoutError' ? `no answer within ${this.cfg.fetch_timeout_seconds}s` : err.cause?.code ?? err.message;
      throw new Error(`${what} ${url}: ${why}`);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`${what} ${url}: HTTP ${res.status}`);
    }
    const declared = Number(res.headers.get('content-length') ?? 0);
    if (declared > MAX_DOC_BYTES) {
      await res.body?.cancel();
      throw new Error(`${what} ${url}: larger than ${MAX_DOC_BYTES} bytes`);
    }
    const text = await res.text();
    if (text.length > MAX_DOC_BYTES) throw new Error(`${what} ${url}: larger than ${MAX_DOC_BYTES} bytes`);
    return text;
  }
}

/** Key sources shared by successive policies (a reload that keeps an issuer keeps its keys). */
export class KeySources {
  private readonly live = new Map<string, KeySource>();
  constructor(private readonly opts: KeySourceOptions = {}) {}

  /** Sources for these tables, in order, reusing the ones already running (a jwks_file is read again on every load). */
  acquire(cfgs: readonly OidcIssuer[]): KeySource[] {
    return cfgs.map((c) => (c.jwks_file === '' ? this.live.get(sourceKey(c)) : undefined) ?? new KeySource(c, this.opts));
  }

  /** Makes `used` the running set; background reads of the others stop. */
  retain(cfgs: readonly OidcIssuer[], used: readonly KeySource[]): void {
    const keep = new Map(cfgs.map((c, i) => [sourceKey(c), used[i]] as const));
    for (const [k, s] of this.live) if (keep.get(k) !== s) s.close();
    this.live.clear();
    for (const [k, s] of keep) this.live.set(k, s);
  }

  /** Stops sources that were acquired but never retained (a refused reload). */
  abandon(used: readonly KeySource[]): void {
    const running = new Set(this.live.values());
    for (const s of used) if (!running.has(s)) s.close();
  }

  close(): void {
    for (const s of this.live.values()) s.close();
    this.live.clear();
  }
}
