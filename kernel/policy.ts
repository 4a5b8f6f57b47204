// The loaded policy as every stage sees it: schema-checked, defaults filled, deep-frozen.
import type { Policy } from './generated/policy-types.js';

export type { Policy } from './generated/policy-types.js';
export type * from './generated/policy-types.js';

/** Where a value came from, for `config show --origin` and error messages. */
export interface ValueOrigin {
  readonly source: 'file' | 'env' | 'default';
  readonly file?: string;
  readonly line?: number;
  readonly col?: number;
  readonly env?: string;
}

export interface CompiledPolicy {
  readonly raw: Policy;
  /** Files read, in overlay order. */
  readonly files: readonly string[];
  /** sha256 of the effective policy (stable JSON), for metrics and audit. */
  readonly hash: string;
  /** Dotted key path -> origin. */
  readonly origins: ReadonlyMap<string, ValueOrigin>;
  /** Non-fatal findings to print at start (e.g. bypass switches, missing env). */
  readonly warnings: readonly string[];
  /** Security mode after `security.enabled` is folded in. */
  readonly mode: 'enforce' | 'permissive' | 'disabled';
}
