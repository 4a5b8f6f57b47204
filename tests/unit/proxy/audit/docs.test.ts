// docs/audit.md stays true: its example lines are what the code writes, and every catalogued action is documented.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../../../dev/paths.js';
import { ACTIONS, createAuditLogger, verifyAuditFiles } from '../../../../proxy/audit/index.js';
import { deniedCtx, makeCtx, makeSection, readLines, tmp } from './fixtures.test.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const DOC = readFileSync(join(REPO_ROOT, 'docs/audit.md'), 'utf8');
const KEY = 'example-key-example-key';
const HASH = '9c1e4b7a2f0d8e6c5b3a1f9e7d5c3b1a0f8e6d4c2b0a9f8e7d6c5b4a3f2e1d0c';

/** The lines the docs show, produced from the same inputs (run with AUDIT_DOCS_PRINT=1 to print fresh ones). */
async function exampleLines(format: 'ecs' | 'json'): Promise<string[]> {
  const dir = tmp();
  const file = join(dir, 'audit.log');
  const audit = createAuditLogger(makeSection({ format, file_path: file, hash_chain: true }), {
    mode: 'enforce', policyHash: HASH, stateDir: dir, hostname: 'guard-1', version: '0.1.0', env: { LOLLMS_GUARD_AUDIT_KEY: KEY },
  });
  const ok = makeCtx({ id: '01J9Z8Q4T6W2M5N7P3R8S1V0XA', clientIp: '10.20.30.40' });
  audit.request(ok, { status: 200, userAgent: 'OpenAI/Python 1.51.0', endNs: ok.startNs + 1_834_211_000n });
  const no = deniedCtx({ id: '01J9Z8Q5B2C4D6E8F0G1H3J5KB', clientIp: '10.20.30.41' });
  audit.request(no, { status: 403, userAgent: 'curl/8.5.0', endNs: no.startNs + 2_105_000n });
  audit.event({
    action: 'lockout', ip: '203.0.113.9', reason: '5 failed attempts within 15 minutes',
    rule: 'security.authentication.max_failed_attempts', code: 'client_locked_out', details: { attempts: 5, lockout_minutes: 15 },
  });
  await audit.close();
  return readLines(file);
}

/** Drops what differs between runs: time, event id, seq and chain. */
function stable(line: string): Obj {
  const r = JSON.parse(line) as Obj;
  delete r['@timestamp']; delete r.timestamp; delete r.seq; delete r.chain;
  if (r.event) delete r.event.id;
  if (r.details) delete r.details.event_id;
  if (r.lollms_guard) { delete r.lollms_guard.seq; delete r.lollms_guard.chain; }
  return r;
}

test('docs/audit.md example lines are real output of the current code', async () => {
  const shown = [...DOC.matchAll(/```json\n(\{"[@a-z].*\})\n```/g)].map((m) => m[1]!);
  const ecs = await exampleLines('ecs');
  const flat = await exampleLines('json');
  if (process.env.AUDIT_DOCS_PRINT) console.log([...ecs, ...flat].join('\n'));
  assert.equal(shown.length, 5, 'ECS allowed, denied, lockout; flat allowed, denied');
  const expected = [ecs[0]!, ecs[1]!, ecs[2]!, flat[0]!, flat[1]!];
  for (let i = 0; i < 5; i++) assert.deepEqual(stable(shown[i]!), stable(expected[i]!), `example ${i + 1}`);
  // The ECS examples are one untouched chain, as written.
  const f = join(tmp(), 'doc.log');
  writeFileSync(f, shown.slice(0, 3).map((l) => `${l}\n`).join(''));
  assert.deepEqual(verifyAuditFiles([f], KEY), { ok: true, lines: 3 });
});

test('docs/audit.md lists every catalogued action', () => {
  for (const action of Object.keys(ACTIONS)) assert.ok(DOC.includes(`| \`${action}\` |`), `${action} missing from docs/audit.md`);
});
