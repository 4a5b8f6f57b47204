// The trigger prefilter must not change findings: each detector run only at its trigger positions
// finds exactly what its plain global regex finds, on the corpus and on spliced, mutated text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DETECTORS, type DetectorSpec } from '../../../../policies/disclosure/detectors.js';
import { compileBuiltin, DetectorSet, type Finding } from '../../../../policies/disclosure/scan.js';
import { isPlaceholder } from '../../../../policies/disclosure/validators.js';
import { corpus } from '../../../helpers/corpus.js';

/** The scan without any prefilter: the detector's global regex from `from`. */
function reference(spec: DetectorSpec, text: string, from: number): string[] {
  const re = new RegExp(spec.source, (spec.flags ?? '') + 'g' + (spec.groups ? 'd' : ''));
  const out: string[] = [];
  re.lastIndex = from;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    if (m[0].length === 0) { re.lastIndex++; continue; }
    let start = m.index, end = m.index + m[0].length;
    for (const g of spec.groups ?? []) {
      const span = m.indices?.[g];
      if (span) { [start, end] = span; break; }
    }
    if (spec.validate && !spec.validate(text.slice(start, end), m)) continue;
    out.push(`${start}-${end}`);
  }
  return out;
}

// Detectors run at trigger positions (`at`) or at a literal (`fast`): both must equal the plain scan.
const triggered = DETECTORS.filter((d) => d.at || d.fast);
const sets = triggered.map((d) => new DetectorSet([compileBuiltin(d)], [], '[R]'));
const found = (set: DetectorSet, text: string, from: number): string[] => {
  const out: Finding[] = [];
  set.findBuiltins(text, from, out);
  return out.map((f) => `${f.start}-${f.end}`);
};

function same(text: string, from: number): void {
  triggered.forEach((d, i) => assert.deepEqual(found(sets[i], text, from), reference(d, text, from), `${d.kind} /${d.source}/ from ${from} on ${JSON.stringify(text.slice(0, 200))}`));
}

test('triggered detectors find exactly what their global regexes find (corpus)', () => {
  assert.ok(triggered.length > 30);
  const all = corpus.items.map((i) => i.text);
  same(all.join('\n'), 0);
  same(all.join('\r\n'), 7);
  for (const t of all) { same(t, 0); same(t, t.length >> 1); }
});

test('triggered detectors find exactly what their global regexes find (every kind of neighbour before each match)', () => {
  // A trigger that skips positions after some character must agree with the detector's own
  // lookbehind: each match the plain regex finds in the corpus is tried again directly after
  // letters, digits and each separator, and scanned from inside itself.
  const neighbours = ['a', 'Z', '0', '_', '-', '.', '/', '+', ':', '=', '@', '\\', '"', ' ', '\n', 'é'];
  let tried = 0;
  for (const t of corpus.items.map((i) => i.text)) {
    for (const d of triggered) {
      const re = new RegExp(d.source, (d.flags ?? '') + 'g');
      for (const m of t.matchAll(re)) {
        for (const c of neighbours) { same(t.slice(0, m.index) + c + t.slice(m.index), 0); tried++; }
        // A scan from inside the match finds only what starts at or after that point.
        same(t, m.index + 1); same(t, m.index + (m[0].length >> 1));
      }
    }
  }
  assert.ok(tried > 1000, `only ${tried} cases`);
});

test('triggered detectors find exactly what their global regexes find (spliced text)', () => {
  const texts = corpus.items.map((i) => i.text);
  const piece = fc.tuple(fc.integer({ min: 0, max: texts.length - 1 }), fc.nat(), fc.nat(), fc.constantFrom('', '\n', '\r\n', '\t', ' ', '-', '_', '.', ':', '/', '@', '=', '\u2028', 'é'))
    .map(([k, a, b, sep]) => { const s = texts[k]; const x = a % (s.length + 1); return s.slice(x, x + (b % (s.length + 1))) + sep; });
  fc.assert(fc.property(fc.array(piece, { minLength: 1, maxLength: 5 }), fc.nat(), (parts, f) => {
    const text = parts.join('');
    same(text, 0);
    same(text, f % (text.length + 1));
  }), { numRuns: 300 });
});

test('placeholder check: sequences and distinct characters', () => {
  assert.ok(isPlaceholder('zzzzzzzzzzzzzzzzzzzzzzzzzzzz') && isPlaceholder('A1B2abcdefghQ9Z8Y7X6W5'));
  assert.ok(isPlaceholder('k3Y9q23456789z1R0mP4tL') && !isPlaceholder('k3Y9q2345678Wz1R0mP4tL') && !isPlaceholder('k3Y9q2W45z1R0mP4tL8vXn'));
  assert.ok(isPlaceholder('ÄÄÄÄÄÄÄÄÄÄÄÄÄÄ') && isPlaceholder('äbcdefGHIq1Rw3Lm7Tx0Vn5Kp') && !isPlaceholder('äbc9Zq1Rw3Lm7Tx0Vn5Kp'));
});

test('a detector found at a literal is found at the very start of the text too (fast-check counterexample)', () => {
  // twitter_bearer's literal (a run of A's) had a `prev` class, which refused a token at offset 0.
  same('AAAAAAAAAAAAAAAAAAAAAF5h3Erbhj1n8hLOpYOomAxTbG3N7lPii4rzuoE14JV7WQFIIzbTKSXexport', 0);
});
