// Turns the audit logger's running totals (linesWritten, lost, spooled) into audit_lines_total increments.
import type { Metrics } from './index.js';

/** What the sampler reads; AuditLogger has linesWritten and lost, a spooling transport may add spooled. */
export interface AuditTotals {
  readonly linesWritten: number;
  readonly lost: number;
  readonly spooled?: number;
  /** Lines waiting in memory for a failing output: not written (yet). */
  readonly held?: number;
}

interface Seen {
  written: number;
  dropped: number;
  spooled: number;
}

/**
 * Returns sample(logger): adds what each total grew by since the last sample of the same logger. Each reload builds
 * a new logger whose totals start at 0; loggers are remembered weakly, so old generations cost nothing.
 */
export function auditSampler(metrics: Metrics): (logger: AuditTotals) => void {
  const seen = new WeakMap<object, Seen>();
  return (logger) => {
    let s = seen.get(logger);
    if (!s) {
      s = { written: 0, dropped: 0, spooled: 0 };
      seen.set(logger, s);
    }
    // Written means written: lines still waiting in memory for a failing output, or given up, are not.
    const now = { written: logger.linesWritten - logger.lost - (logger.held ?? 0), dropped: logger.lost, spooled: logger.spooled ?? 0 };
    for (const k of ['written', 'dropped', 'spooled'] as const) {
      const d = now[k] - s[k];
      if (Number.isFinite(d) && d > 0) {
        metrics.audit(k, d);
        s[k] = now[k];
      }
    }
  };
}
