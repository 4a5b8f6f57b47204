// Unit tests of audit write failures: reported through healthy()/errors, never a crash, recovery keeps order and chain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createAuditLogger, verifyAuditFiles } from '../../../../proxy/audit/index.js';
import { makeCtx, makeSection, readLines, tmp, OPTS } from './fixtures.test.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const KEY = 'failure-key-0123456789';
const env = { LOLLMS_GUARD_AUDIT_KEY: KEY };

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('an unwritable file (EISDIR): unhealthy, errors counted, no throw; recovery writes the held lines in order', async () => {
  const dir = tmp();
  const file = join(dir, 'audit.log');
  mkdirSync(file); // the audit path is a directory: open fails
  const audit = createAuditLogger(
    makeSection({ file_path: file, hash_chain: true }),
    { ...OPTS, stateDir: join(dir, 'st'), env, retryMs: 20 },
  );
  for (let i = 0; i < 5; i++) audit.request(makeCtx({ id: `r${i}` }), { status: 200 });
  await waitFor(() => !audit.healthy());
  assert.ok(audit.errors >= 1);
  audit.request(makeCtx({ id: 'r5' }), { status: 200 });

  rmdirSync(file); // the operator fixes it
  await waitFor(() => audit.healthy() && existsSync(file) && readLines(file).length >= 8);
  await audit.close();
  const recs = readLines(file).map((l) => JSON.parse(l) as Obj);
  const what = recs.map((r) => r.http?.request?.id ?? r.event.action);
  assert.deepEqual(what, ['r0', 'r1', 'r2', 'r3', 'r4', 'audit_write_failure', 'r5', 'audit_recovered']);
  assert.equal(recs[5]!.lollms_guard.error.code, 'EISDIR');
  assert.equal(recs[7]!.lollms_guard.details.lost, 0);
  assert.equal(audit.lost, 0);
  assert.deepEqual(verifyAuditFiles([file], KEY), { ok: true, lines: 8 }, 'no gap in the chain');
});

test('a full disk (ENOSPC on /dev/full): unhealthy, counted, lines given up at close are counted as lost', { skip: !existsSync('/dev/full') }, async () => {
  const dir = tmp();
  const audit = createAuditLogger(makeSection({ file_path: '/dev/full' }), { ...OPTS, stateDir: dir, retryMs: 10_000 });
  for (let i = 0; i < 3; i++) audit.request(makeCtx(), { status: 200 });
  await waitFor(() => !audit.healthy());
  assert.ok(audit.errors >= 1);
  await audit.close();
  assert.ok(audit.lost >= 3, `lost ${audit.lost}`);
  assert.equal(audit.healthy(), false);
});

test('a failing stdout never throws; the file keeps working', async () => {
  const dir = tmp();
  const file = join(dir, 'audit.log');
  const broken = new Writable({ write(_c, _e, cb) { cb(Object.assign(new Error('broken pipe'), { code: 'EPIPE' })); } });
  const audit = createAuditLogger(makeSection({ file_path: file, output: 'both' }), { ...OPTS, stateDir: dir, stdout: broken });
  audit.request(makeCtx(), { status: 200 });
  await waitFor(() => !audit.healthy());
  await audit.close();
  const actions = readLines(file).map((l) => (JSON.parse(l) as Obj).event.action);
  assert.deepEqual(actions, ['http_request', 'audit_write_failure']);
  assert.ok(audit.errors >= 1);
});
