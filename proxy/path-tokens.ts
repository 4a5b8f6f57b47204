// Tokens carried in URL paths (new lollms /ws/dm/{token}) replaced by a template before a path reaches audit lines, metrics or logs.

/** Routes whose segments after a fixed prefix are credentials, by prefix. */
const TOKEN_ROUTES: ReadonlyArray<readonly [prefix: string, template: string]> = [
  ['/ws/dm/', '/ws/dm/{token}'],
];

/** A segment that looks like a credential whatever the route: a JWT, or a long key-shaped run with many digits. */
function tokenLike(seg: string): boolean {
  if (/^eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+\.?[A-Za-z0-9_-]*$/.test(seg)) return true;
  if (seg.length < 32 || !/^[A-Za-z0-9_\-.~+=]+$/.test(seg)) return false;
  return (seg.match(/\d/g)?.length ?? 0) >= 6;
}

/**
 * The path with credential segments replaced: `/ws/dm/abc` -> `/ws/dm/{token}`, key-like segments -> `{token}`.
 * Cheap when there is nothing to hide (one prefix test, one scan of segments). For the WebSocket proxy too.
 */
export function redactPathTokens(path: string): string {
  if (typeof path !== 'string' || path.length === 0) return path;
  const lower = path.toLowerCase();
  for (const [prefix, template] of TOKEN_ROUTES) {
    if (lower.startsWith(prefix) && path.length > prefix.length) return template;
  }
  if (path.length < 33) return path;
  let changed = false;
  const segs = path.split('/').map((s) => {
    if (!tokenLike(s)) return s;
    changed = true;
    return '{token}';
  });
  return changed ? segs.join('/') : path;
}

/** Free text (a decision's rule or reason) with any path-borne token hidden. */
export function redactTokensInText(text: string): string {
  if (text.length < 8 || !text.includes('/')) return text;
  return text.replace(/\/[^\s"']*/g, (p) => redactPathTokens(p));
}
