// Unit tests of rotation by UTC day: an injected clock steps across midnight; restarts rotate a file left from an earlier day.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { AuditFileTransport, createAuditLogger, listAuditFiles, verifyAuditFiles } from '../../../../proxy/audit/index.js';
import { makeCtx, makeSection, tmp, OPTS } from './fixtures.test.js';

const KEY = 'day-rotation-key-0123456789';
const env = { LOLLMS_GUARD_AUDIT_KEY: KEY };
const DAY = 86_400_000;
// Near the real time, so retention (max_age_days, against real mtimes) never prunes what the tests write.
const MIDNIGHT = Math.ceil((Date.now() + 1) / DAY) * DAY;
const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
const text = (f: string): string => (f.endsWith('.gz') ? gunzipSync(readFileSync(f)) : readFileSync(f)).toString('utf8');

type Line = { '@timestamp': string; http: { request: { id: string } }; lollms_guard: { seq: number } };
const linesOf = (f: string): Line[] => text(f).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line);
const datesOf = (f: string): string[] => [...new Set(linesOf(f).map((l) => l['@timestamp'].slice(0, 10)))];

/** A clock the test moves by hand. */
function clock(start: number): { now: () => number; set: (ms: number) => void } {
  let t = start;
  return { now: () => t, set: (ms) => { t = ms; } };
}

function logger(file: string, dir: string, now: () => number, o: { compress?: boolean; maxMb?: number } = {}) {
  return createAuditLogger(
    makeSection({ file_path: file, hash_chain: true, compress: o.compress ?? false, ...(o.maxMb ? { max_size_mb: o.maxMb } : {}) }),
    { ...OPTS, stateDir: join(dir, 'st'), env, now },
  );
}

for (const compress of [false, true]) {
  test(`rotation by day (compress = ${compress}): lines before and after midnight end in different files`, async () => {
    const dir = tmp();
    const file = join(dir, 'audit.log');
    const c = clock(MIDNIGHT - 10_000);
    const audit = logger(file, dir, c.now, { compress });
    for (let i = 0; i < 40; i++) {
      c.set(MIDNIGHT - 10_000 + i * 500); // lines 0..19 before midnight, 20..39 after
      audit.request(makeCtx({ id: `r${i}` }), { status: 200 });
    }
    await audit.close();
    const files = listAuditFiles(file);
    assert.equal(files.length, 2, files.join(', '));
    assert.equal(files[1], file, 'the live file comes last');
    assert.match(basename(files[0]!), compress ? /^audit-\d{8}T\d{9}Z\.log\.gz$/ : /^audit-\d{8}T\d{9}Z\.log$/);
    for (const f of files) assert.ok(text(f).endsWith('\n'), `${f} ends on a line boundary`);
    assert.deepEqual(datesOf(files[0]!), [dayOf(MIDNIGHT - 1)]);
    assert.deepEqual(datesOf(files[1]!), [dayOf(MIDNIGHT)]);
    assert.deepEqual(linesOf(files[0]!).map((l) => l.http.request.id), Array.from({ length: 20 }, (_, i) => `r${i}`));
    assert.deepEqual(linesOf(files[1]!).map((l) => l.http.request.id), Array.from({ length: 20 }, (_, i) => `r${i + 20}`));
    assert.deepEqual(verifyAuditFiles(files, KEY), { ok: true, lines: 40 });
  });
}

test('rotation by day and by size together: every file holds one date, no line split or lost, the chain verifies', async () => {
  const dir = tmp();
  const file = join(dir, 'audit.log');
  const maxMb = 0.004; // a few lines per file
  const c = clock(MIDNIGHT - 30_000);
  const audit = logger(file, dir, c.now, { compress: true, maxMb });
  for (let i = 0; i < 120; i++) {
    c.set(MIDNIGHT - 30_000 + i * 500);
    audit.request(makeCtx({ id: `r${i}` }), { status: 200 });
    if (i % 7 === 0) await new Promise((r) => setImmediate(r)); // let rotations interleave with writes
  }
  await audit.close();
  const files = listAuditFiles(file);
  assert.ok(files.length > 4, `rotated into ${files.length} files`);
  const ids: string[] = [];
  let last = '';
  for (const f of files) {
    const t = text(f);
    assert.ok(t.endsWith('\n'), `${f} ends on a line boundary`);
    assert.ok(Buffer.byteLength(t) <= maxMb * 1024 * 1024, `${f} within max size`);
    const dates = datesOf(f);
    assert.equal(dates.length, 1, `${f} holds one date: ${dates.join(', ')}`);
    assert.ok(dates[0]! >= last, 'dates never go back from file to file');
    last = dates[0]!;
    ids.push(...linesOf(f).map((l) => l.http.request.id));
  }
  assert.deepEqual(ids, Array.from({ length: 120 }, (_, i) => `r${i}`), 'every line once, in order');
  assert.deepEqual(verifyAuditFiles(files, KEY), { ok: true, lines: 120 });
});

