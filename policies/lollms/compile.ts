// The catalogue compiled once: route lookups that case, trailing slashes, `;` params and encodings cannot dodge, and the path-value test.
import { CATALOGUE, type CatalogueEntry } from './catalogue.js';

export interface CompiledEntry extends CatalogueEntry {
  /** Canonical path -> methods LoLLMS answers there. */
  readonly exact: ReadonlyMap<string, ReadonlySet<string>>;
  /** Canonical prefixes ("/personalities/") whose rest is a file path. */
  readonly prefixes: readonly string[];
  readonly pathFieldSet: ReadonlySet<string>;
  readonly commandFieldSet: ReadonlySet<string>;
  readonly urlFieldSet: ReadonlySet<string>;
  /** "settings (CVE-2024-2358, ...)" for messages. */
  readonly label: string;
}

export interface Catalogue {
  readonly entries: readonly CompiledEntry[];
  /** The entry a normalised request path belongs to, whatever the method. */
  lookup(path: string): CompiledEntry | undefined;
  /** Every management route as "METHOD /path" (for messages and the property test). */
  readonly managementRoutes: readonly string[];
}

const NON_ASCII = /[^\x00-\x7f]/;

/**
 * The form a server could route a normalised path to, for catalogue lookups only: NFKC, lower case, no `;params`
 * in any segment, no empty segments, no trailing slash. What is forwarded is never changed by this.
 */
export function canonicalPath(path: string): string {
  // Compatibility forms fold to what they look like (/ａpply_settings, ﬁle): a lookup can only get stricter.
  if (NON_ASCII.test(path)) path = path.normalize('NFKC');
  const segs: string[] = [];
  for (const raw of path.split('/')) {
    const semi = raw.indexOf(';');
    const s = (semi < 0 ? raw : raw.slice(0, semi)).toLowerCase();
    if (s !== '') segs.push(s);
  }
  return '/' + segs.join('/');
}

function compileEntry(e: CatalogueEntry): CompiledEntry {
  const exact = new Map<string, Set<string>>();
  const prefixes: string[] = [];
  for (const r of e.routes) {
    const sp = r.indexOf(' ');
    const methods = r.slice(0, sp).split(',');
    const path = r.slice(sp + 1);
    if (path.endsWith('/**')) {
      prefixes.push(canonicalPath(path.slice(0, -3)) + '/');
      continue;
    }
    const key = canonicalPath(path);
    const set = exact.get(key) ?? new Set<string>();
    for (const m of methods) set.add(m);
    exact.set(key, set);
  }
  const label = e.cves.length > 0 ? `${e.id} (${e.cves.join(', ')})` : e.id;
  return { ...e, exact, prefixes, pathFieldSet: new Set(e.pathFields ?? []), commandFieldSet: new Set(e.commandFields ?? []), urlFieldSet: new Set(e.urlFields ?? []), label };
}

let compiled: Catalogue | null = null;

/** The compiled catalogue (built on first use, i.e. when the first policy loads). */
export function catalogue(): Catalogue {
  if (compiled) return compiled;
  const entries = CATALOGUE.map(compileEntry);
  const byPath = new Map<string, CompiledEntry>();
  const prefixed: Array<readonly [string, CompiledEntry]> = [];
  for (const e of entries) {
    for (const p of e.exact.keys()) {
      if (byPath.has(p)) throw new Error(`LoLLMS catalogue: ${p} listed twice`);
      byPath.set(p, e);
    }
    for (const p of e.prefixes) prefixed.push([p, e]);
  }
  const managementRoutes = entries
    .filter((e) => e.class === 'management')
    .flatMap((e) => e.routes.flatMap((r) => {
      const sp = r.indexOf(' ');
      return r.slice(0, sp).split(',').map((m) => `${m} ${r.slice(sp + 1)}`);
    }));
  const find = (path: string): CompiledEntry | undefined => {
    const key = canonicalPath(path);
    const hit = byPath.get(key);
    if (hit) return hit;
    for (const [p, e] of prefixed) if (key.startsWith(p) || key + '/' === p) return e;
    return undefined;
  };
  // Three stages look the same request's path up (request line, route authorization, path values): the last
  // answer is kept, so two of the three skip canonicalPath's split and join (3 lookups: 1.3-1.6 µs before).
  let lastPath: string | undefined;
  let lastEntry: CompiledEntry | undefined;
  compiled = {
    entries,
    managementRoutes,
    lookup(path) {
      if (path !== lastPath) {
        lastEntry = find(path);
        lastPath = path;
      }
      return lastEntry;
    },
  };
  return compiled;
}

/**
 * Why a path-like value is refused, or null when it is a plain relative name: `..` segments, absolute paths
 * (/x, C:\x, C:x, \\host), backslashes, file: URLs, NUL and other control characters.
 */
/** Shell metacharacters and quotes of POSIX shells and cmd.exe: none belongs in an id, a path or a folder name. */
const SHELL = /[;&|`$<>(){}!*?"'%^\[\]\n\r]/;

/** Why a value that reaches an OS command line is refused, or null. */
export function unsafeCommandValue(v: string): string | null {
  return SHELL.test(v) ? 'shell metacharacter or quote' : null;
}

export function unsafePathValue(v: string): string | null {
  // C0, DEL and C1 (NEL U+0085 is a line break to Python's splitlines and YAML), line/paragraph separators.
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(v)) return 'control character';
  // Invisible or reordering characters: a path that does not read as what it names (zero-width, bidi, BOM).
  if (/[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/.test(v)) return 'invisible or bidi character';
  if (/^file:/i.test(v.trimStart())) return 'file: URL';
  if (v.includes('\\')) return 'backslash';
  if (v.startsWith('/') || /^\s+\//.test(v)) return 'absolute path';
  if (/^[A-Za-z]:/.test(v.trimStart())) return 'drive letter';
  if (v.split('/').some((s) => /^\s*\.{2,}\s*$/.test(s))) return '".." segment';
  if (v.startsWith('~')) return 'home directory';
  return null;
}
