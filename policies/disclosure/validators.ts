// Checks that turn a regex candidate into a finding: Luhn, IBAN mod-97, SSN ranges, IP ranges, placeholders.

/** Luhn checksum over a string of digits. */
export function luhn(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) { d *= 2; if (d > 9) d -= 9; }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** A payment card number: known issuer prefix, matching length, Luhn-valid. */
export function isCardNumber(text: string): boolean {
  const d = text.replace(/[ -]/g, '');
  if (d.length < 13 || d.length > 19 || /^(\d)\1+$/.test(d)) return false;
  const len = d.length;
  const p2 = Number(d.slice(0, 2)), p3 = Number(d.slice(0, 3)), p4 = Number(d.slice(0, 4)), p6 = Number(d.slice(0, 6));
  const issuer =
    (d[0] === '4' && (len === 13 || len === 16 || len === 19)) || // Visa
    (((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) && len === 16) || // Mastercard
    ((p2 === 34 || p2 === 37) && len === 15) || // American Express
    ((p4 === 6011 || p2 === 65 || (p3 >= 644 && p3 <= 649) || (p6 >= 622126 && p6 <= 622925)) && len >= 16) || // Discover
    (p4 >= 3528 && p4 <= 3589 && len >= 16) || // JCB
    (((p3 >= 300 && p3 <= 305) || p2 === 36 || p2 === 38 || p2 === 39) && len >= 14) || // Diners
    (p2 === 62 && len >= 16) || // UnionPay
    ((p2 === 50 || (p2 >= 56 && p2 <= 69)) && len >= 12); // Maestro
  return issuer && luhn(d);
}

const IBAN_LENGTHS: Record<string, number> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BR: 29, BY: 28, CH: 21,
  CR: 22, CY: 28, CZ: 24, DE: 22, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FO: 18, FR: 27,
  GB: 22, GE: 22, GI: 23, GL: 18, GR: 27, GT: 28, HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IS: 26,
  IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20, LU: 20, LV: 21, MC: 27, MD: 24,
  ME: 22, MK: 19, MR: 27, MT: 31, MU: 30, NL: 18, NO: 15, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29,
  RO: 24, RS: 22, SA: 24, SC: 31, SE: 24, SI: 19, SK: 24, SM: 27, ST: 25, SV: 28, TL: 23, TN: 24,
  TR: 26, UA: 29, VA: 22, VG: 24, XK: 20,
};

/** An IBAN with the right length for its country and a valid ISO 7064 mod-97 check. */
export function isIban(text: string): boolean {
  const s = text.replace(/ /g, '').toUpperCase();
  if (IBAN_LENGTHS[s.slice(0, 2)] !== s.length) return false;
  const moved = s.slice(4) + s.slice(0, 4);
  let rem = 0;
  for (let i = 0; i < moved.length; i++) {
    const c = moved.charCodeAt(i);
    const v = c >= 65 ? String(c - 55) : String.fromCharCode(c);
    for (let j = 0; j < v.length; j++) rem = (rem * 10 + (v.charCodeAt(j) - 48)) % 97;
  }
  return rem === 1;
}

/** A US social security number in AAA-GG-SSSS form with assignable area, group and serial. */
export function isSsn(text: string): boolean {
  const m = /^(\d{3})-(\d{2})-(\d{4})$/.exec(text);
  if (!m) return false;
  const area = Number(m[1]);
  if (area === 0 || area === 666 || area >= 900) return false;
  if (m[2] === '00' || m[3] === '0000') return false;
  return !/^(\d)\1{2}-\1{2}-\1{4}$/.test(text) && text !== '123-45-6789';
}

/** Private, loopback, link-local or shared (CGNAT) IPv4 address, with optional /prefix or :port. */
export function isInternalIpv4(text: string): boolean {
  const ip = text.replace(/(?:\/\d+|:\d+)$/, '');
  const parts = ip.split('.');
  if (parts.length !== 4) return false;
  const o = parts.map((p) => (p.length > 1 && p[0] === '0' ? NaN : Number(p)));
  if (o.some((n) => !(n >= 0 && n <= 255))) return false;
  const [a, b] = o;
  return a === 10 || a === 127 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) ||
    (a === 169 && b === 254) || (a === 100 && b >= 64 && b <= 127);
}

