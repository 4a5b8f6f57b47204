// Route authorization run directly on requests (tests/helpers/stage.ts): role x method x path tables, LoLLMS
// management routes (an exact rule only), glob edge cases, and denial under every equivalent spelling.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { RequestHandler } from 'express';
import { createAuthorization } from '../../../policies/authorization.js';
import { policyFrom, runStage } from '../../helpers/stage.js';

const POLICY = policyFrom(`
[security]
mode = "enforce"

[security.authorization]
enable_rbac = true
default_role = "guest"

[security.authorization.roles.guest]
allow = ["GET /v1/models"]
models = ["*"]

[security.authorization.roles.user]
allow = ["POST /v1/chat/completions", "GET,POST /v1/embeddings", "GET /v1/models/*", "* /v1/files/**"]
deny = ["* /v1/files/secret/**", "DELETE *"]
models = ["*"]

[security.authorization.roles.globs]
allow = ["POST /*", "* /**"]
models = ["*"]

[security.authorization.roles.ops]
allow = ["POST /execute_code", "POST /v1/chat/completions"]
models = ["*"]

[security.authorization.roles.admin]
allow = ["*"]
models = ["*"]
`);
const ROUTE = createAuthorization(POLICY.raw.security.authorization, POLICY.raw.upstream.kind).routeStage;

type Row = readonly [role: string | undefined, method: string, url: string, allowed: boolean];

const ROWS: readonly Row[] = [
  // default role (anonymous) and plain allow lists
  [undefined, 'GET', '/v1/models', true],
  [undefined, 'POST', '/v1/models', false],
  [undefined, 'POST', '/v1/chat/completions', false],
  ['guest', 'GET', '/v1/models/', false],
  ['user', 'POST', '/v1/chat/completions', true],
  ['user', 'GET', '/v1/chat/completions', false],
  ['user', 'post', '/v1/chat/completions', true],
  ['user', 'GET', '/v1/embeddings', true],
  ['user', 'PUT', '/v1/embeddings', false],
  // single-star globs stop at a slash; ** crosses them; dot files are matched (dot: true)
  ['user', 'GET', '/v1/models/gpt-4', true],
  ['user', 'GET', '/v1/models/.hidden', true],
  ['user', 'GET', '/v1/models', false],
  ['user', 'GET', '/v1/models/a/b', false],
  ['user', 'GET', '/v1/files/a/b/c', true],
  // deny is checked before allow
  ['user', 'GET', '/v1/files/secret/x', false],
  ['user', 'DELETE', '/v1/files/a', false],
  // dot segments are resolved before the rules see the path
  ['user', 'GET', '/v1/files/x/../secret/key', false],
  ['user', 'GET', '/v1/files/%2e%2e/files/secret/k', false],
  // an unknown role is refused
  ['nobody', 'GET', '/v1/models', false],
  // LoLLMS management routes: only a rule naming one method and the literal path allows them
  ['ops', 'POST', '/execute_code', true],
  ['ops', 'GET', '/execute_code', false],
  ['ops', 'POST', '/EXECUTE_CODE', false],
  ['ops', 'POST', '/execute_code/', false],
  ['ops', 'POST', '/install_extension', false],
  ['globs', 'POST', '/execute_code', false],
  ['globs', 'POST', '/apply_settings', false],
  ['globs', 'POST', '/v1/chat/completions', true],
  ['globs', 'GET', '/anything/at/all', true],
  ['admin', 'POST', '/execute_code', false],
  ['admin', 'POST', '/Apply_Settings', false],
  ['admin', 'GET', '/v1/models', true],
  ['admin', 'DELETE', '/v1/files/x', true],
];

async function check(stage: RequestHandler, [role, method, url, allowed]: Row): Promise<void> {
  const r = await runStage(stage, { method, url, principal: role ? { role } : undefined }, POLICY);
  const what = `${role ?? '(default)'} ${method} ${url}`;
  assert.equal(r.nextCalled, allowed, what);
  if (!allowed) {
    assert.equal(r.status, 403, what);
    assert.equal(r.headers['x-error-code'], 'route_not_allowed', what);
    assert.ok(!JSON.stringify(r.body).includes('/execute_code'), 'the answer names no path');
    assert.equal(r.ctx.decisions.at(-1)?.outcome, 'deny');
  } else assert.equal(r.ctx.decisions.at(-1)?.outcome, 'allow', what);
}

