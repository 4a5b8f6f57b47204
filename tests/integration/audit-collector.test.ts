// Integration: output = "http" against a local collector double: HEC/NDJSON batches, spool while it is away, resend in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createAuditLogger, verifyAuditFiles, type AuditLogger } from '../../proxy/audit/index.js';
import { makeCtx, makeSection, tmp, OPTS } from '../unit/proxy/audit/fixtures.test.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const KEY = 'collector-chain-key-0123456789';

interface Collector { url: string; bodies: string[]; auth: string[]; status: number; server: Server }

async function collector(): Promise<Collector> {
  const c = { bodies: [] as string[], auth: [] as string[], status: 200 } as Collector;
  c.server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => { body += d.toString(); });
    req.on('end', () => {
      if (c.status === 200) { c.bodies.push(body); c.auth.push(String(req.headers.authorization)); }
      res.writeHead(c.status, { 'content-type': 'application/json' }).end('{"text":"Success","code":0}');
    });
  });
  await new Promise<void>((r) => c.server.listen(0, '127.0.0.1', r));
  c.url = `http://127.0.0.1:${(c.server.address() as AddressInfo).port}/services/collector/event`;
  return c;
}
async function stop(c: Collector): Promise<void> {
  c.server.closeAllConnections();
  await new Promise<void>((r) => c.server.close(() => r()));
}
async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
/** The audit lines a collector received, in order, whatever the envelope. */
const received = (c: Collector, hec: boolean): string[] => c.bodies.flatMap((b) => b.split('\n').filter(Boolean))
  .map((l) => (hec ? JSON.stringify((JSON.parse(l) as Obj).event) : l));

function httpLogger(c: Collector, dir: string, o: { format?: 'hec' | 'ndjson'; batch?: number } = {}): AuditLogger {
  return createAuditLogger(
    makeSection({
      output: 'http', hash_chain: true, file_path: join(dir, 'unused.log'),
      http: { url: c.url, format: o.format ?? 'hec', batch_size: o.batch ?? 100, flush_interval_ms: 20, spool_dir: join(dir, 'spool') },
    }),
    { ...OPTS, stateDir: join(dir, 'st'), env: { LOLLMS_GUARD_AUDIT_KEY: KEY, LOLLMS_GUARD_HEC_TOKEN: 'hec-token-123456' }, retryMs: 30 },
  );
}

test('hec: batches of batch_size, the Splunk token, the line kept whole inside the envelope', async () => {
  const c = await collector();
  const dir = tmp();
  const audit = httpLogger(c, dir);
  for (let i = 0; i < 250; i++) audit.request(makeCtx({ id: `r${i}` }), { status: 200 });
  await audit.close();
  await stop(c);
  assert.ok(c.bodies.length >= 3, `${c.bodies.length} posts`);
  assert.ok(c.bodies.every((b) => b.trim().split('\n').length <= 100));
  assert.ok(c.auth.every((a) => a === 'Splunk hec-token-123456'));
  const first = JSON.parse(c.bodies[0]!.split('\n')[0]!) as Obj;
  assert.equal(first.sourcetype, '_json');
  assert.equal(typeof first.time, 'number');
  assert.deepEqual(received(c, true).map((l) => (JSON.parse(l) as Obj).http.request.id), Array.from({ length: 250 }, (_, i) => `r${i}`));
  assert.equal(existsSync(join(dir, 'unused.log')), false, 'http output writes no file');
  assert.ok(!c.bodies.join('').includes('hec-token-123456'), 'the token is a header, never in a line');
});

test('collector away: lines wait in the spool, stay healthy, then arrive in order with the chain intact', async () => {
  const c = await collector();
  const dir = tmp();
  const audit = httpLogger(c, dir, { format: 'ndjson', batch: 10 });
  c.status = 503;
  for (let i = 0; i < 35; i++) audit.request(makeCtx({ id: `r${i}` }), { status: 200 });
  await waitFor(() => readdirSync(join(dir, 'spool')).length >= 4);
  assert.equal(audit.healthy(), true, 'spooled lines are safe');
  assert.ok(audit.spooled >= 30, `the spooled total feeds the metric (${audit.spooled})`);
  for (let i = 35; i < 50; i++) audit.request(makeCtx({ id: `r${i}` }), { status: 200 });
  c.status = 200;
  await waitFor(() => received(c, false).some((l) => l.includes('"audit_recovered"')));
  await audit.close();
  await stop(c);
  const lines = received(c, false);
  const ids = lines.map((l) => JSON.parse(l) as Obj).filter((r) => r.http).map((r) => r.http.request.id);
  assert.deepEqual(ids, Array.from({ length: 50 }, (_, i) => `r${i}`));
  assert.ok(lines.some((l) => l.includes('"audit_write_failure"')));
  assert.deepEqual(readdirSync(join(dir, 'spool')), [], 'spool drained');
  const shipped = join(dir, 'shipped.log');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(shipped, lines.map((l) => `${l}\n`).join(''));
  assert.deepEqual(verifyAuditFiles([shipped], KEY), { ok: true, lines: lines.length });
});

test('the spool survives a restart: lines kept at close are sent by the next process first', async () => {
  const c = await collector();
  const dir = tmp();
  c.status = 500;
  const a1 = httpLogger(c, dir, { format: 'ndjson', batch: 5 });
  for (let i = 0; i < 12; i++) a1.request(makeCtx({ id: `old${i}` }), { status: 200 });
  await waitFor(() => c.bodies.length === 0 && readdirSync(join(dir, 'spool')).length > 0);
  await a1.close();
  assert.ok(readdirSync(join(dir, 'spool')).length >= 3);
  c.status = 200;
  const a2 = httpLogger(c, dir, { format: 'ndjson', batch: 5 });
  a2.request(makeCtx({ id: 'new0' }), { status: 200 });
  await a2.close();
  await stop(c);
  const ids = received(c, false).map((l) => JSON.parse(l) as Obj).filter((r) => r.http).map((r) => r.http.request.id);
  assert.deepEqual(ids, [...Array.from({ length: 12 }, (_, i) => `old${i}`), 'new0']);
});

test('a full spool: unhealthy, the overflow is counted as lost', async () => {
  const c = await collector();
  const dir = tmp();
  c.status = 503;
  const audit = createAuditLogger(
    makeSection({ output: 'http', http: { url: c.url, format: 'ndjson', batch_size: 5, flush_interval_ms: 20, spool_dir: join(dir, 'spool'), spool_max_mb: 0.002 } }),
    { ...OPTS, stateDir: dir, retryMs: 10_000 },
  );
  for (let i = 0; i < 30; i++) audit.request(makeCtx(), { status: 200 });
  await waitFor(() => !audit.healthy());
  await audit.close();
  await stop(c);
  assert.ok(audit.lost > 0, `lost ${audit.lost}`);
});
