// Operations: hot reload (watch + invalid policy), explain, config show, verify-audit on a real audit trail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { startHarness, basePolicy, auth, postJson, USER_KEY } from '../../dev/harness.js';
import { REPO_ROOT } from '../../dev/paths.js';

const CLI = join(REPO_ROOT, 'bin', 'lollms-guard.js');
const chat = (model = 'llama3-8b-instruct', extra: Record<string, unknown> = {}) => ({ model, messages: [{ role: 'user', content: 'hi' }], ...extra });

async function until(what: () => Promise<boolean>, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await what()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

test('a saved policy change applies within a second; requests in flight finish under the old one', async () => {
  const h = await startHarness();
  try {
    h.double.misbehave({ kind: 'chunk_delay', ms: 60 });
    const inflight = postJson(`${h.url}/v1/chat/completions`, chat('llama3-8b-instruct', { stream: true }), auth(USER_KEY));
    const first = await inflight;
    assert.equal(first.status, 200);
    const t0 = Date.now();
    writeFileSync(h.policyFile, readFileSync(h.policyFile, 'utf8').replace('models = ["llama3-*", "mistral-*"]', 'models = ["mistral-*"]'));
    const applied = await until(async () => {
      const r = await postJson(`${h.url}/v1/chat/completions`, chat(), auth(USER_KEY));
      await r.text();
      return r.status === 403;
    });
    assert.ok(applied, 'new policy in force');
    assert.ok(Date.now() - t0 < 1500, `applied after ${Date.now() - t0} ms`);
    const text = await first.text();
    assert.ok(text.includes('chat.completion.chunk'), 'the stream started before the change finished whole');
    h.double.misbehave(null);
    const lines = await h.auditLines();
    assert.ok(lines.some((l) => (l.event as { action?: string }).action === 'configuration_reload'));
  } finally {
    await h.close();
  }
});

test('an invalid policy changes nothing, keeps serving, and is audited with file:line messages', async () => {
  const h = await startHarness();
  try {
    const good = readFileSync(h.policyFile, 'utf8');
    writeFileSync(h.policyFile, good.replace('[security.authorization.roles.user]', '[security.authorization.roles.user]\nbrust = 3'));
    const logged = await until(async () => (await h.auditLines()).some((l) => (l.event as { action?: string }).action === 'configuration_reload_failed'));
    assert.ok(logged, 'reload failure audited');
    const fail = (await h.auditLines()).find((l) => (l.event as { action?: string }).action === 'configuration_reload_failed')!;
    assert.match(JSON.stringify(fail), /policy\.toml:\d+:\d+/);
    const r = await postJson(`${h.url}/v1/chat/completions`, chat(), auth(USER_KEY));
    assert.equal(r.status, 200, 'old policy still serves');
    await r.text();
  } finally {
    await h.close();
  }
});

test('explain prints each stage and exits 0 when allowed, 1 when denied; --json for machines', async () => {
  const h = await startHarness();
  try {
    const body = join(h.dir, 'body.json');
    writeFileSync(body, JSON.stringify(chat('gpt-4o')));
    const denied = spawnSync(process.execPath, [CLI, 'explain', '--policy', h.policyFile, '--method', 'POST', '--path', '/v1/chat/completions', '--header', `Authorization: Bearer ${USER_KEY}`, '--body', body], { encoding: 'utf8' });
    assert.equal(denied.status, 1, denied.stderr);
    // Each rule is located where `config show --origin` would: the line of the policy file that set it.
    const text = readFileSync(h.policyFile, 'utf8').split('\n');
    const lineOf = (re: RegExp, after = 0): number => text.findIndex((l, i) => i >= after && re.test(l)) + 1;
    const teamApp = lineOf(/^id = "team-app"$/);
    const models = lineOf(/^models = /, lineOf(/^\[security\.authorization\.roles\.user\]$/));
    assert.ok(teamApp > 0 && models > 0);
    const esc = h.policyFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    assert.match(denied.stdout, new RegExp(`authentication\\s+allow\\s+security\\.authentication\\.keys \\(team-app\\) @ ${esc}:${teamApp}\\n`));
    assert.match(denied.stdout, new RegExp(`authorization\\s+deny\\s+security\\.authorization\\.roles\\.user\\.models \\[model_not_allowed\\] - model not listed @ ${esc}:${models}\\n`));
    assert.match(denied.stdout, new RegExp(`decided by security\\.authorization\\.roles\\.user\\.models  @ ${esc}:${models}\\n`));
    assert.match(denied.stdout, /DENIED\s+403 model_not_allowed/);
    writeFileSync(body, JSON.stringify(chat()));
    const allowed = spawnSync(process.execPath, [CLI, 'explain', '--policy', h.policyFile, '--method', 'POST', '--path', '/v1/chat/completions', '--header', `Authorization: Bearer ${USER_KEY}`, '--body', body, '--json'], { encoding: 'utf8' });
    assert.equal(allowed.status, 0, allowed.stderr);
    const j = JSON.parse(allowed.stdout) as { final: { allowed: boolean; status: number }; principal: { key_id: string; role: string }; decisions: Array<{ stage: string }> };
    assert.equal(j.final.allowed, true);
    assert.equal(j.principal.key_id, 'team-app');
    assert.ok(j.decisions.some((d) => d.stage === 'forward'));
    // Located in the file that set it, or "default" when no file or env var does (the harness sets no [security.validation]).
    const byRule = new Map(j.decisions.map((d) => [(d as { rule?: string }).rule, (d as { origin?: string }).origin]));
    assert.equal(byRule.get('security.authorization.roles.user.max_tokens'), `${h.policyFile}:${lineOf(/^max_tokens = 512$/)}`);
    assert.equal(byRule.get('upstream.url'), `${h.policyFile}:${lineOf(/^url = /)}`);
    assert.deepEqual((j as unknown as { decided_by: unknown }).decided_by, { rule: 'upstream.url', origin: `${h.policyFile}:${lineOf(/^url = /)}` });
    writeFileSync(body, `{"model": "llama3-8b", "x": ${'['.repeat(70)}${']'.repeat(70)}}`);
    const deep = spawnSync(process.execPath, [CLI, 'explain', '--policy', h.policyFile, '--method', 'POST', '--path', '/v1/chat/completions', '--header', `Authorization: Bearer ${USER_KEY}`, '--body', body], { encoding: 'utf8' });
    assert.equal(deep.status, 1, deep.stderr);
    assert.match(deep.stdout, /validation\s+deny\s+security\.validation\.max_json_depth \[json_too_deep\] @ default\n/);
    assert.match(deep.stdout, /decided by security\.validation\.max_json_depth {2}@ default\n/);
    assert.equal(h.double.requests.length, 0, 'explain never forwards');
  } finally {
    await h.close();
  }
});

test('config show prints the effective policy with origins; digests masked', () => {
  const dir = join(REPO_ROOT, 'config');
  const r = spawnSync(process.execPath, [CLI, 'config', 'show', '--policy', join(dir, 'default.toml'), '--origin'], { encoding: 'utf8', env: { ...process.env, LOLLMSBOT_PORT: '8811' } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^port = 8811 {2}# env LOLLMSBOT_PORT$/m);
  assert.match(r.stdout, /^url = "http:\/\/localhost:9600" {2}# .*default\.toml:\d+$/m);
  assert.match(r.stdout, /^max_json_depth = 64 {2}# (default|.*default\.toml:\d+)$/m);
});

test('verify-audit accepts an intact chain and names the first edited line', async () => {
  const h = await startHarness({ extra: '', env: { LOLLMS_GUARD_AUDIT_KEY: 'chain-key-for-tests' }, policy: (u, d) => basePolicy(u, d).replace('hash_chain = false', 'hash_chain = true') });
  const file = join(h.dir, 'audit.log');
  try {
    for (let i = 0; i < 5; i++) await (await postJson(`${h.url}/v1/chat/completions`, chat(), auth(USER_KEY))).text();
  } finally {
    await h.close();
  }
  const env = { ...process.env, LOLLMS_GUARD_AUDIT_KEY: 'chain-key-for-tests' };
  const ok = spawnSync(process.execPath, [CLI, 'verify-audit', file], { encoding: 'utf8', env });
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  const lines = readFileSync(file, 'utf8').split('\n');
  lines[3] = lines[3].replace('"status_code":200', '"status_code":201');
  writeFileSync(file, lines.join('\n'));
  const bad = spawnSync(process.execPath, [CLI, 'verify-audit', file], { encoding: 'utf8', env });
  assert.equal(bad.status, 1);
  assert.match(bad.stdout, /audit\.log:4:/);
  const wrongKey = spawnSync(process.execPath, [CLI, 'verify-audit', '--key-env', 'NOPE_KEY', file], { encoding: 'utf8', env });
  assert.equal(wrongKey.status, 1);
});

test('server.request_timeout_seconds ends a stream that runs too long', async () => {
  const h = await startHarness({ policy: (u, d) => basePolicy(u, d).replace('shutdown_grace_seconds = 2', 'shutdown_grace_seconds = 2\nrequest_timeout_seconds = 0.4') });
  try {
    h.double.misbehave({ kind: 'chunk_delay', ms: 100 });
    const t0 = Date.now();
    const r = await postJson(`${h.url}/v1/chat/completions`, chat('llama3-8b-instruct', { stream: true }), auth(USER_KEY));
    assert.equal(r.status, 200);
    await r.text().catch(() => '');
    const took = Date.now() - t0;
    assert.ok(took < 2000, `cut after ${took} ms`);
    const lines = await h.auditLines();
    const req = lines.filter((l) => (l.event as { action?: string }).action === 'http_request').at(-1) as { lollms_guard?: { decisions?: Array<{ code?: string }> } };
    assert.ok(req.lollms_guard?.decisions?.some((d) => d.code === 'request_timeout'), 'audited');
  } finally {
    await h.close();
  }
});
