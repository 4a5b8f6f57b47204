// Table-driven policy cases: every folder tests/cases/<name>/ with policy.toml, requests.json, expected.json is one test.
// Ops add a case without writing TypeScript; see tests/cases/README.md for the format and placeholders.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startHarness, sha, ADMIN_KEY, USER_KEY, OLD_KEY, EXPIRED_KEY } from '../../dev/harness.js';
import { rawRequest } from '../helpers/http.js';
import { REPO_ROOT } from '../../dev/paths.js';
import { isSchemaKey } from '../helpers/policy-keys.js';

const CASES_DIR = join(REPO_ROOT, 'tests', 'cases');

interface CaseRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: unknown;
}
interface CaseExpected {
  status: number;
  code?: string;
  upstream?: boolean;
  /** Optional: header name -> exact value, or null for "absent". */
  headers?: Record<string, string | null>;
  /** Optional: exactly one audit event (not the request line) of this request has a rule naming this text. */
  audit_rule?: string;
  /** Optional: exactly one audit event (not the request line) of this request has a reason containing this text. */
  audit_reason?: string;
}

type Line = Record<string, unknown>;
/** Every rule an audit line carries: its rule.name (ECS) or details.rule (flat), and each decision's rule. */
function rulesOf(l: Line): string[] {
  const g = (l.lollms_guard ?? l.details ?? {}) as { rule?: string; decisions?: Array<{ rule?: string }> };
  const name = (l.rule as { name?: string } | undefined)?.name ?? g.rule;
  return [name, ...(g.decisions ?? []).map((d) => d.rule)].filter((r): r is string => r !== undefined);
}
/** Events that only restate a decision (their rule is the decision's); other events name a rule of their own. */
const DECISION_EVENTS = new Set(['http_request', 'websocket', 'access_denied', 'validation_failure', 'would_deny']);

const KEYS: Record<string, string> = { ADMIN_KEY, USER_KEY, OLD_KEY, EXPIRED_KEY };

/** {{ADMIN_KEY}} ... in requests; {{ADMIN_KEY_SHA256}} ..., {{UPSTREAM}}, {{DIR}}, {{TODAY}} in the policy. */
function fill(text: string, vars: Record<string, string>): string {
  return text.replace(/\{\{([A-Z0-9_]+)\}\}/g, (m, name: string) => {
    if (!(name in vars)) throw new Error(`unknown placeholder ${m}; known: ${Object.keys(vars).join(', ')}`);
    return vars[name];
  });
}

