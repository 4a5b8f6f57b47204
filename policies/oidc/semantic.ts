// `validate` checks of [[security.authentication.oidc]]: issuer/JWKS URLs, HS* secrets, roles that exist, a usable JWKS file.
import { readFileSync } from 'node:fs';
import { urlProblem } from './urls.js';
import { parseJwks } from './keys.js';

type Path = (string | number)[];
interface Finding { readonly path: Path; readonly message: string }
type RoleCheck = (path: Path, role: unknown, what: string) => Finding[];

const obj = (v: unknown): Record<string, unknown> => (v !== null && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const show = (v: unknown): string => JSON.stringify(v);

/** Problems of every issuer table; `roleProblem` is semantic.ts' check (did-you-mean included). */
export function oidcFindings(auth: Record<string, unknown>, roleProblem: RoleCheck, rbac: boolean): Finding[] {
  const out: Finding[] = [];
  const seen = new Map<string, number>();
  arr(auth.oidc).forEach((raw, i) => {
    const t = obj(raw);
    const at = (...k: Path): Path => ['security', 'authentication', 'oidc', i, ...k];
    if (typeof t.issuer === 'string') {
      const bad = urlProblem(t.issuer);
      if (bad) out.push({ path: at('issuer'), message: `issuer ${bad} (http is allowed only for 127.0.0.1, ::1 and localhost); write it as the IdP publishes it, e.g. "https://idp.example.com/realms/main"` });
      if (seen.has(t.issuer)) out.push({ path: at('issuer'), message: `issuer ${show(t.issuer)} is listed twice (also oidc[${seen.get(t.issuer)}]); keep one table per issuer` });
      else seen.set(t.issuer, i);
    }
    if (typeof t.jwks_uri === 'string' && t.jwks_uri !== '') {
      const bad = urlProblem(t.jwks_uri);
      if (bad) out.push({ path: at('jwks_uri'), message: `jwks_uri ${bad}; or leave it empty to use the issuer's discovery document` });
    }
    if (typeof t.jwks_uri === 'string' && t.jwks_uri !== '' && typeof t.jwks_file === 'string' && t.jwks_file !== '') {
      out.push({ path: at('jwks_file'), message: 'jwks_uri and jwks_file are both set; keep jwks_file for an air-gapped site, or jwks_uri to fetch the keys' });
    }
    if (typeof t.jwks_file === 'string' && t.jwks_file !== '') {
      try {
        const set = parseJwks(readFileSync(t.jwks_file, 'utf8'));
        if (set.keys.length === 0) out.push({ path: at('jwks_file'), message: `jwks_file ${show(t.jwks_file)} holds no key; export the issuer's JWKS (its jwks_uri) into the file` });
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        out.push({ path: at('jwks_file'), message: `jwks_file ${show(t.jwks_file)}: ${err.code ?? err.message}; point it at a readable copy of the issuer's JWKS ({"keys": [...]})` });
      }
    }
    const hs = arr(t.algorithms).filter((a) => typeof a === 'string' && a.startsWith('HS'));
    if (hs.length > 0 && (typeof t.hmac_secret_env !== 'string' || t.hmac_secret_env === '')) {
      out.push({ path: at('algorithms'), message: `${hs.join(', ')} needs a shared secret: set hmac_secret_env = "NAME_OF_ENV_VAR" holding it, or remove ${hs.join(', ')} (asymmetric RS256/ES256 need no secret)` });
    }
    if (typeof t.hmac_secret_env === 'string' && t.hmac_secret_env !== '' && hs.length === 0 && Array.isArray(t.algorithms)) {
      out.push({ path: at('hmac_secret_env'), message: 'hmac_secret_env is set but algorithms lists no HS256/HS384/HS512; add the HS algorithm the IdP signs with, or remove hmac_secret_env' });
    }
    const map = obj(t.role_map);
    if (rbac) {
      for (const [value, role] of Object.entries(map)) out.push(...roleProblem(at('role_map', value), role, `role_map ${show(value)} ->`));
      if (typeof t.default_role === 'string' && t.default_role !== '') out.push(...roleProblem(at('default_role'), t.default_role, 'default_role'));
    }
    if (Object.keys(map).length > 0 && t.role_claim === '') {
      out.push({ path: at('role_claim'), message: 'role_map is set but role_claim is empty, so it is never used; name the claim holding groups or roles (e.g. "groups", "roles", "realm_access.roles")' });
    }
    if (Object.keys(map).length === 0 && (t.default_role === undefined || t.default_role === '')) {
      out.push({ path: at('role_map'), message: 'no role_map and no default_role: every token would be refused; map claim values to roles in [security.authentication.oidc.role_map] or set default_role' });
    }
  });
  return out;
}

/** Start-time warnings: an HS secret variable that is not set. */
export function oidcWarnings(auth: Record<string, unknown>, env: NodeJS.ProcessEnv): string[] {
  const w: string[] = [];
  arr(auth.oidc).forEach((raw, i) => {
    const t = obj(raw);
    if (typeof t.hmac_secret_env === 'string' && t.hmac_secret_env !== '' && !env[t.hmac_secret_env]) {
      w.push(`security.authentication.oidc[${i}].hmac_secret_env: ${t.hmac_secret_env} is not set; HS* tokens of ${String(t.issuer)} are refused (token_unknown_key)`);
    }
  });
  return w;
}
