// createAuditLogger: the per-line pipeline facts → anonymize → record → chain → serialise → batch → outputs.
import { randomBytes, randomUUID } from 'node:crypto';
import { hostname as osHostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { RequestContext } from '../../kernel/context.js';
import { classOfCode } from './actions.js';
import { createAnonymizer, type Anonymizer } from './anonymize.js';
import { HashChain, STATE_FILE, loadHead, saveHead, type ChainHead } from './chain.js';
import { eventFacts, requestFacts } from './facts.js';
import { createOutputs, outputWarnings, writesFile } from './outputs.js';
import { buildJsonRecord, ecsLine } from './records.js';
import type { LineTransport, TransportProblem } from './transports.js';
import type {
  AuditFacts, AuditLevel, AuditLogger, AuditOptions, AuditSection, EventClass, RecordMeta, RequestEnd, SecurityEvent, Severity,
} from './types.js';

export type { AuditOptions };

/** Severity ranks, most severe first; a line is written when its level is at or above `[logging.security] level`. */
export const LEVELS: Readonly<Record<Severity, number>> = Object.freeze({ error: 0, warning: 1, info: 2, debug: 3 });

const MIN_SECRET = 8;
/** A batch this long goes to the outputs at once, without waiting for the timer. */
const MAX_BATCH = 256;
const DEFAULT_BATCH_MS = 5;

class DisabledAuditLogger implements AuditLogger {
  readonly linesWritten = 0;
  readonly errors = 0;
  readonly lost = 0;
  readonly spooled = 0;
  readonly warnings: readonly string[] = [];
  request(): void {}
  event(): void {}
  healthy(): boolean { return true; }
  close(): Promise<void> { return Promise.resolve(); }
}

class ActiveAuditLogger implements AuditLogger {
  linesWritten = 0;
  private internalErrors = 0;
  private closing?: Promise<void>;
  /** False until the outputs opened (a reload waits for its predecessor to flush first). */
  private open = false;
  /**
   * Serialised lines ("\n"-terminated, chain order) not yet handed to the outputs: the current batch, or, before the
   * outputs opened (a reload waiting for its predecessor to flush), every line so far.
   */
  private batch: string[] = [];
  private batchTimer?: NodeJS.Timeout;
  private readonly batchMs: number;
  private readonly ready: Promise<void>;
  private readonly transports: LineTransport[] = [];
  private readonly anonymize?: Anonymizer;
  private readonly chain?: HashChain;
  private readonly stateFile: string;
  private readonly secrets: string[];
  private readonly hostname: string;
  private readonly level: AuditLevel;
  private headTimer?: NodeJS.Timeout;
  /** Set by a reload: calls that still reach this logger go to the new one. */
  private successor?: ActiveAuditLogger;
  private headSave: Promise<void> = Promise.resolve();
  readonly warnings: string[] = [];

  /** The options without `previous`, so a chain of reloads does not keep every old logger alive. */
  private readonly o: AuditOptions;

  constructor(private readonly s: AuditSection, opts: AuditOptions) {
    const { previous, ...o } = opts;
    this.o = o;
    const cwd = o.cwd ?? process.cwd();
    const env = o.env ?? process.env;
    const filePath = resolve(cwd, s.file_path);
    this.stateFile = join(resolve(cwd, o.stateDir), STATE_FILE);
    this.level = o.auditLevel ?? 'normal';
    this.hostname = o.hostname ?? osHostname();
    this.batchMs = Math.max(0, o.batchMs ?? DEFAULT_BATCH_MS);
    const keyText = env[s.hash_chain_key_env];
    const key = keyText ? Buffer.from(keyText, 'utf8') : undefined;
    const names = [s.hash_chain_key_env, s.http.token_env, ...(o.secretEnvNames ?? ['LOLLMS_API_KEY'])];
    this.secrets = [...new Set(names.map((n) => env[n] ?? '').filter((v) => v.length >= MIN_SECRET))];

    const toFile = writesFile(s);
    this.warnings.push(...outputWarnings(s, env));
    if (s.anonymize) {
      if (!key) this.warnings.push(`audit: anonymize without ${s.hash_chain_key_env}: pseudonyms use a random key and change at each restart`);
      this.anonymize = createAnonymizer(key ?? randomBytes(32));
    }
    // A reload hands over: the previous logger takes no more lines from now, its chain continues here, and
    // this one's outputs open only once it has flushed (one writer per file, lines in chain order).
    if (previous instanceof ActiveAuditLogger) previous.successor = this;
    const prevClose = previous?.close().catch(() => undefined);
    if (s.hash_chain) {
      if (!key) this.warnings.push(`audit: ${s.hash_chain_key_env} is not set: the hash chain is plain SHA-256 (detects edits, not forgery)`);
      const handed = previous instanceof ActiveAuditLogger ? previous.chainHead() : undefined;
      this.chain = new HashChain(key, handed ?? loadHead(this.stateFile, toFile ? filePath : undefined));
    }
    const start = (): void => {
      this.transports.push(...createOutputs(s, {
        cwd, env, hostname: this.hostname, report: (p) => this.onProblem(p), ...(o.stdout ? { stdout: o.stdout } : {}),
        ...(o.retryMs !== undefined ? { retryMs: o.retryMs } : {}), ...(o.now ? { now: o.now } : {}),
      }));
      this.open = true;
      this.flushBatch();
    };
    if (prevClose) {
      this.headSave = prevClose;
      this.ready = prevClose.then(start).catch(() => { this.internalErrors += 1; });
    } else {
      start();
      this.ready = Promise.resolve();
    }
  }

  /** The chain's head, for a successor logger (reload). */
  chainHead(): ChainHead | undefined {
    return this.chain?.head();
  }

  get errors(): number {
    return this.internalErrors + this.transports.reduce((n, t) => n + t.errors, 0);
  }

  /** Lines queued on disk while the collector was away (running total). */
  get spooled(): number {
    return this.transports.reduce((n, t) => n + ((t as { spooled?: number }).spooled ?? 0), 0);
  }

  get lost(): number {
    return (this.open ? 0 : this.batch.length) + this.transports.reduce((n, t) => n + t.lost, 0);
  }

  get held(): number {
    return (this.open ? this.batch.length : 0) + this.transports.reduce((n, t) => n + t.held(), 0);
  }

  healthy(): boolean {
    return this.transports.every((t) => t.isHealthy());
  }

  private on(cls: EventClass | undefined): boolean {
    return cls === 'system' || (cls !== undefined && this.s.events[cls]);
  }

  request(ctx: RequestContext, res: RequestEnd): void {
    // One line per request, whichever logger of a chain of reloads is asked first (a flag on the request).
    if (ctx.audited) return;
    if (this.successor) { this.successor.request(ctx, res); return; }
    if (this.closing) return;
    ctx.audited = true;
    try {
      let f = requestFacts(ctx, res, this.time());
      const denialClass = f.verdict === 'deny' ? classOfCode(f.code ?? f.decisions?.find((d) => d.outcome === 'deny')?.code) : undefined;
      const redacted = (f.redactions?.length ?? 0) > 0;
      const wanted = this.s.events.requests || this.on(denialClass) || (redacted && this.s.events.redactions);
      if (!wanted) return;
      if (redacted && !this.s.events.redactions) f = { ...f, redactions: undefined };
      this.emit(f);
    } catch {
      this.internalErrors += 1;
    }
  }

  event(e: SecurityEvent): void {
    if (this.successor) { this.successor.event(e); return; }
    if (this.closing) return;
    try {
      const f = eventFacts(e, this.time());
      if (this.on(f.eventClass)) this.emit(f);
    } catch {
      this.internalErrors += 1;
    }
  }

  private time(): Date {
    return new Date(this.o.now ? this.o.now() : Date.now());
  }

  /** The per-line pipeline. Synchronous up to the transport, so chain order is call order. */
  private emit(facts: AuditFacts): void {
    if (LEVELS[facts.severity] > LEVELS[this.s.level]) return;
    const f = this.anonymize ? this.anonymize(facts) : facts;
    const meta: RecordMeta = {
      mode: this.o.mode, policyHash: this.o.policyHash, level: this.level, hostname: this.hostname,
      eventId: randomUUID(), ...(this.o.version !== undefined ? { version: this.o.version } : {}),
    };
    const seq = this.chain?.nextSeq();
    let text: string;
    if (this.s.format === 'json') {
      const rec = buildJsonRecord(f, meta);
      if (seq !== undefined) rec.seq = seq;
      text = JSON.stringify(rec);
    } else {
      text = ecsLine(f, meta, seq);
    }
    let line: string;
    if (this.chain) {
      line = this.chain.close(this.scrub(text), this.s.format === 'ecs' ? 2 : 1);
      this.scheduleHeadSave();
    } else {
      line = this.scrub(text);
    }
    this.linesWritten += 1;
    this.batch.push(`${line}\n`);
    if (!this.open) return;
    if (this.batch.length >= MAX_BATCH) this.flushBatch();
    else this.batchTimer ??= setTimeout(this.onBatchTimer, this.batchMs);
  }

  private readonly onBatchTimer = (): void => {
    this.batchTimer = undefined;
    this.flushBatch();
  };

  /** Hands the batch to every output in one call; each writes it in order (the file output as one write). */
  private flushBatch(): void {
    if (this.batchTimer) { clearTimeout(this.batchTimer); this.batchTimer = undefined; }
    if (!this.open || this.batch.length === 0) return;
    const lines = this.batch;
    this.batch = [];
    for (const t of this.transports) t.take(lines);
  }

  /** Last defence: a known secret value never leaves, whatever a caller put in a field. */
  private scrub(body: string): string {
    let out = body;
    for (const s of this.secrets) if (out.includes(s)) out = out.split(s).join('[redacted]');
    return out;
  }

  private failingSince?: { lost: number; timer: NodeJS.Timeout };

  /** stderr, so an operator learns of an audit that cannot be written even when nobody reads the audit. */
  private tell(p: TransportProblem): void {
    const say = this.o.say;
    if (!say) return;
    const policy = this.s.on_failure === 'fail_open' ? 'still serving (on_failure = "fail_open")' : 'refusing requests (on_failure = "fail_closed")';
    if (p.kind === 'failure' && !this.failingSince) {
      say(`lollms-guard: audit ${p.transport} output cannot be written (${p.code ?? 'error'}): ${policy}; lines wait in memory (up to 10000), then are dropped; retrying`);
      const every = this.o.reportEveryMs ?? 60_000;
      const timer = setInterval(() => {
        if (this.healthy()) return;
        say(`lollms-guard: audit output still failing: ${this.lost} lines dropped so far, ${this.held} waiting in memory`);
      }, every);
      timer.unref();
      this.failingSince = { lost: this.lost, timer };
    } else if (p.kind === 'recovered' && this.failingSince && this.healthy()) {
      clearInterval(this.failingSince.timer);
      say(`lollms-guard: audit ${p.transport} output writes again; ${this.lost - this.failingSince.lost} lines dropped while it failed`);
      this.failingSince = undefined;
    }
  }

  private onProblem(p: TransportProblem): void {
    if (this.closing) return;
    this.tell(p);
    if (p.kind === 'failure') {
      this.event({ action: 'audit_write_failure', reason: `audit ${p.transport} output failed`, code: p.code, details: { transport: p.transport } });
    } else if (p.kind === 'recovered') {
      this.event({ action: 'audit_recovered', details: { transport: p.transport, lost: p.lost ?? 0, failed_writes: p.failedWrites ?? 0 } });
    }
  }

  private scheduleHeadSave(): void {
    if (this.headTimer) return;
    this.headTimer = setTimeout(() => { this.headTimer = undefined; this.saveHeadNow(); }, 1000);
    this.headTimer.unref();
  }

  private saveHeadNow(): Promise<void> {
    const chain = this.chain;
    if (!chain) return Promise.resolve();
    this.headSave = this.headSave.then(() => saveHead(this.stateFile, chain.head())).catch(() => { this.internalErrors += 1; });
    return this.headSave;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.ready;
      this.flushBatch();
      await Promise.all(this.transports.map((t) => t.flush().catch(() => { this.internalErrors += 1; })));
      if (this.failingSince) clearInterval(this.failingSince.timer);
      if (this.headTimer) { clearTimeout(this.headTimer); this.headTimer = undefined; }
      await this.saveHeadNow();
    })();
    return this.closing;
  }
}

/** The audit logger for one `[logging.security]` section; `enabled = false` gives one that writes nothing. */
export function createAuditLogger(section: AuditSection, opts: AuditOptions): AuditLogger {
  if (section.enabled) return new ActiveAuditLogger(section, opts);
  void opts.previous?.close();
  return new DisabledAuditLogger();
}
