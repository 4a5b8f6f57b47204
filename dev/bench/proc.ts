// What the bench reads about a server process from /proc (Linux): CPU time and resident memory.
import { readFileSync } from 'node:fs';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from '../paths.js';

const TICK = 1 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim() || 100);

/** User + system CPU seconds used so far by process `pid` (fields 14 and 15 of /proc/PID/stat). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // the command name may hold spaces
  return (Number(f[11]) + Number(f[12])) * TICK;
}

/** Resident set size of `pid`, MB. */
export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

/**
 * Starts `node args...` in the repository and resolves with the first http://127.0.0.1:PORT it prints (a
 * double, a bare proxy or a guard); the child goes into `children`, which the caller ends by PID.
 */
export function startServer(children: ChildProcess[], args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ url: string; pid: number; child: ChildProcess }> {
  const c = spawn(process.execPath, args, { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(c);
  return new Promise((resolve, reject) => {
    const on = (l: string): void => { const m = /(http:\/\/127\.0\.0\.1:\d+)/.exec(l); if (m) resolve({ url: m[1]!, pid: c.pid!, child: c }); };
    createInterface({ input: c.stdout! }).on('line', on);
    createInterface({ input: c.stderr! }).on('line', on);
    c.once('exit', (code) => reject(new Error(`exited ${code}`)));
  });
}
