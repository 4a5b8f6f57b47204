// SSO against a real OpenID Provider on loopback: discovery, service and user tokens, each refusal code, key rotation, IdP down.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT, importJWK, decodeJwt } from 'jose';
import { startHarness, postJson, auth, USER_KEY, type Harness } from '../../dev/harness.js';
import { startIdp, newSigningKey, oidcPolicy, AUDIENCE, type Idp } from '../helpers/oidc-idp.js';

const chat = { model: 'llama3-8b', messages: [{ role: 'user', content: 'hi' }] };
type Rec = Record<string, any>;

async function errorOf(r: Response): Promise<{ status: number; code: string; challenge: string | null }> {
  const j = (await r.json()) as { error?: { code?: string } };
  return { status: r.status, code: String(j.error?.code), challenge: r.headers.get('www-authenticate') };
}

/** A token the IdP never issued: signed by `key` (or alg none), claiming to be from `issuer`. */
async function forged(issuer: string, opts: { alg?: string; kid?: string; secret?: string; exp?: number } = {}): Promise<string> {
  const claims = { sub: 'forger', groups: ['llm-admins'], aud: AUDIENCE };
  const exp = opts.exp ?? Math.floor(Date.now() / 1000) + 600;
  if (opts.alg === 'none') {
    const part = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
    return `${part({ alg: 'none', typ: 'JWT' })}.${part({ ...claims, iss: issuer, exp })}.`;
  }
  if (opts.alg === 'HS256') {
    return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuer(issuer).setExpirationTime(exp).sign(new TextEncoder().encode(opts.secret ?? 'guess'));
  }
  const k = await newSigningKey(opts.kid ?? 'stranger');
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: k.kid }).setIssuer(issuer).setExpirationTime(exp).sign(await importJWK(k, 'RS256'));
}

let idp: Idp;
let h: Harness;
let serviceToken: string;

before(async () => {
  idp = await startIdp();
  h = await startHarness({ extra: oidcPolicy(idp.issuer) });
  serviceToken = await idp.serviceToken();
});
after(async () => {
  await h?.close();
  await idp?.close();
});

test('discovery and JWKS are read when the proxy starts, before any request', () => {
  assert.ok(idp.served.includes('/.well-known/openid-configuration'), idp.served.join(' '));
  assert.ok(idp.served.some((u) => u.startsWith('/jwks')), idp.served.join(' '));
});

test('a client-credentials token is accepted; the upstream gets its own key, never the token', async () => {
  const before = h.double.requests.length;
  const r = await postJson(`${h.url}/v1/chat/completions`, chat, auth(serviceToken));
  assert.equal(r.status, 200, await r.text());
  const seen = h.double.requests.slice(before);
  assert.equal(seen.length, 1);
  assert.equal(seen[0].headers.authorization, 'Bearer upstream-secret-value-123');
  for (const v of Object.values(seen[0].headers)) assert.ok(!String(v).includes(serviceToken.split('.')[2]), 'token forwarded');
  assert.ok(!seen[0].body.includes(serviceToken.split('.')[2]));
});

test('a user token maps groups to roles: llm-users -> user, llm-admins -> admin, nothing mapped -> 403', async () => {
  const alice = await idp.userToken('alice');
  assert.equal((await postJson(`${h.url}/v1/chat/completions`, chat, auth(alice))).status, 200);
  const adminRoute = await fetch(`${h.url}/v1/files`, { headers: auth(alice) });
  assert.deepEqual((await errorOf(adminRoute)).code, 'route_not_allowed');
  const root = await idp.userToken('root');
  const r = await fetch(`${h.url}/v1/files`, { headers: auth(root) });
  assert.notEqual(r.status, 403, 'admin role from llm-admins');
  await r.arrayBuffer();
  const mallory = await idp.userToken('mallory');
  const m = await errorOf(await postJson(`${h.url}/v1/chat/completions`, chat, auth(mallory)));
  assert.deepEqual(m, { status: 403, code: 'token_role_unmapped', challenge: 'Bearer error="insufficient_scope"' });
});

test('an expired token is refused with token_expired', async () => {
  const short = await idp.serviceToken('svc-batch', 'urn:lollms-guard:short');
  const exp = decodeJwt(short).exp!;
  while (Date.now() / 1000 < exp + 1.2) await new Promise((r) => setTimeout(r, 200));
  const e = await errorOf(await postJson(`${h.url}/v1/chat/completions`, chat, auth(short)));
  assert.deepEqual(e, { status: 401, code: 'token_expired', challenge: 'Bearer error="invalid_token"' });
});

test('a token for another audience is refused with token_wrong_audience', async () => {
  const other = await idp.serviceToken('svc-batch', 'urn:other-api');
  assert.equal((await errorOf(await postJson(`${h.url}/v1/chat/completions`, chat, auth(other)))).code, 'token_wrong_audience');
});

