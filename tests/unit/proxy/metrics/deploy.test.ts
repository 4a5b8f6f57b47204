// The deploy kit stays true to the code: YAML parses, dashboards and alerts name real metrics, the Dockerfile's inputs exist.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createMetrics } from '../../../../proxy/metrics/index.js';
import { loadPolicy } from '../../../../policies/load.js';
import { REPO_ROOT } from '../../../../dev/paths.js';

const DEPLOY = join(REPO_ROOT, 'deploy');
const read = (p: string): string => readFileSync(join(DEPLOY, p), 'utf8');

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}
const yamlFiles = walk(DEPLOY).filter((p) => /\.ya?ml$/.test(p));

type YamlLib = { parseAllDocuments(src: string): Array<{ errors: unknown[]; toJS(): unknown }> };
async function yamlLib(): Promise<YamlLib | undefined> {
  const name = 'yaml'; // not a declared dependency yet: resolved at run time, skipped when absent
  try {
    return (await import(name)) as YamlLib;
  } catch {
    return undefined;
  }
}

function promtool(): string | undefined {
  const r = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? 'promtool' : undefined;
}

async function exportedNames(): Promise<Set<string>> {
  const m = createMetrics();
  return new Set((await m.registry.getMetricsAsJSON()).map((x) => x.name));
}

/** lollms_guard_* names in a text, histogram series suffixes folded onto the metric they belong to. */
function referenced(text: string, known: Set<string>): Set<string> {
  const out = new Set<string>();
  for (const [name] of text.matchAll(/lollms_guard_[a-z0-9_]*[a-z0-9]/g)) {
    const base = name.replace(/_(bucket|sum|count)$/, '');
    out.add(known.has(name) ? name : base);
  }
  return out;
}

test('every YAML file under deploy/ parses', async (t) => {
  assert.ok(yamlFiles.length >= 15, `found ${yamlFiles.length} YAML files`);
  const Y = await yamlLib();
  if (!Y) return t.skip('the "yaml" package is not installed (add it as a devDependency to check YAML syntax)');
  for (const f of yamlFiles) {
    const docs = Y.parseAllDocuments(readFileSync(f, 'utf8'));
    for (const d of docs) assert.deepEqual(d.errors, [], relative(REPO_ROOT, f));
  }
  const compose = Y.parseAllDocuments(read('compose.yaml'))[0].toJS() as { services: Record<string, unknown> };
  for (const s of ['guard-1', 'guard-2', 'redis', 'prometheus', 'grafana']) assert.ok(s in compose.services, `compose service ${s}`);
  const kinds = walk(join(DEPLOY, 'k8s')).flatMap((f) => Y.parseAllDocuments(readFileSync(f, 'utf8')).map((d) => (d.toJS() as { kind: string }).kind));
  for (const k of ['Deployment', 'ConfigMap', 'Secret', 'Service', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'NetworkPolicy']) assert.ok(kinds.includes(k), k);
});

test('the Grafana dashboard parses and names only metrics the module exports', async () => {
  const known = await exportedNames();
  const text = read('grafana/lollms-guard.json');
  const dash = JSON.parse(text) as { panels: Array<{ targets?: Array<{ expr: string }> }> };
  assert.ok(dash.panels.length > 10);
  const names = referenced(text, known);
  assert.ok(names.size >= 15, `dashboard uses ${names.size} metrics`);
  for (const n of names) assert.ok(known.has(n), `dashboard names ${n}, which the registry does not export`);
});

test('alert rules reference only exported metrics, and cover the required conditions', async () => {
  const known = await exportedNames();
  const text = read('prometheus/alerts.yml');
  for (const n of referenced(text, known)) assert.ok(known.has(n), `alerts.yml names ${n}, which the registry does not export`);
  for (const m of ['requests_total', 'auth_failures_total', 'rate_limit_rejections_total', 'audit_lines_total{state="spooled"}', 'circuit_open', 'policy_reloads_total{result="failed"}']) {
    assert.ok(text.includes('lollms_guard_' + m), `an alert on lollms_guard_${m}`);
  }
});

