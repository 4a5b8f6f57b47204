// Authorization stages: role route allow/deny lists (after path normalisation), model globs and token caps.
import picomatch from 'picomatch';
import type { RequestHandler } from 'express';
import type { AuthorizationSection, PolicyKey } from '../kernel/policy.js';
import { deny } from '../kernel/deny.js';
import { TOKEN_FIELDS, capRule, endpointOf, generates, type Endpoint, type TokenField, type UpstreamKind } from '../kernel/endpoints.js';
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

export function createAuthorization(section: AuthorizationSection, kind: UpstreamKind = 'lollms'): Authorizer {
  const roles = new Map<string, CompiledRole>();
  for (const [name, r] of Object.entries(section.roles)) roles.set(name, compileRole(name, r, false));
  // Keys from the environment or first start are "admin": if the policy has no such role, admin may do everything.
  if (!roles.has('admin')) roles.set('admin', compileRole('admin', { allow: [], models: ['*'] }, true));
  const enabled = section.enable_rbac;
  const lollms = catalogue();

  /** A management route is allowed only by a rule that names it exactly; anything else is denied naming the catalogue entry. */
  const denyManagement = (req: Parameters<RequestHandler>[0], res: Parameters<RequestHandler>[1], entry: CompiledEntry, rule: PolicyKey, why: string): boolean =>
    deny(req, res, 'route_not_allowed', {
      stage: 'authorization',
      rule,
      reason: `lollms catalogue ${entry.label}: ${req.ctx.method} ${req.ctx.path} is a LoLLMS management route; ${why}`,
      detail: 'It is a LoLLMS management endpoint.',
    });

  const routeStage: RequestHandler = function authorizeRoute(req, res, next) {
    const ctx = req.ctx;
    const entry = lollms.lookup(ctx.path);
    const management = entry !== undefined && entry.class === 'management' ? entry : undefined;
    if (!enabled) {
      if (management && denyManagement(req, res, management, 'security.authorization.enable_rbac', 'with security.authorization.enable_rbac = false no role can name it')) return;
      return next();
    }
    const role = roles.get(ctx.principal?.role ?? section.default_role);
    if (!role) {
      if (deny(req, res, 'route_not_allowed', { stage: 'authorization', rule: 'security.authorization.roles', at: ctx.principal?.role ?? section.default_role, reason: 'unknown role' })) return;
      return next();
    }
    for (const d of role.deny) {
      if (matches(d, ctx.method, ctx.path)) {
        if (deny(req, res, 'route_not_allowed', { stage: 'authorization', rule: `security.authorization.roles.${role.name}.deny`, at: d.text })) return;
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
        ctx.decisions.push({ stage: 'authorization', outcome: 'allow', rule: `security.authorization.roles.${role.name}.allow`, at: a.text, ...(management ? { reason: `names LoLLMS management route, catalogue ${management.label}` } : {}) });
        return next();
      }
    }
    if (management) {
      const why = glob
        ? `"${glob.text}" in roles.${role.name}.allow is a glob and never matches one; name "${ctx.method} ${ctx.path}" exactly to allow it`
        : `roles.${role.name}.allow does not name "${ctx.method} ${ctx.path}"`;
      if (denyManagement(req, res, management, `security.authorization.roles.${role.name}.allow`, why)) return;
      return next();
    }
    if (deny(req, res, 'route_not_allowed', { stage: 'authorization', rule: `security.authorization.roles.${role.name}.allow`, reason: `${ctx.method} ${ctx.path} not listed` })) return;
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
        if (deny(req, res, 'invalid_json', { stage: 'authorization', rule: role.anyModel ? `security.authorization.roles.${role.name}.max_tokens` : `security.authorization.roles.${role.name}.models`, reason: 'body not readable as JSON; model and token rules cannot be checked' })) return;
      }
      return next();
    }
    // A role limited to some models may not leave the choice to the server: on the APIs whose requests must name
    // a model (OpenAI, Anthropic, Ollama) one that names none (absent or null) would run on whatever default a
    // lenient server picks. Native LoLLMS generation names no model by design (the server's binding decides).
    const endpoint = endpointOf(ctx.path);
    if (!role.anyModel && generates(endpoint) && endpoint !== 'native_generate' && MODEL_FIELDS.every((f) => body[f] === undefined || body[f] === null)) {
      if (deny(req, res, 'model_not_allowed', { stage: 'authorization', rule: `security.authorization.roles.${role.name}.models`, reason: 'no model named; the server would choose its default' })) return;
    }
    // Every field a server might read the model from is checked: legacy /lollms_generate reads model_name.
    for (const field of MODEL_FIELDS) {
      const v = body[field];
      if (v === undefined || v === null) continue;
      const model = typeof v === 'string' ? v : undefined;
      if (model !== undefined && ctx.model === undefined) ctx.model = model;
      if (!role.anyModel && (model === undefined || !role.models.some((m) => m.test(model)))) {
        if (deny(req, res, 'model_not_allowed', { stage: 'authorization', rule: `security.authorization.roles.${role.name}.models`, reason: `${field} not listed` })) return;
      }
    }
    if (role.maxTokens !== undefined && capTokens(req.ctx, role.maxTokens, role.name, kind, endpoint, () => deny(req, res, 'max_tokens_exceeded', { stage: 'authorization', rule: `security.authorization.roles.${role.name}.max_tokens` }))) return;
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

