// validate on [[security.authentication.oidc]]: http outside loopback, HS* without a secret, unknown roles, bad JWKS files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicy, PolicyError, formatProblem } from '../../../../policies/load.js';
import { urlProblem } from '../../../../policies/oidc/urls.js';

const dir = mkdtempSync(join(tmpdir(), 'lollms-guard-oidc-'));
let n = 0;
function problems(toml: string, env: NodeJS.ProcessEnv = {}): string[] {
  const f = join(dir, `p${n++}.toml`);
  writeFileSync(f, toml);
  try {
    loadPolicy([f], env);
    return [];
  } catch (e) {
    if (!(e instanceof PolicyError)) throw e;
    return e.problems.map(formatProblem).map((l) => l.slice(f.length));
  }
}

const ROLES = `[security.authorization.roles.user]
allow = ["GET /v1/models"]
[security.authorization.roles.admin]
allow = ["*"]
`;

test('a good issuer table is valid', () => {
  assert.deepEqual(problems(`${ROLES}
[[security.authentication.oidc]]
issuer = "https://idp.example.com/realms/main"
audiences = ["lollms-guard"]
[security.authentication.oidc.role_map]
"llm-admins" = "admin"
`), []);
});

test('http outside loopback, HS256 without a secret and a role that does not exist: file:line, key and fix', () => {
  const p = problems(`${ROLES}
[[security.authentication.oidc]]
issuer = "http://idp.example.com/realms/main"
audiences = ["lollms-guard"]
algorithms = ["RS256", "HS256"]
[security.authentication.oidc.role_map]
"llm-admins" = "admni"
"llm-users" = "superuser"
`);
  assert.equal(p.length, 4, p.join('\n'));
  assert.match(p[0], /^:7:\d+ security\.authentication\.oidc\.0\.issuer: issuer "http:\/\/idp\.example\.com\/realms\/main" uses http outside loopback.*use https/);
  assert.match(p[1], /^:9:\d+ security\.authentication\.oidc\.0\.algorithms: HS256 needs a shared secret: set hmac_secret_env = /);
  assert.match(p[2], /^:11:\d+ security\.authentication\.oidc\.0\.role_map\.llm-admins: role_map "llm-admins" -> "admni" is not defined in security\.authorization\.roles; did you mean "admin"\?/);
  assert.match(p[3], /^:12:\d+ security\.authentication\.oidc\.0\.role_map\.llm-users: .*"superuser" is not defined.*define \[security\.authorization\.roles\.superuser\]/);
});

test('alg "none" is not accepted by the schema; a missing audience neither', () => {
  const p = problems(`[[security.authentication.oidc]]
issuer = "https://idp.example.com"
audiences = []
algorithms = ["none"]
default_role = "user"
`);
  assert.ok(p.some((l) => /algorithms\.0: must be one of RS256, .*got "none"/.test(l)), p.join('\n'));
  assert.ok(p.some((l) => /audiences: must list at least 1 entry/.test(l)), p.join('\n'));
});

test('loopback http is allowed; duplicates, jwks_uri + jwks_file, an unreadable or private JWKS and no role source are not', () => {
  const priv = join(dir, 'private.jwks.json');
  writeFileSync(priv, JSON.stringify({ keys: [{ kty: 'oct', k: 'c2VjcmV0' }] }));
  const p = problems(`[[security.authentication.oidc]]
issuer = "http://127.0.0.1:8080"
audiences = ["a"]
default_role = "user"
[[security.authentication.oidc]]
issuer = "http://127.0.0.1:8080"
audiences = ["a"]
jwks_uri = "https://idp.example.com/jwks"
jwks_file = "${priv}"
[[security.authentication.oidc]]
issuer = "https://idp2.example.com"
audiences = ["a"]
jwks_file = "${join(dir, 'missing.json')}"
default_role = "user"
`);
  const text = p.join('\n');
  assert.match(text, /oidc\.1\.issuer: issuer "http:\/\/127\.0\.0\.1:8080" is listed twice \(also oidc\[0\]\)/);
  assert.match(text, /oidc\.1\.jwks_file: jwks_uri and jwks_file are both set/);
  assert.match(text, /oidc\.1\.jwks_file: .*private or symmetric key/);
  assert.match(text, /oidc\.1\.role_map: no role_map and no default_role: every token would be refused/);
  assert.match(text, /oidc\.2\.jwks_file: .*ENOENT; point it at a readable copy/);
  assert.ok(!/oidc\.0\./.test(text), text);
});

test('an HS secret variable that is not set is a start-up warning', () => {
  const f = join(dir, 'hs.toml');
  writeFileSync(f, `[[security.authentication.oidc]]
issuer = "https://idp.example.com"
audiences = ["a"]
algorithms = ["HS256"]
hmac_secret_env = "IDP_HS_SECRET"
default_role = "user"
`);
  assert.ok(loadPolicy([f], {}).warnings.some((w) => /IDP_HS_SECRET is not set/.test(w)));
  assert.ok(!loadPolicy([f], { IDP_HS_SECRET: 'x'.repeat(32) }).warnings.some((w) => /IDP_HS_SECRET/.test(w)));
});

test('urlProblem: https anywhere, http only on loopback', () => {
  assert.equal(urlProblem('https://login.microsoftonline.com/tid/v2.0'), null);
  for (const u of ['http://127.0.0.1:9000', 'http://localhost/realms/x', 'http://[::1]:8080', 'http://127.8.9.10']) assert.equal(urlProblem(u), null, u);
  for (const u of ['http://10.0.0.5', 'http://idp.example.com', 'http://127.0.0.1.nip.io', 'ftp://idp.example.com', 'idp.example.com', 'http://localhost.evil.com']) {
    assert.notEqual(urlProblem(u), null, u);
  }
});