test('route authorization: role x method x path table', async () => {
  for (const row of ROWS) await check(ROUTE, row);
});

test('route authorization: the table can fail (a flipped row is caught)', async () => {
  await assert.rejects(check(ROUTE, ['admin', 'POST', '/execute_code', true]));
  await assert.rejects(check(ROUTE, ['user', 'GET', '/v1/files/secret/x', true]));
});

test('route authorization: management denial says which rule and why, in the native LoLLMS shape', async () => {
  const r = await runStage(ROUTE, { method: 'POST', url: '/execute_code', principal: { role: 'globs' } }, POLICY);
  assert.equal(r.status, 403);
  assert.deepEqual(Object.keys(r.body as object).sort(), ['code', 'error', 'status']);
  assert.match(String(r.ctx.decisions.at(-1)?.reason), /is a glob and never matches one/);
});

test('route authorization: with enable_rbac = false management routes stay closed', async () => {
  const open = policyFrom('[security]\nmode = "enforce"\n[security.authorization]\nenable_rbac = false\n');
  const stage = createAuthorization(open.raw.security.authorization, open.raw.upstream.kind).routeStage;
  assert.equal((await runStage(stage, { method: 'DELETE', url: '/v1/anything' }, open)).nextCalled, true);
  const r = await runStage(stage, { method: 'POST', url: '/execute_code' }, open);
  assert.equal(r.nextCalled, false);
  assert.equal(r.status, 403);
});

/** Spellings of one canonical path that normalisation reads as that path (or refuses). */
function spelling(path: string): fc.Arbitrary<string> {
  const segs = path.split('/').slice(1);
  const sep = fc.constantFrom('/', '//', '\\', '%2f', '%2F', '%5c', '/./', '/zz/../', '/%2e/', '/a/%2e%2e/');
  const seg = (s: string): fc.Arbitrary<string> =>
    fc.tuple(fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }), fc.constantFrom('', '.', '..', ' ', '%20', '%2e'))
      .map(([enc, tail]) => [...s].map((c, i) => (enc[i] ? '%' + c.charCodeAt(0).toString(16).padStart(2, '0') : c)).join('') + tail);
  return fc.tuple(fc.constantFrom('', '/', '//'), fc.tuple(...segs.map((s) => fc.tuple(sep, seg(s)))))
    .map(([lead, parts]) => lead + parts.map(([s, x]) => s + x).join(''));
}

const DENIED: readonly Row[] = ROWS.filter((r) => !r[3] && !/[A-Z%]|\.\.|\/$/.test(r[2]));

let accepted = 0;
const stillDenied = (stage: RequestHandler) =>
  fc.asyncProperty(fc.constantFrom(...DENIED).chain((row) => spelling(row[2]).map((url) => [row, url] as const)), async ([[role, method], url]) => {
    const r = await runStage(stage, { method, url, principal: role ? { role } : undefined }, POLICY);
    assert.equal(r.nextCalled, false, `${role} ${method} ${url} passed`);
    assert.ok(r.status === 403 || r.status === 400, `${url}: ${r.status}`);
    accepted += r.status === 403 ? 1 : 0;
  });

test('route authorization: a denied path stays denied under any spelling normalisation accepts', async () => {
  assert.ok(DENIED.length >= 8);
  await fc.assert(stillDenied(ROUTE), { numRuns: 600 });
  // Most spellings must get past normalisation, or the property would only be testing refusals.
  assert.ok(accepted > 300, `only ${accepted} of 600 spellings were read as a path`);
});

test('route authorization: the property catches a stage that matches the raw request line', async () => {
  // Mutant: rules applied to req.url instead of the normalised ctx.path.
  const raw: RequestHandler = (req, res, next) => {
    const ctx = req.ctx as { path: string };
    const normalised = ctx.path;
    ctx.path = (req.url ?? '/').split('?')[0];
    const restore = (): void => void (ctx.path = normalised);
    ROUTE(req, res, (e?: unknown) => (restore(), next(e)));
  };
  await assert.rejects(fc.assert(stillDenied(raw), { numRuns: 600 }), /Counterexample/);
});