test('restart: a file left from an earlier day is rotated before the first line of today; the chain continues', async () => {
  const dir = tmp();
  const file = join(dir, 'audit.log');
  const c = clock(MIDNIGHT - 9 * 3_600_000);
  const first = logger(file, dir, c.now);
  for (let i = 0; i < 5; i++) first.request(makeCtx({ id: `y${i}` }), { status: 200 });
  await first.close();
  assert.deepEqual(listAuditFiles(file), [file]);

  c.set(MIDNIGHT + 1_000);
  const second = logger(file, dir, c.now);
  for (let i = 0; i < 3; i++) second.request(makeCtx({ id: `t${i}` }), { status: 200 });
  await second.close();
  const files = listAuditFiles(file);
  assert.equal(files.length, 2, files.join(', '));
  assert.deepEqual(linesOf(files[0]!).map((l) => l.http.request.id), ['y0', 'y1', 'y2', 'y3', 'y4']);
  assert.deepEqual(datesOf(files[0]!), [dayOf(MIDNIGHT - 1)]);
  assert.deepEqual(linesOf(file).map((l) => [l.http.request.id, l.lollms_guard.seq]), [['t0', 6], ['t1', 7], ['t2', 8]]);
  assert.deepEqual(verifyAuditFiles(files, KEY), { ok: true, lines: 8 });
});

test('restart on the same day keeps appending to the live file', async () => {
  const dir = tmp();
  const file = join(dir, 'audit.log');
  const c = clock(MIDNIGHT + 3_600_000);
  const first = logger(file, dir, c.now);
  first.request(makeCtx({ id: 'a' }), { status: 200 });
  await first.close();
  c.set(MIDNIGHT + 5 * 3_600_000);
  const second = logger(file, dir, c.now);
  second.request(makeCtx({ id: 'b' }), { status: 200 });
  await second.close();
  assert.deepEqual(listAuditFiles(file), [file]);
  assert.deepEqual(verifyAuditFiles([file], KEY), { ok: true, lines: 2 });
});

test('a stale file without a leading timestamp is dated by its mtime (default clock)', async () => {
  const dir = tmp();
  const file = join(dir, 'audit.log');
  writeFileSync(file, 'legacy line\n');
  const twoDaysAgo = new Date(Date.now() - 2 * DAY);
  utimesSync(file, twoDaysAgo, twoDaysAgo);
  const audit = createAuditLogger(makeSection({ file_path: file, compress: false }), { ...OPTS, stateDir: dir });
  audit.event({ action: 'configuration_start' });
  await audit.close();
  const files = listAuditFiles(file);
  assert.equal(files.length, 2, files.join(', '));
  assert.equal(text(files[0]!), 'legacy line\n');
  assert.equal(text(file).split('\n').filter(Boolean).length, 1);
  assert.match(text(file), /"action":"configuration_start"/);
});

test('a file written today (by mtime) is not rotated at start', async () => {
  const dir = tmp();
  const file = join(dir, 'audit.log');
  writeFileSync(file, 'legacy line\n');
  const audit = createAuditLogger(makeSection({ file_path: file }), { ...OPTS, stateDir: dir, now: () => Date.now() });
  audit.event({ action: 'configuration_start' });
  await audit.close();
  assert.deepEqual(listAuditFiles(file), [file]);
});

test('the file transport dates lines without a timestamp by its clock', async () => {
  const dir = tmp();
  const file = join(dir, 'raw.log');
  const c = clock(MIDNIGHT - 1);
  const t = new AuditFileTransport({ path: file, maxBytes: Infinity, compress: false, maxAgeDays: 0, now: c.now });
  t.writeLine('a\n');
  t.writeLine('b\n');
  c.set(MIDNIGHT);
  t.writeLine('c\n');
  await t.flush();
  const files = listAuditFiles(file);
  assert.equal(files.length, 2, files.join(', '));
  assert.deepEqual(files.map(text), ['a\nb\n', 'c\n']);
});