/** Loopback (::1), link-local (fe80::/10) or unique-local (fc00::/7) IPv6, syntactically valid. */
export function isInternalIpv6(text: string): boolean {
  const ip = text.replace(/%[0-9A-Za-z]+$/, '').toLowerCase();
  const halves = ip.split('::');
  if (halves.length > 2) return false;
  const groups = (h: string): string[] => (h === '' ? [] : h.split(':'));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const all = head.concat(tail);
  if (!all.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return false;
  if (halves.length === 1 ? all.length !== 8 : all.length > 7) return false;
  const full = halves.length === 2 ? [...head, ...Array(8 - all.length).fill('0'), ...tail] : all;
  const first = parseInt(full[0], 16);
  if (full.slice(0, 7).every((g) => parseInt(g, 16) === 0) && parseInt(full[7], 16) === 1) return true;
  return (first & 0xffc0) === 0xfe80 || (first & 0xfe00) === 0xfc00;
}

const PLACEHOLDER_WORDS = /(?:x{4,}|X{4,}|\*{3,}|\.{3}|•{3,}|EXAMPLE|[Ee]xample|PLACEHOLDER|[Pp]laceholder|YOUR|[Yy]our|DUMMY|[Dd]ummy|REPLACE|[Rr]eplace|CHANGEME|[Cc]hangeme|REDACTED|[Rr]edacted|FAKE|[Ff]ake|<|>|\$\{|\{\{|%\(|\$[A-Z_]{2,})/;
const SEQUENCES = '0123456789abcdefghijklmnopqrstuvwxyz';

/** Values that are documentation placeholders rather than secrets ("YOUR_API_KEY", "xxxx", "<token>"). */
export function isPlaceholder(value: string): boolean {
  if (PLACEHOLDER_WORDS.test(value)) return true;
  if (/^%[A-Za-z_][A-Za-z0-9_]*%$/.test(value)) return true; // a Windows/NuGet variable: %NAME%
  if (!hasDistinct(value, Math.min(6, Math.ceil(value.length / 3)))) return true;
  if (value.length < 20) return false;
  return hasSequence(value);
}

/** True when `value` holds at least `need` distinct code points (stops early; need <= 6). */
function hasDistinct(value: string, need: number): boolean {
  if (need <= 0) return true;
  const seen: number[] = [];
  for (let i = 0; i < value.length;) {
    const cp = value.codePointAt(i)!;
    i += cp > 0xffff ? 2 : 1;
    if (!seen.includes(cp)) { seen.push(cp); if (seen.length >= need) return true; }
  }
  return false;
}

/** True when the lower-cased value contains 8 consecutive characters of SEQUENCES ("abcdefgh", "23456789"). */
function hasSequence(value: string): boolean {
  let run = 0, prev = -2;
  for (let i = 0; i < value.length; i++) {
    let c = value.charCodeAt(i);
    if (c >= 128) return hasSequenceSlow(value); // toLowerCase may change non-ASCII text
    if (c >= 65 && c <= 90) c += 32;
    const idx = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 122 ? c - 87 : -1;
    run = idx < 0 ? 0 : idx === prev + 1 ? run + 1 : 1;
    if (run >= 8) return true;
    prev = idx < 0 ? -2 : idx;
  }
  return false;
}

function hasSequenceSlow(value: string): boolean {
  const lower = value.toLowerCase();
  for (let i = 0; i + 8 <= SEQUENCES.length; i++) if (lower.includes(SEQUENCES.slice(i, i + 8))) return true;
  return false;
}

const NOT_VALUES = new Set(['none', 'null', 'nil', 'undefined', 'true', 'false', 'required', 'optional', 'string',
  'str', 'self', 'this', 'password', 'passwd', 'secret', 'token', 'pass', 'changeme', 'empty', 'value', 'default',
  'hidden', 'masked', 'redacted', 'unset', 'env', 'getenv', 'input', 'prompt', 'config', 'settings', 'bytes', 'text']);

/**
 * A value assigned to a password/secret name is treated as a secret unless it is a placeholder,
 * a keyword, or a code expression (identifier paths and calls, which name where a secret lives).
 * `strict` applies to prose-like separators (":" or "is" without quotes): the value must contain a
 * digit or a symbol.
 */
export function isSecretValue(value: string, strict: boolean): boolean {
  if (value.length < 4 || isPlaceholder(value)) return false;
  if (NOT_VALUES.has(value.toLowerCase())) return false;
  if (/^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+(?:\(.*)?$/.test(value) || /^[A-Za-z_$][\w$.]*[([]/.test(value)) return false;
  if (/^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$/.test(value)) return false; // CONSTANT_NAME
  if (strict && !/[\d\W_]/.test(value)) return false;
  return true;
}

/** A bearer/basic credential: long enough, mixes letters and digits, not a placeholder. */
export function isTokenValue(value: string): boolean {
  return value.length >= 16 && /[A-Za-z]/.test(value) && /\d/.test(value) && !isPlaceholder(value);
}
