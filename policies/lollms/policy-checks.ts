// Policy checks for the LoLLMS shield: role routes vs the catalogue (validate/start messages) and the unauthenticated-listener rule.
import picomatch from 'picomatch';
import { catalogue, canonicalPath } from './compile.js';
import { isLoopbackHost } from '../cross-site.js';
import { editDistance } from '../edit-distance.js';

export interface ShieldFinding { readonly path: (string | number)[]; readonly message: string }

const show = (v: unknown): string => JSON.stringify(v);

interface Parsed { readonly methods: string[] | null; readonly path: string; readonly glob: boolean }

function parse(route: string): Parsed | null {
  const t = route.trim();
  if (t === '*') return { methods: null, path: '/**', glob: true };
  const sp = t.indexOf(' ');
  if (sp < 0) return null;
  const m = t.slice(0, sp).split(',').map((x) => x.trim().toUpperCase());
  const path = t.slice(sp + 1).trim();
  const methods = m.includes('*') ? null : m;
  return { methods, path, glob: methods === null || methods.length !== 1 || picomatch.scan(path).isGlob };
}

/** Close enough to a catalogue path to be a typo of it (and not itself a catalogue path). */
function nearest(path: string, candidates: readonly string[]): string | null {
  const a = path.toLowerCase();
  let best: string | null = null;
  let bestD = 3;
  for (const c of candidates) {
    const b = c.toLowerCase();
    if (Math.abs(a.length - b.length) >= bestD) continue;
    const d = editDistance(a, b);
    if (d < bestD) { best = c; bestD = d; }
  }
  return best !== null && a.length >= 6 ? best : null;
}

/**
 * Errors: a route naming a management path with a method LoLLMS does not answer there, or a path one typo away
 * from a catalogue route that the catalogue does not know.
 */
export function routeFindings(roles: Record<string, unknown>): ShieldFinding[] {
  const cat = catalogue();
  const known = cat.entries.flatMap((e) => [...e.exact.keys()]);
  const out: ShieldFinding[] = [];
  for (const [name, role] of Object.entries(roles)) {
    const allow = role && typeof role === 'object' && Array.isArray((role as { allow?: unknown }).allow) ? (role as { allow: unknown[] }).allow : [];
    allow.forEach((r, i) => {
      if (typeof r !== 'string') return;
      const p = parse(r);
      if (!p || p.glob) return;
      const where = ['security', 'authorization', 'roles', name, 'allow', i];
      const entry = cat.lookup(p.path);
      if (entry && entry.class === 'management') {
        const key = canonicalPath(p.path);
        const methods = entry.exact.get(key);
        const real = entry.routes.map((x) => x.slice(x.indexOf(' ') + 1)).find((x) => x.toLowerCase() === key);
        if (methods && p.methods && !p.methods.every((m) => methods.has(m))) {
          out.push({ path: where, message: `${show(r)}: LoLLMS answers ${real ?? p.path} only to ${[...methods].join(', ')} (catalogue entry ${entry.label}); write ${show(`${[...methods][0]} ${real ?? p.path}`)}` });
        } else if (real !== undefined && real !== p.path) {
          out.push({ path: where, message: `${show(r)} never matches: the catalogue entry ${entry.label} spells the route ${show(real)} (exact case, no trailing slash or ";")` });
        }
        return;
      }
      if (entry) return;
      const near = nearest(p.path, known);
      const nearEntry = near ? cat.lookup(near) : undefined;
      if (near && nearEntry?.class === 'management') {
        const real = nearEntry.routes.find((x) => x.slice(x.indexOf(' ') + 1).toLowerCase() === near) ?? near;
        const suggestion = `${real.slice(0, real.indexOf(' ')).split(',')[0]} ${real.slice(real.indexOf(' ') + 1)}`;
        out.push({ path: where, message: `${show(r)} is not a LoLLMS route; did you mean ${show(suggestion)} (management, catalogue entry ${nearEntry.label})?` });
      }
    });
  }
  return out;
}

/** Warnings: a glob in `allow` that would have matched management routes (it never does). */
export function routeWarnings(roles: Record<string, unknown>): string[] {
  const cat = catalogue();
  const out: string[] = [];
  for (const [name, role] of Object.entries(roles)) {
    const allow = role && typeof role === 'object' && Array.isArray((role as { allow?: unknown }).allow) ? (role as { allow: unknown[] }).allow : [];
    allow.forEach((r, i) => {
      if (typeof r !== 'string') return;
      const p = parse(r);
      if (!p || !p.glob) return;
      const test = p.path === '*' || p.path === '/**' ? () => true : picomatch(p.path, { dot: true, nonegate: true });
      const hit = new Set<string>();
      for (const e of cat.entries) {
        if (e.class !== 'management') continue;
        for (const [path, methods] of e.exact) {
          const real = e.routes.map((x) => x.slice(x.indexOf(' ') + 1)).find((x) => x.toLowerCase() === path) ?? path;
          if (test(real) && (p.methods === null || [...methods].some((m) => p.methods!.includes(m)))) hit.add(e.label);
        }
      }
      if (hit.size > 0) {
        out.push(`security.authorization.roles.${name}.allow[${i}] ${show(r)} never matches LoLLMS management routes (catalogue entries ${[...hit].join('; ')}); to allow one, name it exactly, e.g. "POST /apply_settings"`);
      }
    });
  }
  return out;
}

/** The unauthenticated-listener rule: an error unless loopback-only or the loud opt-in is set. */
export function anonymousListenerFinding(server: Record<string, unknown>, auth: Record<string, unknown>): ShieldFinding | null {
  if (auth.require_api_key !== false) return null;
  const host = typeof server.host === 'string' ? server.host : '127.0.0.1';
  if (isLoopbackHost(host) || auth.unsafe_allow_unauthenticated_network_access === true) return null;
  return {
    path: ['security', 'authentication', 'require_api_key'],
    message: `require_api_key = false while server.host = ${show(host)} is reachable from the network: anyone could call the upstream. Set require_api_key = true (recommended), listen on 127.0.0.1, or set security.authentication.unsafe_allow_unauthenticated_network_access = true to accept the risk`,
  };
}

/** What an unauthenticated proxy exposes, for the start message. */
export function anonymousExposure(server: Record<string, unknown>, auth: Record<string, unknown>, authz: Record<string, unknown>): string | null {
  if (auth.require_api_key !== false) return null;
  const host = typeof server.host === 'string' ? server.host : '127.0.0.1';
  const role = typeof authz.default_role === 'string' ? authz.default_role : 'user';
  const roles = (authz.roles && typeof authz.roles === 'object' ? authz.roles : {}) as Record<string, { allow?: unknown }>;
  const allow = Array.isArray(roles[role]?.allow) ? (roles[role].allow as unknown[]).map(String) : [];
  const rbac = authz.enable_rbac !== false;
  const what = !rbac ? 'every route but LoLLMS management routes (enable_rbac = false)' : allow.length > 0 ? `the routes of role ${show(role)}: ${allow.join(', ')}` : `nothing (role ${show(role)} allows no route)`;
  const scope = isLoopbackHost(host) ? `any process on this machine (${host})` : `ANYONE who can reach ${host} (unsafe_allow_unauthenticated_network_access = true)`;
  return `security.authentication.require_api_key = false: ${scope} can call, without a key, ${what}`;
}
