// `explain`: runs one request through the real pipeline in dry-run mode and prints what each stage decided.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startServer } from '../server.js';
import { PolicyError, formatProblem } from '../../policies/load.js';
import type { Decision, RequestContext } from '../../kernel/context.js';
import { ERRORS } from '../../kernel/errors.js';
import type { CompiledPolicy, ValueOrigin } from '../../kernel/policy.js';
import { decidingDecision } from '../audit/facts.js';
import { originText } from './config-show.js';

const HELP = `Usage: lollms-guard explain --policy FILE [--policy FILE ...] --method M --path P
                            [--header "K: V"]... [--body FILE] [--ip IP] [--json]

Decides one request with the real pipeline, without forwarding it or writing the audit log, and prints
stage by stage what the policy decides and which rule decides it (with the file:line that set it, as
\`config show --origin\` prints it, or "default"), then the final status.
Exit 0 when the request would be allowed, 1 when denied, 2 on a usage error.`;

export interface ExplainIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

interface Args {
  files: string[];
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  ip?: string;
  json: boolean;
}

function parse(argv: string[]): Args | string {
  let v;
  try {
    v = parseArgs({
      args: argv,
      options: {
        policy: { type: 'string', short: 'p', multiple: true, default: [] },
        method: { type: 'string', short: 'X', default: 'GET' },
        path: { type: 'string', default: '' },
        header: { type: 'string', short: 'H', multiple: true, default: [] },
        body: { type: 'string' },
        ip: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
    }).values;
  } catch (e) {
    return (e as Error).message;
  }
  const headers: Record<string, string> = {};
  for (const h of v.header) {
    const c = h.indexOf(':');
    if (c <= 0) return `--header needs "Name: value", got "${h}"`;
    headers[h.slice(0, c).trim()] = h.slice(c + 1).trim();
  }
  if (v.policy.length === 0) return 'at least one --policy FILE is needed';
  if (!v.path.startsWith('/')) return '--path must start with "/"';
  let body: string | undefined;
  try {
    body = v.body === undefined ? undefined : readFileSync(v.body, 'utf8');
  } catch (e) {
    return `--body: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
  }
  return { files: v.policy, method: v.method.toUpperCase(), path: v.path, headers, body, ip: v.ip, json: v.json };
}

export async function run(argv: string[], io: ExplainIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout.write(HELP + '\n');
    return 0;
  }
  const args = parse(argv);
  if (typeof args === 'string') {
    io.stderr.write(`lollms-guard explain: ${args}\n\n${HELP}\n`);
    return 2;
  }
  let seen: { ctx: RequestContext; status: number } | undefined;
  const notes: string[] = [];
  let server;
  try {
    server = await startServer({
      files: args.files,
      watch: false,
      dryRun: { clientIp: args.ip ?? '127.0.0.1' },
      listen: { host: '127.0.0.1', port: 0 },
      say: (l) => notes.push(l),
      onRequest: (ctx, status) => (seen = { ctx, status }),
    });
  } catch (e) {
    if (e instanceof PolicyError) {
      for (const p of e.problems) io.stderr.write(formatProblem(p) + '\n');
      return 2;
    }
    io.stderr.write(`lollms-guard explain: ${(e as Error).message}\n`);
    return 2;
  }
  try {
    const headers: Record<string, string> = { ...args.headers };
    if (args.body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/json';
    const res = await fetch(server.url + args.path, { method: args.method, headers, body: args.body });
    const text = await res.text();
    for (let i = 0; i < 100 && !seen; i++) await new Promise((r) => setTimeout(r, 10));
    const ctx = seen?.ctx;
    const status = res.status;
    const allowed = status < 400;
    let code: string | undefined = ctx?.errorCode;
    if (!code && !allowed) {
      try {
        code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
      } catch {
        code = undefined;
      }
    }
    const policy = server.policy();
    const decisions = ctx?.decisions ?? [];
    const located: Array<Decision & { origin?: string }> = decisions.map((d) => (d.rule === undefined ? d : { ...d, origin: originText(ruleOrigin(policy, d)) }));
    const deciding = located[decisions.indexOf(decidingDecision(decisions)!)];
    const report = {
      request: { method: args.method, path: args.path, normalized_path: ctx?.path, client_ip: ctx?.clientIp },
      policy: { files: policy.files, hash: policy.hash, mode: policy.mode },
      principal: ctx?.principal ? { key_id: ctx.principal.keyId, role: ctx.principal.role, source: ctx.principal.source, stale: ctx.principal.stale ?? false, issuer: ctx.principal.issuer } : null,
      model: ctx?.model ?? null,
      decisions: located,
      decided_by: deciding?.rule === undefined ? null : { rule: deciding.rule, at: deciding.at, origin: deciding.origin },
      redactions: ctx?.redactions ?? [],
      final: { allowed, status, code: code ?? null, message: code && code in ERRORS ? ERRORS[code as keyof typeof ERRORS].message : undefined },
    };
    if (args.json) io.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else io.stdout.write(render(report));
    return allowed ? 0 : 1;
  } finally {
    await server.close();
  }
}

function render(r: {
  request: { method: string; path: string; normalized_path?: string; client_ip?: string };
  policy: { files: readonly string[]; mode: string };
  principal: { key_id: string; role: string; source: string; stale: boolean; issuer?: string } | null;
  model: string | null;
  decisions: ReadonlyArray<{ stage: string; outcome: string; rule?: string; at?: string; code?: string; reason?: string; origin?: string }>;
  decided_by: { rule: string; at?: string; origin?: string } | null;
  redactions: ReadonlyArray<{ kind: string; direction: string; location: string; count: number }>;
  final: { allowed: boolean; status: number; code: string | null; message?: string };
}): string {
  const lines = [
    `request   ${r.request.method} ${r.request.path}${r.request.normalized_path && r.request.normalized_path !== r.request.path ? `  (normalised: ${r.request.normalized_path})` : ''}  from ${r.request.client_ip ?? '?'}`,
    `policy    ${r.policy.files.join(' + ')}  (mode ${r.policy.mode})`,
    `principal ${r.principal ? `${r.principal.key_id} (role ${r.principal.role}, ${r.principal.source}${r.principal.issuer ? ` from ${r.principal.issuer}` : ''}${r.principal.stale ? ', stale' : ''})` : 'none'}`,
  ];
  if (r.model) lines.push(`model     ${r.model}`);
  lines.push('', 'stage                     outcome     rule / reason');
  for (const d of r.decisions) {
    const what = [d.rule, d.at !== undefined ? `(${d.at})` : '', d.code ? `[${d.code}]` : '', d.reason ? `- ${d.reason}` : '', d.origin ? `@ ${d.origin}` : ''].filter(Boolean).join(' ');
    lines.push(`${d.stage.padEnd(25)} ${d.outcome.padEnd(11)} ${what}`);
  }
  for (const x of r.redactions) lines.push(`${'redaction'.padEnd(25)} ${'modify'.padEnd(11)} ${x.kind} x${x.count} in ${x.direction} ${x.location}`);
  if (r.decided_by) lines.push('', `decided by ${r.decided_by.rule}${r.decided_by.at !== undefined ? ` (${r.decided_by.at})` : ''}  @ ${r.decided_by.origin ?? 'default'}`);
  lines.push('', r.final.allowed ? `ALLOWED   ${r.final.status}` : `DENIED    ${r.final.status} ${r.final.code ?? ''}${r.final.message ? ` - ${r.final.message}` : ''}`);
  return lines.join('\n') + '\n';
}

/**
 * Where the key a decision names was set: the key's own origin; for a table (or an array-of-tables entry named
 * by `at`), the first line in a file that sets something under it. An env override wins; nothing set is "default".
 */
export function ruleOrigin(policy: CompiledPolicy, d: Pick<Decision, 'rule' | 'at'>): ValueOrigin | undefined {
  if (d.rule === undefined) return undefined;
  let key: string = d.rule;
  const value = d.rule.split('.').reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), policy.raw);
  if (d.at !== undefined && Array.isArray(value)) {
    // An entry of an array of tables is named by one of its own values (a key id, an issuer, an endpoint glob).
    const i = value.findIndex((e) => e !== null && typeof e === 'object' && Object.values(e as Record<string, unknown>).includes(d.at));
    if (i >= 0) key = `${d.rule}.${i}`;
  }
  const own = policy.origins.get(key);
  if (own && own.source !== 'default') return own;
  let best: ValueOrigin | undefined;
  for (const [k, o] of policy.origins) {
    if (k !== key && !k.startsWith(`${key}.`)) continue;
    if (o.source === 'env') return o;
    if (o.source === 'file' && (!best || (o.file === best.file ? (o.line ?? 0) < (best.line ?? 0) : policy.files.indexOf(o.file ?? '') > policy.files.indexOf(best.file ?? '')))) best = o;
  }
  return best ?? own;
}
