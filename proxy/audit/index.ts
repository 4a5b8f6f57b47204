// The audit module's public API (see docs/audit.md).

export type {
  AuditFacts, AuditLevel, AuditLogger, AuditMode, AuditSection, EventClass, EventOutcome, RecordMeta, RequestEnd,
  SecurityEvent, Severity, Verdict,
} from './types.js';
export { createAuditLogger, LEVELS, type AuditOptions } from './logger.js';
export { ACTIONS, classOfCode, type ActionDefaults } from './actions.js';
export { requestFacts, eventFacts, decidingDecision, verdictOf, safeDetails, isSecretKey } from './facts.js';
export { buildEcsRecord, buildJsonRecord, buildRecord, ecsLine, ECS_VERSION, type AuditFormat, type AuditRecord } from './records.js';
export { createAnonymizer, pseudonym } from './anonymize.js';
export { HashChain, GENESIS, linkHash, loadHead, saveHead, splitChain, STATE_FILE, type ChainHead } from './chain.js';
export { verifyAuditFiles, type VerifyResult, type VerifyProblem } from './verify.js';
export { listAuditFiles, archiveName } from './rotation.js';
export { LineTransport, StreamTransport, type TransportProblem } from './transports.js';
export { AuditFileTransport, type FileTransportOptions } from './file-transport.js';
export { HttpTransport, hecEnvelope, type HttpTransportOptions } from './http-transport.js';
