// Policy messages through the real CLI: each bad policy is written to a temp file and given to `validate FILE`,
// `validate --policy FILE`, `serve --policy FILE` and `config show --policy FILE`; every one of them must print
// the same line, naming the file, line, column, key path, the value given and the fix, and nothing internal.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type CliRun } from '../helpers/cli.js';
import { REPO_ROOT } from '../../dev/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'policy-messages-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
/** Writes a policy file (lines joined with "\n") and returns its path. */
function policy(...lines: string[]): string {
  const f = join(dir, `policy-${n++}.toml`);
  writeFileSync(f, `${lines.join('\n')}\n`);
  return f;
}

const ENTRY_POINTS = (f: string): string[][] => [
  ['validate', f], ['validate', '--policy', f], ['serve', '--policy', f], ['config', 'show', '--policy', f],
];
async function run(args: string[]): Promise<{ args: string; code: number | null; err: string; out: string; c: CliRun }> {
  const c = runCli(args);
  const { code } = await c.exited;
  return { args: args.join(' '), code, err: c.stderr(), out: c.stdout(), c };
}

/** Every entry point refuses the file (exit 1) and prints each expected line exactly; no stack trace, no internal path. */
async function refusedEverywhere(file: string, expected: string[]): Promise<void> {
  for (const r of await Promise.all(ENTRY_POINTS(file).map(run))) {
    assert.equal(r.code, 1, `${r.args}: exit ${r.code}\n${r.err}`);
    const lines = r.err.split('\n');
    for (const l of expected) assert.ok(lines.includes(l), `${r.args}: missing line\n${l}\nin\n${r.err}`);
    assert.doesNotMatch(r.err, /^\s+at /m, `${r.args}: stack trace\n${r.err}`);
    assert.ok(!r.err.includes(REPO_ROOT), `${r.args}: internal path in\n${r.err}`);
  }
}

/** `validate` (both forms) and `config show` accept the file. */
async function acceptedEverywhere(file: string): Promise<string> {
  const runs = await Promise.all([['validate', file], ['validate', '--policy', file], ['config', 'show', '--policy', file]].map(run));
  for (const r of runs) assert.equal(r.code, 0, `${r.args}: exit ${r.code}\n${r.err}`);
  return runs[2].out;
}

test('secret_paths: a raw regex is refused with the template built from it', async () => {
  const f = policy('[server.websocket]', 'secret_paths = [', '  "^/ws/[a-f0-9]+$",', '  "/ws/dm/[0-9a-f]{32}",', '  "/ws/dm-{token}",', '  "/ws/dm/{token}",', ']');
  const form = 'a path template: literal segments and whole {name} segments, each {name} standing for one path segment';
  await refusedEverywhere(f, [
    // not starting with "/": the schema's pattern error, explained the same way
    `${f}:3:3 server.websocket.secret_paths.0: "^/ws/[a-f0-9]+$" is a regular expression, but secret_paths takes ${form} (a regex would match only its own text, and the secret would be logged); write "/ws/{token}"`,
    // starting with "/": the semantic check
    `${f}:4:3 server.websocket.secret_paths.1: "/ws/dm/[0-9a-f]{32}" is a regular expression, but secret_paths takes ${form} (a regex would match only its own text, and the secret would be logged); write "/ws/dm/{token}"`,
    `${f}:5:3 server.websocket.secret_paths.2: "/ws/dm-{token}": the placeholder in segment "dm-{token}" must be the whole segment (${form}); write "/ws/{token}"`,
  ]);
  const fixed = policy('[server.websocket]', 'secret_paths = ["/ws/{token}", "/ws/dm/{token}", "/socket/{room}/{key}"]');
  await acceptedEverywhere(fixed);
});

