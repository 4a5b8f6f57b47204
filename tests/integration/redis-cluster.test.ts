// Three real proxy processes on a three-master Redis Cluster: exactly the limit, every key of the deployment in one slot, the lockout shared.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_KEY, USER_KEY, auth, basePolicy } from '../../dev/harness.js';
import { startLollmsDouble } from '../../dev/doubles/lollms-double.js';
import { runCli, type CliRun } from '../helpers/cli.js';
import { ask, haveRedisServer, startCluster } from '../helpers/redis-topology.js';

const LIMIT = 20;
const BODY = JSON.stringify({ model: 'llama3-8b-instruct', messages: [{ role: 'user', content: 'hi' }], max_tokens: 8 });

function clusterPolicy(upstream: string, dir: string, seeds: string[], prefix: string): string {
  return basePolicy(upstream, dir)
    .replace('[security.authentication]\nmax_failed_attempts = 0\n', '[security.authentication]\nmax_failed_attempts = 3\nlockout_duration_minutes = 10\n')
    .replace('[security.rate_limiting]\nenabled = false\n', `[security.rate_limiting]
enabled = true
algorithm = "sliding_window"
store = "redis"
on_store_failure = "fail_closed"
[security.rate_limiting.per_user]
rate = ${LIMIT}
window_seconds = 600
[security.rate_limiting.redis]
mode = "cluster"
nodes = ${JSON.stringify(seeds)}
key_prefix = "${prefix}"
`);
}

test('three proxy processes on a three-master cluster allow exactly the limit; one slot holds every key; the lockout is shared', { skip: !haveRedisServer() && 'redis-server / redis-cli not installed', timeout: 300_000 }, async () => {
  const cluster = await startCluster(3);
  const double = await startLollmsDouble();
  const runs: CliRun[] = [];
  const dirs: string[] = [];
  try {
    const prefix = `lgtest:cl:${randomBytes(4).toString('hex')}:`;
    const urls: string[] = [];
    for (let i = 0; i < 3; i++) {
      const dir = mkdtempSync(join(tmpdir(), 'lollms-guard-cl-'));
      dirs.push(dir);
      const file = join(dir, 'policy.toml');
      const text = clusterPolicy(double.url, dir, cluster.seeds.slice(i, i + 1), prefix); // each process gets a different seed
      assert.notEqual(text, basePolicy(double.url, dir), 'policy sections placed');
      writeFileSync(file, text);
      const run = runCli(['serve', '--policy', file], { TEST_UPSTREAM_KEY: 'upstream-secret-value-123' }, 280_000);
      runs.push(run);
      urls.push(await run.listening);
    }
    const post = (u: string, key = USER_KEY): Promise<Response> => fetch(u + '/v1/chat/completions', { method: 'POST', headers: { ...auth(key), 'Content-Type': 'application/json' }, body: BODY });
    // One request per process with another key first: each opens its connection to the slot's master and
    // loads the scripts, so the burst below is not also a test of start-up latency on a loaded machine.
    for (const u of urls) {
      const r = await post(u, ADMIN_KEY);
      await r.arrayBuffer();
      assert.equal(r.status, 200);
    }
    const statuses = await Promise.all(urls.flatMap((u) => Array.from({ length: LIMIT }, () => post(u).then(async (r) => { await r.arrayBuffer(); return r.status; }))));
    const counts: Record<number, number> = {};
    for (const s of statuses) counts[s] = (counts[s] ?? 0) + 1;
    assert.deepEqual(counts, { 200: LIMIT, 429: 2 * LIMIT });

    // Failed keys on three different processes add up to one lockout of this address everywhere.
    for (let i = 0; i < 3; i++) {
      const r = await post(urls[i], 'wrong-key-0123456789abcdefghijklmnopqrstuvw');
      await r.arrayBuffer();
      assert.equal(r.status, 401);
    }
    const locked = await post(urls[1]);
    assert.equal(locked.status, 429);
    assert.match(await locked.text(), /client_locked_out/);

    // Every key the deployment wrote is on one master, in one slot (the hash tag is the prefix).
    const perNode = await Promise.all(cluster.nodes.map((n) => ask(n.port, (r) => r.keys(`{${prefix}}*`))));
    const holders = perNode.filter((k) => k.length > 0);
    assert.equal(holders.length, 1, `keys on one node only: ${perNode.map((k) => k.length).join(', ')}`);
    assert.ok(holders[0].some((k) => k.includes('auth-fail')) && holders[0].some((k) => k.includes('rl:sw:u:')), holders[0].join(' '));
    const slots = new Set(await ask(cluster.nodes[perNode.indexOf(holders[0])].port, (r) => Promise.all(holders[0].map((k) => r.call('CLUSTER', 'KEYSLOT', k)))));
    assert.equal(slots.size, 1);
  } finally {
    for (const r of runs) r.kill();
    await Promise.all(runs.map((r) => r.exited));
    await double.close();
    await cluster.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
});
