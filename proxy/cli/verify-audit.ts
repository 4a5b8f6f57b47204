// `verify-audit [--key-env NAME] FILE...`: checks the audit hash chain; names the first edited, lost or moved line.
import { existsSync } from 'node:fs';
import { listAuditFiles, verifyAuditFiles } from '../audit/index.js';

const HELP = `Usage: lollms-guard verify-audit [--key-env NAME] FILE [FILE ...]

Checks the hash chain of audit files (logging.security.hash_chain = true). Give the current file to
check it with its rotated (and gzipped) predecessors, oldest first; or list files explicitly.
The HMAC key is read from the environment variable NAME (default LOLLMS_GUARD_AUDIT_KEY); without it
a plain SHA-256 chain is expected.
Exit 0 for an intact chain; 1 with the first bad line as file:line: problem; 2 on a usage error.`;

export interface VerifyIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  env?: NodeJS.ProcessEnv;
}

export async function run(argv: string[], io: VerifyIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  let keyEnv = 'LOLLMS_GUARD_AUDIT_KEY';
  const given: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') {
      io.stdout.write(HELP + '\n');
      return 0;
    }
    if (a === '--key-env') {
      const v = argv[++i];
      if (!v) return usage(io, '--key-env needs a variable name');
      keyEnv = v;
    } else if (a.startsWith('--')) return usage(io, `unknown option "${a}"`);
    else given.push(a);
  }
  if (given.length === 0) return usage(io, 'at least one audit FILE is needed');
  for (const f of given) {
    if (!existsSync(f)) {
      io.stderr.write(`${f}: no such file\n`);
      return 2;
    }
  }
  // One file: the current log with its rotated predecessors, in order.
  const files = given.length === 1 ? listAuditFiles(given[0]) : given;
  const env = io.env ?? process.env;
  const key = env[keyEnv];
  const r = verifyAuditFiles(files.length > 0 ? files : given, key);
  if (r.ok) {
    io.stdout.write(`OK: ${r.lines} line(s) in ${files.length || given.length} file(s), chain intact${r.anchoredAt ? ` from seq ${r.anchoredAt}` : ''}${key ? '' : ` (no key in ${keyEnv}: plain SHA-256 chain)`}\n`);
    return 0;
  }
  const b = r.firstBad!;
  io.stdout.write(`${b.file}:${b.line}: ${b.problem}\n`);
  io.stderr.write(`verify-audit: chain broken after ${r.lines} good line(s)\n`);
  return 1;
}

function usage(io: VerifyIo, msg: string): number {
  io.stderr.write(`lollms-guard verify-audit: ${msg}\n\n${HELP}\n`);
  return 2;
}
