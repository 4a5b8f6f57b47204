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
export function checkJsonText(t: string): KeyProblem | null {
  // Per open container: a key set for objects, null for arrays. Sets are made lazily (most objects are small).
  const stack: Array<Set<string> | null> = [];
  let expectKey = false;
  const n = t.length;
  // Strings are skipped with indexOf (native, fast); escapes are found through one moving backslash cursor.
  let nextBs = t.indexOf('\\');
  if (nextBs < 0) nextBs = n;
  for (let i = 0; i < n; i++) {
    const c = t.charCodeAt(i);
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