test('user_id_pattern: invalid, catastrophic and unanchored patterns are refused with the pattern to write', async () => {
  const invalid = policy('[security.validation]', 'user_id_pattern = "^[a-z+$"');
  await refusedEverywhere(invalid, [
    `${invalid}:2:1 security.validation.user_id_pattern: must be a valid regular expression, got "^[a-z+$" (Invalid regular expression: /^[a-z+$/: Unterminated character class); check brackets and escapes (in TOML basic strings a backslash is written "\\\\")`,
  ]);
  const slow = policy('[security.validation]', 'user_id_pattern = "^([a-z]+)+$"');
  await refusedEverywhere(slow, [
    `${slow}:2:1 security.validation.user_id_pattern: pattern "^([a-z]+)+$" has a repeat nested inside another repeat (like "(a+)+"), which can backtrack catastrophically; it runs on every request's "user" field, so one crafted value could stall the proxy. Fix: repeat only the inner item, e.g. "(a+)+" becomes "a+", "(\\w+\\s?)+" becomes "[\\w\\s]+"`,
  ]);
  const open = policy('[security.validation]', "user_id_pattern = '[A-Za-z0-9_]{1,64}'");
  await refusedEverywhere(open, [
    `${open}:2:1 security.validation.user_id_pattern: pattern "[A-Za-z0-9_]{1,64}" is not anchored at both ends, so a "user" value passes as soon as any part of it matches; write "^[A-Za-z0-9_]{1,64}$"`,
  ]);
  const alternation = policy('[security.validation]', "user_id_pattern = '^admin|[a-z]+$'");
  await refusedEverywhere(alternation, [
    `${alternation}:2:1 security.validation.user_id_pattern: pattern "^admin|[a-z]+$" is not anchored at both ends, so a "user" value passes as soon as any part of it matches; write "^(?:^admin|[a-z]+$)$"`,
  ]);
  await acceptedEverywhere(policy('[security.validation]', "user_id_pattern = '^(?:admin|[a-z]{1,32})$'"));
});

test('type and range errors name the expected type or bound and the literal to write', async () => {
  const f = policy(
    '[server]', 'port = 70000', 'max_connections_per_ip = -1',
    '[upstream]', 'timeout_seconds = "30"', 'keepalive_expiry_seconds = 0', 'max_connections = 2.5',
    '[upstream.circuit_breaker]', 'enabled = 1',
    '[security.cors]', 'credentials = "false"',
    '[server.websocket]', 'query_key_param = 42',
  );
  await refusedEverywhere(f, [
    `${f}:2:1 server.port: must be an integer <= 65535, got 70000; write port = 65535 (or less)`,
    `${f}:3:1 server.max_connections_per_ip: must be an integer >= 0, got -1; write max_connections_per_ip = 0 (or more)`,
    `${f}:5:1 upstream.timeout_seconds: must be number, got "30" (string); write timeout_seconds = 30 (no quotes)`,
    `${f}:6:1 upstream.keepalive_expiry_seconds: must be a number > 0, got 0; write keepalive_expiry_seconds = 30 (the default; any number above 0)`,
    `${f}:7:1 upstream.max_connections: must be integer, got 2.5 (float); write max_connections = 3 (a whole number)`,
    `${f}:9:1 upstream.circuit_breaker.enabled: must be boolean, got 1 (integer); write enabled = true (a boolean, not a number)`,
    `${f}:11:1 security.cors.credentials: must be boolean, got "false" (string); write credentials = false (no quotes)`,
    `${f}:13:1 server.websocket.query_key_param: must be string, got 42 (integer); write query_key_param = "42" (in quotes)`,
  ]);
});

test('a table where an array of tables belongs says [[x.y]]; a list where one table belongs says [x.y]', async () => {
  const f = policy(
    '[security.authentication.keys]', 'id = "ops"', `sha256 = "${'ab'.repeat(32)}"`,
    '[security.rate_limiting]', 'endpoints = { path = "/v1/*", rate = 5 }',
    '[[upstream]]', 'url = "http://127.0.0.1:9600"',
  );
  await refusedEverywhere(f, [
    `${f}:1:1 security.authentication.keys: must be an array of tables, got a single table; write [[security.authentication.keys]] (double brackets): one per entry, each followed by its keys`,
    `${f}:5:1 security.rate_limiting.endpoints: must be an array of tables, got a single table; write [[security.rate_limiting.endpoints]] (double brackets): one per entry, each followed by its keys`,
    `${f}:6:1 upstream: must be a table, got [{"url":"http://127.0.0.1:9600"}] (array); write [upstream] (single brackets): this is one table, not a list of entries`,
  ]);
});

