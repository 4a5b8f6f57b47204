// Shared types of the audit module: the logger API, security events, and the format-neutral facts a line is built from.
import type { AuditEvents, AuditSection } from '../../kernel/policy.js';
import type { RequestContext, Decision, RedactionNote } from '../../kernel/context.js';

export type { AuditSection };

/** A switchable class of `[logging.security.events]`, or "system" (audit/store health: always written). */
export type EventClass = keyof AuditEvents | 'system';
export type Severity = 'debug' | 'info' | 'warning' | 'error';
export type EventOutcome = 'success' | 'failure' | 'unknown';
export type AuditLevel = 'minimal' | 'normal' | 'verbose';
export type AuditMode = 'enforce' | 'permissive' | 'disabled';
/** Our verdict on a request (ECS event.outcome cannot carry it). */
export type Verdict = 'allow' | 'deny' | 'would_deny';

/** What the per-request line needs besides the context; never headers or bodies. */
export interface RequestEnd {
  readonly status: number;
  readonly userAgent?: string;
  /** Header names only (verbose level); values are never read. */
  readonly headerNames?: readonly string[];
  /** hrtime at the end of the answer; default: now. */
  readonly endNs?: bigint;
}

/** A security event. Known actions (see actions.ts) fill kind, category, type, severity and class by default. */
export interface SecurityEvent {
  readonly action: string;
  readonly outcome?: EventOutcome;
  readonly reason?: string;
  readonly category?: readonly string[];
  readonly type?: readonly string[];
  readonly kind?: 'event' | 'alert';
  readonly severity?: Severity;
  /** Request the event belongs to: request id, trace, ip, key id and path are taken from it (never its body). */
  readonly ctx?: RequestContext;
  readonly ip?: string;
  readonly userId?: string;
  readonly rule?: string;
  readonly code?: string;
  /** Extra scalars; keys that name secrets or texts (authorization, prompt, ...) are replaced by "[redacted]". */
  readonly details?: Readonly<Record<string, unknown>>;
  readonly eventClass?: EventClass;
}

/** The audit logger the proxy holds: one per loaded policy. Never throws, never blocks. */
export interface AuditLogger {
  /** The per-request line: call once when the answer finished or the client went away. */
  request(ctx: RequestContext, res: RequestEnd): void;
  event(e: SecurityEvent): void;
  /** False while the audit file cannot be written (the lead applies on_failure). */
  healthy(): boolean;
  /** Lines handed to the outputs (after class and level filters). */
  readonly linesWritten: number;
  /** Write errors seen on any output. */
  readonly errors: number;
  /** Lines queued on the http output's disk spool (running total). */
  readonly spooled: number;
  /** Lines given up (retry buffer full, or unwritten at close). */
  readonly lost: number;
  /** Lines waiting in memory for an output to work again (not written, not yet lost). */
  readonly held?: number;
  /** Start-time findings to print (unkeyed chain, http output not implemented, ...). */
  readonly warnings: readonly string[];
  /** Flush every line to disk and release files; resolves when the file streams finished. */
  close(): Promise<void>;
}

/** Format-neutral facts of one line: whitelisted scalars only, built by facts.ts. */
export interface AuditFacts {
  readonly kind: 'request' | 'event';
  readonly time: Date;
  readonly action: string;
  readonly eventKind: 'event' | 'alert';
  readonly category: readonly string[];
  readonly type: readonly string[];
  readonly outcome: EventOutcome;
  readonly severity: Severity;
  readonly eventClass: EventClass;
  readonly reason?: string;
  readonly verdict?: Verdict;
  readonly durationNs?: number;
  ip?: string;
  /** Set by the anonymize stage instead of ip. */
  ipHash?: string;
  userId?: string;
  /** OIDC: the token's issuer (ECS user.domain); not personal, so never pseudonymised. */
  readonly issuer?: string;
  readonly role?: string;
  readonly requestId?: string;
  readonly traceId?: string;
  readonly spanId?: string;
  readonly method?: string;
  readonly path?: string;
  readonly requestBytes?: number;
  readonly status?: number;
  readonly responseBytes?: number;
  readonly userAgent?: string;
  readonly rule?: string;
  readonly model?: string;
  readonly inputTokens?: number;
  readonly outputTokens?: number;
  readonly usageEstimated?: boolean;
  readonly decisions?: readonly Decision[];
  readonly redactions?: readonly RedactionNote[];
  readonly staleKey?: boolean;
  readonly aborted?: boolean;
  readonly upstreamStatus?: number;
  readonly upstreamTtfbMs?: number;
  readonly code?: string;
  readonly headerNames?: readonly string[];
  readonly details?: Readonly<Record<string, unknown>>;
}

/** What every line carries besides its facts. */
export interface RecordMeta {
  readonly mode: AuditMode;
  readonly policyHash: string;
  readonly level: AuditLevel;
  readonly hostname?: string;
  readonly version?: string;
  readonly eventId: string;
}

/** How createAuditLogger runs one `[logging.security]` section (everything but the section itself). */
export interface AuditOptions {
  readonly mode: AuditMode;
  readonly policyHash: string;
  /** `[server] state_dir`: where the chain head is kept. */
  readonly stateDir: string;
  /** Base for relative file_path and state_dir (default process.cwd()). */
  readonly cwd?: string;
  /** `[security] audit_level` (default normal). */
  readonly auditLevel?: AuditLevel;
  /** Environment to read hash_chain_key_env and secret values from (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
  /** Where output = stdout|both writes (default process.stdout). */
  readonly stdout?: NodeJS.WritableStream;
  /** Env var names whose values must never appear in a line (pass upstream.api_key_env); default ["LOLLMS_API_KEY"]. */
  readonly secretEnvNames?: readonly string[];
  readonly version?: string;
  readonly hostname?: string;
  /** Retry delay after a write error (tests shorten it). */
  readonly retryMs?: number;
  /** Operator messages (stderr): an output failing, still failing (at most every reportEveryMs, with counts), recovered. */
  readonly say?: (line: string) => void;
  /** Least time between two "still failing" messages (default 60 s; tests shorten it). */
  readonly reportEveryMs?: number;
  /** The clock, epoch ms (default Date.now): line timestamps, day rotation and retention of the file. Tests step it across midnight. */
  readonly now?: () => number;
  /**
   * On reload: the logger being replaced. It is closed (flushed) by this call; its chain continues here and
   * this logger's outputs open once it has finished. Calls still reaching the old one are forwarded here.
   */
  readonly previous?: AuditLogger;
  /** Longest a line waits in memory to share one write with its neighbours (default 5 ms; 0: next tick). */
  readonly batchMs?: number;
}
