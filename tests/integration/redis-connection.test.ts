// [security.rate_limiting.redis] bad input and sharing: validate's shape checks, clear start-up errors (or fail_open warnings), one client per process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicy, PolicyError, formatProblem } from '../../policies/load.js';
import { startServer } from '../../proxy/server.js';
import { USER_KEY, auth, basePolicy, startHarness } from '../../dev/harness.js';
import { startLollmsDouble } from '../../dev/doubles/lollms-double.js';
import { runCli } from '../helpers/cli.js';
import { RedisProcess, ask, freePort, haveRedisServer, waitFor } from '../helpers/redis-topology.js';

const ENV = { TEST_UPSTREAM_KEY: 'upstream-secret-value-123' };

function limits(redis: string, failure: 'fail_open' | 'fail_closed', extra = ''): string {
  return `[security.rate_limiting]
enabled = true
store = "redis"
on_store_failure = "${failure}"
${extra}
[security.rate_limiting.redis]
${redis}
`;
}

const withLimits = (section: string) => (upstream: string, dir: string): string =>
  basePolicy(upstream, dir).replace('[security.rate_limiting]\nenabled = false\n', section);

function problemsOf(text: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'lg-redis-validate-'));
  try {
    const file = join(dir, 'p.toml');
    writeFileSync(file, text);
    loadPolicy([file], {});
    return [];
  } catch (e) {
    if (!(e instanceof PolicyError)) throw e;
    return e.problems.map(formatProblem);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('validate: the mode needs its addresses, each "host:port", and names the key and line', () => {
  const none = problemsOf('[security.rate_limiting]\nstore = "redis"\n[security.rate_limiting.redis]\nmode = "sentinel"\n');
  assert.equal(none.length, 1);
  assert.match(none[0], /p\.toml:3:1 security\.rate_limiting\.redis\.sentinels: redis\.mode = "sentinel" needs at least one address in sentinels/);
  assert.match(problemsOf('[security.rate_limiting.redis]\nmode = "cluster"\n')[0], /redis\.nodes: redis\.mode = "cluster" needs at least one address/);
  const bad = problemsOf('[security.rate_limiting.redis]\nmode = "cluster"\nnodes = ["10.0.0.1:7000", "10.0.0.2", "[fd00::1]:7000"]\n');
  assert.deepEqual(bad.length, 1);
  assert.match(bad[0], /redis\.nodes\.1: "10\.0\.0\.2" is not "host:port"/);
  assert.match(problemsOf('[security.rate_limiting.redis]\nmode = "standalone"\nsentinels = ["a:1"]\n')[0], /sentinels is only used with redis\.mode = "sentinel"/);
  assert.match(problemsOf('[security.rate_limiting.redis]\nmode = "sentinel"\nsentinels = ["a:1"]\nmaster_name = ""\n')[0], /master_name is empty/);
  assert.match(problemsOf('[security.rate_limiting.redis]\nmode = "sharded"\n')[0], /redis\.mode/);
  assert.deepEqual(problemsOf('[security.rate_limiting.redis]\nmode = "sentinel"\nsentinels = ["127.0.0.1:26379", "[::1]:26380"]\n'), []);
});

test('an unreachable Sentinel at start: fail_closed refuses to start naming the key and address; fail_open warns and limits locally', { timeout: 60_000 }, async () => {
  const port = await freePort(); // nobody listens here
  const double = await startLollmsDouble();
  const dir = mkdtempSync(join(tmpdir(), 'lg-redis-start-'));
  try {
    const file = join(dir, 'policy.toml');
    const redis = `mode = "sentinel"\nsentinels = ["127.0.0.1:${port}"]\nmaster_name = "nosuch"`;
    writeFileSync(file, withLimits(limits(redis, 'fail_closed'))(double.url, dir));
    await assert.rejects(startServer({ files: [file], env: ENV, say: () => {}, watch: false }), (e: Error) => {
      assert.match(e.message, new RegExp(`^security\\.rate_limiting\\.redis\\.sentinels: cannot reach Redis \\(sentinel\\) at 127\\.0\\.0\\.1:${port} \\(master "nosuch"\\)`));
      assert.match(e.message, /on_store_failure = "fail_open"/);
      return true;
    });
    // The CLI says the same on stderr, exits 1, no stack trace.
    const cli = runCli(['serve', '--policy', file], ENV, 45_000);
    const { code } = await cli.exited;
    assert.equal(code, 1);
    assert.match(cli.stderr(), new RegExp(`could not start: security\\.rate_limiting\\.redis\\.sentinels: cannot reach Redis \\(sentinel\\) at 127\\.0\\.0\\.1:${port}`));
    assert.doesNotMatch(cli.stderr(), /\n\s+at /);

    writeFileSync(file, withLimits(limits(redis, 'fail_open'))(double.url, dir));
    const said: string[] = [];
    const server = await startServer({ files: [file], env: ENV, say: (l) => said.push(l), watch: false });
    try {
      assert.ok(said.some((l) => l.includes('warning: security.rate_limiting.redis.sentinels') && l.includes(`127.0.0.1:${port}`) && l.includes('local')), said.join('\n'));
      const r = await fetch(server.url + '/v1/models', { headers: auth(USER_KEY) });
      await r.arrayBuffer();
      assert.equal(r.status, 200);
      assert.ok(r.headers.get('ratelimit'), 'the local limiter decided');
      const health = await (await fetch(server.url + '/health')).json() as { checks: Record<string, string> };
      assert.equal(health.checks.rate_limit_store, 'degraded');
    } finally {
      await server.close();
    }
  } finally {
    await double.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('cluster mode against a server without cluster support is a start-up error naming nodes and the address', { skip: !haveRedisServer() && 'redis-server not installed', timeout: 60_000 }, async () => {
  const port = await freePort();
  const plain = new RedisProcess(port, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
  const double = await startLollmsDouble();
  const dir = mkdtempSync(join(tmpdir(), 'lg-redis-cl-'));
  try {
    await waitFor(() => ask(port, async (r) => (await r.ping()) === 'PONG'), 15_000, 'redis-server to answer');
    const file = join(dir, 'policy.toml');
    writeFileSync(file, withLimits(limits(`mode = "cluster"\nnodes = ["127.0.0.1:${port}"]`, 'fail_closed'))(double.url, dir));
    await assert.rejects(startServer({ files: [file], env: ENV, say: () => {}, watch: false }),
      new RegExp(`^Error: security\\.rate_limiting\\.redis\\.nodes: cannot reach Redis \\(cluster\\) at 127\\.0\\.0\\.1:${port}`));
  } finally {
    await double.close();
    await plain.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('one Redis connection per process: the rate limits and the lockout share it, and a reload keeps it', { skip: !haveRedisServer() && 'redis-server not installed', timeout: 60_000 }, async () => {
  const port = await freePort();
  const redis = new RedisProcess(port, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
  let h: Awaited<ReturnType<typeof startHarness>> | undefined;
  try {
    await waitFor(() => ask(port, async (r) => (await r.ping()) === 'PONG'), 15_000, 'redis-server to answer');
    const prefix = `lgtest:one:${randomBytes(4).toString('hex')}:`;
    const section = limits(`key_prefix = "${prefix}"`, 'fail_closed');
    h = await startHarness({
      env: { LOLLMS_GUARD_REDIS_URL: `redis://127.0.0.1:${port}` },
      policy: (u, d) => withLimits(section)(u, d).replace('[security.authentication]\nmax_failed_attempts = 0\n', '[security.authentication]\nmax_failed_attempts = 5\n'),
    });
    for (const key of [USER_KEY, 'wrong-key-0123456789abcdefghijklmnopqrstuvw']) {
      const r = await fetch(h.url + '/v1/models', { headers: auth(key) });
      await r.arrayBuffer();
    }
    const keys = await ask(port, (r) => r.keys(prefix + '*'));
    assert.ok(keys.some((k) => k.includes('auth-fail')) && keys.some((k) => k.includes('rl:')), `both write through it: ${keys.join(' ')}`);
    // CLIENT LIST from our own connection: every other line is a proxy connection.
    const others = async (): Promise<number> => ask(port, async (r) => String(await r.call('CLIENT', 'LIST')).trim().split('\n').length - 1);
    assert.equal(await others(), 1);
    const reloaded = await h.proxy.reload();
    assert.equal(reloaded.ok, true, JSON.stringify(reloaded));
    const r = await fetch(h.url + '/v1/models', { headers: auth(USER_KEY) });
    await r.arrayBuffer();
    assert.equal(r.status, 200);
    assert.equal(await others(), 1);
  } finally {
    await h?.close();
    await redis.stop();
  }
});
