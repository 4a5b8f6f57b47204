// Unit tests of the policy loader: reference policy, defaults, located errors, overlays, env overrides, dates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicy, formatProblem, PolicyError, registerPatternCheck, type PolicyProblem } from '../../../policies/load.js';
import { locateKeys } from '../../../policies/toml-locate.js';
import { deepMerge } from '../../../policies/merge.js';
import type { CompiledPolicy } from '../../../kernel/policy.js';
import { REPO_ROOT } from '../../../dev/paths.js';

const ROOT = REPO_ROOT;
const REFERENCE = join(ROOT, 'config/reference.toml');
const fx = (name: string): string => join(ROOT, 'tests/fixtures/policies', name);
const tmp = mkdtempSync(join(tmpdir(), 'policy-load-'));
let n = 0;
/** Writes a throw-away policy file and returns its path. */
const toml = (text: string): string => { const f = join(tmp, `p${n++}.toml`); writeFileSync(f, text); return f; };

/** The problems loadPolicy throws (fails the test when it does not throw). */
function problemsOf(files: string[], env: NodeJS.ProcessEnv = {}): PolicyProblem[] {
  try { loadPolicy(files, env); } catch (e) {
    assert.ok(e instanceof PolicyError, String(e));
    return e.problems;
  }
  assert.fail('expected a PolicyError');
}
const lines = (ps: PolicyProblem[]): string[] => ps.map(formatProblem);
const withPath = (ps: PolicyProblem[], path: string): PolicyProblem => {
  const p = ps.find((x) => x.path === path);
  assert.ok(p, `no problem at ${path}: ${lines(ps).join('\n')}`);
  return p;
};

test('the reference policy validates unchanged, with dates as strings and positions for every key', () => {
  const p: CompiledPolicy = loadPolicy([REFERENCE], {});
  assert.equal(p.mode, 'enforce');
  assert.deepEqual(p.files, [REFERENCE]);
  assert.match(p.hash, /^[0-9a-f]{64}$/);
  const keys = p.raw.security.authentication.keys;
  assert.equal(keys[0].created, '2026-11-01');
  assert.equal(keys[1].expires, '2027-05-01T00:00:00.000Z');
  assert.equal(p.raw.security.headers.values['X-Frame-Options'], 'DENY');
  const text = readFileSync(REFERENCE, 'utf8').split('\n');
  /** 1-based line of the first line at or after `after` that starts with `start`. */
  const lineOf = (start: string, after = 0): number => text.findIndex((l, i) => i >= after && l.startsWith(start)) + 1;
  assert.deepEqual(p.origins.get('security.rate_limiting.global.burst'), { source: 'file', file: REFERENCE, line: lineOf('burst = ', lineOf('[security.rate_limiting.global]')), col: 1 });
  assert.deepEqual(p.origins.get('security.authentication.keys.1.expires'), { source: 'file', file: REFERENCE, line: lineOf('expires = '), col: 1 });
  // The example sets every key; only entries of a list or map may leave to a default a key that another entry sets.
  assert.deepEqual([...p.origins].filter(([, o]) => o.source !== 'file').map(([k]) => k),
    ['security.authentication.keys.0.disabled', 'security.authorization.roles.admin.deny']);
  assert.ok(Object.isFrozen(p.raw) && Object.isFrozen(p.raw.security.authentication.keys[0]));
  assert.throws(() => { (p.raw.server as { port: number }).port = 1; }, TypeError);
});

test('defaults fill every absent key, nested tables included', () => {
  const p = loadPolicy([toml('[security.rate_limiting.global]\nrate = 5\n')], {});
  assert.equal(p.raw.server.port, 8800);
  assert.equal(p.raw.server.host, '127.0.0.1');
  assert.equal(p.raw.upstream.url, 'http://localhost:9600');
  assert.equal(p.raw.security.rate_limiting.global.rate, 5);
  assert.equal(p.raw.security.rate_limiting.global.burst, 100);
  assert.deepEqual(Object.keys(p.raw.security.authorization.roles).sort(), ['admin', 'user']);
  assert.deepEqual(p.raw.security.authorization.roles.user.deny, []);
  assert.equal(p.origins.get('security.rate_limiting.global.rate')?.source, 'file');
  assert.deepEqual(p.origins.get('security.rate_limiting.global.burst'), { source: 'default' });
  assert.deepEqual(p.origins.get('server.port'), { source: 'default' });
  assert.equal(loadPolicy([], {}).raw.logging.security.file_path, 'logs/audit.log');
});

