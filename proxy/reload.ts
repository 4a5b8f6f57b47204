// Reload: re-read the policy files (on change or SIGHUP), name the restart-only keys, swap in the new generation.
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve as resolvePath } from 'node:path';
import type { CompiledPolicy } from '../kernel/policy.js';
import { formatProblem, loadPolicy, PolicyError } from '../policies/load.js';
import type { Generation, Generations } from './generation.js';
import type { Metrics } from './metrics/index.js';
import type { CircuitBreaker } from './upstream/circuit.js';

export interface ReloadResult {
  readonly ok: boolean;
  /** file:line:col messages of an invalid policy. */
  readonly problems?: string[];
  /** Keys that changed but only take effect after a restart (listen address and port...). */
  readonly restartNeeded?: string[];
}

export interface ReloadDeps {
  readonly files: string[];
  readonly env: NodeJS.ProcessEnv;
  /** The policy the listener was created with. */
  readonly first: CompiledPolicy;
  readonly generations: Generations;
  readonly breaker: CircuitBreaker;
  readonly metrics: Metrics;
  readonly onReload?: (ok: boolean, hash: string) => void;
  /** Re-reads the certificate files (listener job), whatever becomes of the policy. */
  readonly reloadTls?: () => void;
}

/** Keys read only when the listener is created: a reload names them instead of applying them. */
const RESTART_ONLY = ['server.host', 'server.port', 'server.max_header_bytes', 'server.headers_timeout_seconds', 'server.body_timeout_seconds', 'server.max_connections_per_ip', 'security.tls'] as const;

export function restartOnly(a: CompiledPolicy, b: CompiledPolicy): string[] {
  const get = (p: CompiledPolicy, path: string): string => JSON.stringify(path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], p.raw));
  return RESTART_ONLY.filter((k) => get(a, k) !== get(b, k));
}

/** An invalid or inapplicable policy changes nothing: the running generation stays, the attempt is audited. */
export function createReload(d: ReloadDeps): () => Promise<ReloadResult> {
  const gens = d.generations;
  const refused = (reason: string, problems: string[]): ReloadResult => {
    gens.current.audit.event({ action: 'configuration_reload_failed', reason, details: { problems: problems.join('\n') } });
    d.onReload?.(false, gens.current.papp.policy.hash);
    d.metrics.policyReload(false);
    return { ok: false, problems };
  };
  return async function reload(): Promise<ReloadResult> {
    d.reloadTls?.();
    let next: CompiledPolicy;
    try {
      next = loadPolicy(d.files, d.env);
    } catch (e) {
      return refused('invalid policy; the previous policy stays in force', e instanceof PolicyError ? e.problems.map(formatProblem) : [(e as Error).message]);
    }
    const fixed = restartOnly(d.first, next);
    const old = gens.current;
    let fresh: Generation;
    try {
      fresh = await gens.build(next);
    } catch (e) {
      return refused('policy could not be applied; the previous policy stays in force', [(e as Error).message]);
    }
    await Promise.all(fresh.keys.map((k) => k.settled()));
    const nc = next.raw.upstream.circuit_breaker;
    d.breaker.configure(nc.failure_threshold, nc.recovery_timeout_seconds * 1000, nc.enabled);
    // Audit lines always go to the current logger; a replaced one was handed over (and closed) by its successor.
    gens.install(fresh);
    gens.retire(old);
    fresh.audit.event({ action: 'configuration_reload', reason: fixed.length ? `applied; needs a restart to change: ${fixed.join(', ')}` : 'applied', details: { policy_hash: next.hash } });
    d.onReload?.(true, next.hash);
    d.metrics.policyReload(true, next.hash);
    return { ok: true, restartNeeded: fixed };
  };
}

/** Reloads when a policy file changes, and tells the operator what became of it. */
export function watchPolicy(files: readonly string[], reload: () => Promise<ReloadResult>, say: (line: string) => void): FSWatcher[] {
  return watchFiles(files, () => {
    void reload().then((r) => {
      if (r.ok) say(`lollms-guard: policy reloaded${r.restartNeeded?.length ? `; restart to apply: ${r.restartNeeded.join(', ')}` : ''}`);
      else {
        for (const p of r.problems ?? []) say(p);
        say('lollms-guard: reload refused, still serving the previous policy');
      }
    });
  });
}

/** Watches the policy files (their directories, so editors' rename-on-save is seen) and calls back debounced. */
function watchFiles(files: readonly string[], onChange: () => void): FSWatcher[] {
  const names = new Map<string, Set<string>>();
  for (const f of files) {
    const abs = resolvePath(f);
    const dir = dirname(abs);
    if (!names.has(dir)) names.set(dir, new Set());
    names.get(dir)!.add(basename(abs));
  }
  let timer: NodeJS.Timeout | undefined;
  const out: FSWatcher[] = [];
  for (const [dir, set] of names) {
    try {
      const w = watch(dir, { persistent: false }, (_event, name) => {
        if (name && !set.has(name.toString())) return;
        clearTimeout(timer);
        timer = setTimeout(onChange, 100);
      });
      w.on('error', () => w.close());
      out.push(w);
    } catch {
      /* a directory that cannot be watched still reloads on SIGHUP */
    }
  }
  return out;
}
