// Recall and benign-altered rates of a Redactor on labelled items, overall and by kind and syntax.
import type { Redactor } from '../../policies/disclosure/index.js';

export interface Labelled { id: string; category: 'credential' | 'pii' | 'benign'; kind: string; syntax?: string; secrets: string[]; text: string }
type Tally = Record<string, [number, number]>;

export interface Measured {
  secretRecall: number; piiRecall: number; benignAltered: number;
  counts: { credential: number; pii: number; benign: number };
  byKind: Tally; bySyntax: Tally; misses: string[];
}

/** A secret item counts as caught when none of its secrets survives; a benign item must come out unchanged. */
export function measure(r: Redactor, items: readonly Labelled[]): Measured {
  const cat: Tally = { credential: [0, 0], pii: [0, 0], benign: [0, 0] };
  const byKind: Tally = {}, bySyntax: Tally = {};
  const misses: string[] = [];
  const bump = (t: Tally, k: string, ok: boolean) => { const v = (t[k] ??= [0, 0]); v[1]++; if (ok) v[0]++; };
  for (const it of items) {
    const out = r.redactText(it.text).text;
    const ok = it.category === 'benign' ? out === it.text : out !== it.text && it.secrets.every((s) => !out.includes(s));
    bump(cat, it.category, ok);
    if (it.category !== 'benign') { bump(byKind, it.kind, ok); bump(bySyntax, it.syntax ?? 'n/a', ok); }
    else bump(bySyntax, `benign:${it.syntax ?? 'n/a'}`, ok);
    if (!ok) misses.push(`${it.category === 'benign' ? 'altered' : 'missed'} ${it.id} [${it.syntax ?? ''}]: ${JSON.stringify(out.slice(0, 160))}`);
  }
  return {
    secretRecall: cat.credential[0] / cat.credential[1], piiRecall: cat.pii[0] / cat.pii[1],
    benignAltered: 1 - cat.benign[0] / cat.benign[1],
    counts: { credential: cat.credential[1], pii: cat.pii[1], benign: cat.benign[1] }, byKind, bySyntax, misses,
  };
}

export const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
export const table = (t: Tally): string => Object.entries(t).sort().map(([k, [a, n]]) => `${k} ${a}/${n}`).join(', ');