test('every problem is collected, each with file:line:col, key path, bad value and fix', () => {
  const f = fx('errors.toml');
  const ps = problemsOf([f]);
  const all = lines(ps);
  assert.ok(all.includes(`${f}:35:1 security.rate_limiting.global.brust: unknown key "brust"; did you mean "burst"?`), all.join('\n'));
  assert.ok(all.includes(`${f}:4:1 server.port: must be integer, got "80a" (string); write port = 80 (a whole number, no quotes)`));
  assert.ok(all.includes(`${f}:11:1 security.mode: must be one of enforce, permissive, disabled, got "enforcing"`));
  assert.equal(formatProblem(withPath(ps, 'security.authentication.keys.1.role')),
    `${f}:24:1 security.authentication.keys.1.role: role "admn" is not defined in security.authorization.roles; did you mean "admin"?`);
  assert.equal(withPath(ps, 'security.authentication.keys.1.sha256').line, 23);
  assert.match(withPath(ps, 'security.authentication.keys.1.sha256').message, /hash-key/);
  assert.match(withPath(ps, 'security.authentication.keys.1.id').message, /duplicate key id "ops"/);
  assert.match(withPath(ps, 'security.authentication.keys.1.created').message, /got "yesterday"/);
  assert.deepEqual([withPath(ps, 'server.trust_proxy.1').line, withPath(ps, 'server.trust_proxy.1').col], [5, 30]);
  assert.equal(withPath(ps, 'server.trust_proxy.2').col, 45);
  assert.match(withPath(ps, 'upstream.url').message, /"ftp:\/\/files.example.com" is not an http\(s\) URL/);
  assert.match(withPath(ps, 'security.authorization.roles.user.allow.1').message, /unknown method "GTE"; did you mean "GET"\?/);
  assert.match(withPath(ps, 'security.authorization.roles.user.allow.2').message, /"\* \/v1\/embeddings" for any method/);
  assert.match(withPath(ps, 'security.information_disclosure.patterns.broken').message, /not a valid JavaScript regular expression/);
  assert.equal(withPath(ps, 'security.validation.user_id_pattern').line, 41);
  assert.equal(ps.length, 14, all.join('\n'));
  const sorted = [...ps].sort((a, b) => a.line - b.line || a.col - b.col);
  assert.deepEqual(ps, sorted, 'problems come in file order');
});

test('syntax errors and unreadable files are problems with a position', () => {
  const [syntax] = problemsOf([fx('syntax-error.toml')]);
  assert.equal(syntax.line, 4);
  assert.equal(syntax.col, 8);
  assert.match(formatProblem(syntax), /syntax-error\.toml:4:8: invalid TOML: invalid value/);
  const missing = fx('no-such-file.toml');
  const ps = problemsOf([missing, fx('syntax-error.toml')]);
  assert.equal(ps.length, 2);
  assert.match(formatProblem(ps[0]), /no-such-file\.toml: cannot read policy file \(ENOENT\)/);
});

test('unknown keys without a close match list what is allowed; keys in inline arrays of tables are located', () => {
  const f = toml('[server]\nzzzzzz = 1\n\n[security.tls.client]\nidentities = [\n  { id = "a", rol = "user" },\n]\n');
  const ps = problemsOf([f]);
  assert.match(withPath(ps, 'server.zzzzzz').message, /^unknown key "zzzzzz"; allowed here: host, port, /);
  const inline = withPath(ps, 'security.tls.client.identities.0.rol');
  assert.deepEqual([inline.line, inline.col], [6, 15]);
  assert.match(inline.message, /did you mean "role"\?/);
});

test('semantic checks: roles, duplicate digests, CORS wildcard with credentials, IPv6 CIDRs', () => {
  const digest = 'ab'.repeat(32);
  const f = toml([
    '[server]', 'trust_proxy = ["fd00::/8", "::1", "192.168.1.10"]',
    '[security.authorization]', 'default_role = "guest"',
    '[security.cors]', 'origins = ["*"]', 'credentials = true',
    '[[security.authentication.keys]]', 'id = "a"', `sha256 = "${digest}"`,
    '[[security.authentication.keys]]', 'id = "b"', `sha256 = "${digest.toUpperCase()}"`, '',
  ].join('\n'));
  const ps = problemsOf([f]);
  assert.deepEqual(ps.map((p) => p.path), [
    'security.authorization.default_role', 'security.cors.origins', 'security.authentication.keys.1.sha256',
  ]);
  assert.match(ps[0].message, /"guest" is not defined .*use one of: user, admin/);
  assert.equal(ps[2].line, 13);
  loadPolicy([toml('[security.authorization]\nenable_rbac = false\ndefault_role = "guest"\n')], {});
  // the runtime's route grammar (method lists, any case) and its implicit "admin" role are accepted
  loadPolicy([toml([
    '[security.authorization.roles.user]', 'allow = ["GET,POST /v1/*", "get /v1/models", "* /api/**"]',
    '[[security.authentication.keys]]', 'id = "root"', `sha256 = "${digest}"`, 'role = "admin"', '',
  ].join('\n'))], {});
});

