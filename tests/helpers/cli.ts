// Runs the real CLI (node bin/lollms-guard.js ...) as a child process, for start-up, env and signal tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../../dev/paths.js';

export const CLI = join(REPO_ROOT, 'bin', 'lollms-guard.js');

export interface CliRun {
  readonly child: ChildProcess;
  stderr(): string;
  stdout(): string;
  /** Resolves with the proxy URL once "listening on URL" is printed; rejects if the process exits first. */
  readonly listening: Promise<string>;
  /** Resolves with the exit code (null when killed by a signal) and signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Kills the child if it is still running (SIGKILL). */
  kill(): void;
}

/**
 * Spawns the CLI with a clean environment: only PATH/HOME and what `env` adds, so the developer's
 * LOLLMSBOT_* or LOLLMS_GUARD__* variables never leak into a test.
 */
export function runCli(args: readonly string[], env: Record<string, string> = {}, timeoutMs = 15_000): CliRun {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  let out = '';
  child.stderr!.setEncoding('utf8');
  child.stdout!.setEncoding('utf8');
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  void exited.then(() => clearTimeout(timer));
  const listening = new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (s: string) => {
      err += s;
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) resolve(m[1]);
    });
    void exited.then(({ code, signal }) => reject(new Error(`CLI exited (${code ?? signal}) before listening:\n${err}`)));
  });
  listening.catch(() => undefined);
  child.stdout!.on('data', (s: string) => {
    out += s;
  });
  return {
    child,
    stderr: () => err,
    stdout: () => out,
    listening,
    exited,
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
