// A stream skips a detector when the new text holds none of the characters its matches can start with
// (regex/analyze.ts firstChars): that set must cover every match start and every hold-back start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DETECTORS } from '../../../../policies/disclosure/detectors.js';
import { compileBuiltin } from '../../../../policies/disclosure/scan.js';
import { firstChars } from '../../../../policies/disclosure/regex/analyze.js';
import { parseRegex } from '../../../../policies/disclosure/regex/parse.js';
import { corpus } from '../../../helpers/corpus.js';

const compiled = DETECTORS.map(compileBuiltin);
const starts = (k: number, c: number): boolean => { const f = compiled[k].first; return c < 128 ? f.ascii[c] === 1 : f.other; };

function check(text: string): void {
  compiled.forEach((d, k) => {
    const re = new RegExp(d.re.source, d.re.flags);
    for (const m of text.matchAll(re)) {
      if (m[0].length) assert.ok(starts(k, text.charCodeAt(m.index)), `${d.kind}: a match starts with ${JSON.stringify(text[m.index])}`);
    }
    // Every prefix of the text, as a stream would hold it: the hold starts at a starting character or at the end.
    for (let n = 1; n <= text.length; n += 1 + (n >> 4)) {
      // The hold regex itself, not set.holdOf (whose short path already relies on the starting characters).
      const t = text.slice(0, n);
      d.hold.lastIndex = Math.max(0, n - d.holdLen - 1);
      const p = d.hold.exec(t)?.index ?? n;
      if (p < n) assert.ok(starts(k, t.charCodeAt(p)), `${d.kind}: a hold starts with ${JSON.stringify(t[p])} in ${JSON.stringify(t.slice(0, 120))}`);
    }
  });
}

test('first characters cover every match and hold start (corpus)', () => {
  for (const i of corpus.items) check(i.text);
});

test('first characters cover every match and hold start (spliced text)', () => {
  const texts = corpus.items.map((i) => i.text);
  const piece = fc.tuple(fc.integer({ min: 0, max: texts.length - 1 }), fc.nat(), fc.nat(), fc.constantFrom('', '\n', ' ', '-', ':', '/', '@', '=', 'é', '\u2028'))
    .map(([k, a, b, sep]) => { const s = texts[k]; const x = a % (s.length + 1); return s.slice(x, x + (b % 120)) + sep; });
  fc.assert(fc.property(fc.array(piece, { minLength: 1, maxLength: 4 }), (parts) => check(parts.join(''))), { numRuns: 40 });
});

test('first characters: look-aheads at the start, case folding, empty-matching items', () => {
  const f = (src: string, ci = false): string => {
    const r = firstChars(parseRegex(src), ci);
    return [...r.ascii].map((v, c) => (v ? String.fromCharCode(c) : '')).join('') + (r.other ? '+' : '');
  };
  assert.equal(f('(?<![a-z])sk-[0-9]+'), 's');
  assert.equal(f('(?!zz)[a-c]x'), 'abcz'); // a hold may start where the look-ahead's text could begin
  assert.equal(f('x?y*z'), 'xyz');
  assert.equal(f('k', true), 'Kk'); // without the u flag, JavaScript does not fold U+212A KELVIN SIGN to k
  assert.equal(f('é', true), '+');
  assert.equal(f('\\bq|^r'), 'qr');
  assert.ok(f('.').endsWith('+') && !f('.').includes('\n'));
});

test('shortest match: no match of a detector (its own regex or its fast form) is shorter than its minLen, which skips shorter texts', () => {
  const texts = corpus.items.map((i) => i.text);
  let seen = 0;
  compiled.forEach((d, k) => {
    const forms = [new RegExp(d.re.source, d.re.flags.replace('d', ''))];
    const fast = DETECTORS[k].fast;
    if (fast) forms.push(new RegExp(fast.source, (DETECTORS[k].flags ?? '') + 'g'));
    for (const t of texts) for (const re of forms) for (const m of t.matchAll(re)) {
      seen += 1;
      assert.ok(m[0].length >= d.minLen, `${d.kind}: ${JSON.stringify(m[0])} is shorter than minLen ${d.minLen}`);
    }
  });
  assert.ok(seen > 100, `only ${seen} matches: the corpus no longer exercises this`);
  // And the bound is not vacuous: most detectors need more than a few characters.
  assert.ok(compiled.filter((d) => d.minLen >= 8).length > compiled.length / 2);
});
