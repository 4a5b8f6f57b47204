// The typed per-request context every stage reads and writes (request id, principal, decisions, timings).
import type { ErrorCode } from './errors.js';
import type { CompiledPolicy, PolicyKey } from './policy.js';
import type { ExactNumbers } from './json-exact.js';

export type Outcome = 'allow' | 'deny' | 'modify' | 'would_deny' | 'skip';

/** What one stage decided: the audit record and `explain` print this list. */
export interface Decision {
  readonly stage: string;
  readonly outcome: Outcome;
  readonly code?: ErrorCode;
  /** The policy key that decided (its origin is what `explain` prints); absent when no key did (a fixed check). */
  readonly rule?: PolicyKey;
  /** Which entry of the rule decided when the key is an array of tables or a list (a key id, an endpoint path, a pattern). */
  readonly at?: string;
  readonly reason?: string;
}

export interface Principal {
  readonly keyId: string;
  readonly role: string;
  readonly source: 'key' | 'env' | 'generated' | 'tls' | 'oidc' | 'anonymous';
  readonly stale?: boolean;
  /** OIDC: the token's issuer (keyId is then its subject claim). */
  readonly issuer?: string;
}

export interface RedactionNote {
  readonly kind: string;
  readonly direction: 'request' | 'response';
  readonly location: string;
  readonly count: number;
}

export interface Usage {
  input?: number;
  output?: number;
  estimated?: boolean;
}

export interface RequestContext {
  readonly id: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly startNs: bigint;
  readonly policy: CompiledPolicy;
  readonly clientIp: string;
  readonly peerIp: string;
  readonly method: string;
  /** Normalised path (no query): what every rule matches. */
  readonly path: string;
  /** Query string including the leading "?", or "". */
  readonly query: string;
  principal?: Principal;
  decisions: Decision[];
  /** The body as read (raw) and, for JSON, parsed; what is forwarded is `forwardBody`. */
  rawBody?: Buffer;
  json?: Record<string, unknown>;
  /** Numbers of `json` a double does not hold, as written (kernel/json-exact.ts); undefined when none. */
  jsonNumbers?: ExactNumbers;
  forwardBody?: Buffer;
  model?: string;
  usage: Usage;
  /** Characters of answer text seen by the upstream module (for estimates when no usage arrives). */
  completionChars: number;
  /** Characters of prompt text (validation stage), for estimates. */
  promptChars: number;
  redactions: RedactionNote[];
  requestBytes: number;
  responseBytes: number;
  upstreamStatus?: number;
  upstreamTtfbMs?: number;
  /** Code of the denial that answered, if any. */
  errorCode?: string;
  /** Set when the client went away before the answer ended. */
  aborted: boolean;
  /** Set on every upgrade request (proxy/upgrade.ts); `opened` once the upstream's 101 went to the client. */
  websocket?: WebSocketNote;
  /** Called when the answer is over (finish or close); stages register cleanup / reconciliation here. */
  onDone: Array<(ctx: RequestContext) => void>;
  /** Set once the request's audit line is written (one line per request, whichever logger a reload left running). */
  audited?: boolean;
}

/** What the audit line of a WebSocket connection says besides the request fields. */
export interface WebSocketNote {
  opened: boolean;
  /** Epoch ms of the 101. */
  openedAt?: number;
  /** Who or what ended it: client, upstream, idle_timeout, max_lifetime, shutdown, error. */
  closeReason?: string;
  /** Status code of the first close frame (1005: it had none). */
  closeCode?: number;
  /** Data frames relayed each way. */
  framesToUpstream?: number;
  framesToClient?: number;
  /** The subprotocol the upstream chose (never a credential entry: those are removed before forwarding). */
  protocol?: string;
}

declare module 'node:http' {
  interface IncomingMessage {
    ctx: RequestContext;
  }
}
