// Authorization stages: role route allow/deny lists (after path normalisation), model globs and token caps.
import picomatch from 'picomatch';
import type { RequestHandler } from 'express';
import type { AuthorizationSection } from './compiled.js';
import { deny } from '../proxy/deny.js';
import { catalogue, type CompiledEntry } from './lollms/compile.js';

interface RouteRule {
  readonly text: string;
  readonly methods: ReadonlySet<string> | null; // null = any method
  readonly path: (p: string) => boolean;
  /** Names one method and one literal path: the only kind of rule that can allow a LoLLMS management route. */
  readonly exact: boolean;
  /** The literal path of an exact rule. */
  readonly literal?: string;
}

interface CompiledRole {
  readonly name: string;
  readonly allow: readonly RouteRule[];
  readonly deny: readonly RouteRule[];
  readonly models: readonly { text: string; test: (m: string) => boolean }[];
  readonly anyModel: boolean;
  readonly maxTokens?: number;
}

const ALL: RouteRule = { text: '*', methods: null, path: () => true, exact: false };

export function compileRoute(text: string): RouteRule {
  const t = text.trim();
  if (t === '*') return { ...ALL, text: t };
  const sp = t.indexOf(' ');
  const methodPart = sp < 0 ? '*' : t.slice(0, sp);
  const pathPart = sp < 0 ? t : t.slice(sp + 1).trim();
  const methods = methodPart === '*' ? null : new Set(methodPart.split(',').map((m) => m.trim().toUpperCase()));
  const path = pathPart === '*' || pathPart === '/**' ? () => true : picomatch(pathPart, { dot: true, nonegate: true });
  const exact = methods !== null && methods.size === 1 && !methods.has('*') && !picomatch.scan(pathPart).isGlob && !/[\\;]/.test(pathPart);
  return { text: t, methods, path, exact, literal: exact ? pathPart : undefined };
}

function compileRole(name: string, r: { allow: readonly string[]; deny?: readonly string[]; models: readonly string[]; max_tokens?: number }, admin: boolean): CompiledRole {
  return {
    name,
    allow: admin && r.allow.length === 0 ? [ALL] : r.allow.map(compileRoute),
    deny: (r.deny ?? []).map(compileRoute),
    models: r.models.map((m) => ({ text: m, test: picomatch(m, { dot: true, nonegate: true }) })),
    anyModel: r.models.includes('*'),
    maxTokens: r.max_tokens,
  };
}

function matches(rule: RouteRule, method: string, path: string): boolean {
  return (rule.methods === null || rule.methods.has(method)) && rule.path(path);
}

export interface Authorizer {
  /** Route check: runs before the body is read. */
  readonly routeStage: RequestHandler;
  /** Model and token-cap check: runs once the JSON body is parsed. */
  readonly bodyStage: RequestHandler;
}

/** Fields that carry a completion-length request, by where they live. */
const TOKEN_FIELDS = ['max_tokens', 'max_completion_tokens', 'n_predict'] as const;

