// A real OpenID Provider (the oidc-provider package) on loopback: a client-credentials service, a web app and users with groups.
import http from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK } from 'jose';

export const AUDIENCE = 'lollms-guard';
/** Users of the IdP and their groups (the token's "groups" claim). */
export const USERS: Record<string, string[]> = { alice: ['llm-users', 'staff'], root: ['llm-admins', 'llm-users'], mallory: ['visitors'] };
/** Client-credentials services and the groups their tokens carry. */
export const SERVICES: Record<string, { secret: string; groups: string[] }> = { 'svc-batch': { secret: 'svc-batch-secret-0123456789', groups: ['llm-users'] } };
const WEB = { id: 'web-app', secret: 'web-app-secret-0123456789', redirect: 'http://127.0.0.1:1/cb' };

/** Resource indicators: the audience and lifetime of the access tokens minted for each. */
const RESOURCES: Record<string, { audience: string; ttl: number }> = {
  'urn:lollms-guard': { audience: AUDIENCE, ttl: 3600 },
  'urn:lollms-guard:short': { audience: AUDIENCE, ttl: 1 },
  'urn:other-api': { audience: 'other-api', ttl: 3600 },
};

export interface Idp {
  readonly issuer: string;
  readonly port: number;
  /** Private signing keys, the first one signs. */
  readonly keys: readonly JWK[];
  /** Requests the provider served (discovery and JWKS included). */
  readonly served: string[];
  /** A client-credentials access token. */
  serviceToken(clientId?: string, resource?: string): Promise<string>;
  /** A user's access token through the authorization-code flow (login + consent forms, PKCE). */
  userToken(login: string, resource?: string): Promise<string>;
  close(): Promise<void>;
}

/** The policy tables trusting `issuer`: groups llm-admins -> admin, llm-users -> user; no clock skew, 1 s cooldown. */
export function oidcPolicy(issuer: string, extra = ''): string {
  return `
[[security.authentication.oidc]]
issuer = "${issuer}"
audiences = ["${AUDIENCE}"]
clock_skew_seconds = 0
refresh_cooldown_seconds = 1
fetch_timeout_seconds = 3
${extra}
[security.authentication.oidc.role_map]
"llm-admins" = "admin"
"llm-users" = "user"
`;
}

/** A new RS256 signing key (private JWK with kid/alg/use). */
export async function newSigningKey(kid: string): Promise<JWK> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
}

/** Access token lifetime: the resource server's (1 s for the "short" resource). */
const ttlOf = (_ctx: unknown, token: { resourceServer?: { accessTokenTTL?: number } }): number => token.resourceServer?.accessTokenTTL ?? 3600;

async function loadProvider(): Promise<any> {
  const name = 'oidc-provider'; // untyped dev dependency: resolved at run time
  return (await import(name)).default;
}

export async function startIdp(opts: { port?: number; keys?: JWK[] } = {}): Promise<Idp> {
  const Provider = await loadProvider();
  const keys = opts.keys ?? [await newSigningKey('k1')];
  const served: string[] = [];
  const server = http.createServer();
  await new Promise<void>((r, j) => { server.once('error', j); server.listen(opts.port ?? 0, '127.0.0.1', () => r()); });
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [
      ...Object.entries(SERVICES).map(([id, s]) => ({ client_id: id, client_secret: s.secret, grant_types: ['client_credentials'], redirect_uris: [], response_types: [], token_endpoint_auth_method: 'client_secret_post' })),
      { client_id: WEB.id, client_secret: WEB.secret, grant_types: ['authorization_code'], redirect_uris: [WEB.redirect], response_types: ['code'], token_endpoint_auth_method: 'client_secret_post' },
    ],
    jwks: { keys },
    cookies: { keys: ['test-cookie-key-0123456789'] },
    scopes: ['openid', 'api'],
    ttl: { AccessToken: ttlOf, ClientCredentials: ttlOf, Interaction: 600, Session: 3600, Grant: 3600, IdToken: 3600 },
    findAccount: async (_ctx: unknown, id: string) => (USERS[id] ? { accountId: id, claims: async () => ({ sub: id }) } : undefined),
    extraTokenClaims: async (_ctx: unknown, token: { accountId?: string; clientId?: string }) =>
      ({ groups: token.accountId ? USERS[token.accountId] ?? [] : SERVICES[token.clientId ?? '']?.groups ?? [] }),
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => 'urn:lollms-guard',
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, resource: string) => {
          const r = RESOURCES[resource];
          if (!r) throw new Error(`unknown resource ${resource}`);
          return { scope: 'api', audience: r.audience, accessTokenTTL: r.ttl, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } };
        },
      },
    },
  });
  const callback = provider.callback();
  server.on('request', (req, res) => { served.push(req.url ?? ''); callback(req, res); });

  async function token(form: Record<string, string>): Promise<string> {
    const r = await fetch(`${issuer}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) });
    const j = (await r.json()) as { access_token?: string; error?: string; error_description?: string };
    if (!j.access_token) throw new Error(`token endpoint: ${r.status} ${j.error} ${j.error_description}`);
    return j.access_token;
  }

  return {
    issuer, port, keys, served,
    serviceToken: (clientId = 'svc-batch', resource = 'urn:lollms-guard') =>
      token({ grant_type: 'client_credentials', client_id: clientId, client_secret: SERVICES[clientId].secret, scope: 'api', resource }),
    async userToken(login, resource = 'urn:lollms-guard') {
      const jar = new Map<string, string>();
      const verifier = randomBytes(32).toString('base64url');
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      // Follows the provider's redirects by hand, keeping its cookies, answering the login and consent forms.
      const step = async (url: string, body?: Record<string, string>): Promise<{ loc: string | null; html: string }> => {
        const r = await fetch(new URL(url, issuer), {
          method: body ? 'POST' : 'GET', redirect: 'manual',
          headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '), ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
          body: body ? new URLSearchParams(body) : undefined,
        });
        for (const c of r.headers.getSetCookie()) { const [kv] = c.split(';'); const eq = kv.indexOf('='); jar.set(kv.slice(0, eq), kv.slice(eq + 1)); }
        return { loc: r.headers.get('location'), html: await r.text() };
      };
      const q = new URLSearchParams({ client_id: WEB.id, response_type: 'code', scope: 'openid api', redirect_uri: WEB.redirect, resource, code_challenge: challenge, code_challenge_method: 'S256', state: 's' });
      let loc = (await step(`/auth?${q}`)).loc;
      for (let i = 0; i < 10 && loc && !loc.startsWith(WEB.redirect); i++) {
        const page = await step(loc);
        if (page.loc) { loc = page.loc; continue; }
        // An interaction page: the dev login form has a "login" field, the consent form does not.
        const form: Record<string, string> = /name="login"/.test(page.html) ? { prompt: "login", login, password: "x" } : { prompt: "consent" };
        loc = (await step(loc, form)).loc;
      }
      if (!loc) throw new Error('IdP flow stopped without a redirect');
      const code = new URL(loc).searchParams.get('code');
      if (!code) throw new Error(`no code in ${loc}`);
      return token({ grant_type: 'authorization_code', code, redirect_uri: WEB.redirect, client_id: WEB.id, client_secret: WEB.secret, code_verifier: verifier, resource });
    },
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
