// Unit tests of size rotation: fractional max_size_mb, whole lines per file, gzip, pruning, verify across files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createAuditLogger, listAuditFiles, verifyAuditFiles } from '../../../../proxy/audit/index.js';
import { makeCtx, makeSection, tmp, OPTS } from './fixtures.test.js';

const KEY = 'rotation-key-0123456789';
const env = { LOLLMS_GUARD_AUDIT_KEY: KEY };
const text = (f: string): string => (f.endsWith('.gz') ? gunzipSync(readFileSync(f)) : readFileSync(f)).toString('utf8');

for (const compress of [false, true]) {
  test(`rotation by size (compress = ${compress}): no line split, none lost, the chain verifies across files`, async () => {
    const dir = tmp();
    const file = join(dir, 'audit.log');
    const maxMb = 0.004; // 4194 bytes: a few lines per file
    const audit = createAuditLogger(
      makeSection({ file_path: file, max_size_mb: maxMb, compress, hash_chain: true }),
      { ...OPTS, stateDir: join(dir, 'st'), env },
    );
    for (let i = 0; i < 200; i++) {
      audit.request(makeCtx({ id: `r${i}` }), { status: 200 });
      if (i % 50 === 0) await new Promise((r) => setImmediate(r)); // let rotations interleave with writes
    }
    await audit.close();
    const files = listAuditFiles(file);
    assert.ok(files.length > 10, `rotated into ${files.length} files`);
    assert.equal(files.at(-1), file, 'the live file comes last');
    assert.ok(files.slice(0, -1).every((f) => f.endsWith('.gz') === compress));
    assert.ok(!readdirSync(dir).some((n) => n.endsWith('.tmp')));
    const ids: string[] = [];
    for (const f of files) {
      const t = text(f);
      assert.ok(t.endsWith('\n'), `${f} ends on a line boundary`);
      assert.ok(Buffer.byteLength(t) <= maxMb * 1024 * 1024, `${f} within max size`);
      for (const l of t.split('\n').filter(Boolean)) ids.push((JSON.parse(l) as { http: { request: { id: string } } }).http.request.id);
    }
    assert.deepEqual(ids, Array.from({ length: 200 }, (_, i) => `r${i}`), 'every line once, in order');
    assert.deepEqual(verifyAuditFiles(files, KEY), { ok: true, lines: 200 });
  });
}

test('a line bigger than max_size goes whole into a fresh file', async () => {
  const dir = tmp();
  const file = join(dir, 'audit.log');
  const audit = createAuditLogger(makeSection({ file_path: file, max_size_mb: 0.0001, compress: false }), { ...OPTS, stateDir: dir });
  for (let i = 0; i < 3; i++) audit.request(makeCtx(), { status: 200 });
  await audit.close();
  const files = listAuditFiles(file);
  assert.equal(files.length, 3);
  for (const f of files) assert.equal(text(f).split('\n').filter(Boolean).length, 1);
});

test('rotated files older than max_age_days are pruned; the live file and foreign files are kept', async () => {
  const dir = tmp();
  const file = join(dir, 'audit.log');
  const old = join(dir, 'audit-20200101T000000000Z.log.gz');
  const recent = join(dir, 'audit-20991231T000000000Z.log');
  const foreign = join(dir, 'audit-notes.log');
  for (const f of [old, recent, foreign, file]) writeFileSync(f, '');
  const past = new Date(Date.now() - 10 * 86_400_000);
  for (const f of [old, foreign, file]) utimesSync(f, past, past);
  const audit = createAuditLogger(makeSection({ file_path: file, max_age_days: 5 }), { ...OPTS, stateDir: dir });
  await audit.close();
  const names = readdirSync(dir);
  assert.ok(!names.includes('audit-20200101T000000000Z.log.gz'));
  for (const n of ['audit-20991231T000000000Z.log', 'audit-notes.log', 'audit.log']) assert.ok(names.includes(n), n);
  assert.equal(statSync(file).size, 0);
});