export function createAuthorization(section: AuthorizationSection): Authorizer {
  const roles = new Map<string, CompiledRole>();
  for (const [name, r] of Object.entries(section.roles)) roles.set(name, compileRole(name, r, false));
  // Keys from the environment or first start are "admin": if the policy has no such role, admin may do everything.
  if (!roles.has('admin')) roles.set('admin', compileRole('admin', { allow: [], models: ['*'] }, true));
  const enabled = section.enable_rbac;
  const lollms = catalogue();

  /** A management route is allowed only by a rule that names it exactly; anything else is denied naming the catalogue entry. */
  const denyManagement = (req: Parameters<RequestHandler>[0], res: Parameters<RequestHandler>[1], entry: CompiledEntry, why: string): boolean =>
    deny(req, res, 'route_not_allowed', {
      stage: 'authorization',
      rule: `lollms catalogue ${entry.label}`,
      reason: `${req.ctx.method} ${req.ctx.path} is a LoLLMS management route; ${why}`,
      detail: 'It is a LoLLMS management endpoint.',
    });

  const routeStage: RequestHandler = function authorizeRoute(req, res, next) {
    const ctx = req.ctx;
    const entry = lollms.lookup(ctx.path);
    const management = entry !== undefined && entry.class === 'management' ? entry : undefined;
    if (!enabled) {
      if (management && denyManagement(req, res, management, 'with security.authorization.enable_rbac = false no role can name it')) return;
      return next();
    }
    const role = roles.get(ctx.principal?.role ?? section.default_role);
    if (!role) {
      if (deny(req, res, 'route_not_allowed', { stage: 'authorization', rule: 'security.authorization.roles', reason: 'unknown role' })) return;
      return next();
    }
    for (const d of role.deny) {
      if (matches(d, ctx.method, ctx.path)) {
        if (deny(req, res, 'route_not_allowed', { stage: 'authorization', rule: `roles.${role.name}.deny "${d.text}"` })) return;
        return next();
      }
    }
    let glob: RouteRule | undefined;
    for (const a of role.allow) {
      if (matches(a, ctx.method, ctx.path)) {
        if (management && !(a.exact && ctx.path === a.literal)) {
          glob ??= a;
          continue;
        }
        ctx.decisions.push({ stage: 'authorization', outcome: 'allow', rule: `roles.${role.name}.allow "${a.text}"${management ? ` (names LoLLMS management route, catalogue ${management.label})` : ''}` });
        return next();
      }
    }
    if (management) {
      const why = glob
        ? `"${glob.text}" in roles.${role.name}.allow is a glob and never matches one; name "${ctx.method} ${ctx.path}" exactly to allow it`
        : `roles.${role.name}.allow does not name "${ctx.method} ${ctx.path}"`;
      if (denyManagement(req, res, management, why)) return;
      return next();
    }
    if (deny(req, res, 'route_not_allowed', { stage: 'authorization', rule: `roles.${role.name}.allow`, reason: `${ctx.method} ${ctx.path} not listed` })) return;
    next();
  };

  const bodyStage: RequestHandler = function authorizeBody(req, res, next) {
    const ctx = req.ctx;
    const body = ctx.json;
    if (!enabled) return next();
    const role = roles.get(ctx.principal?.role ?? section.default_role);
    if (!role) return next();
    if (!body) {
      // A body the proxy could not read as JSON may still be JSON to the server (a BOM, UTF-16, NaN for
      // Python's json.loads): with model or token rules to enforce, it cannot be let through unchecked.
      if (ctx.rawBody && ctx.rawBody.length > 0 && (!role.anyModel || role.maxTokens !== undefined)) {
        if (deny(req, res, 'invalid_json', { stage: 'authorization', rule: `roles.${role.name}`, reason: 'body not readable as JSON; model and token rules cannot be checked' })) return;
      }
      return next();
    }
    // Every field a server might read the model from is checked: legacy /lollms_generate reads model_name.
    for (const field of MODEL_FIELDS) {
      const v = body[field];
      if (v === undefined || v === null) continue;
      const model = typeof v === 'string' ? v : undefined;
      if (model !== undefined && ctx.model === undefined) ctx.model = model;
      if (!role.anyModel && (model === undefined || !role.models.some((m) => m.test(model)))) {
        if (deny(req, res, 'model_not_allowed', { stage: 'authorization', rule: `roles.${role.name}.models`, reason: `${field} not listed` })) return;
      }
    }
    if (role.maxTokens !== undefined && capTokens(req.ctx, role.maxTokens, role.name, () => deny(req, res, 'max_tokens_exceeded', { stage: 'authorization', rule: `roles.${role.name}.max_tokens` }))) return;
    next();
  };

  return { routeStage, bodyStage };
}

const MODEL_FIELDS = ['model', 'model_name'] as const;

/** A token count as a server would read it: numbers, and numeric strings (pydantic coerces "9999"). */
function tokenValue(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v)) return Number(v);
  return undefined;
}

/**
 * Applies a role's token cap; returns true when the request was answered (denied).
 * Every token field present is checked (above the cap: 403) and clamped to a number; then the field the
 * endpoint itself reads is set to the cap when it is absent or "no limit" (-1, 0, not a number), so no
 * other field's presence can leave the endpoint unlimited.
 */
function capTokens(ctx: import('../proxy/context.js').RequestContext, cap: number, role: string, denyIt: () => boolean): boolean {
  const body = ctx.json!;
  let options = body.options && typeof body.options === 'object' && !Array.isArray(body.options) ? (body.options as Record<string, unknown>) : undefined;
  let changed = false;
  const check = (holder: Record<string, unknown>, field: string): boolean => {
    const raw = holder[field];
    if (raw === undefined || raw === null) return false;
    const v = tokenValue(raw);
    if (v !== undefined && v > cap) return denyIt();
    if (v === undefined || v <= 0 || v !== raw) {
      holder[field] = v !== undefined && v > 0 ? Math.floor(v) : cap;
      changed = true;
    }
    return false;
  };
  for (const f of TOKEN_FIELDS) if (check(body, f)) return true;
  if (options && check(options, 'num_predict')) return true;
  const own = ctx.path.startsWith('/lollms_') ? 'n_predict' : ctx.path.startsWith('/api/') ? 'num_predict' : 'max_tokens';
  if (own === 'num_predict') {
    if (!options) options = body.options = {};
    if (options.num_predict === undefined || options.num_predict === null) {
      options.num_predict = cap;
      changed = true;
    }
  } else if (body[own] === undefined || body[own] === null) {
    // The OpenAI endpoints read either field; a present max_completion_tokens already carries the cap.
    if (!(own === 'max_tokens' && typeof body.max_completion_tokens === 'number')) {
      body[own] = cap;
      changed = true;
    }
  }
  ctx.decisions.push({ stage: 'authorization', outcome: changed ? 'modify' : 'allow', rule: `roles.${role}.max_tokens`, reason: changed ? `cap ${cap} written into the body` : undefined });
  if (changed) ctx.forwardBody = undefined; // re-serialised by the forward stage
  return false;
}
