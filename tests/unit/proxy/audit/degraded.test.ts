// An audit that cannot be written: lines are never counted as written, lost ones are dropped, stderr hears of it sparingly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync, rmSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAuditLogger, verifyAuditFiles } from '../../../../proxy/audit/index.js';
import { createMetrics } from '../../../../proxy/metrics/index.js';
import { auditSampler } from '../../../../proxy/metrics/audit.js';
import { makeCtx, makeSection, readLines, tmp, OPTS } from './fixtures.test.js';

async function waitFor(cond: () => boolean, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function counts(m: ReturnType<typeof createMetrics>): Promise<Record<string, number>> {
  const v = await m.registry.getSingleMetric('lollms_guard_audit_lines_total')!.get();
  return Object.fromEntries(v.values.map((x) => [String(x.labels.state), x.value]));
}

test('a full disk (/dev/full): no line counts as written; the lines given up at close count as dropped', { skip: !existsSync('/dev/full') }, async () => {
  const said: string[] = [];
  const audit = createAuditLogger(makeSection({ file_path: '/dev/full' }), { ...OPTS, stateDir: tmp(), retryMs: 10_000, say: (l) => said.push(l) });
  const m = createMetrics({ collectDefault: false });
  const sample = auditSampler(m);
  for (let i = 0; i < 5; i++) audit.request(makeCtx(), { status: 200 });
  await waitFor(() => !audit.healthy());
  sample(audit);
  assert.equal((await counts(m)).written ?? 0, 0, 'nothing written to a full disk');
  await audit.close();
  sample(audit);
  const c = await counts(m);
  assert.equal(c.written ?? 0, 0);
  assert.ok((c.dropped ?? 0) >= 5, `dropped ${c.dropped}`);
  assert.equal(said.filter((l) => /cannot be written \(ENOSPC\)/.test(l)).length, 1, said.join('\n'));
});

test('stderr: one message at the first failure, then at most one per interval with counts, then one on recovery', async () => {
  const dir = tmp();
  const blocker = join(dir, 'logs');
  writeFileSync(blocker, 'a file where the directory should be');
  const said: string[] = [];
  const audit = createAuditLogger(makeSection({ file_path: join(blocker, 'audit.log') }), { ...OPTS, stateDir: join(dir, 'st'), retryMs: 20, reportEveryMs: 150, say: (l) => said.push(l) });
  const m = createMetrics({ collectDefault: false });
  const sample = auditSampler(m);
  const t0 = Date.now();
  for (let i = 0; i < 40; i++) {
    audit.request(makeCtx({ id: `q${i}` }), { status: 200 });
    await new Promise((r) => setTimeout(r, 10));
  }
  await waitFor(() => !audit.healthy());
  await new Promise((r) => setTimeout(r, 400));
  const elapsed = Date.now() - t0;
  sample(audit);
  assert.equal((await counts(m)).written ?? 0, 0, 'held lines are not written lines');
  const first = said.filter((l) => /cannot be written/.test(l));
  const still = said.filter((l) => /still failing/.test(l));
  assert.equal(first.length, 1, said.join('\n'));
  assert.match(first[0]!, /fail_open/);
  assert.ok(still.length >= 1 && still.length <= Math.ceil(elapsed / 150) + 1, `${still.length} reminders in ${elapsed} ms`);
  assert.match(still[0]!, /\d+ lines dropped so far, \d+ waiting in memory/);
  rmSync(blocker);
  mkdirSync(blocker);
  await waitFor(() => audit.healthy() && existsSync(join(blocker, 'audit.log')) && readLines(join(blocker, 'audit.log')).length >= 40);
  await waitFor(() => said.some((l) => /writes again/.test(l)));
  sample(audit);
  assert.ok(((await counts(m)).written ?? 0) >= 40, 'written once really written');
  await audit.close();
  const ids = readLines(join(blocker, 'audit.log')).map((l) => JSON.parse(l)?.http?.request?.id).filter(Boolean);
  assert.deepEqual(ids, Array.from({ length: 40 }, (_, i) => `q${i}`), 'every held line, in order');
});

test('a directory removed under a running logger: the file is made again and recent lines are written again', async () => {
  const dir = tmp();
  const logs = join(dir, 'logs');
  const file = join(logs, 'audit.log');
  const audit = createAuditLogger(makeSection({ file_path: file }), { ...OPTS, stateDir: join(dir, 'st'), retryMs: 20 });
  audit.request(makeCtx({ id: 'before' }), { status: 200 });
  await waitFor(() => existsSync(file) && readLines(file).length === 1);
  rmSync(logs, { recursive: true });
  audit.request(makeCtx({ id: 'after-1' }), { status: 200 });
  audit.request(makeCtx({ id: 'after-2' }), { status: 200 });
  await waitFor(() => existsSync(file) && readLines(file).some((l) => l.includes('after-2')));
  await audit.close();
  const ids = readLines(file).map((l) => JSON.parse(l)?.http?.request?.id).filter(Boolean);
  assert.ok(ids.includes('after-1') && ids.includes('after-2'), ids.join(','));
});

test('a file removed under a chained logger: its recent lines come back byte for byte (non-ASCII too) and the chain verifies', async () => {
  const dir = tmp();
  const file = join(dir, 'audit.log');
  const key = 'degraded-test-chain-key-0123456789';
  const audit = createAuditLogger(makeSection({ file_path: file, hash_chain: true }), {
    ...OPTS, stateDir: join(dir, 'st'), retryMs: 20, env: { LOLLMS_GUARD_AUDIT_KEY: key },
  });
  audit.request(makeCtx({ id: 'before', path: '/v1/modèles/ünï', model: '模型-€' }), { status: 200, userAgent: 'a'.repeat(600) });
  await waitFor(() => existsSync(file) && readLines(file).length === 1);
  const first = readFileSync(file);
  rmSync(file);
  audit.request(makeCtx({ id: 'after-1' }), { status: 200 });
  await waitFor(() => existsSync(file) && readLines(file).some((l) => l.includes('after-1')));
  await audit.close();
  const again = readFileSync(file);
  assert.ok(again.subarray(0, first.length).equals(first), 'the removed line is written again with the same bytes');
  // The two request lines and the audit's own events about the removed file, one unbroken chain.
  const v = verifyAuditFiles([file], key);
  assert.ok(v.ok && v.lines >= 2, JSON.stringify(v));
});