/** Fields that ask for several generations in one request (OpenAI n / best_of, Hugging Face num_return_sequences). */
const CHOICE_FIELDS = ['n', 'best_of', 'num_return_sequences'] as const;

/** How many generations a request asks for: the largest choice field (numeric strings too), at least 1. */
export function choiceCount(body: Record<string, unknown>): number {
  let n = 1;
  const options = body.options && typeof body.options === 'object' ? (body.options as Record<string, unknown>) : undefined;
  for (const f of CHOICE_FIELDS) {
    for (const v of [body[f], options?.[f]]) {
      const x = tokenValue(v);
      if (x !== undefined && x > n) n = Math.ceil(x);
    }
  }
  return n;
}

/**
 * Applies a role's token cap; returns true when the request was answered (denied).
 * The cap bounds the whole request: with n / best_of asking for k generations, each may have cap / k tokens.
 * Every token field present is checked (above the cap: 403) and a "no limit" value (-1, 0, not a number)
 * becomes the cap. Then, on a generating endpoint only, the fields this kind of server reads are made to
 * carry the cap (proxy/endpoints.ts): nothing is added that the server would refuse, and a client's field
 * the server ignores cannot leave it unlimited. Non-generating endpoints (embeddings, lists) get nothing.
 */
function capTokens(ctx: import('../kernel/context.js').RequestContext, cap: number, role: string, kind: UpstreamKind, endpoint: Endpoint, denyIt: () => boolean): boolean {
  const body = ctx.json!;
  const choices = choiceCount(body);
  if (choices > cap) return denyIt();
  const total = cap;
  cap = Math.floor(total / choices);
  const optionsOf = (create: boolean): Record<string, unknown> | undefined => {
    const o = body.options;
    if (o && typeof o === 'object' && !Array.isArray(o)) return o as Record<string, unknown>;
    if (!create || (o !== undefined && o !== null)) return undefined;
    return (body.options = {});
  };
  const holderOf = (f: TokenField, create: boolean): [Record<string, unknown> | undefined, string] =>
    f === 'options.num_predict' ? [optionsOf(create), 'num_predict'] : [body, f];
  const written: string[] = [];
  let smallest: number | undefined;
  const present = new Set<TokenField>();
  for (const f of TOKEN_FIELDS) {
    const [holder, key] = holderOf(f, false);
    const raw = holder?.[key];
    if (holder === undefined || raw === undefined || raw === null) continue;
    const v = tokenValue(raw);
    if (v !== undefined && v > cap) return denyIt();
    const value = v !== undefined && v > 0 ? Math.floor(v) : cap;
    if (value !== raw) {
      holder[key] = value;
      written.push(f);
    }
    present.add(f);
    smallest = smallest === undefined ? value : Math.min(smallest, value);
  }
  const rule = capRule(kind, endpoint);
  if (!rule.enough.some((f) => present.has(f))) {
    for (const f of rule.write) {
      if (present.has(f)) continue;
      const [holder, key] = holderOf(f, true);
      if (!holder) continue; // options is present but not an object: validation's business, never overwritten
      holder[key] = smallest ?? cap;
      written.push(f);
    }
  }
  const changed = written.length > 0;
  ctx.decisions.push({ stage: 'authorization', outcome: changed ? 'modify' : 'allow', rule: `security.authorization.roles.${role}.max_tokens`, reason: changed ? `cap ${cap}${choices > 1 ? ` (${total} / ${choices} choices)` : ''} in ${written.join(', ')} (upstream.kind ${kind})` : undefined });
  if (changed) ctx.forwardBody = undefined; // re-serialised by the forward stage
  return false;
}
