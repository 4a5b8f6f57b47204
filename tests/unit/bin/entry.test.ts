// The entry point's V8 setting (bin/lollms-guard.js): applied without a complaint from V8, and left to the operator's
// own sizing when NODE_OPTIONS or the command line gives one. A Node whose V8 no longer knows the flag fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { CLI } from '../../helpers/cli.js';
import { REPO_ROOT } from '../../../dev/paths.js';

function genKey(nodeArgs: string[], env: Record<string, string> = {}): { status: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [...nodeArgs, CLI, 'gen-key', '--id', 'entry-test'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env },
    encoding: 'utf8',
  });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

test('bin: the heap growing setting is one V8 knows (no "unrecognized flag")', () => {
  const r = genKey([]);
  assert.equal(r.status, 0, r.err);
  assert.doesNotMatch(r.out + r.err, /unrecognized flag|Try --help/);
  assert.match(r.out, /sha256/);
});

test('bin: heap sizing from NODE_OPTIONS or the node command line starts as well', () => {
  for (const r of [genKey([], { NODE_OPTIONS: '--max-old-space-size=256' }), genKey(['--heap-growing-percent=20']), genKey(['--max_semi_space_size=4'])]) {
    assert.equal(r.status, 0, r.err);
    assert.doesNotMatch(r.out + r.err, /unrecognized flag/);
  }
});
