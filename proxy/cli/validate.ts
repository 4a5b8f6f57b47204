// `lollms-guard validate [--policy] FILE [...]`: loads policy files as `serve` would and prints every problem.
import { readFileSync } from 'node:fs';
import { loadPolicy, formatProblem, PolicyError } from '../../policies/load.js';
import type { CompiledPolicy } from '../../kernel/policy.js';
import { cipherKeyProblem } from '../tls.js';

/** The streams a CLI command talks to; tests pass their own. */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly stdin: NodeJS.ReadableStream;
  readonly env?: NodeJS.ProcessEnv;
}

export const defaultIo = (): CliIo => ({ stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env });

const USAGE = `Usage: lollms-guard validate [--no-env] FILE [FILE ...]
       lollms-guard validate [--no-env] --policy FILE [--policy FILE ...]

Checks policy files the way \`serve\` loads them: later files overlay earlier
ones (tables merge key by key, arrays and values replace), then environment
overrides apply (LOLLMS_HOST_ADDRESS, LOLLMSBOT_HOST, LOLLMSBOT_PORT,
LOLLMSBOT_CORS_ORIGINS, LOLLMS_GUARD__SECTION__KEY=value), then the schema
and semantic checks run. Every problem is printed, one per line:

  file:line:col key.path: message

Options:
  -p, --policy FILE  a policy file, as \`serve\` and \`config show\` take it; may be
                     repeated and mixed with plain FILE arguments (kept in order)
  --no-env           ignore environment overrides (check the files alone)
  -h, --help         show this help

Exit status: 0 valid, 1 invalid or unreadable, 2 usage error.
`;

export async function run(argv: string[], io: CliIo = defaultIo()): Promise<number> {
  const files: string[] = [];
  let useEnv = true;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') { io.stdout.write(USAGE); return 0; }
    if (a === '--no-env') useEnv = false;
    else if (a === '--policy' || a === '-p' || a.startsWith('--policy=')) {
      const f = a.startsWith('--policy=') ? a.slice('--policy='.length) : argv[++i];
      if (f === undefined || f === '') {
        io.stderr.write(`validate: --policy needs a FILE\n\n${USAGE}`);
        return 2;
      }
      files.push(f);
    } else if (a.startsWith('-') && a !== '-') {
      io.stderr.write(`validate: unknown option ${a}\n\n${USAGE}`);
      return 2;
    } else files.push(a);
  }
  if (files.length === 0) {
    io.stderr.write(`validate: no policy file given\n\n${USAGE}`);
    return 2;
  }
  try {
    const policy = loadPolicy(files, useEnv ? (io.env ?? process.env) : {});
    for (const w of policy.warnings) io.stderr.write(`warning: ${w}\n`);
    const tlsWarning = tlsCheck(policy);
    if (tlsWarning) io.stderr.write(`warning: ${tlsWarning}\n`);
    io.stdout.write(`OK: ${files.length} file(s) valid\n`);
    return 0;
  } catch (e) {
    if (!(e instanceof PolicyError)) throw e;
    for (const p of e.problems) io.stderr.write(`${formatProblem(p)}\n`);
    const n = e.problems.length;
    io.stderr.write(`${n} problem${n === 1 ? '' : 's'} found; policy not valid\n`);
    return 1;
  }
}

/** TLS 1.2 suites that cannot use the certificate's key (read from cert_file when TLS is on), with its position. */
function tlsCheck(policy: CompiledPolicy): string | undefined {
  const s = policy.raw.security.tls;
  if (!s.enabled) return undefined;
  let pem: Buffer;
  try {
    pem = readFileSync(s.cert_file);
  } catch (e) {
    return `security.tls.cert_file "${s.cert_file}" cannot be read here (${(e as NodeJS.ErrnoException).code ?? 'error'}): the cipher suites were not checked against it, and serve will refuse to start without it`;
  }
  const problem = cipherKeyProblem(s, pem);
  if (!problem) return undefined;
  const o = policy.origins.get('security.tls.ciphers.tls12');
  return o?.file ? `${o.file}:${o.line ?? 0}:${o.col ?? 0} ${problem}` : problem;
}
