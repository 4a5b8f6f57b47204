// The one edit distance (policies/edit-distance.ts): a swap of neighbours is one edit; the properties the three callers rely on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { editDistance } from '../../../policies/edit-distance.js';

test('edit distance: table of typos', () => {
  const table: [string, string, number][] = [
    ['', '', 0], ['', 'abc', 3], ['abc', '', 3], ['burst', 'burst', 0],
    ['brust', 'burst', 1], // swap: one edit (plain Levenshtein says 2)
    ['gte', 'get', 1],
    ['kitten', 'sitting', 3],
    ['/lollms_generat', '/lollms_generate', 1],
    ['/list_modles', '/list_models', 1],
    ['ca', 'abc', 3], // optimal string alignment: no edit of a swapped pair (Damerau proper says 2)
    ['emial', 'email', 1],
  ];
  for (const [a, b, d] of table) assert.equal(editDistance(a, b), d, `${a} -> ${b}`);
});

test('edit distance: symmetric, zero only for equal strings, between the length gap and the longer length', () => {
  fc.assert(fc.property(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), (a, b) => {
    const d = editDistance(a, b);
    assert.equal(d, editDistance(b, a));
    assert.equal(d === 0, a === b);
    assert.ok(d >= Math.abs(a.length - b.length) && d <= Math.max(a.length, b.length));
  }), { numRuns: 300 });
});
