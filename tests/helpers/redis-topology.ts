// Throwaway Redis topologies for tests: a Sentinel-managed master + replica, or a Cluster; loopback ports, temp dirs, stopped by PID.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/** Waits (bounded) until cond holds; generous because the test machine is shared and loaded. */
export async function waitFor(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    let ok = false;
    try { ok = await cond(); } catch { ok = false; }
    if (ok) return;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function portFree(port: number): Promise<boolean> {
  const srv = net.createServer();
  return new Promise((resolve) => {
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A free loopback port whose cluster bus port (port + 10000) is free too. */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const p = 20000 + Math.floor(Math.random() * 30000);
    if ((await portFree(p)) && (await portFree(p + 10000))) return p;
  }
  throw new Error('no free port pair found');
}

export function haveRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).status === 0 && spawnSync('redis-cli', ['--version'], { encoding: 'utf8' }).status === 0;
}

/** One redis-server child; stop() sends SIGKILL to its PID and waits for the exit. */
export class RedisProcess {
  readonly child: ChildProcess;
  constructor(readonly port: number, args: string[]) {
    this.child = spawn('redis-server', args, { stdio: 'ignore' });
  }
  get address(): string { return `127.0.0.1:${this.port}`; }
  get pid(): number | undefined { return this.child.pid; }
  async stop(): Promise<void> {
    const c = this.child;
    if (c.exitCode !== null || c.signalCode !== null || c.pid === undefined) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      try { process.kill(c.pid as number, 'SIGKILL'); } catch { resolve(); }
    });
  }
}

/** A short-lived client for the test's own checks. */
export async function ask<T>(port: number, f: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null, connectTimeout: 2000 });
  r.on('error', () => {});
  try {
    await r.connect();
    return await f(r);
  } finally {
    r.disconnect();
  }
}

const BASE = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'];

export interface SentinelSet {
  readonly masterName: string;
  readonly master: RedisProcess;
  readonly replica: RedisProcess;
  readonly sentinels: RedisProcess[];
  readonly sentinelAddresses: string[];
  /** host:port of the master as the sentinels report it now. */
  currentMaster(): Promise<string>;
  stop(): Promise<void>;
}

/** A master, one replica and three sentinels (quorum 2, down after 1 s), ready when the sentinels see the replica. */
export async function startSentinelSet(masterName = 'mymaster'): Promise<SentinelSet> {
  const dir = mkdtempSync(join(tmpdir(), 'lollms-guard-sentinel-'));
  const procs: RedisProcess[] = [];
  try {
    const mp = await freePort();
    const master = new RedisProcess(mp, ['--port', String(mp), '--dir', dir, ...BASE]);
    procs.push(master);
    await waitFor(() => ask(mp, async (r) => (await r.ping()) === 'PONG'), 15_000, 'the master to answer');
    const rp = await freePort();
    const replica = new RedisProcess(rp, ['--port', String(rp), '--dir', dir, '--replicaof', '127.0.0.1', String(mp), ...BASE]);
    procs.push(replica);
    await waitFor(() => ask(rp, async (r) => /master_link_status:up/.test(await r.info('replication'))), 20_000, 'the replica to sync');
    const sentinels: RedisProcess[] = [];
    for (let i = 0; i < 3; i++) {
      const sp = await freePort();
      const conf = join(dir, `sentinel-${sp}.conf`);
      writeFileSync(conf, [
        `port ${sp}`, 'bind 127.0.0.1', `dir ${dir}`,
        `sentinel monitor ${masterName} 127.0.0.1 ${mp} 2`,
        `sentinel down-after-milliseconds ${masterName} 1000`,
        `sentinel failover-timeout ${masterName} 4000`,
        `sentinel parallel-syncs ${masterName} 1`, '',
      ].join('\n'));
      const s = new RedisProcess(sp, [conf, '--sentinel']);
      procs.push(s);
      sentinels.push(s);
    }
    for (const s of sentinels) {
      await waitFor(() => ask(s.port, async (r) => {
        const reps = (await r.call('SENTINEL', 'REPLICAS', masterName)) as unknown[];
        const others = (await r.call('SENTINEL', 'SENTINELS', masterName)) as unknown[];
        return reps.length === 1 && others.length === 2;
      }), 30_000, 'the sentinels to see the replica and each other');
    }
    return {
      masterName, master, replica, sentinels,
      sentinelAddresses: sentinels.map((s) => s.address),
      async currentMaster() {
        const [h, p] = await ask(sentinels[0].port, (r) => r.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName)) as string[];
        return `${h}:${p}`;
      },
      async stop() {
        await Promise.all(procs.map((p) => p.stop()));
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await Promise.all(procs.map((p) => p.stop()));
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

export interface ClusterSet {
  readonly nodes: RedisProcess[];
  readonly seeds: string[];
  stop(): Promise<void>;
}

/** `masters` masters with `replicasPerMaster` replicas each, created with redis-cli --cluster create; ready when every node says ok. */
export async function startCluster(masters: number, replicasPerMaster = 0, nodeTimeoutMs = 2000): Promise<ClusterSet> {
  const dir = mkdtempSync(join(tmpdir(), 'lollms-guard-cluster-'));
  const nodes: RedisProcess[] = [];
  try {
    for (let i = 0; i < masters * (1 + replicasPerMaster); i++) {
      const p = await freePort();
      nodes.push(new RedisProcess(p, [
        '--port', String(p), '--dir', dir, '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${p}.conf`),
        '--cluster-node-timeout', String(nodeTimeoutMs), ...BASE,
      ]));
    }
    for (const n of nodes) await waitFor(() => ask(n.port, async (r) => (await r.ping()) === 'PONG'), 15_000, `node ${n.address} to answer`);
    const create = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const c = spawn('redis-cli', ['--cluster', 'create', ...nodes.map((n) => n.address), '--cluster-replicas', String(replicasPerMaster), '--cluster-yes'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      c.stdout.on('data', (d) => { out += d; });
      c.stderr.on('data', (d) => { out += d; });
      const timer = setTimeout(() => { if (c.pid) process.kill(c.pid, 'SIGKILL'); }, 60_000);
      c.once('exit', (code) => { clearTimeout(timer); resolve({ code, out }); });
    });
    if (create.code !== 0) throw new Error(`redis-cli --cluster create failed: ${create.out.slice(-500)}`);
    for (const n of nodes) {
      await waitFor(() => ask(n.port, async (r) => /cluster_state:ok/.test(String(await r.call('CLUSTER', 'INFO')))), 60_000, `node ${n.address} to report cluster_state:ok`);
    }
    return {
      nodes, seeds: nodes.slice(0, masters).map((n) => n.address),
      async stop() {
        await Promise.all(nodes.map((n) => n.stop()));
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await Promise.all(nodes.map((n) => n.stop()));
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
