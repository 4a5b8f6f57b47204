// `config show`: the effective policy (overlays, env overrides, defaults) as TOML, secrets masked, origins on demand.
import { parseArgs } from 'node:util';
import { stringify } from 'smol-toml';
import { loadPolicy, PolicyError, formatProblem } from '../../policies/load.js';
import type { ValueOrigin } from '../../kernel/policy.js';

const HELP = `Usage: lollms-guard config show --policy FILE [--policy FILE ...] [--origin]

Prints the policy that would really run: files overlaid in order, environment overrides applied,
defaults filled in. Key digests and fingerprints are masked. With --origin every value is followed by
where it came from: file:line, env VAR, or default.`;

export interface ShowIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

const MASKED_KEYS = new Set(['sha256', 'fingerprint_sha256']);

type Tree = Record<string, unknown>;
const isTable = (v: unknown): v is Tree => v !== null && typeof v === 'object' && !Array.isArray(v);
const isTableArray = (v: unknown): v is Tree[] => Array.isArray(v) && v.length > 0 && v.every(isTable);

function mask(key: string, v: unknown): unknown {
  if (MASKED_KEYS.has(key) && typeof v === 'string' && v.length > 12) return `${v.slice(0, 6)}…${v.slice(-4)}`;
  return v;
}

const TOML_DATE = /^\d{4}-\d{2}-\d{2}(?:[Tt ][\d:.]+(?:[Zz]|[+-]\d{2}:\d{2})?)?$/;

function scalar(key: string, v: unknown): string {
  // The loader keeps TOML dates as strings: print them back as TOML dates.
  if ((key === 'created' || key === 'expires') && typeof v === 'string' && TOML_DATE.test(v)) return `${key} = ${v}`;
  return stringify({ [key]: v }).trim();
}

export function originText(o: ValueOrigin | undefined): string {
  if (!o || o.source === 'default') return 'default';
  if (o.source === 'env') return `env ${o.env}`;
  return `${o.file}:${o.line}`;
}

/** Renders a table: scalars first, then sub-tables, then arrays of tables (TOML's ordering rules). */
export function renderToml(tree: Tree, origins: ReadonlyMap<string, ValueOrigin> | null, prefix: string[] = [], out: string[] = []): string[] {
  const path = (k: string): string => [...prefix, k].join('.');
  const scalars = Object.entries(tree).filter(([, v]) => !isTable(v) && !isTableArray(v));
  if (prefix.length > 0 && (scalars.length > 0 || Object.keys(tree).length === 0)) out.push('', `[${prefix.map(quoteKey).join('.')}]`);
  for (const [k, v] of scalars) {
    const line = scalar(quoteKey(k), mask(k, v));
    out.push(origins ? `${line}  # ${originText(origins.get(path(k)))}` : line);
  }
  for (const [k, v] of Object.entries(tree)) if (isTable(v)) renderToml(v, origins, [...prefix, k], out);
  for (const [k, v] of Object.entries(tree)) {
    if (!isTableArray(v)) continue;
    v.forEach((item, i) => {
      out.push('', `[[${[...prefix, k].map(quoteKey).join('.')}]]`);
      for (const [ik, iv] of Object.entries(item)) {
        if (isTable(iv) || isTableArray(iv)) continue;
        const line = scalar(quoteKey(ik), mask(ik, iv));
        out.push(origins ? `${line}  # ${originText(origins.get([...prefix, k, String(i), ik].join('.')))}` : line);
      }
    });
  }
  return out;
}

function quoteKey(k: string): string {
  return /^[A-Za-z0-9_-]+$/.test(k) ? k : JSON.stringify(k);
}

export async function run(argv: string[], io: ShowIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h' || sub === undefined) {
    io.stdout.write(HELP + '\n');
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'show') {
    io.stderr.write(`lollms-guard config: unknown subcommand "${sub}"\n\n${HELP}\n`);
    return 2;
  }
  let values;
  try {
    ({ values } = parseArgs({
      args: rest,
      options: { policy: { type: 'string', short: 'p', multiple: true, default: [] }, origin: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
    }));
  } catch (e) {
    return usage(io, (e as Error).message);
  }
  if (values.help) {
    io.stdout.write(HELP + '\n');
    return 0;
  }
  const files = values.policy;
  const withOrigin = values.origin;
  if (files.length === 0) return usage(io, 'at least one --policy FILE is needed');
  try {
    const p = loadPolicy(files);
    const head = [`# Effective policy from ${p.files.join(' + ')} (sha256 ${p.hash.slice(0, 16)}…, mode ${p.mode})`];
    io.stdout.write([...head, ...renderToml(p.raw as unknown as Tree, withOrigin ? p.origins : null)].join('\n') + '\n');
    return 0;
  } catch (e) {
    if (e instanceof PolicyError) {
      for (const pr of e.problems) io.stderr.write(formatProblem(pr) + '\n');
      return 1;
    }
    io.stderr.write(`lollms-guard config show: ${(e as Error).message}\n`);
    return 1;
  }
}

function usage(io: ShowIo, msg: string): number {
  io.stderr.write(`lollms-guard config show: ${msg}\n\n${HELP}\n`);
  return 2;
}
