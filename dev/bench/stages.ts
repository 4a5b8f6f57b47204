// `node dist/dev/bench/stages.js [requests]`: CPU per request of the request stages alone, in-process, on the
// bench's full reference policy (dev/bench/policy.ts): the real pipeline (createPolicyApp) in dry-run mode, so
// the request is decided but not forwarded, driven with node:http request/response objects over an in-memory
// socket (no listener, no network, no audit line). Prints CPU µs per request, best of 5 rounds; run it under
// `node --cpu-prof` for each stage's share.
import { IncomingMessage, ServerResponse } from 'node:http';
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicy } from '../../policies/load.js';
import { createLockouts } from '../../policies/lockout.js';
import { createPolicyApp } from '../../proxy/app.js';
import { CircuitBreaker } from '../../proxy/upstream/circuit.js';
import { createMetrics } from '../../proxy/metrics/index.js';
import type { AuditLogger } from '../../proxy/audit/types.js';
import { USER_KEY } from '../harness.js';
import { overlay } from './policy.js';

const N = Number(process.argv[2] ?? 4000);

class NullSocket extends Duplex {
  remoteAddress = '127.0.0.1';
  remotePort = 40000;
  encrypted = undefined;
  override _read(): void {}
  override _write(c: Buffer, _e: BufferEncoding, cb: () => void): void { if (process.env.STAGES_DEBUG) process.stderr.write(c); cb(); }
  override _writev(c: Array<{ chunk: Buffer }>, cb: () => void): void { if (process.env.STAGES_DEBUG) for (const x of c) process.stderr.write(x.chunk); cb(); }
  setTimeout(): this { return this; }
  setNoDelay(): this { return this; }
  setKeepAlive(): this { return this; }
}

const dir = mkdtempSync(join(tmpdir(), 'lollms-guard-stages-'));
const env = { LOLLMS_API_KEY: 'bench-upstream-key-0123456789', LOLLMS_GUARD_AUDIT_KEY: 'bench-audit-chain-key-0123456789' };
const files = overlay(dir, 'stages', 'http://127.0.0.1:9', { keys: 10, extraPatterns: 7 }).filter((a) => a !== '--policy');
const policy = loadPolicy(files, env);
const s = policy.raw.security;
const noop = (): void => {};
const audit = { request: noop, event: noop, healthy: () => true } as unknown as AuditLogger;
const metrics = createMetrics({ collectDefault: false });
const app = createPolicyApp(policy, {
  auth: { extraKeys: [], lockouts: createLockouts(s.authentication, { ...s.rate_limiting, store: 'memory' }), onEvent: noop },
  upstream: { breaker: new CircuitBreaker(5, 30_000, false), upstreamKey: undefined, tls: false },
  limits: { audit, env, say: noop, metrics },
  health: { checks: async () => ({}) },
  onDone: noop,
  auditWritable: () => true,
  dryRun: { clientIp: '127.0.0.1' },
});

// STAGES_BODY_KB: a prompt of about that size instead of the bench's one line.
const kb = Number(process.env.STAGES_BODY_KB ?? 0);
const content = kb > 0 ? 'The quick brown fox jumps over the lazy dog. '.repeat(Math.ceil((kb * 1024) / 45)) : 'Say hello in one line.';
const body = Buffer.from(JSON.stringify({ model: 'llama3-8b-instruct', messages: [{ role: 'user', content }], max_tokens: 64 }));

function one(): Promise<number> {
  return new Promise((resolve) => {
    const socket = new NullSocket();
    const req = new IncomingMessage(socket as unknown as Socket);
    req.method = 'POST';
    req.url = '/v1/chat/completions';
    req.headers = { host: '127.0.0.1:8080', authorization: `Bearer ${USER_KEY}`, 'content-type': 'application/json', 'content-length': String(body.length), 'user-agent': 'bench' };
    req.rawHeaders = Object.entries(req.headers).flat() as string[];
    const res = new ServerResponse(req);
    res.assignSocket(socket as unknown as Socket);
    res.once("finish", () => resolve(res.statusCode));
    res.once("close", () => resolve(-res.statusCode));
    app.handle(req, res);
    req.push(body);
    req.complete = true;
    req.push(null);
  });
}

for (let i = 0; i < 1000; i++) { const st = await one(); if (st !== 200) throw new Error(`bench request answered ${st}`); }
let best = Infinity;
for (let round = 0; round < 5; round++) {
  const c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) await one();
  const c = process.cpuUsage(c0);
  best = Math.min(best, (c.user + c.system) / N);
}
process.stdout.write(`request stages, dry run, in-process, ${body.length} B body: ${best.toFixed(1)} us CPU per request (best of 5 rounds of ${N})\n`);
process.exit(0);
