// Environment overrides at start (LOLLMSBOT_PORT, LOLLMS_HOST_ADDRESS, LOLLMSBOT_API_KEY, LOLLMS_GUARD__*), and a bad upstream URL stopping start-up.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { basePolicy, USER_KEY } from '../../dev/harness.js';
import { startLollmsDouble, type LollmsDouble } from '../../dev/doubles/lollms-double.js';
import { runCli, type CliRun } from '../helpers/cli.js';
import { closedPort, eventsOf, requestLines } from '../helpers/http.js';

const running: CliRun[] = [];
let d: LollmsDouble | undefined;
after(async () => {
  for (const c of running) c.kill();
  await d?.close();
});
function cli(args: string[], env: Record<string, string>): CliRun {
  const c = runCli(args, env);
  running.push(c);
  return c;
}
function policyFile(upstream: string, edit: (p: string) => string = (p) => p): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'lollms-guard-env-'));
  const file = join(dir, 'policy.toml');
  writeFileSync(file, edit(basePolicy(upstream, dir)));
  return { dir, file };
}
const ENV_KEY = 'env-admin-key-0123456789abcdefghijklmnopqrstuv';

test('LOLLMSBOT_PORT, LOLLMS_HOST_ADDRESS, LOLLMSBOT_API_KEY and LOLLMS_GUARD__SECURITY__MODE override the policy at start', async () => {
  d = await startLollmsDouble();
  const dead = await closedPort();
  const port = await closedPort();
  // The file says: port 1 (cannot bind), an upstream nobody listens on, enforce mode.
  const { dir, file } = policyFile(`http://127.0.0.1:${dead}`, (p) => p.replace('port = 0', 'port = 1'));
  const c = cli(['serve', '--policy', file], {
    TEST_UPSTREAM_KEY: 'upstream-secret-value-123',
    LOLLMSBOT_PORT: String(port),
    LOLLMS_HOST_ADDRESS: d.url,
    LOLLMSBOT_API_KEY: ENV_KEY,
    LOLLMS_GUARD__SECURITY__MODE: 'permissive',
  });
  const url = await c.listening;
  assert.equal(new URL(url).port, String(port), 'LOLLMSBOT_PORT');
  assert.match(c.stderr(), new RegExp(`-> ${d.url.replace(/[.]/g, '\\.')}`), 'the banner names the overriding upstream');
  assert.match(c.stderr(), /mode permissive/);
  assert.equal(c.stderr().includes(ENV_KEY), false, 'the env key is never printed');

  // LOLLMSBOT_API_KEY is an extra admin key with id "env"; the upstream is the double (LOLLMS_HOST_ADDRESS).
  const admin = await fetch(`${url}/list_models`, { headers: { Authorization: `Bearer ${ENV_KEY}`, 'X-Request-ID': 'env-admin-1' } });
  assert.equal(admin.status, 200);
  await admin.text();
  assert.equal(d.lastRequest()!.url, '/list_models');
  const user = await fetch(`${url}/v1/models`, { headers: { Authorization: `Bearer ${USER_KEY}` } });
  assert.equal(user.status, 200, 'the policy keys still work');
  await user.text();
  // permissive: a request without a key passes, audited as would_deny
  const anon = await fetch(`${url}/v1/models`, { headers: { 'X-Request-ID': 'env-anon-1' } });
  assert.equal(anon.status, 200);
  await anon.text();

  c.child.kill('SIGTERM');
  assert.equal((await c.exited).code, 0);
  const lines = readFileSync(join(dir, 'audit.log'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  const req = requestLines(lines);
  assert.equal(req.find((l) => l.http?.request?.id === 'env-admin-1')?.user?.id, 'env');
  assert.ok(eventsOf(lines, 'would_deny').some((e) => e.http?.request?.id === 'env-anon-1'), 'would_deny audited');
  assert.ok(!readFileSync(join(dir, 'audit.log'), 'utf8').includes(ENV_KEY));
});

for (const [what, env, edit] of [
  ['LOLLMS_HOST_ADDRESS with a non-http scheme', { LOLLMS_HOST_ADDRESS: 'ftp://127.0.0.1:9600' }, undefined],
  ['LOLLMS_HOST_ADDRESS that is not a URL', { LOLLMS_HOST_ADDRESS: 'not a url' }, undefined],
  ['an upstream.url without a scheme in the file', {}, (p: string) => p.replace(/url = "http:\/\/127\.0\.0\.1:(\d+)"/, 'url = "127.0.0.1:$1"')],
] as const) {
  test(`a bad upstream URL stops start-up with a clear message: ${what}`, async () => {
    const { file } = policyFile('http://127.0.0.1:9600', edit);
    const c = cli(['serve', '--policy', file], { ...env });
    const { code } = await c.exited;
    assert.equal(code, 1, `exit code; stderr:\n${c.stderr()}`);
    const err = c.stderr();
    assert.doesNotMatch(err, /listening on/);
    assert.match(err, /upstream\.url/, 'names the key');
    if ('LOLLMS_HOST_ADDRESS' in env) assert.match(err, /LOLLMS_HOST_ADDRESS/, 'names the variable');
    else assert.match(err, /policy\.toml:\d+:\d+/, 'points at the file and line');
    assert.match(err, /nothing was started/);
    assert.doesNotMatch(err, /\n\s+at /, 'no stack trace');
  });
}
