// `lollms-guard gen-key` (new key + ready-to-paste TOML block) and `lollms-guard hash-key` (SHA-256 of a key on stdin).
import { randomBytes, createHash } from 'node:crypto';
import { defaultIo, type CliIo } from './validate.js';

/** Prefix of generated keys: makes them recognisable in secret scanners and logs. */
export const KEY_PREFIX = 'lg_';
const DEFAULT_MIN_LENGTH = 32;

const GEN_USAGE = `Usage: lollms-guard gen-key [--id ID] [--role ROLE]

Prints a new random API key on the first line (so \`| head -1\` gets it), then a
blank line and a [[security.authentication.keys]] block to paste into the
policy. Only the SHA-256 digest goes into the policy; store the key itself in
your secret manager, it is not printed again.

Options:
  --id ID       key id shown in the audit log (default key-<yyyymmdd>-<4 hex>)
  --role ROLE   role granted (default "user"; it must exist in
                [security.authorization.roles])
  -h, --help    show this help
`;

const HASH_USAGE = `Usage: printf '%s' "$KEY" | lollms-guard hash-key

Reads one API key from stdin (trailing newline and whitespace are ignored) and
prints its lower-case hex SHA-256, the value of \`sha256\` in
[[security.authentication.keys]]. The key is read from stdin, never from the
command line, so that it does not show up in the process list or shell history.

Options:
  -h, --help    show this help
`;

/** Lower-case hex SHA-256 of a key, as the policy stores it. */
export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** A new key: prefix + 32 random bytes, base64url (43 characters). */
export function generateKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

const tomlString = (s: string): string => JSON.stringify(s);

/** The block `gen-key` prints; `created` is a TOML local date. */
export function keyBlock(entry: { id: string; sha256: string; role: string; created: string }): string {
  return [
    '[[security.authentication.keys]]',
    `id = ${tomlString(entry.id)}`,
    `sha256 = ${tomlString(entry.sha256)}`,
    `role = ${tomlString(entry.role)}`,
    `created = ${entry.created}`,
    '',
  ].join('\n');
}

/** Parses `--name value` and `--name=value`; returns an error text for anything else. */
function parseOptions(argv: string[], names: string[]): { opts: Record<string, string>; help: boolean; error?: string } {
  const opts: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') return { opts, help: true };
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m || !names.includes(m[1])) return { opts, help: false, error: `unknown argument ${a}` };
    const value = m[2] ?? argv[++i];
    if (value === undefined || value === '') return { opts, help: false, error: `--${m[1]} needs a value` };
    opts[m[1]] = value;
  }
  return { opts, help: false };
}

export async function runGenKey(argv: string[], io: CliIo = defaultIo()): Promise<number> {
  const { opts, help, error } = parseOptions(argv, ['id', 'role']);
  if (help) { io.stdout.write(GEN_USAGE); return 0; }
  if (error) { io.stderr.write(`gen-key: ${error}\n\n${GEN_USAGE}`); return 2; }
  const now = new Date();
  const created = now.toISOString().slice(0, 10);
  const id = opts.id ?? `key-${created.replace(/-/g, '')}-${randomBytes(2).toString('hex')}`;
  const role = opts.role ?? 'user';
  if (id.length > 128 || /[\u0000-\u001f]/.test(id + role)) {
    io.stderr.write('gen-key: --id must be 1-128 printable characters and --role printable\n');
    return 2;
  }
  const key = generateKey();
  io.stdout.write(`${key}\n\n${keyBlock({ id, sha256: hashKey(key), role, created })}`);
  return 0;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream as AsyncIterable<Buffer | string>) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(chunks).toString('utf8');
}

export async function runHashKey(argv: string[], io: CliIo = defaultIo()): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) { io.stdout.write(HASH_USAGE); return 0; }
  if (argv.length > 0) {
    io.stderr.write(`hash-key: the key is read from stdin, not from arguments (got ${argv.length} argument(s))\n\n${HASH_USAGE}`);
    return 2;
  }
  if ((io.stdin as { isTTY?: boolean }).isTTY) io.stderr.write('Paste the key, then press Enter and Ctrl-D:\n');
  const key = (await readAll(io.stdin)).replace(/\s+$/, '');
  if (key === '') {
    io.stderr.write(`hash-key: no key on stdin; pipe one in, e.g. printf '%s' "$KEY" | lollms-guard hash-key\n`);
    return 1;
  }
  if (key.length < DEFAULT_MIN_LENGTH) {
    io.stderr.write(`warning: the key is ${key.length} characters; with the default api_key_min_length (${DEFAULT_MIN_LENGTH}) the proxy refuses it\n`);
  }
  io.stdout.write(`${hashKey(key)}\n`);
  return 0;
}

/** Dispatches `gen-key ...` or `hash-key ...` (argv[0] is the command name). */
export async function run(argv: string[], io: CliIo = defaultIo()): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === 'gen-key') return runGenKey(rest, io);
  if (cmd === 'hash-key') return runHashKey(rest, io);
  const help = `${GEN_USAGE}\n${HASH_USAGE}`;
  if (cmd === '-h' || cmd === '--help') { io.stdout.write(help); return 0; }
  if (cmd === undefined) { io.stderr.write(help); return 2; }
  io.stderr.write(`keys: unknown command ${cmd}; expected gen-key or hash-key\n`);
  return 2;
}
