// Path normalisation: what rules match is exactly what is forwarded (no ../, //, %2e%2e, %2f or trailing-dot tricks).

/** Returns the normalised path, or null when the path cannot be read safely (answer 400). */
export function normalizePath(rawPath: string): string | null {
  if (rawPath.length === 0 || rawPath[0] !== '/') return null;
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return null;
  }
  // Double encoding (%252e) or control characters: refuse rather than guess what the upstream decodes.
  if (/%[0-9a-fA-F]{2}/.test(decoded) || /[\u0000-\u001f\u007f]/.test(decoded)) return null;
  const out: string[] = [];
  for (let seg of decoded.replace(/\\/g, '/').split('/')) {
    // Windows-style and some servers ignore trailing dots and spaces: "admin." is "admin".
    seg = seg.replace(/[. ]+$/, (m) => (seg === m ? m : ''));
    if (seg === '' || seg === '.') continue;
    if (seg === '..' || /^\.{3,}$/.test(seg)) {
      out.pop();
      continue;
    }
    out.push(seg);
  }
  const trailing = out.length > 0 && decoded.endsWith('/') ? '/' : '';
  return '/' + out.join('/') + trailing;
}

/** The path as sent upstream: each segment percent-encoded again. */
export function encodePath(path: string): string {
  return path
    .split('/')
    .map((s) => encodeURIComponent(s).replace(/%40/g, '@').replace(/%3A/gi, ':'))
    .join('/');
}
