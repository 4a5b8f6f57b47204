// Unit tests of createAuditLogger: outputs, flush on close, event class switches, level filter, enabled = false.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { createAuditLogger } from '../../../../proxy/audit/index.js';
import { deniedCtx, makeCtx, makeSection, readLines, tmp, OPTS } from './fixtures.test.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

test('1000 lines then close(): every line is in the file, the log directory was created', async () => {
  const dir = tmp();
  const file = join(dir, 'deep', 'er', 'audit.log');
  const audit = createAuditLogger(makeSection({ file_path: file }), { ...OPTS, stateDir: join(dir, 'state') });
  for (let i = 0; i < 1000; i++) audit.request(makeCtx({ id: `r${i}` }), { status: 200 });
  assert.equal(audit.linesWritten, 1000);
  await audit.close();
  const lines = readLines(file);
  assert.equal(lines.length, 1000);
  assert.deepEqual(lines.map((l) => (JSON.parse(l) as Obj).http.request.id), Array.from({ length: 1000 }, (_, i) => `r${i}`));
  assert.equal(audit.healthy(), true);
  assert.equal(audit.errors, 0);
  assert.equal(audit.lost, 0);
  await audit.close(); // idempotent
});

test('relative file_path resolves against cwd; request() is written once per context', async () => {
  const dir = tmp();
  const audit = createAuditLogger(makeSection({ file_path: 'logs/audit.log' }), { ...OPTS, stateDir: '.state', cwd: dir });
  const ctx = makeCtx();
  audit.request(ctx, { status: 200 });
  audit.request(ctx, { status: 200 }); // finish and close both fired
  await audit.close();
  assert.equal(readLines(join(dir, 'logs/audit.log')).length, 1);
});

test('output = stdout writes no file', async () => {
  const dir = tmp();
  const out = new PassThrough();
  const chunks: string[] = [];
  out.on('data', (c: Buffer) => chunks.push(c.toString()));
  const a = createAuditLogger(makeSection({ output: 'stdout', file_path: join(dir, 'a.log') }), { ...OPTS, stateDir: dir, stdout: out });
  a.request(makeCtx(), { status: 200 });
  await a.close();
  assert.equal(existsSync(join(dir, 'a.log')), false);
  assert.equal(chunks.join('').trim().split('\n').length, 1);
});

test('event classes: each switch drops its events; denied requests survive requests = false if their class is on', async () => {
  const dir = tmp();
  const file = join(dir, 'audit.log');
  const audit = createAuditLogger(
    makeSection({ file_path: file, events: { requests: false, authentication: false, configuration_changes: false } }),
    { ...OPTS, stateDir: dir },
  );
  audit.request(makeCtx({ id: 'allowed' }), { status: 200 }); // dropped: requests off
  audit.request(deniedCtx({ id: 'denied-authz' }), { status: 403 }); // kept: authorization on
  audit.request(makeCtx({ id: 'bad-key', errorCode: 'invalid_api_key', decisions: [{ stage: 'auth', outcome: 'deny', code: 'invalid_api_key' }] }), { status: 401 }); // dropped
  audit.request(makeCtx({ id: 'redacted', redactions: [{ kind: 'email', direction: 'request', location: 'prompt', count: 1 }] }), { status: 200 }); // kept
  audit.event({ action: 'auth_failure', ip: '198.51.100.1' }); // dropped
  audit.event({ action: 'configuration_reload' }); // dropped
  audit.event({ action: 'ban', ip: '198.51.100.1' }); // kept
  audit.event({ action: 'store_outage', code: 'ECONNREFUSED' }); // kept: system events cannot be switched off
  await audit.close();
  const got = readLines(file).map((l) => JSON.parse(l) as Obj).map((r) => r.http?.request?.id ?? r.event.action);
  assert.deepEqual(got, ['denied-authz', 'redacted', 'ban', 'store_outage']);
});

test('redactions = false keeps the request line but drops its redaction notes', async () => {
  const dir = tmp();
  const file = join(dir, 'audit.log');
  const audit = createAuditLogger(makeSection({ file_path: file, events: { redactions: false } }), { ...OPTS, stateDir: dir });
  audit.request(makeCtx({ redactions: [{ kind: 'email', direction: 'request', location: 'prompt', count: 1 }] }), { status: 200 });
  audit.event({ action: 'redaction', details: { kind: 'email' } });
  await audit.close();
  const lines = readLines(file).map((l) => JSON.parse(l) as Obj);
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.lollms_guard.redactions, undefined);
});

test('level = warning keeps denials and alerts, drops allowed requests', async () => {
  const dir = tmp();
  const file = join(dir, 'audit.log');
  const audit = createAuditLogger(makeSection({ file_path: file, level: 'warning', format: 'json' }), { ...OPTS, stateDir: dir });
  audit.request(makeCtx(), { status: 200 });
  audit.request(deniedCtx(), { status: 403 });
  audit.event({ action: 'configuration_start' });
  audit.event({ action: 'lockout', ip: '198.51.100.1' });
  await audit.close();
  assert.deepEqual(readLines(file).map((l) => (JSON.parse(l) as Obj).event_type), ['request', 'lockout']);
});

test('enabled = false: nothing written, nothing created, always healthy', async () => {
  const dir = tmp();
  const audit = createAuditLogger(makeSection({ enabled: false, file_path: join(dir, 'x', 'audit.log') }), { ...OPTS, stateDir: dir });
  audit.request(makeCtx(), { status: 200 });
  audit.event({ action: 'ban' });
  assert.equal(audit.healthy(), true);
  await audit.close();
  assert.equal(existsSync(join(dir, 'x')), false);
  assert.equal(audit.linesWritten, 0);
});

test('calls after close() are ignored, never thrown', async () => {
  const dir = tmp();
  const audit = createAuditLogger(makeSection({ file_path: join(dir, 'audit.log') }), { ...OPTS, stateDir: dir });
  await audit.close();
  audit.request(makeCtx(), { status: 200 });
  audit.event({ action: 'ban' });
  assert.equal(audit.linesWritten, 0);
});
