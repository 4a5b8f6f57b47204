// validate / start messages of the LoLLMS shield: globs vs management routes, unknown management routes, unauthenticated listeners.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicy, PolicyError, formatProblem } from '../../../../policies/load.js';
import { REPO_ROOT } from '../../../../dev/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'lollms-shield-policy-'));
let n = 0;
function load(text: string): { warnings: readonly string[]; problems: string[] } {
  const f = join(dir, `p${n++}.toml`);
  writeFileSync(f, text);
  try {
    return { warnings: loadPolicy([f], {}).warnings, problems: [] };
  } catch (e) {
    if (e instanceof PolicyError) return { warnings: [], problems: e.problems.map(formatProblem) };
    throw e;
  }
}
const roles = (allow: string[]): string => `[security.authorization.roles.user]\nallow = ${JSON.stringify(allow)}\nmodels = ["*"]\n`;

test('a glob that would have matched management routes is named in a warning, with the catalogue entries', () => {
  const r = load(roles(['POST /install_*', 'GET /v1/*']));
  assert.deepEqual(r.problems, []);
  const w = r.warnings.find((x) => x.includes('roles.user.allow[0]'));
  assert.ok(w, r.warnings.join('\n'));
  assert.match(w, /never matches LoLLMS management routes/);
  assert.match(w, /extensions \(CVE-2024-4320/);
  assert.match(w, /bindings-models/);
  assert.ok(!r.warnings.some((x) => x.includes('roles.user.allow[1]')), 'GET /v1/* matches no management route');
});

test('the shipped default policy says that admin "*" does not reach management routes', () => {
  const p = loadPolicy([join(REPO_ROOT, 'config/default.toml')], {});
  assert.ok(p.warnings.some((w) => /roles\.admin\.allow\[0\] "\*" never matches LoLLMS management routes/.test(w) && w.includes('settings (CVE-2024-2358')), p.warnings.join('\n'));
});

test('unknown or mis-spelled management routes are errors naming the catalogue entry', () => {
  const typo = load(roles(['POST /apply_setting']));
  assert.equal(typo.problems.length, 1, typo.problems.join('\n'));
  assert.match(typo.problems[0], /roles\.user\.allow\.0: "POST \/apply_setting" is not a LoLLMS route; did you mean "POST \/apply_settings" \(management, catalogue entry settings \(CVE-2024-2358/);
  assert.match(typo.problems[0], /p\d+\.toml:\d+:\d+/, 'file:line:col');
  const method = load(roles(['GET /execute_code']));
  assert.match(method.problems.join('\n'), /LoLLMS answers \/execute_code only to POST \(catalogue entry code-execution/);
  const kase = load(roles(['POST /Apply_Settings']));
  assert.match(kase.problems.join('\n'), /spells the route "\/apply_settings"/);
  const exact = load(roles(['POST /apply_settings', 'POST /unInstall_binding', 'POST /v1/chat/completions', 'POST /my_custom_route']));
  assert.deepEqual(exact.problems, []);
});

const server = (host: string): string => `[server]\nhost = "${host}"\n`;
const anon = (extra = ''): string => `[security.authentication]\nrequire_api_key = false\n${extra}`;

test('require_api_key = false is refused unless the listener is loopback-only or the loud opt-in is set', () => {
  const open = load(server('0.0.0.0') + anon());
  assert.equal(open.problems.length, 1, open.problems.join('\n'));
  assert.match(open.problems[0], /security\.authentication\.require_api_key: require_api_key = false while server\.host = "0\.0\.0\.0"/);
  assert.match(open.problems[0], /unsafe_allow_unauthenticated_network_access = true/);
  for (const h of ['127.0.0.1', '::1', 'localhost', '127.0.0.2']) {
    const r = load(server(h) + anon());
    assert.deepEqual(r.problems, [], h);
    assert.ok(r.warnings.some((w) => w.includes(`any process on this machine (${h}) can call, without a key, the routes of role "user"`)), r.warnings.join('\n'));
  }
  const optIn = load(server('0.0.0.0') + anon('unsafe_allow_unauthenticated_network_access = true\n'));
  assert.deepEqual(optIn.problems, []);
  assert.ok(optIn.warnings.some((w) => w.includes('ANYONE who can reach 0.0.0.0')), optIn.warnings.join('\n'));
});
