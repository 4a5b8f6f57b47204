// The soak's verdict: a least-squares slope over the second half of the samples, per resource, against a tolerance.
import type { Sample } from './soak-proxy.js';

export interface Timed<T> {
  /** Seconds since the start. */
  readonly t: number;
  readonly v: T;
}

export interface Verdict {
  readonly lines: string[];
  readonly failed: string[];
}

const MB = 1024 * 1024;

/**
 * Growth allowed over the second half, per resource: what a warm process wanders by (allocator arenas, JIT,
 * socket pools), not what a leak adds. A leak shows as a steady slope; noise averages out in the fit.
 */
export const TOLERANCE: Readonly<Record<keyof Sample, (mean: number) => number>> = {
  rss: (mean) => Math.max(16 * MB, 0.1 * mean),
  heapUsed: (mean) => Math.max(8 * MB, 0.1 * mean),
  sockets: () => 16,
  fds: () => 16,
};

/** Least-squares slope of y over t (units per second); 0 with fewer than two distinct times. */
export function slope(points: ReadonlyArray<{ t: number; y: number }>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mt = points.reduce((a, p) => a + p.t, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mt) * (p.y - my);
    den += (p.t - mt) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/**
 * Fails a resource when its fitted growth across the second half of the run (slope × that half's length)
 * is above its tolerance. The first half is warm-up (pools filling, code getting optimised). Fewer than
 * four samples in the second half: too short to judge, nothing fails. After the load stops, open sockets
 * must come back to within the tolerance of where they started.
 */
export function judge(samples: ReadonlyArray<Timed<Sample>>, baseline: Sample, idle: Sample): Verdict {
  const lines: string[] = [];
  const failed: string[] = [];
  const half = samples.slice(Math.floor(samples.length / 2));
  if (half.length < 4) {
    lines.push(`only ${half.length} samples in the second half: too short to judge growth (run longer or sample more often)`);
  } else {
    const span = half[half.length - 1].t - half[0].t;
    for (const key of Object.keys(TOLERANCE) as Array<keyof Sample>) {
      const pts = half.map((s) => ({ t: s.t, y: s.v[key] }));
      if (pts.some((p) => p.y < 0)) continue; // not measurable here (fds off Linux)
      const mean = pts.reduce((a, p) => a + p.y, 0) / pts.length;
      const growth = slope(pts) * span;
      const limit = TOLERANCE[key](mean);
      const unit = key === 'rss' || key === 'heapUsed' ? MB : 1;
      const fmt = (x: number): string => (unit === MB ? `${(x / MB).toFixed(2)} MB` : x.toFixed(1));
      const line = `${key}: fitted growth over the second half (${span}s) ${fmt(growth)}, allowed ${fmt(limit)}, mean ${fmt(mean)}`;
      lines.push(line);
      if (growth > limit) failed.push(line);
    }
  }
  if (idle.sockets > baseline.sockets + TOLERANCE.sockets(0)) failed.push(`sockets after the load stopped: ${idle.sockets}, at start ${baseline.sockets}`);
  return { lines, failed };
}
