// `node dist/dev/bench/audit-line.js [requests]`: CPU per request of the audit line and the metrics, in-process, on
// the bench's full reference policy: the ECS text alone (ecsLine against JSON.stringify of buildEcsRecord, same
// facts), then what the proxy's onDone does per request (requestDone: facts -> line -> scrub -> HMAC chain ->
// batched file write; metrics.request). Interleaved rounds, best of 7, CPU time of the process. BENCH_ONLY=<text>:
// only the variants whose name holds it (to run one under --cpu-prof).
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicy } from '../../policies/load.js';
import { createAuditLogger } from '../../proxy/audit/logger.js';
import { buildEcsRecord, ecsLine } from '../../proxy/audit/records.js';
import { requestFacts } from '../../proxy/audit/facts.js';
import type { RecordMeta } from '../../proxy/audit/types.js';
import { createMetrics } from '../../proxy/metrics/index.js';
import { requestDone } from '../../proxy/request-audit.js';
import type { RequestContext } from '../../kernel/context.js';
import { overlay } from './policy.js';

const N = Number(process.argv[2] ?? 20000);
const dir = mkdtempSync(join(tmpdir(), 'lollms-guard-audit-line-'));
const env = { LOLLMS_API_KEY: 'bench-upstream-key-0123456789', LOLLMS_GUARD_AUDIT_KEY: 'bench-audit-chain-key-0123456789' };
const files = overlay(dir, 'line', 'http://127.0.0.1:9', { keys: 10, extraPatterns: 7 }).filter((a) => a !== '--policy');
const policy = loadPolicy(files, env);
// No gzip of the rotated files: in-process, compressing 100 MB would be counted against the lines.
const section = { ...policy.raw.logging.security, compress: false };
const audit = createAuditLogger(section, {
  mode: policy.mode, policyHash: policy.hash, stateDir: policy.raw.server.state_dir, auditLevel: policy.raw.security.audit_level,
  env, secretEnvNames: [policy.raw.upstream.api_key_env, 'LOLLMSBOT_API_KEY'],
});
const metrics = createMetrics({ collectDefault: false });

/** What the bench's JSON chat request leaves in its context (decisions as the reference policy records them). */
function ctxOf(i: number): RequestContext {
  return {
    id: `0b6f3c1e-5d2a-4c8e-9f1a-${String(i).padStart(12, '0')}`, traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7',
    startNs: process.hrtime.bigint() - 2_345_678n, policy, clientIp: '127.0.0.1', peerIp: '127.0.0.1', method: 'POST',
    path: '/v1/chat/completions', query: '', principal: { keyId: 'bench', role: 'user', source: 'key' },
    decisions: [
      { stage: 'authentication', outcome: 'allow', rule: 'security.authentication.keys', at: 'bench' },
      { stage: 'rate-limit', outcome: 'allow', rule: 'security.rate_limiting.per_user' },
      { stage: 'authorization', outcome: 'allow', rule: 'security.authorization.roles.user.allow', at: 'POST /v1/*', reason: 'POST /v1/chat/completions allowed' },
      { stage: 'validation', outcome: 'allow', rule: 'security.validation.enabled' },
    ] as RequestContext['decisions'],
    model: 'llama3-8b-instruct', usage: { input: 12, output: 9 }, redactions: [], requestBytes: 118, responseBytes: 402,
    upstreamStatus: 200, upstreamTtfbMs: 3, completionChars: 0, promptChars: 0, aborted: false, onDone: [],
  };
}

const meta: RecordMeta = { mode: policy.mode, policyHash: policy.hash, level: 'normal', hostname: 'bench-host', version: '0.1.0', eventId: 'a3c1d1c2-7e0b-4a55-8f00-0c2f5a1b9e77' };
const facts = requestFacts(ctxOf(1), { status: 200, userAgent: 'bench' });
let sink = 0;
const variants: Record<string, (i: number) => Promise<void> | void> = {
  'ECS text: JSON.stringify(buildEcsRecord)': () => { const rec = buildEcsRecord(facts, meta) as { lollms_guard: { seq?: number } }; rec.lollms_guard.seq = 1; sink += JSON.stringify(rec).length; },
  'ECS text: ecsLine': () => { sink += ecsLine(facts, meta, 1).length; },
  'onDone: requestDone + metrics.request': async (i) => {
    const ctx = ctxOf(i);
    requestDone(audit, ctx, 200, 'bench');
    metrics.request(ctx, 200);
    // Let the batch timer and the file writes run, as between requests in the proxy.
    if (i % 16 === 0) await new Promise<void>((r) => setImmediate(r));
  },
  'metrics.request alone': (i) => { metrics.request(ctxOf(i), 200); },
  'context alone (subtract)': (i) => { sink += ctxOf(i).decisions.length; },
};

const best = new Map<string, number>();
for (let round = 0; round < 8; round++) {
  for (const [name, run] of Object.entries(variants)) {
    if (process.env.BENCH_ONLY && !name.includes(process.env.BENCH_ONLY)) continue;
    const c0 = process.cpuUsage();
    for (let i = 0; i < N; i++) { const p = run(round * N + i); if (p) await p; }
    const c = process.cpuUsage(c0);
    const us = (c.user + c.system) / N;
    if (round > 0 && (!best.has(name) || us < best.get(name)!)) best.set(name, us); // round 0 warms up
  }
}
await audit.close();
process.stdout.write(`CPU per request, in-process, best of 7 rounds of ${N} (audit file ${(statSync(section.file_path).size / 1e6).toFixed(0)} MB):\n`);
for (const [name, us] of best) process.stdout.write(`${name.padEnd(44)} ${us.toFixed(2).padStart(7)} us\n`);
if (sink < 0) process.stdout.write('');