test('user_id_pattern must also compile with the "u" flag the validation stage uses', () => {
  const ps = problemsOf([toml("[security.validation]\nuser_id_pattern = '^\\_+$'\n")]);
  assert.equal(ps.length, 1);
  assert.equal(ps[0].line, 2);
  assert.match(ps[0].message, /not valid in Unicode mode/);
});

test('overlays: tables merge key by key, arrays (of tables too) and scalars replace, origins follow', () => {
  const base = fx('overlay-base.toml'), prod = fx('overlay-prod.toml');
  const p = loadPolicy([base, prod], {});
  assert.deepEqual(p.raw.server.trust_proxy, ['172.16.0.0/12']);
  assert.equal(p.raw.server.port, 8800);
  assert.deepEqual(p.raw.security.authentication.keys.map((k) => k.id), ['prod-only']);
  assert.equal(p.raw.security.authentication.keys[0].created, '2026-01-15');
  assert.equal(p.raw.security.authentication.api_key_min_length, 40);
  assert.equal(p.raw.security.cors.credentials, true);
  assert.deepEqual(p.raw.security.cors.origins, ['http://localhost']);
  assert.deepEqual(p.origins.get('server.trust_proxy'), { source: 'file', file: prod, line: 3, col: 1 });
  assert.deepEqual(p.origins.get('server.port'), { source: 'file', file: base, line: 3, col: 1 });
  assert.deepEqual(p.origins.get('security.authentication.keys.0.id'), { source: 'file', file: prod, line: 6, col: 1 });
  assert.equal(p.origins.has('security.authentication.keys.1.id'), false);
  assert.ok(p.warnings.some((w) => w.includes('LOLLMS_GUARD_REDIS_URL is not set')));
  // a required key missing in the later file is reported there, not in the replaced array of the base
  const broken = toml('[[security.authentication.keys]]\nid = "no-digest"\n');
  const ps = problemsOf([base, broken]);
  assert.equal(formatProblem(ps[0]), `${broken}:1:1 security.authentication.keys.0.sha256: missing required key "sha256"; add it (the 64 hex digits printed by \`lollms-guard hash-key\` or \`gen-key\`)`);
});

test('deepMerge does not modify its inputs', () => {
  const a = { t: { x: 1, list: [1, 2] } };
  const b = { t: { y: 2, list: [3] } };
  assert.deepEqual(deepMerge(a, b), { t: { x: 1, y: 2, list: [3] } });
  assert.deepEqual(a, { t: { x: 1, list: [1, 2] } });
});

