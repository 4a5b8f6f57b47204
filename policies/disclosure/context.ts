// Secrets without a prefix, found by context: a name that says password/secret/token/key/credential, a separator, and a value that fits.
import type { DetectorSpec } from './detectors.js';
import { isPlaceholder, isSecretValue } from './validators.js';

const r = String.raw;
const KEY = 'redact_api_keys';
/**
 * Where a name-led match can start. One case-insensitive regex per family beats many literal scans of common
 * letters; families stay separate so that text full of one keyword does not run every detector at every hit.
 */
const PASS_AT = { re: 'pass|pwd|pswd', flags: 'i' } as const;
export const SECRET_AT = { re: 'secret|token|key|cred|auth|sess|sig|aws|accountkey|sharedaccesskey|[?&]sig=|ocp-apim|azure|api|access|private', flags: 'i' } as const;

/** Words (a name split at _ - . and case changes) that make a name secret-ish, alone or as a word's ending. */
const PASSWORD_WORDS = ['password', 'passwd', 'passphrase', 'passcode', 'pwd', 'pass', 'pswd'];
const SECRET_WORDS = ['secret', 'secrets', 'token', 'tokens', 'key', 'keys', 'apikey', 'accesskey', 'secretkey', 'privatekey', 'authkey',
  'masterkey', 'signingkey', 'encryptionkey', 'licensekey', 'accountkey', 'storagekey', 'subscriptionkey', 'credential', 'credentials',
  'creds', 'cred', 'auth', 'authorization', 'sessionid', 'sessid', 'session', 'sig', 'signature', 'apitoken', 'authtoken'];
/** A word in the name that means the value is about a secret, not the secret itself. */
const BENIGN_WORDS = new Set(['id', 'ids', 'name', 'names', 'url', 'uri', 'urls', 'endpoint', 'file', 'files', 'path', 'dir', 'length', 'len',
  'size', 'count', 'type', 'types', 'version', 'ver', 'format', 'mode', 'level', 'min', 'max', 'limit', 'limits', 'ttl', 'timeout',
  'expiry', 'expires', 'expiration', 'exp', 'at', 'time', 'date', 'duration', 'hash', 'prefix', 'suffix', 'header', 'field', 'label',
  'policy', 'param', 'var', 'ref', 'provider', 'scheme', 'method', 'alg', 'algorithm', 'enabled', 'required', 'valid', 'validator',
  'manager', 'store', 'vault', 'ring', 'pair', 'board', 'code', 'stroke', 'pressed', 'press', 'up', 'down', 'left', 'right', 'frame',
  'mesh', 'selector', 'csrf', 'xsrf', 'next', 'page', 'continuation', 'cancellation', 'cursor', 'pagination', 'issuer', 'reset',
  'placeholder', 'hint', 'prompt', 'message', 'msg', 'error', 'title', 'regex', 'pattern', 'rule', 'rules', 'strength',
  'usage', 'used', 'count', 'budget', 'cost', 'price', 'rate', 'window', 'kind', 'class', 'template', 'store', 'location', 'env',
  'variable', 'source', 'input', 'output', 'spec', 'secrets_manager', 'rotation', 'created', 'updated', 'last', 'old', 'new', 'confirm',
  'confirmation', 'forgot', 'change', 'changed', 'mask', 'masked', 'visible', 'show', 'toggle', 'button', 'form', 'dialog', 'modal',
  'view', 'screen', 'route', 'handler', 'callback', 'listener', 'event', 'events', 'test', 'tests', 'spec', 'mock', 'fixture',
  'sample', 'example', 'dummy', 'fake', 'default', 'defaults', 'length', 'chars', 'characters', 'entropy', 'bits', 'bytes', 'algo',
  'cipher', 'digest', 'kdf', 'salt', 'rounds', 'iterations', 'cost', 'factor', 'lifetime', 'age', 'delay', 'interval', 'retries',
  'attempts', 'tries', 'lock', 'lockout', 'locked']);
/** Words that make a key a database or layout key, unless the name also says what kind of secret it is. */
const KEY_MODIFIERS = new Set(['public', 'primary', 'foreign', 'sort', 'partition', 'bucket', 'schema', 'sequence', 'idx', 'index',
  'natural', 'composite', 'unique', 'hot', 'short', 'cache', 'map', 'dict', 'hash', 'lookup', 'row', 'column', 'table', 'react']);
const SECRET_QUALIFIERS = /^(?:access|secret|storage|private|api|master|shared|account|signing|encryption|client|subscription)$/;
const NOT_KEY_ENDINGS = /(?:mon|tur|don|hoc|whis|joc|tur|bul|sul|lac)key$/;

/** The words of a name: `DB_PASSWORD` → db, password; `apiKey` → api, key; `X-Api-Key` → x, api, key. */
export function nameWords(name: string): string[] {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2').toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);
}

