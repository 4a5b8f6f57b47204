// Unit tests of the validate, gen-key and hash-key commands: exit codes, stdout/stderr, pasteable output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, TomlDate } from 'smol-toml';
import { run as validate, type CliIo } from '../../../../proxy/cli/validate.js';
import { run as keys, runGenKey, runHashKey } from '../../../../proxy/cli/keys.js';
import { loadPolicy } from '../../../../policies/load.js';
import { REPO_ROOT } from '../../../../dev/paths.js';

const ROOT = REPO_ROOT;
const REFERENCE = join(ROOT, 'config/reference.toml');
const fx = (name: string): string => join(ROOT, 'tests/fixtures/policies', name);

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void { this.text += String(chunk); cb(); }
}
interface Result { code: number; out: string; err: string }
async function call(fn: (argv: string[], io: CliIo) => Promise<number>, argv: string[], stdin = '', env: NodeJS.ProcessEnv = {}): Promise<Result> {
  const stdout = new Capture(), stderr = new Capture();
  const code = await fn(argv, { stdout, stderr, stdin: Readable.from(stdin === '' ? [] : [stdin]), env });
  return { code, out: stdout.text, err: stderr.text };
}

test('validate: a valid file prints OK on stdout and exits 0', async () => {
  const r = await call(validate, [REFERENCE]);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, 'OK: 1 file(s) valid\n');
  const two = await call(validate, [join(ROOT, 'config/default.toml'), join(ROOT, 'config/production.toml')]);
  assert.equal(two.code, 0, two.err);
  assert.equal(two.out, 'OK: 2 file(s) valid\n');
  assert.match(two.err, /^warning: security\.rate_limiting\.store = "redis" but LOLLMS_GUARD_REDIS_URL is not set$/m);
});

test('validate: an invalid file prints every problem, one per line, then a count, and exits 1', async () => {
  const f = fx('errors.toml');
  const r = await call(validate, [f]);
  assert.equal(r.code, 1);
  assert.equal(r.out, '');
  const errLines = r.err.trimEnd().split('\n');
  assert.equal(errLines.length, 15);
  for (const l of errLines.slice(0, -1)) assert.match(l, /^\S+:\d+:\d+ [\w.-]+: \S/, l);
  assert.ok(errLines.includes(`${f}:35:1 security.rate_limiting.global.brust: unknown key "brust"; did you mean "burst"?`));
  assert.equal(errLines[errLines.length - 1], '14 problems found; policy not valid');
});

test('validate: unreadable files, syntax errors and env problems', async () => {
  const missing = join(ROOT, 'tests/fixtures/policies/missing.toml');
  const r = await call(validate, [missing]);
  assert.equal(r.code, 1);
  assert.match(r.err, /missing\.toml: cannot read policy file \(ENOENT\)/);
  assert.match(r.err, /^1 problem found; policy not valid$/m);
  const s = await call(validate, [fx('syntax-error.toml')]);
  assert.equal(s.code, 1);
  assert.match(s.err, /syntax-error\.toml:4:8: invalid TOML/);
  const e = await call(validate, [REFERENCE], '', { LOLLMSBOT_PORT: 'eighty' });
  assert.equal(e.code, 1);
  assert.match(e.err, /^env LOLLMSBOT_PORT server\.port: must be integer, got "eighty" \(string\); set LOLLMSBOT_PORT=8800$/m);
  const noEnv = await call(validate, ['--no-env', REFERENCE], '', { LOLLMSBOT_PORT: 'eighty' });
  assert.equal(noEnv.code, 0, noEnv.err);
});

test('validate: --policy FILE as serve and config show take it, repeatable and mixed with plain files', async () => {
  const dflt = join(ROOT, 'config/default.toml'), prod = join(ROOT, 'config/production.toml');
  for (const argv of [['--policy', dflt, '--policy', prod], ['-p', dflt, prod], [`--policy=${dflt}`, '--no-env', '-p', prod]]) {
    const r = await call(validate, argv);
    assert.equal(r.code, 0, `${argv.join(' ')}: ${r.err}`);
    assert.equal(r.out, 'OK: 2 file(s) valid\n');
  }
  const bad = await call(validate, ['--policy', fx('errors.toml')]);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /^14 problems found; policy not valid$/m);
  for (const argv of [['--policy'], ['--policy='], ['-p']]) {
    const r = await call(validate, argv);
    assert.equal(r.code, 2, argv.join(' '));
    assert.match(r.err, /^validate: --policy needs a FILE$/m);
  }
  assert.match((await call(validate, ['--help'])).out, /^ {2}-p, --policy FILE {2}a policy file, as `serve` and `config show` take it/m);
});

