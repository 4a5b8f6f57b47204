// SSO when the IdP changes: a rotated signing key, the IdP down after the first fetch or at start; limits and anonymised audit per principal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { SignJWT, importJWK } from 'jose';
import { startHarness, basePolicy, postJson, auth, USER_KEY, type Harness } from '../../dev/harness.js';
import { startIdp, newSigningKey, oidcPolicy, AUDIENCE } from '../helpers/oidc-idp.js';

const chat = { model: 'llama3-8b', messages: [{ role: 'user', content: 'hi' }] };
type Rec = Record<string, any>;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const codeOf = async (r: Response): Promise<string> => String(((await r.json()) as { error?: { code?: string } }).error?.code ?? r.status);
const send = (h: Harness, token: string): Promise<Response> => postJson(`${h.url}/v1/chat/completions`, chat, auth(token));

async function unknownKidToken(issuer: string): Promise<string> {
  const k = await newSigningKey('never-published');
  return new SignJWT({ sub: 'x', groups: ['llm-users'], aud: AUDIENCE }).setProtectedHeader({ alg: 'RS256', kid: k.kid }).setIssuer(issuer)
    .setExpirationTime('10m').sign(await importJWK(k, 'RS256'));
}

async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('a rotated signing key: a token with the new kid triggers one re-read and is accepted; the old key still works', async () => {
  const k1 = await newSigningKey('k1');
  let idp = await startIdp({ keys: [k1] });
  const h = await startHarness({ extra: oidcPolicy(idp.issuer) });
  try {
    const old = await idp.serviceToken();
    assert.equal((await send(h, old)).status, 200);
    const port = idp.port;
    await idp.close();
    // The IdP comes back with a new signing key, still publishing the old one (a normal rotation).
    idp = await startIdp({ port, keys: [await newSigningKey('k2'), k1] });
    const fresh = await idp.serviceToken();
    await sleep(1200); // past refresh_cooldown_seconds since the start-up read
    const jwksBefore = idp.served.filter((u) => u.startsWith('/jwks')).length;
    assert.equal((await send(h, fresh)).status, 200);
    assert.equal(idp.served.filter((u) => u.startsWith('/jwks')).length, jwksBefore + 1, 'one JWKS re-read');
    assert.equal((await send(h, old)).status, 200);
  } finally {
    await h.close();
    await idp.close();
  }
});

test('unknown kids within refresh_cooldown_seconds do not reach the IdP again', async () => {
  const idp = await startIdp();
  const h = await startHarness({ extra: oidcPolicy(idp.issuer).replace('refresh_cooldown_seconds = 1', 'refresh_cooldown_seconds = 3600') });
  try {
    const served = idp.served.length;
    const forged = await Promise.all([1, 2, 3, 4, 5].map(() => unknownKidToken(idp.issuer)));
    for (const t of forged) assert.equal(await codeOf(await send(h, t)), 'token_unknown_key');
    assert.equal(idp.served.length, served, 'no read within the cooldown');
    assert.equal((await send(h, await idp.serviceToken())).status, 200);
  } finally {
    await h.close();
    await idp.close();
  }
});

test('the IdP down after the first fetch: known keys keep verifying, unknown ones are refused, nothing crashes', async () => {
  const idp = await startIdp();
  const h = await startHarness({ extra: oidcPolicy(idp.issuer) });
  try {
    const token = await idp.serviceToken();
    await idp.close();
    assert.equal((await send(h, token)).status, 200);
    await sleep(1200);
    assert.equal(await codeOf(await send(h, await unknownKidToken(idp.issuer))), 'token_unknown_key');
    assert.equal((await send(h, token)).status, 200);
    assert.equal((await postJson(`${h.url}/v1/chat/completions`, chat, auth(USER_KEY))).status, 200);
    const lines = (await h.auditLines()) as Rec[];
    const down = lines.find((l) => l.event?.action === 'oidc_keys_unavailable');
    assert.ok(down, 'the failed re-read is audited');
    assert.match(String(down.event.reason), /keys already known stay in use/);
  } finally {
    await h.close();
  }
});

