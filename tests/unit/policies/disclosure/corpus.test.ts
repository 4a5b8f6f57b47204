// Measures recall and false positives of the redaction engine on the labelled corpus and prints them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileDisclosure, type DisclosureOptions, type Redactor } from '../../../../policies/disclosure/index.js';
import { corpus, baseDisclosure, type CorpusItem } from '../../../helpers/corpus.js';
import { REFERENCE_PATTERNS } from '../../../helpers/reference-patterns.js';

type Item = CorpusItem;
const base: DisclosureOptions = baseDisclosure;
const referencePatterns = REFERENCE_PATTERNS;

function measure(r: Redactor) {
  const stats = { credential: [0, 0], pii: [0, 0], benign: [0, 0] } as Record<Item['category'], [number, number]>;
  const misses: string[] = [];
  for (const item of corpus.items) {
    const out = r.redactText(item.text).text;
    const s = stats[item.category];
    s[1]++;
    if (item.category === 'benign') {
      if (out !== item.text) { s[0]++; misses.push(`altered ${item.id}: ${out}`); }
    } else if (item.secrets.every((secret) => !out.includes(secret)) && out !== item.text) s[0]++;
    else misses.push(`missed ${item.id}: ${out.slice(0, 120)}`);
  }
  return {
    credentialRecall: stats.credential[0] / stats.credential[1],
    piiRecall: stats.pii[0] / stats.pii[1],
    benignAltered: stats.benign[0] / stats.benign[1],
    counts: Object.fromEntries(Object.entries(stats).map(([k, v]) => [k, v[1]])),
    misses,
  };
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

for (const [name, patterns] of [['built-in detectors', {}], ['reference policy (built-ins + its 3 patterns)', referencePatterns]] as const) {
  test(`corpus quality: ${name}`, () => {
    const m = measure(compileDisclosure({ ...base, patterns }));
    console.log(`[redaction corpus] ${name}: credentials recall ${pct(m.credentialRecall)} (n=${m.counts.credential}), ` +
      `PII recall ${pct(m.piiRecall)} (n=${m.counts.pii}), benign altered ${pct(m.benignAltered)} (n=${m.counts.benign})`);
    for (const miss of m.misses) console.log(`  ${miss}`);
    assert.equal(m.credentialRecall, 1);
    assert.ok(m.piiRecall >= 0.98);
    assert.ok(m.benignAltered <= 0.01);
  });
}

test('every kind in the corpus is found under its own name', () => {
  const r = compileDisclosure(base);
  for (const item of corpus.items.filter((i) => i.category !== 'benign')) {
    const kinds = r.redactText(item.text).kinds;
    assert.ok(kinds.has(item.kind), `${item.id}: expected ${item.kind}, got ${[...kinds.keys()].join(',')}`);
  }
});

test('throughput on mixed text (informational)', () => {
  const r = compileDisclosure({ ...base, patterns: referencePatterns });
  const benign = corpus.items.filter((i) => i.category === 'benign').map((i) => i.text);
  const secrets = corpus.items.filter((i) => i.category !== 'benign').map((i) => i.text);
  let text = '';
  for (let i = 0; text.length < 4_000_000; i++) text += benign[i % benign.length] + '\n' + (i % 10 === 0 ? secrets[i % secrets.length] + '\n' : '');
  r.redactText(text.slice(0, 200_000));
  const t0 = performance.now();
  r.redactText(text);
  const ms = performance.now() - t0;
  console.log(`[redaction throughput] ${(text.length / 1e6 / (ms / 1000)).toFixed(1)} MB/s on ${(text.length / 1e6).toFixed(1)} MB of mixed text (one core)`);
  assert.ok(ms < 4000);
});
