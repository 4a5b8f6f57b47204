// Policy checks the JSON Schema cannot express (URLs, CIDRs, roles, routes, regexes, duplicates) and start-up warnings.
import { isIP } from 'node:net';
import { isPlainObject } from './merge.js';
import { editDistance } from './edit-distance.js';
import { checkPatternSafety, backtrackingProblem, anchoring } from './disclosure/safety.js';
import { oidcFindings, oidcWarnings } from './oidc/semantic.js';
import { anonymousExposure, anonymousListenerFinding, routeFindings, routeWarnings } from './lollms/policy-checks.js';

/** A finding at a policy path; load.ts turns it into a located problem. */
export interface Finding { readonly path: (string | number)[]; readonly message: string }

/** A check of an `information_disclosure.patterns` entry: an error message, or null when safe. */
export type PatternCheck = (name: string, source: string) => string | null;
const patternChecks: PatternCheck[] = [];

/** Adds a check of extra detector patterns (the redaction module's own checkPatternSafety always runs). */
export function registerPatternCheck(fn: PatternCheck): void {
  if (!patternChecks.includes(fn)) patternChecks.push(fn);
}

const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'CONNECT', 'TRACE']);
const show = (v: unknown): string => JSON.stringify(v);
const obj = (v: unknown): Record<string, unknown> => (isPlainObject(v) ? v : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** The closest candidate, if it is close enough to be a likely typo. */
export function didYouMean(word: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const c of candidates) {
    const dist = editDistance(word.toLowerCase(), c.toLowerCase());
    if (dist < bestD) { best = c; bestD = dist; }
  }
  return best !== null && bestD <= Math.max(2, Math.floor(word.length / 3)) && bestD < word.length ? best : null;
}

function isIpOrCidr(s: string): boolean {
  const slash = s.indexOf('/');
  if (slash < 0) return isIP(s) !== 0;
  const ver = isIP(s.slice(0, slash));
  const bits = s.slice(slash + 1);
  return ver !== 0 && /^\d{1,3}$/.test(bits) && Number(bits) <= (ver === 4 ? 32 : 128);
}