test('an issuer unreachable at start: the proxy serves, its tokens get 503 until the IdP appears, then work', async () => {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const h = await startHarness({ extra: oidcPolicy(issuer) });
  let idp: Awaited<ReturnType<typeof startIdp>> | undefined;
  try {
    assert.equal((await postJson(`${h.url}/v1/chat/completions`, chat, auth(USER_KEY))).status, 200, 'API keys work meanwhile');
    const early = await send(h, await unknownKidToken(issuer));
    assert.equal(early.status, 503);
    assert.ok(early.headers.get('retry-after'));
    assert.equal(await codeOf(early), 'token_verifier_unavailable');
    idp = await startIdp({ port });
    const token = await idp.serviceToken();
    let status = 0;
    for (let i = 0; i < 120 && status !== 200; i++) {
      const r = await send(h, token);
      status = r.status;
      await r.arrayBuffer();
      if (status !== 200) await sleep(250);
    }
    assert.equal(status, 200, 'keys read once the IdP answered');
  } finally {
    await h.close();
    await idp?.close();
  }
});

test('per-user rate limits key on the token subject; the audit anonymises it', async () => {
  const idp = await startIdp();
  const h = await startHarness({
    policy: (url, dir) => basePolicy(url, dir, oidcPolicy(idp.issuer))
      .replace('[security.rate_limiting]\nenabled = false\n', '[security.rate_limiting]\nenabled = true\nalgorithm = "sliding_window"\n[security.rate_limiting.per_user]\nrate = 2\nwindow_seconds = 60\n')
      .replace('hash_chain = false', 'hash_chain = false\nanonymize = true'),
  });
  try {
    const alice = await idp.userToken('alice');
    const root = await idp.userToken('root');
    assert.equal((await send(h, alice)).status, 200);
    assert.equal((await send(h, alice)).status, 200);
    assert.equal(await codeOf(await send(h, alice)), 'rate_limited');
    assert.equal((await send(h, root)).status, 200, 'another subject from the same address has its own quota');
    const text = readFileSync(join(h.dir, 'audit.log'), 'utf8');
    const lines = (await h.auditLines()) as Rec[];
    const req = lines.filter((l) => l.event?.action === 'http_request');
    assert.ok(req.length >= 4);
    assert.ok(req.every((l) => /^[0-9a-f]{64}$/.test(String(l.user?.id))), 'user.id is a pseudonym');
    assert.equal(req[0].user.domain, idp.issuer, 'the issuer is kept');
    assert.ok(!/"alice"|"root"/.test(text), 'no raw subject in the audit');
  } finally {
    await h.close();
    await idp.close();
  }
});

test('reload: an unchanged issuer keeps its cached keys; a new one is read before the new policy takes over', async () => {
  const idp = await startIdp();
  const idp2 = await startIdp();
  const h = await startHarness({ extra: oidcPolicy(idp.issuer) });
  try {
    const token = await idp.serviceToken();
    assert.equal((await send(h, token)).status, 200);
    const jwksReads = (): number => idp.served.filter((u) => u.startsWith('/jwks')).length;
    const before = jwksReads();
    writeFileSync(h.policyFile, readFileSync(h.policyFile, 'utf8').replace('max_failed_attempts = 0', 'max_failed_attempts = 0\napi_key_rotation_days = 30'));
    assert.deepEqual(await h.proxy.reload(), { ok: true, restartNeeded: [] });
    assert.equal(jwksReads(), before, 'no re-read for an unchanged issuer');
    assert.equal((await send(h, token)).status, 200);
    writeFileSync(h.policyFile, readFileSync(h.policyFile, 'utf8') + oidcPolicy(idp2.issuer).replace(/\[security\.authentication\.oidc\.role_map\][^[]*/, 'default_role = "user"\n'));
    const r = await h.proxy.reload();
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal((await send(h, await idp2.serviceToken())).status, 200, 'the new issuer works from the first request');
  } finally {
    await h.close();
    await idp.close();
    await idp2.close();
  }
});
