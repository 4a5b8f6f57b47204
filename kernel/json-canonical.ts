// JSON every parser reads alike: strict UTF-8, no lone surrogate escapes, no key twice (as Python, Go or JS would see it).
/*
 * Why: the proxy checks model, token caps and prompts on its own parse, then forwards the raw bytes. Where
 * parsers disagree the upstream can act on something else: duplicate keys (last wins in JS, Python and Go,
 * first wins elsewhere), a key spelled with escapes ("\u006dodel"), a key that differs only in case
 * (Go's encoding/json matches struct fields case-insensitively, with Unicode folding: "MODEL", "ſtream"),
 * bytes that are not UTF-8 (Node turns them into U+FFFD, Python refuses, Go keeps going), and lone
 * surrogate escapes (JS keeps them, Go makes U+FFFD, Python keeps them). Such bodies are refused.
 */

/** WHATWG decoder with fatal: rejects bad bytes, overlong forms, encoded surrogates and code points past U+10FFFF. */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The body as text, or null when it is not well-formed UTF-8. A BOM is kept (JSON.parse then refuses it, as Python and Go do). */
export function decodeUtf8(buf: Uint8Array): string | null {
  try {
    return UTF8.decode(buf);
  } catch {
    return null;
  }
}

export type KeyProblem = 'duplicate_json_key' | 'invalid_unicode';

/** Top-level (and "options") fields some server acts on: a spelling that only Go would map onto one is refused. */
const KNOWN_FIELDS = new Set([
  'model', 'model_name', 'messages', 'prompt', 'input', 'text', 'system', 'suffix', 'instructions', 'stream', 'user',
  'max_tokens', 'max_completion_tokens', 'max_new_tokens', 'n_predict', 'num_predict', 'options', 'tools', 'functions',
  'images', 'template', 'raw', 'format', 'personality', 'n', 'best_of', 'stop', 'keep_alive',
]);

/** Go's case folding of a key (bytes.EqualFold classes), lower-cased for comparison; ASCII lower keys are their own fold. */
export function foldKey(k: string): string {
  let plain = true;
  for (let i = 0; i < k.length; i++) {
    const c = k.charCodeAt(i);
    if (c >= 0x80 || (c >= 0x41 && c <= 0x5a)) {
      plain = false;
      break;
    }
  }
  if (plain) return k;
  let out = '';
  for (const ch of k) {
    const f = ch.toLowerCase().toUpperCase().toLowerCase();
    out += f.length === ch.length ? f : ch;
  }
  return out;
}

const HEX = (c: number): number => (c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1);

function hex4(t: string, i: number): number {
  let v = 0;
  for (let j = 0; j < 4; j++) {
    const h = HEX(t.charCodeAt(i + j));
    if (h < 0) return -1;
    v = (v << 4) | h;
  }
  return v;
}

/**
 * One linear pass over text that JSON.parse already accepted: per object, the folded keys seen so far;
 * per string, surrogate escapes must pair. Only keys with a backslash are decoded (JSON.parse of the slice).
 */
