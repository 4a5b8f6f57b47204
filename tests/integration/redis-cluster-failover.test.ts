// Cluster node failover under load (3 masters + 3 replicas): the master of our slot is killed by PID; no 5xx, the switch counted, exact limits afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ADMIN_KEY, USER_KEY, auth, basePolicy, postJson, startHarness, type Harness } from '../../dev/harness.js';
import { ask, haveRedisServer, startCluster, waitFor, type ClusterSet } from '../helpers/redis-topology.js';
import { slotOf } from '../../proxy/stores/redis-connection.js';

const EXACT = 30;

function policy(cluster: ClusterSet, prefix: string) {
  return (upstream: string, dir: string): string => basePolicy(upstream, dir).replace('[security.rate_limiting]\nenabled = false\n', `[security.rate_limiting]
enabled = true
algorithm = "sliding_window"
store = "redis"
on_store_failure = "fail_open"
[security.rate_limiting.global]
rate = 1000000
window_seconds = 3600
[security.rate_limiting.per_user]
rate = 1000000
window_seconds = 3600
[security.rate_limiting.per_endpoint]
default_rate = 1000000
window_seconds = 3600
[[security.rate_limiting.endpoints]]
path = "/v1/models"
rate = ${EXACT}
window_seconds = 3600
[security.rate_limiting.redis]
mode = "cluster"
nodes = ${JSON.stringify(cluster.seeds)}
key_prefix = "${prefix}"
`);
}

async function models(h: Harness): Promise<number> {
  const r = await fetch(h.url + '/v1/models', { headers: auth(USER_KEY) });
  await r.arrayBuffer();
  return r.status;
}

async function metric(h: Harness, name: string): Promise<number> {
  const line = (await h.proxy.metrics.registry.metrics()).split('\n').find((l) => l.startsWith(name + ' '));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : NaN;
}

test('Cluster node failover under load: no 5xx, the switch audited and counted, exact limits afterwards', { skip: !haveRedisServer() && 'redis-server / redis-cli not installed', timeout: 300_000 }, async (t) => {
  const cluster = await startCluster(3, 1);
  let h: Harness | undefined;
  try {
    const prefix = `lgtest:clf:${randomBytes(4).toString('hex')}:`;
    h = await startHarness({ policy: policy(cluster, prefix) });
    for (let i = 0; i < 10; i++) assert.equal(await models(h), 200);
    const owner = await cluster.masterOf(slotOf(`{${prefix}}`));
    assert.equal(await ask(owner.port, (r) => r.call('WAIT', '1', '5000')), 1, 'the counts reached the replica');

    const seen: number[] = [];
    let running = true;
    const loop = async (): Promise<void> => {
      while (running) {
        try {
          const r = await postJson(h!.url + '/v1/chat/completions', { model: 'llama3-8b-instruct', messages: [{ role: 'user', content: 'hi' }], max_tokens: 8 }, auth(ADMIN_KEY));
          await r.arrayBuffer();
          seen.push(r.status);
        } catch {
          seen.push(-1);
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    const loops = [loop(), loop()];
    await new Promise((r) => setTimeout(r, 300));
    const killedAt = Date.now();
    await owner.stop();
    await waitFor(async () => (await cluster.masterOf(slotOf(`{${prefix}}`))).port !== owner.port, 90_000, 'the cluster to promote the replica');
    await waitFor(async () => (await metric(h!, 'lollms_guard_rate_limit_store_switches_total{mode="cluster"}')) >= 1, 60_000, 'the proxy to follow the new master');
    await waitFor(async () => (await metric(h!, 'lollms_guard_rate_limit_store_up')) === 1, 60_000, 'the store to be shared again');
    const followedMs = Date.now() - killedAt;
    running = false;
    await Promise.all(loops);

    assert.ok(seen.length > 20, `load ran (${seen.length} requests)`);
    assert.deepEqual(seen.filter((s) => s !== 200), [], 'every request under load was answered 200');
    const lines = await h.auditLines();
    const switched = lines.filter((l) => (l.event as { action?: string }).action === 'store_switched');
    assert.equal(switched.length, 1);
    assert.match(JSON.stringify(switched[0]), new RegExp(`"mode":"cluster","from":"127\\.0\\.0\\.1:${owner.port}"`));
    t.diagnostic(`cluster failover: kill -> proxy shared again ${followedMs} ms (cluster-node-timeout 2000); ${seen.length} requests under load, 0 failed`);

    // Exact afterwards: the ten counted before the kill are on the promoted replica.
    const after: number[] = [];
    for (let i = 0; i < EXACT - 10 + 2; i++) after.push(await models(h));
    assert.deepEqual(after, [...Array(EXACT - 10).fill(200), 429, 429]);
  } finally {
    await h?.close();
    await cluster.stop();
  }
});