function checkUrl(path: (string | number)[], url: unknown, what: string, example: string): Finding[] {
  if (typeof url !== 'string') return [];
  let u: URL | null = null;
  try { u = new URL(url); } catch { /* reported below */ }
  if (u && (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '') return [];
  return [{ path, message: `${what} ${show(url)} is not an http(s) URL with a host; write it like ${show(example)}` }];
}

/** Same grammar as authorization.ts compileRoute: "*", or "METHOD[,METHOD] /path-glob" (METHOD an HTTP method or *). */
function checkRoute(path: (string | number)[], route: unknown): Finding[] {
  if (typeof route !== 'string' || route.trim() === '*') return [];
  const t = route.trim();
  const sp = t.indexOf(' ');
  const methods = sp < 0 ? [] : t.slice(0, sp).split(',').map((m) => m.trim().toUpperCase());
  const p = sp < 0 ? t : t.slice(sp + 1).trim();
  const badMethod = methods.find((m) => m !== '*' && !HTTP_METHODS.has(m));
  const pathOk = p.startsWith('/') || p === '*';
  if (sp >= 0 && badMethod === undefined && pathOk) return [];
  let hint = 'write "METHOD /path" (METHOD an HTTP method or *, path starting with "/"), or "*" for everything';
  if (sp < 0 && pathOk) hint = `name the method: "* ${p}" for any method, or e.g. "GET ${p}"`;
  else if (badMethod !== undefined) {
    const near = didYouMean(badMethod, [...HTTP_METHODS]);
    hint = `unknown method ${show(badMethod)}${near ? `; did you mean ${show(near)}?` : `; use one of ${[...HTTP_METHODS].join(', ')} or *`}`;
  }
  return [{ path, message: `invalid route ${show(route)}; ${hint}` }];
}

/** The redaction module's own check (syntax incl. a leading "(?i)", backtracking shapes, size), then any registered ones. */
function checkRegex(path: (string | number)[], name: string, source: unknown): Finding[] {
  if (typeof source !== 'string') return [];
  const out: Finding[] = [];
  for (const check of [checkPatternSafety, ...patternChecks]) {
    const msg = check(name, source);
    if (msg) out.push({ path, message: msg });
  }
  return out;
}

/** validation.ts compiles user_id_pattern with the "u" flag; patterns invalid without it are the schema's to report. */
function checkUnicodeRegex(path: (string | number)[], source: unknown): Finding[] {
  if (typeof source !== 'string') return [];
  try { new RegExp(source, 'u'); return []; } catch (e) {
    try { new RegExp(source); } catch { return []; }
    return [{ path, message: `pattern ${show(source)} is not valid in Unicode mode (${(e as Error).message}); escape only syntax characters (e.g. "_" not "\\_")` }];
  }
}

/**
 * security.validation.user_id_pattern runs in V8's backtracking engine on every request's "user" field: it must be
 * anchored at both ends (else "x<script>" passes because it contains an "x") and free of catastrophic shapes.
 */
function checkUserIdPattern(path: (string | number)[], source: unknown): Finding[] {
  if (typeof source !== 'string') return [];
  try { new RegExp(source, 'u'); } catch { return []; } // the schema's and checkUnicodeRegex's to report
  const slow = backtrackingProblem(source);
  if (slow) {
    return [{ path, message: `pattern ${show(source)} ${slow.replace(/\. Fix: /, '; it runs on every request\'s "user" field, so one crafted value could stall the proxy. Fix: ')}` }];
  }
  const a = anchoring(source);
  if (!a || (a.start && a.end)) return [];
  const fixed = a.alternation ? `^(?:${source})$` : `${a.start ? '' : '^'}${source}${a.end ? '' : '$'}`;
  return [{ path, message: `pattern ${show(source)} is not anchored at both ends, so a "user" value passes as soon as any part of it matches; write ${show(fixed)}` }];
}

const REGEX_SYNTAX = /[\^$\\[\]()|?*+]/;
/**
 * A `server.websocket.secret_paths` entry is a path template (proxy/upgrade.ts compileSecretPaths): literal segments
 * and whole-segment {name} placeholders. A regular expression there would only match its own text, so the secret
 * segment would be logged; the message shows the template built from the value.
 */
export function secretPathProblem(template: string): string | null {
  const regexLike = REGEX_SYNTAX.test(template);
  const partial = template.split('/').find((seg) => /[{}]/.test(seg) && !/^\{[^/{}]*\}$/.test(seg));
  if (!regexLike && partial === undefined && template.startsWith('/')) return null;
  let names = 0;
  const body = template.replace(/^\^/, '').replace(/\/?\$$/, '').replace(/^\/?/, '/');
  const example = body.split('/').map((seg, i) => {
    if (i === 0 || /^\{[^/{}]*\}$/.test(seg) || (!REGEX_SYNTAX.test(seg) && !/[{}]/.test(seg))) return seg;
    names += 1;
    return names === 1 ? '{token}' : `{token${names}}`;
  }).join('/');
  const form = 'a path template: literal segments and whole {name} segments, each {name} standing for one path segment';
  if (regexLike) return `${show(template)} is a regular expression, but secret_paths takes ${form} (a regex would match only its own text, and the secret would be logged); write ${show(example)}`;
  if (partial !== undefined) return `${show(template)}: the placeholder in segment ${show(partial)} must be the whole segment (${form}); write ${show(example)}`;
  return `${show(template)} must start with "/" (${form}); write ${show(example)}`;
}

/** security.cors.origins entries, as policies/cors.ts matches them: "*", or exactly the Origin a browser sends. */
function originProblem(origin: string): string | null {
  if (origin === '*') return null;
  const form = 'an origin is scheme://host[:port], exactly as browsers send it in the Origin header';
  if (origin.trim() === 'null') {
    return `"null" is the Origin of sandboxed iframes, file:// pages and cross-origin redirects, which any site can produce, so listing it would trust them all; list the page's real origin, e.g. "https://app.example.com"`;
  }
  const text = origin.replace(/\/+$/, ''); // cors.ts drops trailing slashes before matching
  if (text.includes('*')) {
    return `${show(origin)}: wildcards are not supported (origins are matched exactly; ${form}); list each origin, e.g. ${show(text.replace(/\*/g, 'app'))}, or "*" alone for any origin (not with credentials)`;
  }
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(.*)$/.exec(text);
  if (!m) {
    const host = text.replace(/^(https?:)?\/*/i, '').split(/[/?#]/)[0];
    const scheme = /^(localhost|127\.|\[::1\])/.test(host) ? 'http' : 'https';
    return `${show(origin)} has no scheme (${form}); write ${show(`${scheme}://${host}`)}`;
  }
  const [, scheme, host, rest] = m;
  if (!/^https?$/i.test(scheme)) {
    // e.g. chrome-extension://<id>, tauri://localhost: browsers send these as written
    return host !== '' && rest === '' ? null : `${show(origin)} is not ${form}; write ${show(`${scheme}://${host || 'localhost'}`)}`;
  }
  let url: URL;
  try { url = new URL(text); } catch { return `${show(origin)} is not ${form}; write it like "https://app.example.com"`; }
  if (url.origin === text) return null;
  const why = rest !== '' ? 'has a path, query or fragment' : url.username || url.password ? 'has user info' : 'is not written as browsers send it (lowercase scheme and host, no default port)';
  return `${show(origin)} ${why}, so it would never match (${form}); write ${show(url.origin)}`;
}

function roleProblem(path: (string | number)[], role: unknown, roles: string[], what: string): Finding[] {
  if (typeof role !== 'string' || roles.includes(role)) return [];
  const near = didYouMean(role, roles);
  const fix = near ? `did you mean ${show(near)}?` : `define [security.authorization.roles.${role}] or use one of: ${roles.join(', ') || '(none defined)'}`;
  return [{ path, message: `${what} ${show(role)} is not defined in security.authorization.roles; ${fix}` }];
}

/** [security.rate_limiting.redis]: the addresses the chosen mode needs, each "host:port". */
function redisFindings(rl: Record<string, unknown>): Finding[] {
  const r = obj(rl.redis);
  const mode = r.mode ?? 'standalone';
  const out: Finding[] = [];
  const base = ['security', 'rate_limiting', 'redis'];
  for (const [list, want, port] of [['sentinels', 'sentinel', 26379], ['nodes', 'cluster', 7000]] as const) {
    const items = arr(r[list]);
    if (mode === want && items.length === 0) out.push({ path: [...base, list], message: `redis.mode = "${want}" needs at least one address in ${list}; write e.g. ${list} = ["127.0.0.1:${port}"]` });
    if (mode !== want && items.length > 0) out.push({ path: [...base, list], message: `${list} is only used with redis.mode = "${want}" (mode is ${show(mode)}); set mode = "${want}" or remove ${list}` });
    items.forEach((a, i) => {
      if (typeof a === 'string' && !/^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]+):\d{1,5}$/.test(a.trim())) out.push({ path: [...base, list, i], message: `${show(a)} is not "host:port"; write e.g. "10.0.0.5:${port}" (IPv6 as "[fd00::5]:${port}")` });
    });
  }
  if (mode === 'sentinel' && r.master_name === '') out.push({ path: [...base, 'master_name'], message: 'master_name is empty; name the master as the sentinels know it (sentinel monitor <name> ...), e.g. "mymaster"' });
  return out;
}

/** Every semantic problem of a schema-shaped (possibly still invalid) policy. */
export function semanticFindings(p: Record<string, unknown>): Finding[] {
  const out: Finding[] = [];
  const server = obj(p.server), sec = obj(p.security), auth = obj(sec.authentication), authz = obj(sec.authorization);
  out.push(...checkUrl(['upstream', 'url'], obj(p.upstream).url, 'upstream URL', 'http://localhost:9600'));
  const audit = obj(obj(p.logging).security);
  if (audit.output === 'http') out.push(...checkUrl(['logging', 'security', 'http', 'url'], obj(audit.http).url, 'collector URL', 'https://splunk.example.com:8088/services/collector/event'));
  arr(server.trust_proxy).forEach((t, i) => {
    if (typeof t === 'string' && !isIpOrCidr(t)) out.push({ path: ['server', 'trust_proxy', i], message: `${show(t)} is not an IP address or CIDR; write e.g. "10.0.0.0/8", "192.168.1.10" or "fd00::/8"` });
  });
  const roles = obj(authz.roles);
  // authorization.ts adds an allow-everything "admin" role when the policy defines none
  const roleNames = [...new Set([...Object.keys(roles), 'admin'])];
  if (authz.enable_rbac !== false) {
    out.push(...roleProblem(['security', 'authorization', 'default_role'], authz.default_role, roleNames, 'default_role'));
    arr(auth.keys).forEach((k, i) => out.push(...roleProblem(['security', 'authentication', 'keys', i, 'role'], obj(k).role, roleNames, 'role')));
    arr(obj(obj(sec.tls).client).identities).forEach((k, i) => out.push(...roleProblem(['security', 'tls', 'client', 'identities', i, 'role'], obj(k).role, roleNames, 'role')));
  }
  out.push(...oidcFindings(auth, (path, role, what) => roleProblem(path, role, roleNames, what), authz.enable_rbac !== false));
  for (const [name, role] of Object.entries(roles)) {
    for (const list of ['allow', 'deny']) {
      arr(obj(role)[list]).forEach((r, i) => out.push(...checkRoute(['security', 'authorization', 'roles', name, list, i], r)));
    }
  }
  out.push(...routeFindings(roles));
  const anonymous = anonymousListenerFinding(server, auth);
  if (anonymous) out.push(anonymous);
  const ids = new Map<string, number>(), digests = new Map<string, number>();
  arr(auth.keys).forEach((k, i) => {
    const { id, sha256 } = obj(k);
    if (typeof id === 'string') {
      if (ids.has(id)) out.push({ path: ['security', 'authentication', 'keys', i, 'id'], message: `duplicate key id ${show(id)} (also keys[${ids.get(id)}]); give every key its own id` });
      else ids.set(id, i);
    }
    if (typeof sha256 === 'string') {
      const d = sha256.toLowerCase();
      if (digests.has(d)) out.push({ path: ['security', 'authentication', 'keys', i, 'sha256'], message: `duplicate sha256 (also keys[${digests.get(d)}]): the same key is listed twice; remove one entry` });
      else digests.set(d, i);
    }
  });
  const cors = obj(sec.cors);
  if (cors.credentials === true && arr(cors.origins).includes('*')) {
    out.push({ path: ['security', 'cors', 'origins'], message: 'origin "*" cannot be combined with credentials = true; list the exact origins or set credentials = false' });
  }
  arr(cors.origins).forEach((o, i) => {
    const msg = typeof o === 'string' ? originProblem(o) : null;
    if (msg) out.push({ path: ['security', 'cors', 'origins', i], message: msg });
  });
  arr(obj(server.websocket).secret_paths).forEach((t, i) => {
    // one not starting with "/" is the schema's pattern error, which explains it with the same function
    const msg = typeof t === 'string' && t.startsWith('/') ? secretPathProblem(t) : null;
    if (msg) out.push({ path: ['server', 'websocket', 'secret_paths', i], message: msg });
  });
  out.push(...checkUnicodeRegex(['security', 'validation', 'user_id_pattern'], obj(sec.validation).user_id_pattern));
  out.push(...checkUserIdPattern(['security', 'validation', 'user_id_pattern'], obj(sec.validation).user_id_pattern));
  out.push(...redisFindings(obj(sec.rate_limiting)));
  const patterns = obj(obj(sec.information_disclosure).patterns);
  for (const [name, src] of Object.entries(patterns)) {
    out.push(...checkRegex(['security', 'information_disclosure', 'patterns', name], name, src));
  }
  return out;
}

/** Non-fatal findings printed at start. */
export function policyWarnings(p: Record<string, unknown>, env: NodeJS.ProcessEnv): string[] {
  const w: string[] = [];
  const sec = obj(p.security), debug = obj(p.debug), auth = obj(sec.authentication);
  if (debug.bypass_rate_limits === true) {
    w.push(debug.enabled === true
      ? 'debug.bypass_rate_limits = true: rate limits are bypassed (debug.enabled = true); never run like this in production'
      : 'debug.bypass_rate_limits = true has no effect while debug.enabled = false');
  }
  if (debug.enabled === true) w.push('debug.enabled = true: development switches are active');
  if (sec.enabled === false || sec.mode === 'disabled') w.push('security is disabled: requests pass unchecked (they are still audited)');
  else if (sec.mode === 'permissive') w.push('security.mode = "permissive": would-be denials are audited but let through');
  const exposure = anonymousExposure(obj(p.server), auth, obj(sec.authorization));
  if (exposure) w.push(exposure);
  w.push(...routeWarnings(obj(obj(sec.authorization).roles)));
  w.push(...oidcWarnings(auth, env));
  const rl = obj(sec.rate_limiting);
  if (rl.enabled !== false && rl.store === 'redis' && typeof rl.redis_url_env === 'string' && !env[rl.redis_url_env]) {
    const mode = obj(rl.redis).mode ?? 'standalone';
    if (mode === 'standalone') w.push(`security.rate_limiting.store = "redis" but ${rl.redis_url_env} is not set`);
  }
  const redis = obj(rl.redis);
  if (rl.store !== 'redis' && redis.mode !== undefined && redis.mode !== 'standalone') {
    w.push(`security.rate_limiting.redis.mode = ${show(redis.mode)} has no effect while security.rate_limiting.store = ${show(rl.store ?? 'memory')}; set store = "redis" to share limits`);
  }
  if (typeof redis.password_env === 'string' && redis.password_env !== '' && rl.store === 'redis' && !env[redis.password_env]) {
    w.push(`security.rate_limiting.redis.password_env names ${redis.password_env}, which is not set`);
  }
  if (typeof redis.key_prefix === 'string' && redis.key_prefix !== '' && typeof rl.key_prefix === 'string' && rl.key_prefix !== redis.key_prefix && rl.key_prefix !== 'lollms-guard:') {
    w.push(`security.rate_limiting.key_prefix (${show(rl.key_prefix)}) is overridden by security.rate_limiting.redis.key_prefix (${show(redis.key_prefix)})`);
  }
  return w;
}
