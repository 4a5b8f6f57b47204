// Numbers a JSON body carries that a double cannot hold, kept as they were written when the proxy re-serialises it.
//
// JSON.parse turns 12345678901234567890 into 12345678901234567000 and 1e400 into Infinity (written back as null).
// The proxy re-serialises a body only when a stage changed it (a redacted prompt, a capped max_tokens, a
// redacted answer), but then such a number would change with it: a `seed`, a big id, a precise decimal. The
// stages keep deciding on the parsed value; at re-serialisation every number that is still the value parsed
// from such a token is written as that token.

/** Where such tokens were: per object or array holding one, per key (array index as a string), the token. */
export type ExactNumbers = WeakMap<object, Map<string, string>>;

/** A text that may hold such a token: 16 digits, 17 digits and dots (a long decimal), or a 3-digit exponent. */
const SUSPECT = /\d{16}|[\d.]{17}|[eE][+-]?\d{3}/;
const NUMBER = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const STRING = /"(?:[^"\\]|\\.)*"/y;
const SPACE = /[ \t\n\r]*/y;

/**
 * The tokens of `text` (already accepted by JSON.parse as `value`) that a double does not hold exactly
 * (more than 15 significant digits, or an exponent of 3 digits); undefined when there is none, which the
 * one regex test decides for almost every body.
 */
export function exactNumbers(text: string, value: unknown): ExactNumbers | undefined {
  if (!SUSPECT.test(text) || value === null || typeof value !== 'object') return undefined;
  const found: ExactNumbers = new WeakMap();
  let any = false;
  let i = 0;
  const space = (): void => { SPACE.lastIndex = i; SPACE.exec(text); i = SPACE.lastIndex; };
  const string = (): string => {
    STRING.lastIndex = i;
    const m = STRING.exec(text)!;
    i = STRING.lastIndex;
    return m[0];
  };
  // Walks the text and the parsed value together; JSON.parse has accepted the text, so its shape is known.
  const walk = (holder: object | null, key: string, v: unknown): void => {
    space();
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      const isArray = c === 0x5b;
      i++;
      space();
      let n = 0;
      while (text.charCodeAt(i) !== (isArray ? 0x5d : 0x7d)) {
        if (isArray) walk(v as object, String(n++), (v as unknown[])[n - 1]);
        else {
          const k = JSON.parse(string()) as string;
          space();
          i++; // the colon
          // A repeated key: JSON.parse keeps the last one; what an earlier one held is judged by the value's type below.
          walk(v as object, k, Object.hasOwn(v as object, k) ? (v as Record<string, unknown>)[k] : undefined);
        }
        space();
        if (text.charCodeAt(i) === 0x2c /* , */) { i++; space(); }
      }
      i++;
      return;
    }
    if (c === 0x22 /* " */) { string(); return; }
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (m === null) { // true, false, null
      i += text.startsWith('true', i) ? 4 : text.startsWith('false', i) ? 5 : 4;
      return;
    }
    i = NUMBER.lastIndex;
    if (holder === null || typeof v !== 'number' || !inexact(m[0])) return;
    let keys = found.get(holder);
    if (keys === undefined) found.set(holder, (keys = new Map()));
    keys.set(key, m[0]);
    any = true;
  };
  try {
    walk(null, '', value);
  } catch {
    return undefined; // nesting deeper than the stack: the body is written as JSON.stringify writes it
  }
  return any ? found : undefined;
}

/** More than 15 significant digits, or an exponent of three digits (beyond a double's range, or close to it). */
function inexact(token: string): boolean {
  const e = token.search(/[eE]/);
  if (e >= 0 && /\d{3}/.test(token.slice(e))) return true;
  const digits = (e >= 0 ? token.slice(0, e) : token).replace(/[-.]/g, '').replace(/^0+/, '');
  return digits.length > 15;
}

/** JSON.stringify, with every number still equal to the value parsed from a recorded token written as that token. */
export function stringifyExact(value: unknown, exact: ExactNumbers | undefined): string {
  if (exact === undefined) return JSON.stringify(value);
  const tokens: string[] = [];
  // A marker no string of the body can spell: it holds a NUL, which JSON writes as \u0000, and a random tag.
  const tag = Math.random().toString(36).slice(2, 10);
  const text = JSON.stringify(value, function (this: object, key: string, v: unknown) {
    if (typeof v !== 'number') return v;
    const t = exact.get(this)?.get(key);
    if (t === undefined || Number(t) !== v) return v;
    return `\u0000${tag}:${tokens.push(t) - 1}`;
  });
  if (tokens.length === 0) return text;
  return text.replace(new RegExp(`"\\\\u0000${tag}:(\\d+)"`, 'g'), (_, n: string) => tokens[Number(n)]!);
}