test('a section or key at the wrong place names where it belongs', async () => {
  const f = policy(
    '[server.upstream]', 'url = "http://127.0.0.1:9600"',
    '[server]', 'timeout_seconds = 30',
    '[websocket]', 'enabled = false',
    '[security.authorization]', 'allow = ["GET /v1/models"]',
    '[security.tls]', 'keys = []',
  );
  await refusedEverywhere(f, [
    `${f}:1:1 server.upstream: unknown key "upstream"; did you mean [upstream]? upstream is not part of [server]: move it there`,
    `${f}:4:1 server.timeout_seconds: unknown key "timeout_seconds"; did you mean timeout_seconds under [upstream]? timeout_seconds is not part of [server]: move it there`,
    `${f}:5:1 websocket: unknown key "websocket"; did you mean [server.websocket]? websocket is not part of the top level: move it there`,
    `${f}:8:1 security.authorization.allow: unknown key "allow"; did you mean allow under [security.authorization.roles.<name>]? allow is not part of [security.authorization]: move it there`,
    `${f}:10:1 security.tls.keys: unknown key "keys"; did you mean [[security.authentication.keys]]? keys is not part of [security.tls]: move it there`,
  ]);
});

test('cors origins: only what the CORS stage can match is accepted, each refusal shows the origin form', async () => {
  const f = policy(
    '[security.cors]', 'origins = [',
    '  "example.com",', '  "https://example.com/app",', '  "https://*.example.com",', '  "null",',
    '  "https://Example.com:443",', '  "localhost:5173",', ']',
  );
  const form = 'an origin is scheme://host[:port], exactly as browsers send it in the Origin header';
  await refusedEverywhere(f, [
    `${f}:3:3 security.cors.origins.0: "example.com" has no scheme (${form}); write "https://example.com"`,
    `${f}:4:3 security.cors.origins.1: "https://example.com/app" has a path, query or fragment, so it would never match (${form}); write "https://example.com"`,
    `${f}:5:3 security.cors.origins.2: "https://*.example.com": wildcards are not supported (origins are matched exactly; ${form}); list each origin, e.g. "https://app.example.com", or "*" alone for any origin (not with credentials)`,
    `${f}:6:3 security.cors.origins.3: "null" is the Origin of sandboxed iframes, file:// pages and cross-origin redirects, which any site can produce, so listing it would trust them all; list the page's real origin, e.g. "https://app.example.com"`,
    `${f}:7:3 security.cors.origins.4: "https://Example.com:443" is not written as browsers send it (lowercase scheme and host, no default port), so it would never match (${form}); write "https://example.com"`,
    `${f}:8:3 security.cors.origins.5: "localhost:5173" has no scheme (${form}); write "http://localhost:5173"`,
  ]);
  // A trailing "/" is dropped by the CORS stage before matching, so it is accepted; so are "*" and other schemes.
  const ok = policy('[security.cors]', 'origins = ["https://example.com/", "http://localhost:3000", "http://[::1]:8080", "chrome-extension://abcdefghijklmnop", "*"]');
  assert.match(await acceptedEverywhere(ok), /^origins = \[ "https:\/\/example\.com\/", /m);
  // The environment list goes through the same check, named by its variable.
  const c = runCli(['validate', '--policy', ok], { LOLLMSBOT_CORS_ORIGINS: 'https://a.example.com,a.example.com' });
  assert.equal((await c.exited).code, 1);
  assert.ok(c.stderr().split('\n').includes(`env LOLLMSBOT_CORS_ORIGINS security.cors.origins.1: "a.example.com" has no scheme (${form}); write "https://a.example.com"`), c.stderr());
});

test('validate takes --policy FILE like serve and config show, repeated and mixed with plain files', async () => {
  const base = policy('[server]', 'port = 0');
  const overlay = policy('[upstream]', 'timeout_seconds = "30"');
  for (const args of [['--policy', base, '--policy', overlay], ['-p', base, overlay], [`--policy=${base}`, overlay]]) {
    const r = await run(['validate', ...args]);
    assert.equal(r.code, 1, `${r.args}\n${r.err}`);
    assert.ok(r.err.split('\n').includes(`${overlay}:2:1 upstream.timeout_seconds: must be number, got "30" (string); write timeout_seconds = 30 (no quotes)`), r.err);
  }
  const ok = await run(['validate', '--policy', base, '-p', base]);
  assert.equal(ok.code, 0, ok.err);
  assert.equal(ok.out, 'OK: 2 file(s) valid\n');
  const missing = await run(['validate', '--policy']);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /^validate: --policy needs a FILE$/m);
  const help = await run(['validate', '--help']);
  assert.match(help.out, /-p, --policy FILE/);
});
