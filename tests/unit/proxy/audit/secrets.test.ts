// Defensive tests: no API key, Authorization value, upstream key, prompt or completion ever reaches an audit line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import {
  buildEcsRecord, buildJsonRecord, createAuditLogger, eventFacts, requestFacts, type RecordMeta,
} from '../../../../proxy/audit/index.js';
import { makeCtx, makeSection, tmp, OPTS } from './fixtures.test.js';

const CLIENT_KEY = 'sk-lg-CLIENTKEY-7f3a9c1e5b2d4f6a8c0e2b4d6f8a0c2e';
const UPSTREAM_KEY = 'UPSTREAM-SECRET-91b2c3d4e5f60718293a4b5c6d7e8f90';
const CHAIN_KEY = 'CHAIN-HMAC-KEY-0123456789abcdef';
const PROMPT = 'PROMPT-TEXT: my social security number is 078-05-1120';
const COMPLETION = 'COMPLETION-TEXT: the answer is forty-two';
const FORBIDDEN = [CLIENT_KEY, UPSTREAM_KEY, CHAIN_KEY, PROMPT, COMPLETION, 'PROMPT-TEXT', 'COMPLETION-TEXT', 'CLIENTKEY'];

/** A context that carries every secret where a careless builder could find it. */
function leakyCtx() {
  const body = { model: 'llama3', messages: [{ role: 'user', content: PROMPT }], api_key: CLIENT_KEY };
  const ctx = makeCtx({
    query: `?api_key=${CLIENT_KEY}&q=${encodeURIComponent(PROMPT)}`,
    rawBody: Buffer.from(JSON.stringify(body)),
    json: body,
    forwardBody: Buffer.from(JSON.stringify({ ...body, completion: COMPLETION })),
    decisions: [{ stage: 'auth', outcome: 'allow', rule: 'security.authentication.keys', at: 'team-app' }],
  });
  // Things a later stage might hang on the context by mistake.
  Object.assign(ctx as object, {
    headers: { authorization: `Bearer ${CLIENT_KEY}`, 'x-api-key': CLIENT_KEY },
    upstreamHeaders: { authorization: `Bearer ${UPSTREAM_KEY}` }, completion: COMPLETION,
  });
  return ctx;
}

function assertClean(line: string, where: string): void {
  for (const s of FORBIDDEN) assert.ok(!line.includes(s), `${where}: line contains ${JSON.stringify(s)}\n${line}`);
  assert.ok(!/Bearer\s/i.test(line), `${where}: line contains a Bearer value`);
}

test('record builders never read headers, bodies or the query string', () => {
  const ctx = leakyCtx();
  for (const level of ['minimal', 'normal', 'verbose'] as const) {
    const meta: RecordMeta = { mode: 'enforce', policyHash: 'x', level, eventId: 'e' };
    const res = { status: 200, userAgent: `evil Bearer ${CLIENT_KEY}`, headerNames: ['Authorization', 'X-API-Key'] };
    assertClean(JSON.stringify(buildEcsRecord(requestFacts(ctx, res), meta)), `ecs/${level}`);
    assertClean(JSON.stringify(buildJsonRecord(requestFacts(ctx, res), meta)), `json/${level}`);
  }
});

test('event details: secret-named keys and credential-looking values are redacted', () => {
  const f = eventFacts({
    action: 'auth_failure', ctx: leakyCtx(), reason: `bad header Bearer ${CLIENT_KEY}`,
    details: {
      authorization: `Bearer ${CLIENT_KEY}`, api_key: CLIENT_KEY, 'X-API-Key': CLIENT_KEY, prompt: PROMPT,
      messages: [{ content: PROMPT }], completion: COMPLETION, nested: { token: CLIENT_KEY, body: PROMPT },
      header_value: `Bearer ${CLIENT_KEY}`, raw: Buffer.from(PROMPT), attempts: 5, completion_tokens: 34,
    },
  });
  const line = JSON.stringify(buildEcsRecord(f, { mode: 'enforce', policyHash: 'x', level: 'verbose', eventId: 'e' }));
  assertClean(line, 'event');
  assert.ok(line.includes('"attempts":5'));
  assert.ok(line.includes('"completion_tokens":34'), 'numbers under text-like names stay');
  assert.ok(line.includes('[redacted]'), 'says that something was hidden');
});

test('the logger: every format, level and output, plus the known-secret scrub', async () => {
  const env = { LOLLMS_GUARD_AUDIT_KEY: CHAIN_KEY, LOLLMS_API_KEY: UPSTREAM_KEY };
  for (const format of ['ecs', 'json'] as const) {
    for (const auditLevel of ['minimal', 'normal', 'verbose'] as const) {
      const dir = tmp();
      const out = new PassThrough();
      let stdout = '';
      out.on('data', (c: Buffer) => { stdout += c.toString(); });
      const section = makeSection({
        format, output: 'both', file_path: join(dir, 'audit.log'), hash_chain: true, anonymize: auditLevel === 'verbose',
      });
      const audit = createAuditLogger(section, { ...OPTS, stateDir: join(dir, 'state'), auditLevel, env, stdout: out });
      const ctx = leakyCtx();
      audit.request(ctx, { status: 200, userAgent: 'ua', headerNames: ['authorization'] });
      audit.event({ action: 'auth_failure', ctx, code: 'invalid_api_key' });
      // A careless caller putting the upstream key in a free-text field: the final scrub still catches it.
      audit.event({ action: 'store_outage', reason: `redis said ${UPSTREAM_KEY}`, details: { note: UPSTREAM_KEY } });
      await audit.close();
      const file = readFileSync(join(dir, 'audit.log'), 'utf8');
      assert.equal(file.trim().split('\n').length, 3);
      assertClean(file, `${format}/${auditLevel}/file`);
      assertClean(stdout, `${format}/${auditLevel}/stdout`);
      assert.equal(stdout, file, 'stdout and file carry the same lines');
    }
  }
});
