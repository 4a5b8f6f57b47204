// Unit tests of the hash chain (seq, HMAC, continuation across restarts), verify-audit, and anonymize.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAuditLogger, pseudonym, verifyAuditFiles, STATE_FILE } from '../../../../proxy/audit/index.js';
import { makeCtx, makeSection, readLines, tmp, OPTS } from './fixtures.test.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const KEY = 'chain-key-for-tests-0123456789';
const env = { LOLLMS_GUARD_AUDIT_KEY: KEY };

async function writeRun(dir: string, n: number, format: 'ecs' | 'json' = 'ecs', e: NodeJS.ProcessEnv = env): Promise<string> {
  const file = join(dir, 'audit.log');
  const audit = createAuditLogger(makeSection({ file_path: file, hash_chain: true, format }), { ...OPTS, stateDir: join(dir, 'st'), env: e });
  for (let i = 0; i < n; i++) audit.request(makeCtx({ id: `r${i}` }), { status: 200 });
  await audit.close();
  return file;
}

test('every line carries seq and chain; verify passes with the key and fails without', async () => {
  for (const format of ['ecs', 'json'] as const) {
    const dir = tmp();
    const file = await writeRun(dir, 20, format);
    const recs = readLines(file).map((l) => JSON.parse(l) as Obj);
    const seqs = recs.map((r) => (format === 'ecs' ? r.lollms_guard.seq : r.seq));
    assert.deepEqual(seqs, Array.from({ length: 20 }, (_, i) => i + 1));
    assert.ok(readLines(file).every((l) => /,"chain":"[0-9a-f]{64}"\}+$/.test(l)), 'the chain closes each line');
    assert.deepEqual(verifyAuditFiles([file], KEY), { ok: true, lines: 20 });
    const nokey = verifyAuditFiles([file]);
    assert.equal(nokey.ok, false);
    assert.equal(nokey.firstBad?.line, 1);
    assert.equal(verifyAuditFiles([file], 'wrong-key').ok, false);
  }
});

test('verify names the first altered, deleted or reordered line', async () => {
  const dir = tmp();
  const file = await writeRun(dir, 10);
  const lines = readLines(file);
  const put = (ls: string[]): void => writeFileSync(file, ls.map((l) => `${l}\n`).join(''));

  put(lines.map((l, i) => (i === 4 ? l.replace('"status_code":200', '"status_code":201') : l)));
  assert.deepEqual(verifyAuditFiles([file], KEY).firstBad, { file, line: 5, problem: 'chain mismatch: the line or an earlier one was altered, or the key is wrong' });

  put(lines.filter((_, i) => i !== 6));
  assert.match(verifyAuditFiles([file], KEY).firstBad!.problem, /seq 8 after 6: 1 line\(s\) missing/);

  put([lines[0]!, lines[2]!, lines[1]!, ...lines.slice(3)]);
  assert.equal(verifyAuditFiles([file], KEY).firstBad?.line, 2);

  put(lines.slice(3));
  assert.deepEqual(verifyAuditFiles([file], KEY), { ok: true, lines: 7, anchoredAt: 4 }, 'a pruned start anchors the chain');

  writeFileSync(file, `${lines.join('\n')}\n{"torn":`);
  assert.match(verifyAuditFiles([file], KEY).firstBad!.problem, /incomplete/);
});

test('the chain continues across restarts (head from state_dir and from the file tail)', async () => {
  const dir = tmp();
  await writeRun(dir, 5);
  const file = await writeRun(dir, 5);
  assert.deepEqual(verifyAuditFiles([file], KEY), { ok: true, lines: 10 });
  const head = JSON.parse(readFileSync(join(dir, 'st', STATE_FILE), 'utf8')) as Obj;
  assert.equal(head.seq, 10);

  // A lost state file: the file tail still carries the head.
  writeFileSync(join(dir, 'st', STATE_FILE), 'garbage');
  await writeRun(dir, 3);
  assert.deepEqual(verifyAuditFiles([file], KEY), { ok: true, lines: 13 });
});

test('without a key: plain SHA-256 chain and a warning', async () => {
  const dir = tmp();
  const audit = createAuditLogger(makeSection({ file_path: join(dir, 'a.log'), hash_chain: true }), { ...OPTS, stateDir: dir, env: {} });
  assert.match(audit.warnings.join('\n'), /LOLLMS_GUARD_AUDIT_KEY is not set/);
  audit.request(makeCtx(), { status: 200 });
  audit.request(makeCtx(), { status: 200 });
  await audit.close();
  assert.deepEqual(verifyAuditFiles([join(dir, 'a.log')]), { ok: true, lines: 2 });
});

test('anonymize: keyed pseudonyms for the key id and the client address (source.address, no source.ip)', async () => {
  for (const format of ['ecs', 'json'] as const) {
    const dir = tmp();
    const file = join(dir, 'audit.log');
    const audit = createAuditLogger(makeSection({ file_path: file, anonymize: true, format }), { ...OPTS, stateDir: dir, env });
    audit.request(makeCtx(), { status: 200 });
    audit.event({ action: 'lockout', ip: '192.0.2.10', details: { client_ip: '192.0.2.10', attempts: 5 } });
    await audit.close();
    const text = readFileSync(file, 'utf8');
    assert.ok(!text.includes('192.0.2.10'), 'no address');
    assert.ok(!text.includes('team-app'), 'no key id');
    const ip = pseudonym(Buffer.from(KEY), '192.0.2.10');
    const [req, lock] = readLines(file).map((l) => JSON.parse(l) as Obj);
    if (format === 'ecs') {
      assert.deepEqual(req!.source, { address: ip });
      assert.equal(req!.user.id, pseudonym(Buffer.from(KEY), 'team-app'));
      assert.equal(lock!.lollms_guard.details.client_ip, ip);
    } else {
      assert.equal(req!.ip, ip);
      assert.equal(req!.details.anonymized, true);
    }
  }
  const noKey = createAuditLogger(makeSection({ file_path: join(tmp(), 'a.log'), anonymize: true }), { ...OPTS, stateDir: tmp(), env: {} });
  assert.match(noKey.warnings.join('\n'), /random key/);
  await noKey.close();
});

test('reload hand-over: the new logger continues the chain after the old one flushed, one writer at a time', async () => {
  const dir = tmp();
  const file = join(dir, 'audit.log');
  const section = makeSection({ file_path: file, hash_chain: true });
  const opts = { ...OPTS, stateDir: join(dir, 'st'), env };
  const a = createAuditLogger(section, opts);
  for (let i = 0; i < 300; i++) a.request(makeCtx({ id: `a${i}` }), { status: 200 });
  const b = createAuditLogger(makeSection({ file_path: file, hash_chain: true, format: 'json' }), { ...opts, policyHash: 'new', previous: a });
  a.request(makeCtx({ id: 'late' }), { status: 200 }); // a caller still holding the old logger: forwarded to the new one
  for (let i = 0; i < 300; i++) b.request(makeCtx({ id: `b${i}` }), { status: 200 });
  await b.close();
  const recs = readLines(file).map((l) => JSON.parse(l) as Obj);
  const ids = recs.map((r) => r.http?.request?.id ?? r.details?.request_id);
  assert.deepEqual(ids, [...Array.from({ length: 300 }, (_, i) => `a${i}`), 'late', ...Array.from({ length: 300 }, (_, i) => `b${i}`)]);
  assert.deepEqual(verifyAuditFiles([file], KEY), { ok: true, lines: 601 });
  assert.equal((JSON.parse(readFileSync(join(dir, 'st', STATE_FILE), 'utf8')) as Obj).seq, 601);
});
