// Integration: a real HTTP server writes one audit line per request on finish or client abort, then flushes on close.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createAuditLogger, verifyAuditFiles, type AuditLogger } from '../../proxy/audit/index.js';
import { makeCtx, makeSection, readLines, tmp, OPTS } from '../unit/proxy/audit/fixtures.test.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const KEY = 'integration-key-0123456789';

/** The wiring the proxy does: the line is written once, when the answer finished or the client went away. */
function handler(audit: AuditLogger) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const ctx = makeCtx({ id: String(req.headers['x-request-id']), path: req.url ?? '/', method: req.method ?? 'GET', responseBytes: 0 });
    const done = (): void => {
      ctx.aborted = !res.writableFinished;
      audit.request(ctx, { status: res.statusCode, userAgent: req.headers['user-agent'], headerNames: Object.keys(req.headers) });
    };
    res.once('finish', done);
    res.once('close', done);
    if (req.url === '/slow') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: first\n\n');
      const t = setInterval(() => res.write('data: more\n\n'), 10);
      res.once('close', () => clearInterval(t));
      return;
    }
    res.end('{"ok":true}');
  };
}

test('allowed and aborted requests each produce one line; close() flushes them', async () => {
  const dir = tmp();
  const file = join(dir, 'audit.log');
  const audit = createAuditLogger(
    makeSection({ file_path: file, hash_chain: true }),
    { ...OPTS, stateDir: dir, env: { LOLLMS_GUARD_AUDIT_KEY: KEY }, auditLevel: 'verbose' },
  );
  const server = createServer(handler(audit));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const ok = await fetch(`${base}/v1/models`, { headers: { 'x-request-id': 'ok-1', authorization: 'Bearer sk-never-logged-1234567890' } });
    assert.equal(ok.status, 200);
    await ok.text();

    const ac = new AbortController();
    const slow = await fetch(`${base}/slow`, { headers: { 'x-request-id': 'gone-1' }, signal: ac.signal });
    const reader = slow.body!.getReader();
    await reader.read();
    ac.abort();
    await reader.read().catch(() => undefined);
    const end = Date.now() + 2000;
    while (audit.linesWritten < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await audit.close();
  }
  const text = readLines(file).join('\n');
  assert.ok(!text.includes('sk-never-logged'), 'the Authorization value is never logged');
  const recs = readLines(file).map((l) => JSON.parse(l) as Obj);
  assert.deepEqual(recs.map((r) => r.http.request.id), ['ok-1', 'gone-1']);
  assert.equal(recs[0]!.event.outcome, 'success');
  assert.ok(recs[0]!.lollms_guard.request_headers.includes('authorization'), 'verbose: header names only');
  assert.equal(recs[1]!.event.outcome, 'unknown');
  assert.equal(recs[1]!.lollms_guard.aborted, true);
  assert.deepEqual(verifyAuditFiles([file], KEY), { ok: true, lines: 2 });
});
