// The operator-pattern engine against JavaScript's own RegExp as oracle: it redacts exactly the text that some match covers, case folding included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkPatternSafety } from '../../../../policies/disclosure/index.js';
import { compileCustom, DetectorSet, uniteSpans, type Finding } from '../../../../policies/disclosure/scan.js';
import { splitFlags } from '../../../../policies/disclosure/safety.js';

/**
 * Oracle: [i, j) is covered when some match of the pattern starts at i and ends at j (V8 decides,
 * asked through a look-behind that pins the end). Spans that overlap or touch are united.
 */
function oracle(source: string, text: string): number[] {
  const { body, caseInsensitive } = splitFlags(source);
  const pairs: number[] = [];
  for (let i = 0; i < text.length; i++) {
    for (let j = i + 1; j <= text.length; j++) {
      // ^ and $ are line anchors in the operator dialect: the oracle runs with the m flag. The end is pinned with (?<![\s\S]{j+1}) and (?<=[\s\S]{j}).
      const re = new RegExp(`(?:${body})(?<=[\\s\\S]{${j}})(?<![\\s\\S]{${j + 1}})`, caseInsensitive ? 'imy' : 'my');
      re.lastIndex = i;
      if (re.test(text)) pairs.push(i, j);
    }
  }
  return uniteSpans(pairs);
}

/** The automaton over the whole text, before the placeholder check. */
function engine(source: string, text: string): number[] {
  const { nfa } = compileCustom('p', source);
  nfa.reset(0, -1);
  nfa.feed(text);
  nfa.finish(-1);
  return uniteSpans([...nfa.spans]);
}

/** What buffered redaction finds (windows near the required literal, placeholder check). */
function findings(source: string, text: string): number[] {
  const set = new DetectorSet([], [compileCustom('p', source)], '[R]');
  const out: Finding[] = [];
  set.findCustoms(text, 0, text.length, out);
  return out.flatMap((f) => [f.start, f.end]);
}

const atom = fc.oneof(
  fc.constantFrom('a', 'b', 'A', 'é', 'É', 'ß', 'k', 'ω', 'Ω', '-', '\\.', '1'),
  fc.constantFrom('[a-zé]', '[A-Z]', '\\d', '\\w', '\\s', '[^a]', '.', '[α-ω]', '\\u00e9'),
);
const piece = fc.tuple(atom, fc.constantFrom('', '', '?', '+', '*', '{2}', '{1,3}')).map(([a, q]) => a + q);
const pattern = fc.tuple(
  fc.constantFrom('', '(?i)'),
  fc.constantFrom('', '^', '\\b'),
  fc.array(piece, { minLength: 1, maxLength: 4 }),
  fc.option(fc.array(piece, { minLength: 1, maxLength: 3 }), { nil: undefined }),
  fc.constantFrom('', '$', '\\b'),
).map(([f, pre, a, b, post]) => `${f}${pre}${b ? `(?:${a.join('')}|${b.join('')})` : a.join('')}${post}`);
const text = fc.array(fc.constantFrom('a', 'A', 'b', 'é', 'É', 'ß', 'ẞ', 'k', 'K', '\u212a', 'ω', 'Ω', 'ς', 'Σ', '1', '-', '.', ' ', '\n', 'x'), { maxLength: 14 }).map((a) => a.join(''));

test('operator patterns redact exactly what JavaScript RegExp matches, (?i) with non-ASCII letters included', () => {
  let checked = 0;
  fc.assert(fc.property(pattern, text, (src, t) => {
    if (checkPatternSafety('p', src) !== null) return;
    checked++;
    assert.deepEqual(engine(src, t), oracle(src, t), `${src} on ${JSON.stringify(t)}`);
  }), { numRuns: 600 });
  assert.ok(checked > 200);
});

test('the same string is found alone and anywhere inside long text', () => {
  for (const [src, s] of [['(?i)tkt-[a-zé]{3,12}', 'TKT-ÉCOLE'], ['(?i)façade-[0-9]{4}', 'FAÇADE-1234'], ['(?i)ωmega[0-9]{3}', 'ΩMEGA123']] as const) {
    const alone = findings(src, s).length > 0;
    assert.ok(alone, src);
    for (const pad of [0, 1, 63, 64, 65, 300, 5000]) {
      const t = 'x '.repeat(pad) + s + ' y'.repeat(pad);
      assert.equal(findings(src, t).length > 0, alone, `${src} with ${pad} padding: ${JSON.stringify(findings(src, s))}`);
    }
  }
  assert.deepEqual(findings('(?i)tkt-[a-zé]{3,12}', 'TKT-ÉCOLE'), [0, 9]);
});

test('a connection URL with an empty user (redis://:password@host) has its password redacted', async () => {
  const { compileDisclosure } = await import('../../../../policies/disclosure/index.js');
  const { baseDisclosure } = await import('../../../helpers/corpus.js');
  const r = compileDisclosure(baseDisclosure);
  assert.equal(r.redactText('REDIS_URL=redis://:Xk9pQ2mZ7vLr4TnB8wYc@cache.example.com:6379/0').text, 'REDIS_URL=redis://:[REDACTED:password]@cache.example.com:6379/0');
  assert.equal(r.redactText('rediss://:Xk9pQ2mZ7vLr4TnB8wYc@10.1.2.3:6380').text.includes('Xk9pQ2mZ7vLr4TnB8wYc'), false);
  // No password, or a placeholder: nothing to redact.
  for (const t of ['redis://cache.example.com:6379/0', 'redis://:@host:6379', 'redis://:${REDIS_PASSWORD}@host']) assert.equal(r.redactText(t).text, t);
});
