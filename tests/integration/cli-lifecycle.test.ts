// The real CLI as a child process: SIGTERM drains streams and exits 0; first start generates an admin key once.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { basePolicy, sha, USER_KEY } from '../../dev/harness.js';
import { startLollmsDouble, type LollmsDouble } from '../../dev/doubles/lollms-double.js';
import { runCli, type CliRun } from '../helpers/cli.js';
import { requestLines, waitFor } from '../helpers/http.js';

const running: CliRun[] = [];
const doubles: LollmsDouble[] = [];
after(async () => {
  for (const c of running) c.kill();
  for (const d of doubles) await d.close();
});
async function double(): Promise<LollmsDouble> {
  const d = await startLollmsDouble();
  doubles.push(d);
  return d;
}
function cli(args: string[], env: Record<string, string> = {}): CliRun {
  const c = runCli(args, env);
  running.push(c);
  return c;
}
const refused = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
  });

test('SIGTERM: an in-flight stream finishes, new connections are refused, exit 0, the stream is audited', async () => {
  const d = await double();
  const dir = mkdtempSync(join(tmpdir(), 'lollms-guard-cli-'));
  const file = join(dir, 'policy.toml');
  writeFileSync(file, basePolicy(d.url, dir));
  const text = 'ab cde fg hij';
  d.setResponseText(text);
  d.misbehave({ kind: 'chunk_delay', ms: 400 });
  const c = cli(['serve', '--policy', file], { TEST_UPSTREAM_KEY: 'upstream-secret-value-123' });
  const url = await c.listening;
  const port = Number(new URL(url).port);

  const req = http.request(`${url}/v1/chat/completions`, {
    method: 'POST',
    agent: false,
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${USER_KEY}`, 'X-Request-ID': 'drain-me-1' },
  });
  req.end(JSON.stringify({ model: 'llama3-8b-instruct', messages: [{ role: 'user', content: 'hi' }], stream: true }));
  const [res] = (await once(req, 'response')) as [http.IncomingMessage];
  assert.equal(res.statusCode, 200);
  let body = '';
  let ended = false;
  res.setEncoding('utf8');
  res.on('data', (s: string) => (body += s));
  const done = once(res, 'end').then(() => (ended = true));
  await waitFor(() => body.length > 0, 2000);

  c.child.kill('SIGTERM');
  let isRefused = false;
  // The child needs a moment to handle the signal (longer on a loaded machine): poll while the stream runs.
  for (let i = 0; i < 200 && !isRefused && !ended; i++) {
    isRefused = await refused(port);
    if (!isRefused) await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(isRefused, 'new connections are refused once SIGTERM arrived');
  assert.equal(ended, false, 'the refusal was checked while the stream was still running');

  await done;
  const content = body.split('\n').filter(Boolean).map((l) => JSON.parse(l).choices[0].delta.content ?? '').join('');
  assert.equal(content, text, 'the stream finished whole');
  const { code, signal } = await c.exited;
  assert.equal(signal, null);
  assert.equal(code, 0, `exit code; stderr:\n${c.stderr()}`);
  assert.match(c.stderr(), /shutting down/);
  const lines = requestLines(readFileSync(join(dir, 'audit.log'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)));
  const line = lines.find((l) => l.http?.request?.id === 'drain-me-1');
  assert.ok(line, 'the stream has its audit line');
  assert.equal(line.http.response.status_code, 200);
  assert.notEqual(line.lollms_guard?.aborted, true);
});

function minimalPolicy(upstream: string, dir: string): string {
  return `
[server]
host = "127.0.0.1"
port = 0
state_dir = "${join(dir, 'state')}"
shutdown_grace_seconds = 1

[upstream]
url = "${upstream}"

[security.authentication]
require_api_key = true

[security.rate_limiting]
enabled = false

[logging.security]
output = "file"
file_path = "${join(dir, 'audit.log')}"
hash_chain = false

[monitoring]
metrics_enabled = false
`;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

async function stop(c: CliRun): Promise<void> {
  c.child.kill('SIGTERM');
  const { code } = await c.exited;
  assert.equal(code, 0, c.stderr());
}

test('first start without keys: an admin key printed once, only its sha256 kept, reused later without printing', async () => {
  const d = await double();
  const dir = mkdtempSync(join(tmpdir(), 'lollms-guard-first-'));
  const file = join(dir, 'policy.toml');
  writeFileSync(file, minimalPolicy(d.url, dir));

  const first = cli(['serve', '--policy', file]);
  const url1 = await first.listening;
  const m = /^\s*(lg_[A-Za-z0-9_-]{20,})\s*$/m.exec(first.stderr());
  assert.ok(m, `a key is printed on stderr:\n${first.stderr()}`);
  const key = m[1];
  assert.match(first.stderr(), /gen-key/, 'with a line on how to replace it');
  assert.equal(first.stdout().includes(key), false, 'the key goes to stderr only');
  const stored = readFileSync(join(dir, 'state', 'admin-key.sha256'), 'utf8').trim();
  assert.equal(stored, sha(key), 'only the sha256 is stored');
  assert.equal((await fetch(`${url1}/list_models`)).status, 401, 'a key is required');
  const ok1 = await fetch(`${url1}/list_models`, { headers: { Authorization: `Bearer ${key}` } });
  assert.equal(ok1.status, 200, 'the generated key is an admin key');
  await ok1.text();
  await stop(first);

  const second = cli(['serve', '--policy', file]);
  const url2 = await second.listening;
  assert.equal(second.stderr().includes(key), false, 'the key is not printed again');
  assert.doesNotMatch(second.stderr(), /generated/);
  const ok2 = await fetch(`${url2}/v1/models`, { headers: { 'X-API-Key': key } });
  assert.equal(ok2.status, 200, 'the same key works after a restart');
  await ok2.text();
  await stop(second);
  assert.equal(readFileSync(join(dir, 'state', 'admin-key.sha256'), 'utf8').trim(), stored, 'the digest is reused, not replaced');
  for (const f of filesUnder(dir)) assert.equal(readFileSync(f, 'utf8').includes(key), false, `${f} must not hold the key`);
});
