// Numbers a double cannot hold survive a re-serialised body as they were written (kernel/json-exact.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { exactNumbers, stringifyExact } from '../../kernel/json-exact.js';
import { checkJsonText } from '../../kernel/json-canonical.js';

const round = (text: string): string => {
  const v: unknown = JSON.parse(text);
  return stringifyExact(v, exactNumbers(text, v));
};

test('big integers, long decimals and huge or tiny exponents are written as they came', () => {
  const text = '{"seed":12345678901234567890,"a":[1e400,-1E-400,0.12345678901234567890123,9007199254740993],"b":{"n":-123456789012345678901234567890},"small":1.5,"id":"12345678901234567890"}';
  assert.equal(round(text), text);
  // Whitespace goes, as with JSON.stringify; the tokens stay.
  assert.equal(round('{ "seed" : 12345678901234567890 ,\n "x": [ 1 , 2e500 ] }'), '{"seed":12345678901234567890,"x":[1,2e500]}');
});

test('a number a stage changed is written as its new value; other values keep their type', () => {
  const text = '{"max_tokens":100000000000000000000,"seed":12345678901234567890,"k":"v"}';
  const v = JSON.parse(text) as Record<string, unknown>;
  const exact = exactNumbers(text, v);
  v.max_tokens = 4096;
  v.k = 'changed';
  assert.equal(stringifyExact(v, exact), '{"max_tokens":4096,"seed":12345678901234567890,"k":"changed"}');
});

test('texts without such numbers take one regex test and the plain JSON.stringify', () => {
  const text = '{"model":"m","messages":[{"role":"user","content":"hi 1234"}],"temperature":0.7}';
  assert.equal(exactNumbers(text, JSON.parse(text)), undefined);
  // Long digit runs inside strings only: walked, nothing recorded.
  const s = '{"content":"card 4111111111111111 and 1e400"}';
  assert.equal(exactNumbers(s, JSON.parse(s)), undefined);
});

test('a repeated key: the last one counts, as for JSON.parse', () => {
  assert.equal(round('{"a":12345678901234567890,"a":{"b":1}}'), '{"a":{"b":1}}');
  assert.equal(round('{"a":{"b":1},"a":12345678901234567891}'), '{"a":12345678901234567891}');
});

test('a string that spells the marker is left alone', () => {
  const text = '{"a":12345678901234567890,"s":"\\u0000abc:0"}';
  assert.equal(round(text), text);
});

/** A JSON tree whose numbers are tokens: canonical small numbers, or long tokens a double rounds. */
const token = fc.oneof(
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
  fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).filter((b) => b > 2n ** 53n || b < -(2n ** 53n)).map(String),
  fc.tuple(fc.integer({ min: 1, max: 9 }), fc.stringMatching(/^\d{16,25}$/)).map(([a, b]) => `${a}.${b}`),
  fc.tuple(fc.integer({ min: 1, max: 9 }), fc.constantFrom('e', 'E', 'e+', 'e-'), fc.integer({ min: 309, max: 999 })).map(([a, e, x]) => `${a}${e}${x}`),
);
const tree = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small' }, token.map((t) => ({ t })), fc.string().map((s) => JSON.stringify(s)).map((t) => ({ t })), fc.constantFrom('true', 'false', 'null').map((t) => ({ t })), tie('arr'), tie('obj')),
  arr: fc.array(tie('node'), { maxLength: 5 }).map((a) => ({ a })),
  obj: fc.uniqueArray(fc.tuple(fc.string({ maxLength: 6 }).map((k) => `k${k}`), tie('node')), { maxLength: 5, selector: ([k]) => k }).map((o) => ({ o })),
})).obj;
type Node = { t: string } | { a: Node[] } | { o: Array<[string, Node]> };
const render = (n: Node, sp: string): string =>
  'a' in n ? `[${sp}${n.a.map((x) => render(x, sp)).join(`${sp},${sp}`)}${sp}]`
    : 'o' in n ? `{${sp}${n.o.map(([k, x]) => `${JSON.stringify(k)}${sp}:${sp}${render(x, sp)}`).join(`${sp},${sp}`)}${sp}}`
      : n.t;

test('property: any JSON text, any spacing, comes back with every number token as written', () => {
  fc.assert(fc.property(tree, fc.constantFrom('', ' ', '\n\t '), (n, sp) => {
    const compact = render(n as Node, '');
    const v: unknown = JSON.parse(compact);
    // Keys never look like array indices (JSON.parse would reorder them); strings and small numbers are written as JSON.stringify writes them.
    // The validation stage's scan (checkJsonText) decides whether exactNumbers runs at all: it may not miss one.
    const spaced = render(n as Node, sp), seen = { long: false };
    checkJsonText(spaced, seen);
    if (exactNumbers(spaced, JSON.parse(spaced)) !== undefined) assert.ok(seen.long, spaced);
    if (JSON.stringify(v) === compact) return; // nothing for the exact path to do
    assert.equal(round(spaced), compact);
  }), { numRuns: 400 });
});
