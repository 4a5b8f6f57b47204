// Method and URL override conventions of common frameworks: never forwarded, never consulted for routing.
/*
 * Rules match the request line's method and path only. Overrides would let an upstream framework act on
 * another method or path than the one the policy allowed, so they are removed before forwarding:
 * - headers: X-HTTP-Method-Override (Google APIs, express method-override, Spring's HiddenHttpMethodFilter
 *   companions), X-HTTP-Method (OData / ASP.NET), X-Method-Override (IBM), X-Original-Method and
 *   X-Forwarded-Method (proxy conventions some apps trust), X-Original-URL / X-Rewrite-URL (IIS,
 *   Symfony, Zend: path overrides);
 * - the `_method` query parameter (Laravel, Symfony, Rails, express method-override's query getter) and a
 *   top-level `_method` key of a JSON body (Laravel and Rails read it from JSON too).
 * A form-encoded `_method` is not rewritten: with validation.json_only (the default) form bodies are refused.
 */

export const OVERRIDE_HEADERS = ['x-http-method-override', 'x-http-method', 'x-method-override', 'x-original-method', 'x-forwarded-method', 'x-original-url', 'x-rewrite-url'] as const;

const METHOD_PARAM = /(?:^|&)_method(?:=|&|$)/i;

/** The query string (with its "?") without `_method` parameters, in any case, however encoded the name is not. */
export function stripMethodParam(query: string): string {
  if (query.length < 2 || !METHOD_PARAM.test(query.slice(1))) return query;
  const kept = query
    .slice(1)
    .split('&')
    .filter((p) => {
      const name = p.split('=', 1)[0];
      let decoded = name;
      try {
        decoded = decodeURIComponent(name.replace(/\+/g, ' '));
      } catch {
        /* an undecodable name is kept as it is: it cannot be "_method" */
      }
      return decoded.toLowerCase() !== '_method';
    });
  return kept.length ? `?${kept.join('&')}` : '';
}
