// Shared fixtures of the audit tests (section from the schema's defaults, hand-built contexts) and their own checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../../../dev/paths.js';
import type { AuditSection } from '../../../../proxy/audit/index.js';
import type { RequestContext } from '../../../../kernel/context.js';
import type { CompiledPolicy } from '../../../../kernel/policy.js';

type Schema = { type?: string; default?: unknown; properties?: Record<string, Schema> };

/** Defaults of a schema object, nested objects filled too (what the loader does with `default: {}`). */
function defaultsOf(s: Schema): unknown {
  if (s.type === 'object' && s.properties) {
    const out: Record<string, unknown> = {};
    for (const [k, p] of Object.entries(s.properties)) {
      const v = defaultsOf(p);
      if (v !== undefined) out[k] = v;
    }
    return out;
  }
  return s.default;
}

// The schema stays in the source tree, whichever folder the compiled tests run from.
const schemaPath = join(REPO_ROOT, 'config/policy.schema.json');
const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as Schema;
export const DEFAULT_SECTION = defaultsOf(schema.properties!.logging!.properties!.security!) as AuditSection;

type Overrides = Partial<Omit<AuditSection, 'events' | 'http'>> & {
  events?: Partial<AuditSection['events']>;
  http?: Partial<AuditSection['http']>;
};

export function makeSection(o: Overrides = {}): AuditSection {
  return {
    ...DEFAULT_SECTION, hash_chain: false, ...o,
    events: { ...DEFAULT_SECTION.events, ...o.events },
    http: { ...DEFAULT_SECTION.http, ...o.http },
  } as AuditSection;
}

export const TEST_POLICY = { hash: 'f'.repeat(64), mode: 'enforce' } as unknown as CompiledPolicy;

export function makeCtx(o: Partial<RequestContext> = {}): RequestContext {
  return {
    id: 'req-0001', traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7',
    startNs: process.hrtime.bigint() - 12_345_678n, policy: TEST_POLICY,
    clientIp: '192.0.2.10', peerIp: '192.0.2.10', method: 'POST', path: '/v1/chat/completions', query: '',
    principal: { keyId: 'team-app', role: 'user', source: 'key' },
    decisions: [
      { stage: 'auth', outcome: 'allow', rule: 'security.authentication.keys', at: 'team-app' },
      { stage: 'authorization', outcome: 'allow', rule: 'security.authorization.roles.user.allow', at: 'POST /v1/*', reason: 'POST /v1/chat/completions allowed' },
    ],
    model: 'llama3', usage: { input: 12, output: 34 }, redactions: [],
    requestBytes: 220, responseBytes: 1800, upstreamStatus: 200, upstreamTtfbMs: 41,
    completionChars: 0, promptChars: 0, aborted: false, onDone: [],
    ...o,
  };
}

export function deniedCtx(o: Partial<RequestContext> = {}): RequestContext {
  return makeCtx({
    decisions: [
      { stage: 'auth', outcome: 'allow', rule: 'security.authentication.keys', at: 'team-app' },
      { stage: 'authorization', outcome: 'deny', code: 'model_not_allowed', rule: 'security.authorization.roles.user.models', reason: 'model "gpt-4" not listed' },
    ],
    model: 'gpt-4', usage: {}, errorCode: 'model_not_allowed', responseBytes: 130,
    upstreamStatus: undefined, upstreamTtfbMs: undefined,
    ...o,
  });
}

export function tmp(prefix = 'audit-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function readLines(file: string): string[] {
  return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
}

export const OPTS = { mode: 'enforce' as const, policyHash: 'f'.repeat(64), hostname: 'test-host', version: '0.1.0' };

test('fixtures: the section comes from the schema defaults', () => {
  assert.equal(DEFAULT_SECTION.format, 'ecs');
  assert.equal(DEFAULT_SECTION.output, 'file');
  assert.equal(DEFAULT_SECTION.hash_chain, true);
  assert.equal(DEFAULT_SECTION.events.requests, true);
  assert.equal(DEFAULT_SECTION.http.format, 'hec');
  assert.equal(makeSection({ level: 'warning' }).level, 'warning');
  assert.equal(makeSection({ events: { requests: false } }).events.authentication, true);
});