test('tampered, unknown-key, alg=none and HS256 tokens get their own codes', async () => {
  const [hd, pl, sig] = serviceToken.split('.');
  const claims = JSON.parse(Buffer.from(pl, 'base64url').toString()) as Rec;
  const tampered = `${hd}.${Buffer.from(JSON.stringify({ ...claims, groups: ['llm-admins'] })).toString('base64url')}.${sig}`;
  const cases: Array<[string, string]> = [
    [tampered, 'token_bad_signature'],
    [await forged(idp.issuer), 'token_unknown_key'],
    [await forged(idp.issuer, { alg: 'none' }), 'token_algorithm_not_allowed'],
    [await forged(idp.issuer, { alg: 'HS256' }), 'token_algorithm_not_allowed'],
  ];
  for (const [tok, code] of cases) {
    const e = await errorOf(await postJson(`${h.url}/v1/chat/completions`, chat, auth(tok)));
    assert.equal(e.code, code, `${code}: got ${e.code}`);
    assert.equal(e.status, 401);
  }
});

test('API keys keep working beside tokens; a JWT of an unknown issuer is looked up as a key', async () => {
  assert.equal((await postJson(`${h.url}/v1/chat/completions`, chat, auth(USER_KEY))).status, 200);
  assert.equal((await postJson(`${h.url}/v1/chat/completions`, chat, { 'X-API-Key': USER_KEY })).status, 200);
  const stranger = await forged('https://idp.elsewhere.example');
  assert.equal((await errorOf(await postJson(`${h.url}/v1/chat/completions`, chat, auth(stranger)))).code, 'invalid_api_key');
});

test('audit: issuer and subject on the request line, refusals with their code, never the token', async () => {
  const alice = await idp.userToken('alice');
  await (await postJson(`${h.url}/v1/chat/completions`, chat, auth(alice))).arrayBuffer();
  const other = await idp.serviceToken('svc-batch', 'urn:other-api');
  await (await postJson(`${h.url}/v1/chat/completions`, chat, auth(other))).arrayBuffer();
  const [hd, pl, sig] = alice.split('.');
  const evil = Buffer.from(JSON.stringify({ ...decodeJwt(alice), sub: 'root' })).toString('base64url');
  await (await postJson(`${h.url}/v1/chat/completions`, chat, auth(`${hd}.${evil}.${sig}`))).arrayBuffer();
  assert.ok(pl !== evil);
  const lines = (await h.auditLines()) as Rec[];
  const ok = lines.filter((l) => l.event?.action === 'http_request' && l.user?.id === 'alice');
  assert.ok(ok.length > 0);
  assert.equal(ok.at(-1)!.user.domain, idp.issuer);
  assert.deepEqual(ok.at(-1)!.user.roles, ['user']);
  const deciding = (ok.at(-1)!.lollms_guard.decisions as Rec[]).find((d) => d.stage === 'authentication');
  assert.equal(deciding?.rule, 'security.authentication.oidc');
  assert.equal(deciding?.at, idp.issuer, 'the entry that decided is named by its issuer');
  const refused = lines.filter((l) => l.event?.action === 'auth_failure' && l.lollms_guard?.error?.code === 'token_wrong_audience');
  assert.ok(refused.length > 0);
  assert.equal(refused.at(-1)!.lollms_guard.details.issuer, idp.issuer);
  assert.equal(refused.at(-1)!.user.id, 'svc-batch', 'subject of a token whose signature verified');
  const forgedRefusal = lines.filter((l) => l.event?.action === 'auth_failure' && l.lollms_guard?.error?.code === 'token_bad_signature');
  assert.ok(forgedRefusal.length > 0);
  assert.equal(forgedRefusal.at(-1)!.user?.id, undefined, 'a forged token\'s subject is never recorded');
  const text = readFileSync(join(h.dir, 'audit.log'), 'utf8');
  for (const tok of [alice, other, serviceToken]) assert.ok(!text.includes(tok.split('.')[2]), 'a token signature reached the audit log');
});

test('explain names the verifier that decided', async () => {
  const { run } = await import('../../proxy/cli/explain.js');
  let out = '';
  const code = await run(['--policy', h.policyFile, '--method', 'POST', '--path', '/v1/chat/completions', '--header', `Authorization: Bearer ${serviceToken}`, '--json'],
    { stdout: { write: (s: string) => (out += s) }, stderr: { write: () => true } });
  const report = JSON.parse(out) as Rec;
  assert.equal(code, 0, out);
  assert.equal(report.principal.source, 'oidc');
  assert.equal(report.principal.issuer, idp.issuer);
  assert.equal(report.principal.key_id, 'svc-batch');
  const auth = report.decisions.find((d: Rec) => d.stage === 'authentication');
  assert.equal(auth.rule, 'security.authentication.oidc');
  assert.equal(auth.at, idp.issuer);
  // The origin is that [[security.authentication.oidc]] entry's first line in the policy file.
  const text = readFileSync(h.policyFile, 'utf8').split('\n');
  const issuerLine = text.findIndex((l) => /^issuer\s*=/.test(l) && l.includes(idp.issuer)) + 1;
  assert.ok(issuerLine > 0);
  assert.equal(auth.origin, `${h.policyFile}:${issuerLine}`);
  assert.ok(!out.includes(serviceToken.split('.')[2]));
});
