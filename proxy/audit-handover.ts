// The one audit hand-over: a generation being built writes through the live logger, then gets its own (or keeps the live one).
import type { CompiledPolicy } from '../kernel/policy.js';
import { createAuditLogger } from './audit/index.js';
import type { AuditLogger, SecurityEvent } from './audit/types.js';

export interface PendingAudit {
  /** Handed to the generation's factories before its own logger exists. */
  readonly logger: AuditLogger;
  /** The generation's logger from now on; events held since the first start are written to it. */
  takeOver(own: AuditLogger): void;
}

/**
 * `live`: the running generation's logger (undefined on first start, when factories' events wait). Read on
 * every call so a request that outlives a reload writes to the logger that is current then.
 */
export function pendingAudit(live: () => AuditLogger | undefined): PendingAudit {
  let own: AuditLogger | undefined;
  const early: SecurityEvent[] = [];
  const now = (): AuditLogger => (own ?? live()) as AuditLogger;
  const logger: AuditLogger = {
    request: (c, r) => now().request(c, r),
    event: (e) => {
      const a = own ?? live();
      if (a) a.event(e);
      else early.push(e);
    },
    healthy: () => now().healthy(),
    get linesWritten() { return now().linesWritten; },
    get errors() { return now().errors; },
    get lost() { return now().lost; },
    get held() { return now().held; },
    get spooled() { return now().spooled; },
    get warnings() { return now().warnings; },
    close: () => now().close(),
  };
  return {
    logger,
    takeOver(a) {
      own = a;
      for (const e of early.splice(0)) a.event(e);
    },
  };
}

export interface HandOverDeps {
  readonly env: NodeJS.ProcessEnv;
  readonly say: (line: string) => void;
  /** `explain`: nothing is written. */
  readonly dryRun: boolean;
}

/**
 * The logger of a new generation: the running one while [logging.security] is unchanged, else a new logger
 * that takes over from it (its hash chain continues, the old one is closed by the new one).
 */
export function nextAuditLogger(policy: CompiledPolicy, running: { logger: AuditLogger; policy: CompiledPolicy } | undefined, d: HandOverDeps): AuditLogger {
  const section = policy.raw.logging.security;
  if (running && JSON.stringify(section) === JSON.stringify(running.policy.raw.logging.security)) return running.logger;
  const audit = createAuditLogger(d.dryRun ? { ...section, enabled: false } : section, {
    mode: policy.mode,
    policyHash: policy.hash,
    stateDir: policy.raw.server.state_dir,
    auditLevel: policy.raw.security.audit_level,
    env: d.env,
    secretEnvNames: [policy.raw.upstream.api_key_env, 'LOLLMSBOT_API_KEY'],
    previous: running?.logger,
    say: d.say,
  });
  for (const w of audit.warnings) d.say(`lollms-guard: warning: ${w}`);
  return audit;
}