test('env overrides: named variables and the general LOLLMS_GUARD__ form, with origins', () => {
  const env = {
    LOLLMS_HOST_ADDRESS: 'https://llm.internal:9601',
    LOLLMSBOT_HOST: '0.0.0.0',
    LOLLMSBOT_PORT: '9000',
    LOLLMSBOT_CORS_ORIGINS: ' https://a.example , ,https://b.example,',
    LOLLMS_GUARD__SECURITY__MODE: 'permissive',
    LOLLMS_GUARD__SECURITY__TLS__MIN_VERSION: '1.3',
    LOLLMS_GUARD__SECURITY__RATE_LIMITING__GLOBAL__RATE: '42',
    LOLLMS_GUARD__LOGGING__SECURITY__HASH_CHAIN: 'false',
    LOLLMS_GUARD__SECURITY__VALIDATION__URLS__ALLOWED_DOMAINS: '["a.example", "*.b.example"]',
    LOLLMS_GUARD__SERVER__TRUST_PROXY: '10.0.0.0/8, 127.0.0.1',
    LOLLMS_GUARD_REDIS_URL: 'redis://127.0.0.1:6379', // a secret, not an override
    LOLLMS_GUARD_AUDIT_KEY: 'k'.repeat(40),
  };
  const p = loadPolicy([REFERENCE], env);
  assert.equal(p.raw.upstream.url, 'https://llm.internal:9601');
  assert.equal(p.raw.server.host, '0.0.0.0');
  assert.equal(p.raw.server.port, 9000);
  assert.deepEqual(p.raw.security.cors.origins, ['https://a.example', 'https://b.example']);
  assert.equal(p.raw.security.mode, 'permissive');
  assert.equal(p.mode, 'permissive');
  assert.equal(p.raw.security.tls.min_version, '1.3');
  assert.equal(p.raw.security.rate_limiting.global.rate, 42);
  assert.equal(p.raw.logging.security.hash_chain, false);
  assert.deepEqual(p.raw.security.validation.urls.allowed_domains, ['a.example', '*.b.example']);
  assert.deepEqual(p.raw.server.trust_proxy, ['10.0.0.0/8', '127.0.0.1']);
  assert.deepEqual(p.origins.get('server.port'), { source: 'env', env: 'LOLLMSBOT_PORT' });
  assert.deepEqual(p.origins.get('security.mode'), { source: 'env', env: 'LOLLMS_GUARD__SECURITY__MODE' });
  assert.equal(p.origins.get('server.host')?.env, 'LOLLMSBOT_HOST');
  const off = loadPolicy([REFERENCE], { LOLLMS_GUARD__SECURITY__ENABLED: 'false' });
  assert.equal(off.mode, 'disabled');
  assert.ok(off.warnings.some((w) => w.startsWith('security is disabled')));
});

test('bad env values are problems that name the variable', () => {
  const ps = problemsOf([REFERENCE], {
    LOLLMSBOT_PORT: '80a',
    LOLLMS_GUARD__SECURITY__MODE: 'enforcing',
    LOLLMS_GUARD__SECURITY__RATE_LIMITING__GLOBAL__BRUST: '5',
    LOLLMS_GUARD__SERVER____HOST: 'x',
    LOLLMS_HOST_ADDRESS: 'localhost:9600',
    LOLLMSBOT_API_KEY: 'too-short',
  });
  const all = lines(ps);
  assert.ok(all.includes('env LOLLMSBOT_PORT server.port: must be integer, got "80a" (string); set LOLLMSBOT_PORT=80'), all.join('\n'));
  assert.ok(all.includes('env LOLLMS_GUARD__SECURITY__MODE security.mode: must be one of enforce, permissive, disabled, got "enforcing"'));
  assert.ok(all.includes('env LOLLMS_GUARD__SECURITY__RATE_LIMITING__GLOBAL__BRUST security.rate_limiting.global.brust: unknown key "brust"; did you mean "burst"?'));
  assert.match(withPath(ps, 'upstream.url').message, /not an http\(s\) URL/);
  assert.equal(withPath(ps, 'upstream.url').env, 'LOLLMS_HOST_ADDRESS');
  assert.match(all.find((l) => l.startsWith('env LOLLMS_GUARD__SERVER____HOST')) ?? '', /two underscores between levels/);
  const key = ps.find((q) => q.env === 'LOLLMSBOT_API_KEY');
  assert.ok(key && /9 characters, shorter than api_key_min_length \(32\)/.test(key.message));
  assert.ok(!all.some((l) => l.includes('too-short')), 'the key itself is never printed');
  assert.equal(ps.length, 6);
  loadPolicy([REFERENCE], { LOLLMSBOT_API_KEY: 'x'.repeat(32) });
});

test('TOML dates become strings; the TOML shapes the locator must get right', () => {
  const f = fx('tricky.toml');
  const p = loadPolicy([f], {});
  assert.equal(p.raw.server.host, 'port = 1\n[not.a.table]\n');
  assert.equal(p.raw.server.port, 8801);
  assert.equal(p.raw.security.authentication.keys[0].created, '2026-11-01');
  assert.equal(p.raw.security.authentication.keys[0].expires, '2027-05-01T12:30:00.000+02:00');
  const at = locateKeys(readFileSync(f, 'utf8'));
  const pos = (k: string): [number, number] | undefined => { const x = at.get(k); return x && [x.line, x.col]; };
  assert.deepEqual(pos('server.port'), [9, 1]);
  assert.equal(at.has('not.a.table'), false);
  assert.deepEqual(pos('security.headers.values.Literal-Key'), [13, 1]);
  assert.deepEqual(pos('security.rate_limiting.global.window_seconds'), [17, 3]);
  assert.deepEqual(pos('security.rate_limiting.per_user.track_by'), [19, 1]);
  assert.deepEqual(pos('security.rate_limiting.endpoints.1.burst'), [28, 1]);
  assert.deepEqual(pos('security.tls.client.identities.1.subject'), [33, 15]);
  assert.deepEqual(pos('security.authentication.keys.0.expires'), [40, 1]);
});