function readJson<T>(file: string, vars: Record<string, string>): T {
  try {
    return JSON.parse(fill(readFileSync(file, 'utf8'), vars)) as T;
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}

const names = existsSync(CASES_DIR)
  ? readdirSync(CASES_DIR, { withFileTypes: true })
      .filter((e) => e.isDirectory() && existsSync(join(CASES_DIR, e.name, 'policy.toml')))
      .map((e) => e.name)
      .sort()
  : [];

test('the case folder holds cases', () => {
  assert.ok(names.length >= 6, `found ${names.length} case(s) in ${CASES_DIR}`);
});

for (const name of names) {
  test(`case ${name}`, async () => {
    const dir = join(CASES_DIR, name);
    const keyVars = Object.fromEntries(Object.entries(KEYS).flatMap(([k, v]) => [[k, v], [`${k}_SHA256`, sha(v)]]));
    const requests = readJson<CaseRequest[]>(join(dir, 'requests.json'), keyVars);
    const expected = readJson<CaseExpected[]>(join(dir, 'expected.json'), keyVars);
    assert.ok(Array.isArray(requests) && Array.isArray(expected), 'requests.json and expected.json hold arrays');
    assert.equal(requests.length, expected.length, 'one expected entry per request');
    const policyText = readFileSync(join(dir, 'policy.toml'), 'utf8');
    // A first line `#! base = "config/default.toml"` makes the case an overlay on that shipped policy.
    const base = /^#!\s*base\s*=\s*"([^"]+)"/.exec(policyText)?.[1];
    const h = await startHarness({
      baseFiles: base ? [join(REPO_ROOT, base)] : [],
      policy: (upstream, tmp) => fill(policyText, { ...keyVars, UPSTREAM: upstream, DIR: tmp, TODAY: new Date().toISOString().slice(0, 10) }),
      // Whatever the case says, listen on a free loopback port and keep state, audit and metrics out of the repository.
      env: {
        LOLLMS_GUARD__SERVER__HOST: '127.0.0.1',
        LOLLMS_GUARD__SERVER__PORT: '0',
        LOLLMS_GUARD__MONITORING__METRICS_ENABLED: 'false',
      },
    }).catch((e: Error) => {
      throw new Error(`case ${name}: the policy did not load: ${e.message}`);
    });
    const ids: Array<string | undefined> = [];
    try {
      for (let i = 0; i < requests.length; i++) {
        const rq = requests[i];
        const ex = expected[i];
        const what = `case ${name} #${i} ${rq.method ?? 'GET'} ${rq.path}`;
        const headers: Record<string, string> = { ...(rq.headers ?? {}) };
        let body: string | undefined;
        if (rq.body !== undefined) {
          body = typeof rq.body === 'string' ? rq.body : JSON.stringify(rq.body);
          if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/json';
        }
        const before = h.double.requests.length;
        // node:http sends the path exactly as written (fetch would resolve ../ and %2e%2e itself).
        const r = await rawRequest(`${h.url}${rq.path}`, { method: rq.method ?? 'GET', headers, body });
        ids.push(typeof r.headers['x-request-id'] === 'string' ? r.headers['x-request-id'] : undefined);
        assert.equal(r.status, ex.status, `${what}: status (body ${r.body.slice(0, 200)})`);
        if (ex.code !== undefined) {
          let code: unknown;
          try {
            // Every error shape carries `code`: at the top (Ollama, native LoLLMS) or in `error` (OpenAI).
            const b = JSON.parse(r.body) as { code?: unknown; error?: { code?: unknown } };
            code = b.code ?? b.error?.code;
            assert.equal(r.headers['x-error-code'], code, `${what}: X-Error-Code`);
          } catch {
            code = undefined;
          }
          assert.equal(code, ex.code, `${what}: error code`);
        }
        if (ex.upstream !== undefined) assert.equal(h.double.requests.length > before, ex.upstream, `${what}: did the upstream receive it`);
        for (const [k, v] of Object.entries(ex.headers ?? {})) {
          const got = r.headers[k.toLowerCase()];
          assert.equal(got === undefined ? null : String(got), v, `${what}: header ${k}`);
        }
      }
      {
        const lines = await h.auditLines();
        // Issue 13: a decision's rule is a policy key path (what `config show --origin` and `explain` locate).
        for (const l of lines) {
          if (!DECISION_EVENTS.has(String((l.event as { action?: string } | undefined)?.action))) continue;
          for (const r of rulesOf(l)) assert.ok(isSchemaKey(r), `case ${name}: audit rule "${r}" is not a key of config/policy.schema.json`);
        }
        expected.forEach((ex, i) => {
          if (ex.audit_rule === undefined && ex.audit_reason === undefined) return;
          const what = `case ${name} #${i} ${requests[i].method ?? 'GET'} ${requests[i].path}`;
          const mine = lines.filter((l) => (l.http as { request?: { id?: string } } | undefined)?.request?.id === ids[i]);
          const events = mine.filter((l) => (l.event as { action?: string } | undefined)?.action !== 'http_request');
          if (ex.audit_rule !== undefined) {
            const naming = events.filter((l) => String((l.rule as { name?: string } | undefined)?.name ?? '').includes(ex.audit_rule!));
            assert.equal(naming.length, 1, `${what}: one audit event whose rule names ${ex.audit_rule} (events: ${JSON.stringify(events.map((l) => l.rule))})`);
          }
          if (ex.audit_reason !== undefined) {
            const naming = events.filter((l) => String((l.event as { reason?: string } | undefined)?.reason ?? '').includes(ex.audit_reason!));
            assert.equal(naming.length, 1, `${what}: one audit event whose reason names ${ex.audit_reason} (events: ${JSON.stringify(events.map((l) => (l.event as { reason?: string }).reason))})`);
          }
          assert.ok(mine.some((l) => (l.event as { action?: string } | undefined)?.action === 'http_request'), `${what}: the request line is written`);
        });
      }
    } finally {
      await h.close();
    }
  });
}