export function checkJsonText(t: string, numbers?: { long: boolean }): KeyProblem | null {
  // Per open container: a key set for objects, null for arrays. Sets are made lazily (most objects are small).
  const stack: Array<Set<string> | null> = [];
  let expectKey = false;
  const n = t.length;
  // Strings are skipped with indexOf (native, fast); escapes are found through one moving backslash cursor.
  let nextBs = t.indexOf('\\');
  if (nextBs < 0) nextBs = n;
  // Number tokens (outside strings): a run of 16 number characters, or 3 exponent digits, is one a double may not
  // hold (`numbers.long`, for kernel/json-exact.ts; cheaper here than a regex over the whole body).
  let run = 0;
  let exp = -1;
  for (let i = 0; i < n; i++) {
    const c = t.charCodeAt(i);
    if (numbers !== undefined) {
      if ((c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x2b || c === 0x2d) {
        run++;
        if (exp >= 0 && c >= 0x30 && c <= 0x39) exp++;
        if (run >= 16 || exp >= 3) numbers.long = true;
        continue;
      }
      if ((c === 0x65 || c === 0x45) && run > 0) { run++; exp = 0; continue; }
      run = 0;
      exp = -1;
    }
    if (c === 0x22) {
      const start = i + 1;
      let escaped = false;
      let pendingHigh = false;
      i++;
      for (;;) {
        if (nextBs < i) {
          nextBs = t.indexOf('\\', i);
          if (nextBs < 0) nextBs = n;
        }
        const q = t.indexOf('"', i);
        if (q < nextBs) {
          if (pendingHigh && q !== i) return 'invalid_unicode';
          i = q;
          break;
        }
        // An escape at nextBs, before the closing quote.
        if (pendingHigh && nextBs !== i) return 'invalid_unicode';
        escaped = true;
        const b = nextBs;
        if (t.charCodeAt(b + 1) === 0x75) {
          const v = hex4(t, b + 2);
          if (v >= 0xd800 && v <= 0xdbff) {
            if (pendingHigh) return 'invalid_unicode';
            pendingHigh = true;
          } else if (v >= 0xdc00 && v <= 0xdfff) {
            if (!pendingHigh) return 'invalid_unicode';
            pendingHigh = false;
          } else if (pendingHigh) return 'invalid_unicode';
          i = b + 6;
        } else {
          if (pendingHigh) return 'invalid_unicode';
          i = b + 2;
        }
      }
      if (pendingHigh) return 'invalid_unicode';
      if (expectKey) {
        expectKey = false;
        const key = escaped ? (JSON.parse(t.slice(start - 1, i + 1)) as string) : t.slice(start, i);
        const depth = stack.length;
        let set = stack[depth - 1];
        if (!set) stack[depth - 1] = set = new Set();
        const f = foldKey(key);
        if (set.has(f)) return 'duplicate_json_key';
        set.add(f);
        // A lone variant spelling of a field the proxy acts on ("Model", "ſtream", "\u006dodel" is fine).
        if (f !== key && depth <= 2 && KNOWN_FIELDS.has(f)) return 'duplicate_json_key';
      }
    } else if (c === 0x7b) {
      stack.push(undefined as unknown as Set<string>);
      expectKey = true;
    } else if (c === 0x5b) {
      stack.push(null);
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
    } else if (c === 0x2c) {
      expectKey = stack.length > 0 && stack[stack.length - 1] !== null;
    }
  }
  return null;
}

/** How Python's json.loads(bytes) picks the encoding (json.detect_encoding): BOMs, then the NUL-byte pattern. */
function pythonDecode(b: Uint8Array): string | null {
  const dec = (label: string, from = 0): string | null => {
    try {
      return new TextDecoder(label, { fatal: true, ignoreBOM: true }).decode(b.subarray(from));
    } catch {
      return null;
    }
  };
  const utf32 = (le: boolean, from: number): string | null => {
    if ((b.length - from) % 4 !== 0) return null;
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    let s = '';
    for (let i = from; i < b.length; i += 4) {
      const cp = v.getUint32(i, le);
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return null;
      s += String.fromCodePoint(cp);
    }
    return s;
  };
  const at = (i: number): number => b[i];
  if (b.length >= 4 && at(0) === 0xff && at(1) === 0xfe && at(2) === 0 && at(3) === 0) return utf32(true, 4);
  if (b.length >= 4 && at(0) === 0 && at(1) === 0 && at(2) === 0xfe && at(3) === 0xff) return utf32(false, 4);
  if (b.length >= 2 && at(0) === 0xff && at(1) === 0xfe) return dec('utf-16le', 2);
  if (b.length >= 2 && at(0) === 0xfe && at(1) === 0xff) return dec('utf-16be', 2);
  if (b.length >= 3 && at(0) === 0xef && at(1) === 0xbb && at(2) === 0xbf) return dec('utf-8', 3);
  if (b.length >= 4) {
    if (!at(0)) return at(1) ? dec('utf-16be') : utf32(false, 0);
    if (!at(1)) return at(2) || at(3) ? dec('utf-16le') : utf32(true, 0);
  } else if (b.length === 2) {
    if (!at(0)) return dec('utf-16be');
    if (!at(1)) return dec('utf-16le');
  }
  return dec('utf-8');
}

/** NaN, Infinity and -Infinity outside strings (Python's json module reads them) made into a strict JSON number. */
function strictLiterals(t: string): string {
  if (!/NaN|Infinity/.test(t)) return t;
  let out = '';
  let last = 0;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c === 0x22) {
      for (i++; i < t.length && t.charCodeAt(i) !== 0x22; i++) if (t.charCodeAt(i) === 0x5c) i++;
    } else if (t.startsWith('NaN', i) || t.startsWith('Infinity', i)) {
      const len = t.startsWith('NaN', i) ? 3 : 8;
      out += `${t.slice(last, i)}0`;
      i += len - 1;
      last = i + 1;
    }
  }
  return out + t.slice(last);
}

/**
 * A body JSON.parse refused that Python's json.loads(bytes) (Starlette's request.json(), FastAPI) would read:
 * a BOM, UTF-16 or UTF-32, NaN / Infinity. The proxy never checked what such a server would act on.
 */
export function pythonOnlyJson(buf: Uint8Array): boolean {
  const text = pythonDecode(buf);
  if (text === null) return false;
  try {
    JSON.parse(strictLiterals(text));
    return true;
  } catch {
    return false;
  }
}
