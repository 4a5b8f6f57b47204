// What the bench reads about a server process from /proc (Linux): CPU time and resident memory.
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

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
