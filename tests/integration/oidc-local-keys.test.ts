// SSO with local keys (jwks_file, air-gapped) and an HS256 secret from the environment; claim paths; the key/token split.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { SignJWT, exportJWK, generateKeyPair, type JWTPayload, type CryptoKey } from "jose";
import { startHarness, basePolicy, postJson, auth, USER_KEY, type Harness } from '../../dev/harness.js';
import { createTokenAuthentication } from '../../policies/oidc/stage.js';
import { loadPolicy } from '../../policies/load.js';
import { createLockouts } from '../../policies/lockout.js';

const AIRGAP = 'https://idp.airgap.example/realms/main';
const SHARED = 'https://hs.example';
const SECRET = 'an-hs256-shared-secret-of-at-least-32-bytes!';
const dir = mkdtempSync(join(tmpdir(), 'lollms-guard-oidc-local-'));
const jwksFile = join(dir, 'jwks.json');
let signer: CryptoKey;
let h: Harness;

const chat = { model: 'llama3-8b', messages: [{ role: 'user', content: 'hi' }] };
const codeOf = async (r: Response): Promise<string> => (r.status < 400 ? String(r.status) : String(((await r.json()) as { error?: { code?: string } }).error?.code));

function policy(): string {
  return `
[[security.authentication.oidc]]
issuer = "${AIRGAP}"
audiences = ["lollms-guard", "api://lollms-guard"]
jwks_file = "${jwksFile}"
clock_skew_seconds = 30
subject_claim = "azp"
role_claim = "realm_access.roles"
[security.authentication.oidc.role_map]
"llm-users" = "user"

[[security.authentication.oidc]]
issuer = "${SHARED}"
audiences = ["lollms-guard"]
algorithms = ["HS256"]
hmac_secret_env = "TEST_IDP_HS_SECRET"
role_claim = ""
default_role = "user"
`;
}

async function rs(claims: JWTPayload, opts: { exp?: number | null; nbf?: number } = {}): Promise<string> {
  const j = new SignJWT({ aud: 'api://lollms-guard', azp: 'svc-airgap', realm_access: { roles: ['llm-users'] }, ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: 'airgap-1' }).setIssuer(AIRGAP);
  if (opts.exp !== null) j.setExpirationTime(opts.exp ?? Math.floor(Date.now() / 1000) + 300);
  if (opts.nbf !== undefined) j.setNotBefore(opts.nbf);
  return j.sign(signer);
}
const hs = (secret: string, claims: JWTPayload = {}): Promise<string> =>
  new SignJWT({ sub: 'hs-user', aud: 'lollms-guard', ...claims }).setProtectedHeader({ alg: 'HS256' }).setIssuer(SHARED).setExpirationTime('5m').sign(new TextEncoder().encode(secret));

before(async () => {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  signer = privateKey;
  writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'airgap-1', alg: 'RS256', use: 'sig' }] }));
  h = await startHarness({ extra: policy(), env: { TEST_IDP_HS_SECRET: SECRET } });
});
after(() => h?.close());

test('jwks_file: no fetch, claims by dotted path, azp as the subject, each refusal its code', async () => {
  const send = async (t: string): Promise<string> => codeOf(await postJson(`${h.url}/v1/chat/completions`, chat, auth(t)));
  const now = (): number => Math.floor(Date.now() / 1000);
  assert.equal(await send(await rs({})), '200');
  assert.equal(await send(await rs({}, { exp: null })), 'token_invalid', 'no exp: valid forever is refused');
  assert.equal(await send(await rs({}, { nbf: now() + 300 })), 'token_not_yet_valid');
  assert.equal(await send(await rs({}, { nbf: now() + 10 })), '200', 'within clock_skew_seconds');
  assert.equal(await send(await rs({}, { exp: now() - 10 })), '200', 'within clock_skew_seconds');
  assert.equal(await send(await rs({}, { exp: now() - 300 })), 'token_expired');
  assert.equal(await send(await rs({ azp: undefined })), 'token_invalid', 'no subject claim');
  assert.equal(await send(await rs({ realm_access: { roles: ['guests'] } })), 'token_role_unmapped');
  assert.equal(await send(await rs({ aud: ['other', 'lollms-guard'] })), '200', 'one of several audiences');
  const lines = (await h.auditLines()) as Array<Record<string, any>>;
  assert.ok(lines.some((l) => l.event?.action === 'http_request' && l.user?.id === 'svc-airgap' && l.user?.domain === AIRGAP));
});

