// `serve --policy FILE [--policy FILE ...]`: starts the proxy; SIGHUP reloads, SIGTERM/SIGINT drain and exit 0.
import { parseArgs } from 'node:util';
import { startServer } from '../server.js';
import { PolicyError, formatProblem } from '../../policies/load.js';

const HELP = `Usage: lollms-guard serve --policy FILE [--policy FILE ...]

Starts the proxy. Later policy files overlay earlier ones (tables merge, values replace).
Environment: LOLLMS_HOST_ADDRESS, LOLLMSBOT_HOST, LOLLMSBOT_PORT, LOLLMSBOT_CORS_ORIGINS,
LOLLMSBOT_API_KEY (one extra admin key), the upstream key variable named by upstream.api_key_env,
and LOLLMS_GUARD__SECTION__KEY=value for any policy key.
Signals: SIGHUP re-reads the policy; SIGTERM/SIGINT stop accepting, let streams finish, flush the audit.`;

export async function run(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { policy: { type: 'string', short: 'p', multiple: true, default: [] }, help: { type: 'boolean', short: 'h', default: false } } }));
  } catch (e) {
    return usage((e as Error).message);
  }
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  const files = values.policy;
  if (files.length === 0) return usage('at least one --policy FILE is needed');
  let server;
  try {
    server = await startServer({ files });
  } catch (e) {
    if (e instanceof PolicyError) {
      for (const p of e.problems) process.stderr.write(formatProblem(p) + '\n');
      process.stderr.write(`lollms-guard: the policy is not valid (${e.problems.length} problem(s)); nothing was started.\n`);
      return 1;
    }
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE' || err.code === 'EACCES' || err.code === 'EADDRNOTAVAIL') {
      process.stderr.write(`lollms-guard: cannot listen: ${err.code} (${err.message}). Change server.host / server.port (or LOLLMSBOT_HOST / LOLLMSBOT_PORT).\n`);
      return 1;
    }
    process.stderr.write(`lollms-guard: could not start: ${err.message}\n`);
    return 1;
  }
  process.stderr.write(`lollms-guard listening on ${server.url} -> ${server.policy().raw.upstream.url} (mode ${server.policy().mode})\n`);
  process.on('SIGHUP', () => {
    void server.reload().then((r) => {
      if (r.ok) process.stderr.write('lollms-guard: policy reloaded\n');
      else {
        for (const p of r.problems ?? []) process.stderr.write(p + '\n');
        process.stderr.write('lollms-guard: reload refused, still serving the previous policy\n');
      }
    });
  });
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.stderr.write('lollms-guard: shutting down\n');
      void server.close().then(resolve);
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  return 0;
}

function usage(msg: string): number {
  process.stderr.write(`lollms-guard serve: ${msg}\n\n${HELP}\n`);
  return 2;
}