test('warnings: bypass switch with and without debug.enabled', () => {
  assert.ok(loadPolicy([fx('debug-bypass.toml')], {}).warnings.includes('debug.bypass_rate_limits = true has no effect while debug.enabled = false'));
  const on = loadPolicy([toml('[debug]\nenabled = true\nbypass_rate_limits = true\n')], {});
  assert.ok(on.warnings.some((w) => w.includes('rate limits are bypassed')));
});

test('detector patterns: the redaction safety check runs, and plugged-in checks too', () => {
  const ok = loadPolicy([toml('[security.information_disclosure.patterns]\nticket = "(?i)tkt-[0-9]{6}"\n')], {});
  assert.equal(ok.raw.security.information_disclosure.patterns.ticket, '(?i)tkt-[0-9]{6}');
  const bad = problemsOf([toml('[security.information_disclosure.patterns]\nfine = "x+y"\nevil = "(a+)+$"\n')]);
  assert.deepEqual(bad.map((p) => [p.path, p.line]), [['security.information_disclosure.patterns.evil', 3]]);
  assert.match(bad[0].message, /^pattern "evil" = /);
  registerPatternCheck((name, source) => (source === 'forbidden-[0-9]+' ? `pattern ${name} is on the deny list` : null));
  const ps = problemsOf([toml('[security.information_disclosure.patterns]\nmine = "forbidden-[0-9]+"\n')]);
  assert.deepEqual(ps.map((p) => p.message), ['pattern mine is on the deny list']);
});

test('the hash is stable across key order and changes with content', () => {
  const a = loadPolicy([toml('[server]\nport = 1\nhost = "::1"\n')], {});
  const b = loadPolicy([toml('[server]\nhost = "::1"\nport = 1\n')], {});
  const c = loadPolicy([toml('[server]\nhost = "::1"\nport = 2\n')], {});
  assert.equal(a.hash, b.hash);
  assert.notEqual(a.hash, c.hash);
});

test('every config/*.toml validates alone and overlaid on default.toml', () => {
  const dir = join(ROOT, 'config');
  const files = readdirSync(dir).filter((f) => f.endsWith('.toml'));
  assert.ok(['default.toml', 'development.toml', 'staging.toml', 'production.toml'].every((f) => files.includes(f)));
  for (const f of files) {
    loadPolicy([join(dir, f)], {});
    loadPolicy([join(dir, 'default.toml'), join(dir, f)], {});
  }
  const prod = loadPolicy([join(dir, 'default.toml'), join(dir, 'production.toml')], {}).raw;
  assert.equal(prod.security.rate_limiting.store, 'redis');
  assert.equal(prod.logging.security.on_failure, 'fail_closed');
  assert.equal(prod.debug.enabled, false);
  const def = loadPolicy([join(dir, 'default.toml')], {}).raw;
  assert.deepEqual([def.server.host, def.server.port, def.upstream.url], ['127.0.0.1', 8800, 'http://localhost:9600']);
  assert.equal(def.security.authentication.require_api_key, true);
  assert.deepEqual(def.security.authentication.keys, []);
});

test('a TOML date that is no calendar day is refused at its line, not rolled over to the next month (black-box round 11)', () => {
  for (const [value, col] of [['2026-02-30', 11], ['2025-02-29', 11], ['2026-04-31T00:00:00Z', 11]] as const) {
    const f = toml(`[[security.authentication.keys]]\nid = "a"\nsha256 = "${'ab'.repeat(32)}"\nexpires = ${value}\n`);
    const ps = problemsOf([f]);
    const p = ps.find((x) => x.message.startsWith('invalid date'));
    assert.ok(p, lines(ps).join('\n'));
    assert.equal(p.file, f);
    assert.equal(p.line, 4);
    assert.ok(p.col >= col, String(p.col));
  }
  // A real leap day still loads.
  const ok = toml(`[[security.authentication.keys]]\nid = "a"\nsha256 = "${'ab'.repeat(32)}"\nexpires = 2028-02-29\n`);
  assert.equal(loadPolicy([REFERENCE, ok], {}).raw.security.authentication.keys.at(-1)?.expires, '2028-02-29');
});