test('HS256 only with the secret the policy names; an asymmetric token is not accepted there', async () => {
  const send = async (t: string): Promise<string> => codeOf(await postJson(`${h.url}/v1/chat/completions`, chat, auth(t)));
  assert.equal(await send(await hs(SECRET)), '200');
  assert.equal(await send(await hs('a-different-secret-of-at-least-32-bytes!!')), 'token_bad_signature');
  const rsOnHs = await new SignJWT({ sub: 'x', aud: 'lollms-guard' }).setProtectedHeader({ alg: 'RS256', kid: 'airgap-1' }).setIssuer(SHARED).setExpirationTime('5m').sign(signer);
  assert.equal(await send(rsOnHs), 'token_algorithm_not_allowed');
  assert.equal(await send(USER_KEY), '200', 'API keys unchanged');
});

test('property: a value that is not a JWT of a trusted issuer is never taken for a token', async () => {
  const f = join(dir, 'prop.toml');
  writeFileSync(f, policy());
  const p = loadPolicy([f], {});
  const lockouts = createLocalLockouts(p);
  const ta = createTokenAuthentication(p.raw.security.authentication, {
    lockouts, onEvent: () => {}, now: Date.now, anonymous: { keyId: 'anonymous', role: 'user', source: 'anonymous' },
  })!;
  const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const untrusted = fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.stringMatching(/^[A-Za-z0-9_.~+/=-]{16,120}$/),
    fc.tuple(fc.webUrl(), fc.string({ maxLength: 20 })).map(([iss, sig]) => `${b64({ alg: 'RS256' })}.${b64({ iss })}.${Buffer.from(sig).toString('base64url')}`),
    fc.jsonValue().map((v) => `${b64({ alg: 'RS256' })}.${b64(v)}.sig`),
  ).filter((s) => !s.includes(AIRGAP) && !s.includes(b64(SHARED).slice(0, 8)));
  fc.assert(fc.property(untrusted, (s) => ta.candidate(`Bearer ${s}`) === undefined && ta.candidate(s) === undefined));
  const real = await rs({});
  assert.equal(ta.candidate(`Bearer ${real}`)?.verifier.issuer, AIRGAP);
  assert.equal(ta.candidate(`bearer  ${real} `)?.verifier.issuer, AIRGAP);
  assert.equal(ta.candidate(`Basic ${real}`), undefined);
  await lockouts.close();
});

function createLocalLockouts(p: ReturnType<typeof loadPolicy>) {
  return createLockouts(p.raw.security.authentication, { ...p.raw.security.rate_limiting, store: 'memory' }, {});
}



test('lockout: forged tokens count towards max_failed_attempts, expired ones do not', async () => {
  const lh = await startHarness({
    policy: (url, d) => basePolicy(url, d, policy()).replace('max_failed_attempts = 0', 'max_failed_attempts = 2'),
    env: { TEST_IDP_HS_SECRET: SECRET },
  });
  try {
    const send = async (t: string): Promise<string> => codeOf(await postJson(`${lh.url}/v1/chat/completions`, chat, auth(t)));
    const expired = await rs({}, { exp: Math.floor(Date.now() / 1000) - 600 });
    for (let i = 0; i < 4; i++) assert.equal(await send(expired), 'token_expired');
    assert.equal(await send(await rs({})), '200', 'expired tokens locked nobody out');
    const forged = await hs('a-different-secret-of-at-least-32-bytes!!');
    assert.equal(await send(forged), 'token_bad_signature');
    assert.equal(await send(forged), 'token_bad_signature');
    assert.equal(await send(await rs({})), 'client_locked_out', 'two forged tokens lock the address');
  } finally {
    await lh.close();
  }
});
