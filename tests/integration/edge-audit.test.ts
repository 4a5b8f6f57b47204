// fail_open with an audit that cannot be written, against a real proxy: it serves, says so, counts honestly, recovers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, mkdirSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLollmsDouble } from '../../dev/doubles/lollms-double.js';
import { startServer } from '../../proxy/server.js';
import { basePolicy, auth, ADMIN_KEY } from '../../dev/harness.js';
import { waitFor } from '../helpers/http.js';

async function lines(metrics: { registry: { getSingleMetric(n: string): unknown } }): Promise<Record<string, number>> {
  const m = metrics.registry.getSingleMetric('lollms_guard_audit_lines_total') as { get(): Promise<{ values: Array<{ labels: Record<string, string>; value: number }> }> };
  return Object.fromEntries((await m.get()).values.map((x) => [x.labels.state, x.value]));
}

test('a file where the audit directory should be: serves, one stderr line, /health degraded, nothing counted written; recovers by itself', async () => {
  const double = await startLollmsDouble();
  const dir = mkdtempSync(join(tmpdir(), 'lollms-guard-'));
  const blocker = join(dir, 'logs');
  writeFileSync(blocker, 'not a directory');
  const file = join(blocker, 'audit.log');
  const policyFile = join(dir, 'policy.toml');
  writeFileSync(policyFile, basePolicy(double.url, dir).replace(`file_path = "${join(dir, 'audit.log')}"`, `file_path = "${file}"\non_failure = "fail_open"`));
  const said: string[] = [];
  const proxy = await startServer({ files: [policyFile], env: { TEST_UPSTREAM_KEY: 'upstream-secret-value-123' }, say: (l) => said.push(l), watch: false });
  try {
    for (let i = 0; i < 5; i++) {
      const r = await fetch(`${proxy.url}/v1/models`, { headers: { ...auth(ADMIN_KEY), 'X-Request-ID': `held-${i}` } });
      assert.equal(r.status, 200, 'fail_open serves');
      await r.text();
    }
    assert.ok(await waitFor(() => !proxy.audit().healthy(), 5000));
    const h = await fetch(`${proxy.url}/health`);
    const body = (await h.json()) as { status: string; checks: Record<string, string> };
    assert.equal(h.status, 200, 'fail_open: degraded, still ready');
    assert.equal(body.status, 'degraded');
    assert.equal(body.checks.audit, 'degraded');
    const c = await lines(proxy.metrics);
    assert.equal(c.written ?? 0, 0, 'no line counted as written while none could be');
    const told = said.filter((l) => /audit file output cannot be written \(ENOTDIR\)/.test(l));
    assert.equal(told.length, 1, said.join('\n'));
    assert.match(told[0]!, /still serving/);

    rmSync(blocker);
    mkdirSync(blocker);
    assert.ok(await waitFor(() => proxy.audit().healthy() && existsSync(file) && readFileSync(file, 'utf8').includes('held-4'), 15_000), 'recovered by itself');
    const again = await fetch(`${proxy.url}/health`);
    assert.equal(((await again.json()) as { checks: Record<string, string> }).checks.audit, 'ok');
    const ids = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)?.http?.request?.id).filter((x) => typeof x === 'string' && x.startsWith('held-'));
    assert.deepEqual(ids, ['held-0', 'held-1', 'held-2', 'held-3', 'held-4'], 'the held lines, in order');
    assert.ok(await waitFor(() => said.some((l) => /writes again/.test(l)), 5000));
    const r = await fetch(`${proxy.url}/v1/models`, { headers: auth(ADMIN_KEY) });
    await r.text();
    assert.ok(((await lines(proxy.metrics)).written ?? 0) >= 5);
  } finally {
    await proxy.close();
    await double.close();
  }
});

test('a full disk (/dev/full) under fail_open: serves, /health degraded, ENOSPC on stderr', { skip: !existsSync('/dev/full') }, async () => {
  const double = await startLollmsDouble();
  const dir = mkdtempSync(join(tmpdir(), 'lollms-guard-'));
  const policyFile = join(dir, 'policy.toml');
  writeFileSync(policyFile, basePolicy(double.url, dir).replace(`file_path = "${join(dir, 'audit.log')}"`, 'file_path = "/dev/full"'));
  const said: string[] = [];
  const proxy = await startServer({ files: [policyFile], env: { TEST_UPSTREAM_KEY: 'x-upstream-key-123' }, say: (l) => said.push(l), watch: false });
  try {
    const r = await fetch(`${proxy.url}/v1/models`, { headers: auth(ADMIN_KEY) });
    assert.equal(r.status, 200);
    await r.text();
    assert.ok(await waitFor(() => !proxy.audit().healthy(), 5000));
    const h = await fetch(`${proxy.url}/health`);
    assert.equal(h.status, 200);
    assert.equal(((await h.json()) as { checks: Record<string, string> }).checks.audit, 'degraded');
    assert.ok(said.some((l) => /ENOSPC/.test(l)), said.join('\n'));
    assert.equal((await lines(proxy.metrics)).written ?? 0, 0);
  } finally {
    await proxy.close();
    await double.close();
  }
});