test('promtool accepts the rules, their unit tests, the scrape config and the dashboard queries', (t) => {
  const tool = promtool();
  if (!tool) {
    const why = 'promtool not on PATH (Debian: apt-get install -y prometheus)';
    if (process.env.LOLLMS_GUARD_REQUIRE_E2E === '1') assert.fail(`LOLLMS_GUARD_REQUIRE_E2E=1 but ${why}`);
    return t.skip(why);
  }
  const run = (...args: string[]): void => {
    execFileSync(tool, args, { cwd: DEPLOY, stdio: 'pipe' });
  };
  run('check', 'rules', 'prometheus/alerts.yml');
  run('test', 'rules', 'prometheus/alerts.test.yml');
  run('check', 'config', 'prometheus/prometheus.yml');
  // Dashboard PromQL: Grafana variables filled in, checked as recording rules (JSON is valid YAML).
  const dash = JSON.parse(read('grafana/lollms-guard.json')) as { panels: Array<{ targets?: Array<{ expr: string }> }> };
  const rules = dash.panels.flatMap((p) => p.targets ?? []).map((tg, i) => ({
    record: `dashboard:expr_${i}`,
    expr: tg.expr.replaceAll('$__rate_interval', '5m').replaceAll('$__range', '1h').replaceAll('$instance', '.*'),
  }));
  const dir = mkdtempSync(join(tmpdir(), 'lg-dash-'));
  try {
    writeFileSync(join(dir, 'rules.yml'), JSON.stringify({ groups: [{ name: 'dashboard', rules }] }));
    run('check', 'rules', join(dir, 'rules.yml'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Dockerfile instructions, continuation lines joined, comments dropped. */
function dockerInstructions(text: string): Array<{ op: string; args: string }> {
  const joined = text.split('\n').filter((l) => !/^\s*#/.test(l)).join('\n').replace(/\\\n/g, ' ');
  return joined.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => {
    const i = l.search(/\s/);
    return { op: l.slice(0, i).toUpperCase(), args: l.slice(i + 1).trim() };
  });
}

test('the Dockerfile copies files that exist, runs scripts that exist, and runs as non-root', () => {
  const ins = dockerInstructions(read('Dockerfile'));
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const ignored = read('Dockerfile.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  let copies = 0;
  for (const { op, args } of ins) {
    if (op === 'COPY' || op === 'ADD') {
      const parts = args.split(/\s+/);
      if (parts.some((p) => p.startsWith('--from='))) continue;
      const srcs = parts.filter((p) => !p.startsWith('--')).slice(0, -1);
      for (const s of srcs) {
        copies += 1;
        const clean = s.replace(/\/$/, '');
        assert.ok(existsSync(join(REPO_ROOT, clean)), `COPY source ${s} exists in the repo`);
        const excluded = ignored.includes(clean) && !ignored.includes('!' + clean);
        assert.ok(!excluded, `COPY source ${s} is excluded by Dockerfile.dockerignore`);
      }
    }
    if (op === 'RUN') {
      for (const [, script] of args.matchAll(/npm run(?:-script)? ([\w:-]+)/g)) assert.ok(script in pkg.scripts, `npm run ${script} exists in package.json`);
    }
  }
  assert.ok(copies >= 6);
  const runs = ins.filter((i) => i.op === 'RUN').map((i) => i.args);
  assert.ok(runs.some((r) => /npm ci --omit=dev --ignore-scripts/.test(r)), 'runtime installs without dev deps and without "prepare"');
  assert.ok(runs.some((r) => /npm ci --ignore-scripts/.test(r)) && runs.some((r) => /npm run build/.test(r)), 'build stage: npm ci then npm run build');
  assert.equal(ins.filter((i) => i.op === 'FROM').length, 2, 'multi-stage');
  const user = ins.filter((i) => i.op === 'USER').pop()?.args ?? 'root';
  assert.ok(!/^(root|0)(:|$)/.test(user), `final USER ${user} is not root`);
  const health = ins.find((i) => i.op === 'HEALTHCHECK')?.args ?? '';
  assert.match(health, /node/);
  assert.match(health, /127\.0\.0\.1:8800\/health/);
  const entry = ins.find((i) => i.op === 'ENTRYPOINT')?.args ?? '';
  assert.deepEqual(JSON.parse(entry), ['node', 'bin/lollms-guard.js', 'serve', '--policy', '/etc/lollms-guard/policy.toml']);
  assert.ok(existsSync(join(REPO_ROOT, 'bin/lollms-guard.js')));
});

test('the container policy is valid, listens on 0.0.0.0, and the ConfigMap carries it verbatim', () => {
  const env = { LOLLMS_GUARD_REDIS_URL: 'redis://127.0.0.1:6379', LOLLMS_GUARD_AUDIT_KEY: 'k'.repeat(64) };
  const policy = loadPolicy([join(DEPLOY, 'policy.toml')], env);
  assert.equal(policy.raw.server.host, '0.0.0.0');
  assert.equal(policy.raw.server.port, 8800);
  assert.equal(policy.raw.monitoring.metrics_host, '0.0.0.0');
  assert.equal(policy.raw.logging.security.file_path, '/var/log/lollms-guard/audit.log');
  const cm = read('k8s/configmap.yaml');
  const at = cm.indexOf('  policy.toml: |\n');
  assert.ok(at > 0, 'configmap has data.policy.toml as a block scalar');
  const block = cm.slice(at + '  policy.toml: |\n'.length).split('\n').map((l) => l.replace(/^ {4}/, '')).join('\n');
  assert.equal(block, read('policy.toml'));
});

test('compose and k8s mount what exists; probes and hardening are in place', () => {
  const compose = read('compose.yaml');
  for (const [, src] of compose.matchAll(/^\s*- (\.\/[^:]+):/gm)) assert.ok(existsSync(join(DEPLOY, src)), `compose mounts ${src}`);
  assert.match(compose, /dockerfile: deploy\/Dockerfile/);
  const dep = read('k8s/deployment.yaml');
  for (const s of ['readinessProbe', 'livenessProbe', 'path: /health', 'readOnlyRootFilesystem: true', 'runAsNonRoot: true', 'allowPrivilegeEscalation: false', 'secretRef']) {
    assert.ok(dep.includes(s), `deployment has ${s}`);
  }
  const secret = read('k8s/secret.example.yaml');
  for (const k of ['LOLLMS_API_KEY', 'LOLLMS_GUARD_REDIS_URL', 'LOLLMS_GUARD_AUDIT_KEY']) assert.ok(secret.includes(k + ':'), k);
  const kust = read('k8s/kustomization.yaml');
  for (const [, f] of kust.matchAll(/^\s*- ([\w.-]+\.yaml)$/gm)) assert.ok(existsSync(join(DEPLOY, 'k8s', f)), `kustomization lists ${f}`);
});

test('systemd unit is hardened; log shippers read the audit file', () => {
  const unit = read('systemd/lollms-guard.service');
  for (const s of ['NoNewPrivileges=yes', 'ProtectSystem=strict', 'ProtectHome=yes', 'PrivateTmp=yes', 'CapabilityBoundingSet=', 'ExecReload=/bin/kill -HUP $MAINPID']) {
    assert.ok(unit.includes(s), `unit has ${s}`);
  }
  assert.match(unit, /^ExecStart=\S*node \S*bin\/lollms-guard\.js serve --policy \S+$/m);
  assert.doesNotMatch(unit, /^MemoryDenyWriteExecute=yes/m, 'V8 needs W+X pages');
  for (const f of ['filebeat.yml', 'fluent-bit.conf']) {
    const s = read(f);
    assert.match(s, /logs\/audit\.log/, `${f} reads logs/audit.log`);
    assert.match(s, /\/var\/log\/lollms-guard\/audit\.log/, `${f} reads the container audit path`);
  }
  assert.match(read('filebeat.yml'), /ndjson:/);
  const parsers = /Parsers_File\s+(\S+)/.exec(read('fluent-bit.conf'))?.[1];
  assert.ok(parsers && existsSync(join(DEPLOY, parsers)), 'fluent-bit parsers file exists next to it');
  assert.match(read(parsers), /Name\s+lollms_guard_ecs/);
});