test('validate: usage', async () => {
  const h = await call(validate, ['--help']);
  assert.equal(h.code, 0);
  assert.match(h.out, /^Usage: lollms-guard validate/);
  assert.equal((await call(validate, [])).code, 2);
  assert.equal((await call(validate, ['--bogus', REFERENCE])).code, 2);
});

test('gen-key: key on the first line, then a blank line and a TOML block that validates', async () => {
  const r = await call(runGenKey, []);
  assert.equal(r.code, 0);
  const [key, blank, ...block] = r.out.split('\n');
  assert.match(key, /^lg_[A-Za-z0-9_-]{43}$/);
  assert.equal(blank, '');
  const doc = parse(block.join('\n')) as { security: { authentication: { keys: Record<string, unknown>[] } } };
  const entry = doc.security.authentication.keys[0];
  assert.equal(entry.sha256, createHash('sha256').update(key).digest('hex'));
  assert.match(String(entry.id), /^key-\d{8}-[0-9a-f]{4}$/);
  assert.equal(entry.role, 'user');
  assert.ok(entry.created instanceof TomlDate && entry.created.isDate());
  assert.equal(String(entry.id).slice(4, 12), new Date().toISOString().slice(0, 10).replace(/-/g, ''));
  const dir = mkdtempSync(join(tmpdir(), 'gen-key-'));
  const f = join(dir, 'keys.toml');
  writeFileSync(f, block.join('\n'));
  const p = loadPolicy([f], { LOLLMSBOT_API_KEY: key });
  assert.equal(p.raw.security.authentication.keys[0].sha256, entry.sha256);
  const other = await call(runGenKey, []);
  assert.notEqual(other.out.split('\n')[0], key);
});

test('gen-key: --id and --role, and bad options', async () => {
  const r = await call(runGenKey, ['--id', 'ops "night"', '--role=admin']);
  assert.equal(r.code, 0);
  const entry = (parse(r.out.split('\n').slice(2).join('\n')) as { security: { authentication: { keys: Record<string, unknown>[] } } })
    .security.authentication.keys[0];
  assert.deepEqual([entry.id, entry.role], ['ops "night"', 'admin']);
  assert.equal((await call(runGenKey, ['--id'])).code, 2);
  assert.equal((await call(runGenKey, ['--color', 'red'])).code, 2);
  assert.match((await call(runGenKey, ['--help'])).out, /^Usage: lollms-guard gen-key/);
});

test('hash-key: sha256 of stdin without the trailing newline; empty input fails', async () => {
  const key = 'lg_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG';
  const r = await call(runHashKey, [], `${key}\n`);
  assert.equal(r.code, 0);
  assert.equal(r.out, `${createHash('sha256').update(key).digest('hex')}\n`);
  assert.equal(r.err, '');
  const crlf = await call(runHashKey, [], `${key} \r\n`);
  assert.equal(crlf.out, r.out);
  const empty = await call(runHashKey, [], '  \n');
  assert.equal(empty.code, 1);
  assert.match(empty.err, /no key on stdin/);
  const short = await call(runHashKey, [], 'short');
  assert.equal(short.code, 0);
  assert.match(short.err, /^warning: the key is 5 characters/);
  assert.equal((await call(runHashKey, [key])).code, 2, 'keys are never taken from argv');
});

test('keys run() dispatches on the command name', async () => {
  assert.match((await call(keys, ['gen-key'])).out, /^lg_/);
  assert.match((await call(keys, ['hash-key'], 'x'.repeat(40))).out, /^[0-9a-f]{64}\n$/);
  assert.equal((await call(keys, ['nope'])).code, 2);
});

test('validate and serve: a missing policy file or schema file is one clear line naming the path, never a stack', async () => {
  const { cpSync, symlinkSync } = await import('node:fs');
  const { spawnSync } = await import('node:child_process');
  const missing = await call(validate, [join(tmpdir(), 'no-such-policy.toml')]);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /no-such-policy\.toml: cannot read policy file \(ENOENT\); check the path/);
  // An installation whose config/policy.schema.json is gone: a copy of the build beside the real modules.
  const inst = mkdtempSync(join(tmpdir(), 'no-schema-'));
  cpSync(join(ROOT, 'dist'), join(inst, 'dist'), { recursive: true });
  cpSync(join(ROOT, 'bin'), join(inst, 'bin'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(inst, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(inst, 'node_modules'));
  for (const args of [['validate', REFERENCE], ['serve', '--policy', REFERENCE]]) {
    const r = spawnSync(process.execPath, [join(inst, 'bin/lollms-guard.js'), ...args], { encoding: 'utf8', timeout: 20_000, env: { PATH: process.env.PATH } });
    assert.equal(r.status, 1, r.stderr);
    assert.ok(r.stderr.includes(`${join(inst, 'config/policy.schema.json')}: cannot read the policy schema (ENOENT)`), r.stderr);
    assert.match(r.stderr, /restore it/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
});