/** 'password' when a word of the name is a password word, 'secret' for other secret words, null when the name is not secret-ish. */
export function nameClass(name: string): 'password' | 'secret' | null {
  const words = nameWords(name);
  if (words.some((w) => KEY_MODIFIERS.has(w)) && !words.some((w) => SECRET_QUALIFIERS.test(w))) return null;
  let cls: 'password' | 'secret' | null = null;
  for (const w of words) {
    if (BENIGN_WORDS.has(w)) return null;
    if (PASSWORD_WORDS.some((k) => w === k || (k.length > 4 && w.endsWith(k)))) cls = 'password';
    else if (cls === null && !NOT_KEY_ENDINGS.test(w) && SECRET_WORDS.some((k) => w === k || (k.length >= 5 && w.endsWith(k)) || (k === 'key' && /^(?:api|access|secret|private|auth|master|app|client|server|account|storage|signing|license|shared)key$/.test(w)))) cls = 'secret';
  }
  return cls;
}

/** Shannon entropy in bits per character. */
export function entropy(v: string): number {
  const counts = new Map<string, number>();
  for (const c of v) counts.set(c, (counts.get(c) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) { const p = n / v.length; h -= p * Math.log2(p); }
  return h;
}

/** A dotted path of identifiers (`settings.SECRET_KEY`, `X25519.KeyPair`) names where a value lives; it is not one. */
function codePath(v: string): boolean {
  const parts = v.split('.');
  if (parts.length < 2 || !parts.every((p) => /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(p))) return false;
  return (v.match(/[0-9]/g)?.length ?? 0) <= 3;
}

/** A value assigned to a secret (not password) name: long enough, random enough, not an expression, path, URL or word. */
export function isKeyedSecret(v: string): boolean {
  if (v.length < 8 || isPlaceholder(v)) return false;
  if (/\s/.test(v) || v.includes('://') || /^[~.]{0,2}\/[A-Za-z0-9_.-]+\//.test(v) || /^[^@\s]+@[^@\s]+\.[a-z]{2,}$/i.test(v)) return false;
  if (/^[0-9]+$/.test(v)) return v.length >= 8;
  if (!isSecretValue(v, false) || codePath(v)) return false;
  if (/^[0-9]+(?:\.[0-9]+){1,3}(?:[-+][A-Za-z0-9.]+)?$/.test(v)) return false; // a version
  const digits = /[0-9]/.test(v), lower = /[a-z]/.test(v), upper = /[A-Z]/.test(v);
  // Letters only: random, not an identifier made of words (ClearTextPassword, SalesResults).
  if (!digits && !(lower && upper && v.length >= 16 && !/^[A-Z]?[a-z]+(?:[A-Z][a-z]+|[A-Z]{2,})*$/.test(v))) return false;
  return entropy(v) >= (v.length >= 32 ? 3 : 2.5);
}

/** A value assigned to a password name: anything that is not a placeholder, keyword, expression or path. */
function isKeyedPassword(v: string, strict: boolean): boolean {
  if (/\s/.test(v) || v.includes('://') || /^[~.]{0,2}\/[A-Za-z0-9_.-]+\//.test(v)) return false;
  return isSecretValue(v, strict) && !codePath(v);
}

// name rest (1), closing quote/bracket (2), separator (3), then the value: "…" (4) '…' (5) `…` (6) bare (7).
const NAME_REST = r`([A-Za-z0-9_.-]{0,64})`;
const CLOSE = r`((?:["'\]]|&quot;){0,2})`;
// One way to read each separator (little ambiguity keeps the streams' hold-back regex cheap).
const SEP = r`([ \t]{0,4}(?:=>|::=|:=|\?=|\+=|\.=|!=|=|:|,|->|\(|>)|[ \t]{1,4}(?:value[ \t]{0,3}=|is(?=[ \t])))[ \t]{0,4}`;
// Values run to their end: a bound here was where a longer value's redaction stopped, leaving its tail. What a
// stream holds for a name is bounded by the detectors' holdCap instead: past it, the value found so far goes out
// redacted and the rest of its token is swallowed. So that a long quoted value is found before its closing quote
// arrives, the closing quote is optional (an unclosed value runs to the end of the line; validators refuse spaces).
const VALUE = r`(?:"([^"\r\n]+)"?|'([^'\r\n]+)'?|\x60([^\x60\r\n]+)\x60?|([^\s"'\x60,;<>(){}\[\]]+))`;

const NAME_CHAR = /[A-Za-z0-9_.-]/;

function validator(want: 'password' | 'secret') {
  const minLen = want === 'password' ? 4 : 8;
  return (value: string, m: RegExpExecArray): boolean => {
    // Cheap checks first: keyword-dense text reaches this at every keyword.
    if (value.length < minLen) return false;
    const text = m.input, end = m.index + m[0].length;
    const sep = m[3].trim(), close = m[2], quoted = m[7] === undefined;
    if (sep === 'is' && want !== 'password') return false;
    if (sep === '(' && !quoted) return false; // setPassword(variable)
    if (sep === ',' && (!quoted || close === '')) return false; // ("NAME", "value") only
    if (!quoted && text[end] === '(') return false; // a call
    let s = m.index;
    while (s > 0 && m.index - s < 64 && NAME_CHAR.test(text[s - 1])) s--;
    const before = s > 0 ? text[s - 1] : '';
    const name = text.slice(s, m.indices ? m.indices[1][1] : m.index);
    // <Password>v</Password>. (Validators look at most one character past the match: a stream has that one when it decides.)
    if (sep === '>' && (before !== '<' || text[end] !== '<')) return false;
    if (nameClass(name) !== want) return false;
    if (want === 'password') return isKeyedPassword(value, (sep === ':' || sep === 'is') && !quoted);
    return isKeyedSecret(value);
  };
}

/** Kubernetes `data:` values are base64 of the secret: valid base64 whose decoded bytes are printable text. */
function base64Text(v: string): boolean {
  if (v.length % 4 !== 0 || v.length < 8 || isPlaceholder(v)) return false;
  const d = Buffer.from(v, 'base64');
  if (d.length < 4) return false;
  let printable = 0;
  for (const b of d) if ((b >= 32 && b < 127) || b === 10 || b === 13 || b === 9) printable++;
  return printable === d.length && /[A-Za-z0-9]/.test(d.toString('latin1'));
}

/** `curl -u user:password`: the password, unless it is a variable or a uid:gid pair. */
function curlPassword(v: string): boolean {
  return !v.startsWith('$') && !/^[0-9]+$/.test(v) && !isPlaceholder(v) && !/^(?:pass(?:word)?|pwd|secret|token)$/i.test(v);
}

export const CONTEXT_DETECTORS: readonly DetectorSpec[] = [
  {
    kind: 'password', filter: KEY, priority: 72, flags: 'i', groups: [4, 5, 6, 7], validate: validator('password'),
    at: PASS_AT, holdCap: 1024,
    source: r`(?:pass|pwd|pswd)${NAME_REST}${CLOSE}${SEP}${VALUE}`,
  },
  {
    kind: 'secret', filter: KEY, priority: 70, flags: 'i', groups: [4, 5, 6, 7], validate: validator('secret'),
    at: SECRET_AT, holdCap: 1024,
    source: r`(?:secret|token|key|cred|auth|sess|sig)${NAME_REST}${CLOSE}${SEP}${VALUE}`,
  },
  {
    // Command-line flags: --password value, --api-key=value (a space separates a value only after a flag).
    kind: 'secret', filter: KEY, priority: 71, groups: [2, 3, 4, 5], at: { lit: ['--'], notPrev: '[A-Za-z0-9_-]' }, holdCap: 1024,
    validate: (v, m) => {
      const cls = v.length >= 4 ? nameClass(m[1]) : null;
      return cls === 'password' ? isKeyedPassword(v, false) : cls === 'secret' && isKeyedSecret(v);
    },
    source: r`(?<![A-Za-z0-9_-])--([A-Za-z0-9][A-Za-z0-9_.-]{0,63})(?:[ \t]{1,4}|=)${VALUE}`,
  },
  {
    // Authorization: <any scheme> <credentials> (Bearer and Basic have their own detectors too).
    kind: 'auth_header', filter: KEY, priority: 80, flags: 'i', groups: [1], at: SECRET_AT,
    validate: (v) => v.length >= 8 && !v.startsWith('$') && !isPlaceholder(v) && /[0-9]/.test(v),
    source: r`authorization["']?[ \t]{0,3}[:=][ \t]{0,3}["']?[A-Za-z][A-Za-z0-9_-]{1,24}[ \t]+([A-Za-z0-9\-._~+/=:%]{8,2048})`,
  },
  {
    kind: 'password', filter: KEY, priority: 75, groups: [1], validate: curlPassword, at: { re: '(?<![A-Za-z0-9_-])(?:-u|--user)[ \\t=]' },
    holdCap: 1024,
    source: r`(?<![A-Za-z0-9_-])(?:-u|--user)(?:[ \t]{1,4}|=)["']?[^\s:"'$]{1,64}:([^\s"']{3,})`,
  },
  {
    // An indented `name: base64` line, as under a Kubernetes Secret's `data:`.
    kind: 'secret', filter: KEY, priority: 65, flags: 'm', groups: [1], validate: base64Text, at: { line: '[ \t]' }, holdCap: 8192,
    source: r`^[ \t]{1,16}[A-Za-z0-9_.-]{1,128}:[ \t]{1,8}["']?([A-Za-z0-9+/]{8,8192}={0,2})["']?[ \t]*$`,
  },
];
