// `node dist/dev/bench/audit-cost.js`: CPU per JSON request of the full reference policy with the audit on and
// off, more rounds than ablate.js (the audit's share is smaller than that bench's spread). With BENCH_BEFORE set to
// the root of another build of lollms-guard (a copy of an earlier commit, its own dist/), the same two guards of
// that build run in the same interleaved rounds, so a change is compared under the same load of the machine.
// BENCH_PROF=<dir>: the guards run under --cpu-prof and write their profiles there when stopped.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { USER_KEY } from '../harness.js';
import { REPO_ROOT } from '../paths.js';
import { load } from './load.js';
import { overlay } from './policy.js';
import { cpuSeconds, startServer } from './proc.js';

const here = dirname(fileURLToPath(import.meta.url));
const children: ChildProcess[] = [];
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 3000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const PROF = process.env.BENCH_PROF;

const start = (args: string[], env: NodeJS.ProcessEnv = {}) => startServer(children, args, env);

const P = 'LOLLMS_GUARD__';
const VARIANTS: Record<string, NodeJS.ProcessEnv> = {
  'full reference policy': {},
  'audit off': { [`${P}LOGGING__SECURITY__ENABLED`]: 'false' },
};

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lollms-guard-audit-cost-'));
  const double = await start([join(here, 'servers.js'), 'double', '0']);
  const env = { LOLLMS_API_KEY: 'bench-upstream-key-0123456789', LOLLMS_GUARD_AUDIT_KEY: 'bench-audit-chain-key-0123456789' };
  const roots: Array<[string, string]> = [['', REPO_ROOT]];
  if (process.env.BENCH_BEFORE) roots.push(['before: ', process.env.BENCH_BEFORE]);
  const servers: Array<[string, { url: string; pid: number; child: ChildProcess }]> = [];
  let i = 0;
  for (const [label, root] of roots) {
    for (const [name, e] of Object.entries(VARIANTS)) {
      const prof = PROF ? ['--cpu-prof', `--cpu-prof-dir=${PROF}`, `--cpu-prof-name=${(label + name).replace(/\W+/g, '-')}.cpuprofile`] : [];
      servers.push([label + name, await start([...prof, join(root, 'bin/lollms-guard.js'), 'serve', ...overlay(dir, `v${i++}`, double.url, { keys: 10, extraPatterns: 7 })], { ...env, ...e })]);
    }
  }
  const body = JSON.stringify({ model: 'llama3-8b-instruct', messages: [{ role: 'user', content: 'Say hello in one line.' }], max_tokens: 64 });
  const spec = (url: string, requests: number) => ({ url: `${url}/v1/chat/completions`, method: 'POST', headers: { authorization: `Bearer ${USER_KEY}` }, body, requests, concurrency: 32 });
  for (const [, s] of servers) await load(spec(s.url, 500));
  const all = new Map<string, number[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, s] of servers) {
      const c0 = cpuSeconds(s.pid);
      await load(spec(s.url, REQUESTS));
      const us = ((cpuSeconds(s.pid) - c0) / REQUESTS) * 1e6;
      all.set(name, [...(all.get(name) ?? []), us]);
    }
  }
  process.stdout.write(`CPU per JSON request, ${ROUNDS} rounds of ${REQUESTS} requests x 32 (best, median):\n`);
  for (const [name, v] of all) {
    const s = [...v].sort((a, b) => a - b);
    process.stdout.write(`${name.padEnd(34)} ${s[0]!.toFixed(0).padStart(6)} us ${s[s.length >> 1]!.toFixed(0).padStart(6)} us\n`);
  }
  if (PROF) {
    // SIGINT lets node write the profile on its way out.
    await Promise.all(servers.map(([, s]) => new Promise<void>((r) => { s.child.once('exit', () => r()); s.child.kill('SIGINT'); })));
  }
}

try { await main(); } finally { for (const c of children) c.kill('SIGTERM'); }
process.exit(0);
