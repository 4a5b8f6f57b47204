// Cluster node failover under load (3 masters + 3 replicas): the master of our slot is killed by PID; no 5xx, the switch counted, exact limits afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startHarness, type Harness } from '../../dev/harness.js';
import { ask, haveRedisServer, startCluster, waitFor } from '../helpers/redis-topology.js';
import { EXACT, failoverPolicy, load, metric, models } from '../helpers/redis-failover.js';
import { slotOf } from '../../proxy/stores/redis-connection.js';

test('Cluster node failover under load: no 5xx, the switch audited and counted, exact limits afterwards', { skip: !haveRedisServer() && 'redis-server / redis-cli not installed', timeout: 300_000 }, async (t) => {
  const cluster = await startCluster(3, 1);
  let h: Harness | undefined;
  try {
    const prefix = `lgtest:clf:${randomBytes(4).toString('hex')}:`;
    h = await startHarness({ policy: failoverPolicy(`mode = "cluster"\nnodes = ${JSON.stringify(cluster.seeds)}\nkey_prefix = "${prefix}"`) });
    for (let i = 0; i < 10; i++) assert.equal(await models(h), 200);
    const owner = await cluster.masterOf(slotOf(`{${prefix}}`));
    assert.equal(await ask(owner.port, (r) => r.call('WAIT', '1', '5000')), 1, 'the counts reached the replica');

    const traffic = load(h);
    await new Promise((r) => setTimeout(r, 300));
    const killedAt = Date.now();
    await owner.stop();
    await waitFor(async () => (await cluster.masterOf(slotOf(`{${prefix}}`))).port !== owner.port, 90_000, 'the cluster to promote the replica');
    await waitFor(async () => (await metric(h!, 'lollms_guard_rate_limit_store_switches_total{mode="cluster"}')) >= 1, 60_000, 'the proxy to follow the new master');
    await waitFor(async () => (await metric(h!, 'lollms_guard_rate_limit_store_up')) === 1, 60_000, 'the store to be shared again');
    const followedMs = Date.now() - killedAt;
    const seen = (await traffic.stop()).map((s) => s.status);

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
