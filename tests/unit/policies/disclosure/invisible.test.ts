// Invisible characters inside a secret do not hide it: detection reads the visible text (policies/disclosure/invisible.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileDisclosure } from '../../../../policies/disclosure/index.js';
import { visibleText } from '../../../../policies/disclosure/invisible.js';
import { baseDisclosure, corpus } from '../../../helpers/corpus.js';
import { heldOut } from '../../../helpers/heldout-gen.js';
import { decode, encode, FORMATS, pieces, run } from '../../../helpers/stream-codec.js';
import { pct } from '../../../helpers/measure.js';

const redactor = compileDisclosure({ ...baseDisclosure, filters: { ...baseDisclosure.filters, redact_pii: true } });
/** Zero-width space and non-joiner, word joiner, soft hyphen, BOM, bidi override, variation selector, a tag character. */
const INVISIBLES = ['\u200B', '\u200C', '\u2060', '\u00AD', '\uFEFF', '\u202E', '\uFE0F', '\u{E0061}'];
const strip = (t: string): string => visibleText(t)?.text ?? t;

/** The item's text with an invisible character put inside each secret, at a place that depends on the secret's length. */
function split(text: string, secrets: readonly string[], n: number): string {
  let out = text;
  secrets.forEach((s, i) => {
    const at = 1 + ((n * 7 + i * 3) % Math.max(1, s.length - 1));
    out = out.split(s).join(s.slice(0, at) + INVISIBLES[(n + i) % INVISIBLES.length] + s.slice(at));
  });
  return out;
}

test('held-out secrets split by an invisible character are caught exactly as often as the same secrets unsplit', () => {
  // Another seed than heldout.test.ts; not tuned case by case. Items the plain text already misses are not counted.
  const items = heldOut(0x5eed_0b1d).filter((it) => it.category !== 'benign' && it.secrets.length > 0);
  let caught = 0, n = 0;
  const misses: string[] = [];
  items.forEach((it, k) => {
    const plain = redactor.redactText(it.text).text;
    if (it.secrets.some((s) => plain.includes(s))) return;
    n++;
    const text = split(it.text, it.secrets.filter((s) => s.length > 1), k);
    const out = strip(redactor.redactText(text).text);
    if (it.secrets.every((s) => !out.includes(s))) caught++;
    else misses.push(`${it.id}: ${JSON.stringify(text.slice(0, 120))}`);
  });
  console.log(`[invisible] held-out secrets with an invisible character inside: ${pct(caught / n)} caught (n=${n})`);
  assert.ok(n > 100, `only ${n} items`);
  assert.deepEqual(misses, []);
});

test('corpus secrets split by invisible characters: buffered and streamed alike, on every format', () => {
  const items = corpus.items.filter((it) => it.category !== 'benign').slice(0, 60);
  items.forEach((it, k) => {
    const text = split(it.text, it.secrets.filter((s) => s.length > 1), k);
    const want = redactor.redactText(text).text;
    for (const s of it.secrets) assert.ok(!strip(want).includes(s), `${it.id}: ${JSON.stringify(want)}`);
    for (const format of FORMATS) {
      const cuts = [3, 11, 17, 29, 41].map((c) => (c * (k + 1)) % (text.length + 1));
      assert.equal(decode(format, run(redactor, format, Buffer.from(encode(format, pieces(text, cuts)), 'utf8'), [])), want, `${format} ${it.id}`);
    }
  });
});

test('invisible characters outside findings are left as they came; inside a finding they go with it', () => {
  const benign = 'Line\u200Bbreak opportunities in a\u00ADvery long word, an emoji family 👨\u200D👩\u200D👧 and a BOM\uFEFF.';
  assert.equal(redactor.redactText(benign).text, benign);
  const key = 'ghp_' + 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8';
  const text = `before\u200B ${key.slice(0, 9)}\u2060${key.slice(9)}\u200B after`;
  assert.equal(redactor.redactText(text).text, 'before\u200B [REDACTED:github_token]\u200B after');
});

test('bounded memory: past 65,536 held invisible characters the rest are dropped, the visible text is decided as always', () => {
  const text = '\u200B'.repeat(70_000) + 'x';
  const key = 'sk-proj-' + 'aB3dE5fG7hJ9kL1mN2pQ4rS6tU8vW0xY2zA4bC6dE8fG0hJ2kL4';
  // Review of this change: forcing the held text out at the bound let a key split by that many go through.
  const split = `key: ${key.slice(0, 8)}${'\u200B'.repeat(65_600)}${key.slice(8)} end`;
  for (const format of FORMATS) {
    const cuts = Array.from({ length: 80 }, (_, i) => i * 1000);
    const out = decode(format, run(redactor, format, Buffer.from(encode(format, pieces(text, cuts)), 'utf8'), []));
    assert.equal(strip(out), 'x', format);
    assert.ok(out.length <= 65_537, `${format}: ${out.length}`); // a run that would pass the bound is dropped whole
    const red = decode(format, run(redactor, format, Buffer.from(encode(format, pieces(split, cuts)), 'utf8'), []));
    assert.equal(strip(red), 'key: [REDACTED:openai_key] end', format);
  }
});
