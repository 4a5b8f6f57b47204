// Held-out quality gate: recall by kind and syntax on text never tuned against, and gitleaks-style per-rule examples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileDisclosure } from '../../../../policies/disclosure/index.js';
import { baseDisclosure } from '../../../helpers/corpus.js';
import { heldOut } from '../../../helpers/heldout-gen.js';
import { gitleaksStyle } from '../../../helpers/gitleaks-style.js';
import { measure, pct, table } from '../../../helpers/measure.js';

const redactor = compileDisclosure({ ...baseDisclosure, filters: { ...baseDisclosure.filters, redact_pii: true } });
const verbose = process.env.REDACTION_VERBOSE === '1';

test('held-out set: >= 99 % of secrets, >= 98 % of PII, <= 1 % of benign altered', () => {
  const m = measure(redactor, heldOut());
  console.log(`[held-out] secrets ${pct(m.secretRecall)} (n=${m.counts.credential}), PII ${pct(m.piiRecall)} (n=${m.counts.pii}), benign altered ${pct(m.benignAltered)} (n=${m.counts.benign})`);
  console.log(`[held-out] by kind: ${table(m.byKind)}`);
  console.log(`[held-out] by syntax: ${table(m.bySyntax)}`);
  if (verbose) for (const x of m.misses) console.log(`  ${x}`);
  assert.ok(m.secretRecall >= 0.99, `secret recall ${pct(m.secretRecall)}`);
  assert.ok(m.piiRecall >= 0.98, `PII recall ${pct(m.piiRecall)}`);
  assert.ok(m.benignAltered <= 0.01, `benign altered ${pct(m.benignAltered)}`);
});

test('gitleaks-style rule examples: >= 95 % of true positives caught, <= 5 % of false positives altered', () => {
  const cases = gitleaksStyle();
  let tp = 0, tpn = 0, fpAltered = 0, fpn = 0;
  const misses: string[] = [];
  for (const c of cases) {
    const out = redactor.redactText(c.text).text;
    if (c.positive) { tpn++; if (!out.includes(c.secret)) tp++; else misses.push(`missed ${c.rule}: ${c.text.slice(0, 120)}`); }
    else { fpn++; if (out !== c.text) { fpAltered++; misses.push(`altered ${c.rule}: ${out.slice(0, 120)}`); } }
  }
  console.log(`[gitleaks-style] true positives caught ${pct(tp / tpn)} (n=${tpn}), false positives altered ${pct(fpAltered / fpn)} (n=${fpn})`);
  if (verbose) for (const x of misses) console.log(`  ${x}`);
  assert.ok(tp / tpn >= 0.95, `tp ${pct(tp / tpn)}`);
  assert.ok(fpAltered / fpn <= 0.05, `fp ${pct(fpAltered / fpn)}`);
});
