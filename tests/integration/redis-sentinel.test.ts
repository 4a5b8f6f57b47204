// Sentinel failover under load: the master is killed by PID, a replica promoted; the proxy follows, audits and counts the switch, no 5xx, exact limits afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startHarness, type Harness } from '../../dev/harness.js';
import { ask, haveRedisServer, startSentinelSet, waitFor } from '../helpers/redis-topology.js';
import { EXACT, failoverPolicy, load, metric, models } from '../helpers/redis-failover.js';


test('Sentinel failover under load: no 5xx, local limits only for the gap, switch audited and counted, exact limits afterwards', { skip: !haveRedisServer() && 'redis-server / redis-cli not installed', timeout: 240_000 }, async (t) => {
  const set = await startSentinelSet();
  let h: Harness | undefined;
  try {
    const prefix = `lgtest:sent:${randomBytes(4).toString('hex')}:`;
    h = await startHarness({ policy: failoverPolicy(`mode = "sentinel"\nsentinels = ${JSON.stringify(set.sentinelAddresses)}\nmaster_name = "${set.masterName}"\nkey_prefix = "${prefix}"`) });
    const first = await set.currentMaster();
    assert.equal(first, set.master.address);
    for (let i = 0; i < 10; i++) assert.equal(await models(h), 200);
    // The ten counts are on the replica before the kill (replication is asynchronous: see docs/rate-limits.md).
    assert.equal(await ask(set.master.port, (r) => r.call('WAIT', '1', '5000')), 1);

    const traffic = load(h);
    await new Promise((r) => setTimeout(r, 300));
    const killedAt = Date.now();
    await set.master.stop();
    await waitFor(async () => (await set.currentMaster()) === set.replica.address, 60_000, 'the sentinels to promote the replica');
    await waitFor(async () => (await metric(h!, 'lollms_guard_rate_limit_store_switches_total{mode="sentinel"}')) >= 1, 60_000, 'the proxy to follow the new master')
      .catch(async (e) => { throw new Error(`${(e as Error).message}; store metrics: ${(await h!.proxy.metrics.registry.metrics()).split('\n').filter((l) => l.startsWith('lollms_guard_rate_limit_store')).join(' | ')}`); });
    await waitFor(async () => (await metric(h!, 'lollms_guard_rate_limit_store_up')) === 1, 30_000, 'the store to be shared again');
    await new Promise((r) => setTimeout(r, 300));
    const seen = await traffic.stop();

    assert.ok(seen.length > 20, `load ran (${seen.length} requests)`);
    const bad = seen.filter((s) => s.status !== 200);
    assert.deepEqual(bad, [], 'every request under load was answered 200 (fail_open serves locally during the gap)');

    const lines = await h.auditLines();
    const action = (a: string): Array<Record<string, unknown>> => lines.filter((l) => (l.event as { action?: string } | undefined)?.action === a);
    const outage = action('store_outage');
    const recovered = action('store_recovered');
    const switched = action('store_switched');
    assert.equal(outage.length, 1, 'one outage transition');
    assert.equal(recovered.length, 1, 'one recovery transition');
    assert.equal(switched.length, 1, 'one switch');
    assert.match(JSON.stringify(switched[0]), new RegExp(`"from":"${set.master.address}".*"to":"${set.replica.address}"`));
    assert.equal(await metric(h, 'lollms_guard_rate_limit_store_outages_total'), 1);
    const gapMs = Date.parse(String(recovered[0]['@timestamp'])) - Date.parse(String(outage[0]['@timestamp']));
    assert.ok(gapMs >= 0, 'recovery after the outage');
    t.diagnostic(`sentinel failover: outage->recovered ${gapMs} ms; kill->recovered ${Date.parse(String(recovered[0]['@timestamp'])) - killedAt} ms; ${seen.length} requests under load, 0 failed`);

    // Exact afterwards: the ten counted before the kill survived on the promoted replica.
    const after: number[] = [];
    for (let i = 0; i < EXACT - 10 + 3; i++) after.push(await models(h));
    assert.deepEqual(after, [...Array(EXACT - 10).fill(200), 429, 429, 429]);
  } finally {
    await h?.close();
    await set.stop();
  }
});
