// Which transports a [logging.security] section asks for (output = file | stdout | both | http), built when the logger starts.
import { resolve } from 'node:path';
import { AuditFileTransport } from './file-transport.js';
import { HttpTransport } from './http-transport.js';
import { StreamTransport, type LineTransport, type ProblemSink } from './transports.js';
import type { AuditSection } from './types.js';

const MB = 1024 * 1024;

export interface OutputContext {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  readonly hostname: string;
  readonly report: ProblemSink;
  readonly stdout?: NodeJS.WritableStream;
  readonly retryMs?: number;
  /** The clock (default Date.now), for the file output's day rotation and retention. */
  readonly now?: () => number;
}

export const writesFile = (s: AuditSection): boolean => s.output === 'file' || s.output === 'both';

/** Start-time warnings about the outputs (printed by the proxy). */
export function outputWarnings(s: AuditSection, env: NodeJS.ProcessEnv): string[] {
  return s.output === 'http' && !env[s.http.token_env]
    ? [`audit: ${s.http.token_env} is not set: the collector gets no Authorization header`]
    : [];
}

export function createOutputs(s: AuditSection, c: OutputContext): LineTransport[] {
  const retry = c.retryMs !== undefined ? { retryMs: c.retryMs } : {};
  const out: LineTransport[] = [];
  if (writesFile(s)) {
    out.push(new AuditFileTransport({
      path: resolve(c.cwd, s.file_path), maxBytes: Math.max(1, Math.floor(s.max_size_mb * MB)), compress: s.compress,
      maxAgeDays: s.max_age_days, report: c.report, ...retry, ...(c.now ? { now: c.now } : {}),
    }));
  }
  if (s.output === 'stdout' || s.output === 'both') out.push(new StreamTransport(c.stdout ?? process.stdout, c.report));
  if (s.output === 'http') {
    out.push(new HttpTransport({
      url: s.http.url, format: s.http.format, token: c.env[s.http.token_env] || undefined,
      batchSize: s.http.batch_size, flushIntervalMs: s.http.flush_interval_ms,
      spoolDir: resolve(c.cwd, s.http.spool_dir), spoolMaxBytes: Math.max(1, Math.floor(s.http.spool_max_mb * MB)),
      hostname: c.hostname, report: c.report, ...retry,
    }));
  }
  return out;
}
