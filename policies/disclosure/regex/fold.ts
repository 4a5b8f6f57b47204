// Case folding for the `(?i)` flag: the same equivalence JavaScript's RegExp `i` flag (without `u`) uses, for every UTF-16 code unit.

/**
 * Code units that have another case, with all the members of their class, sorted. Two units are
 * the same letter when their canonical forms agree, the canonical form being toUpperCase() when
 * that is one code unit and does not turn a non-ASCII unit into an ASCII one (ECMAScript's
 * Canonicalize for non-Unicode patterns: "ſ" is not "s", the Kelvin sign is not "k").
 * Built once, the first time a case-insensitive pattern is compiled (policy load).
 */
let table: { units: Uint16Array; classes: Map<number, number[]> } | null = null;

function build(): { units: Uint16Array; classes: Map<number, number[]> } {
  const byCanon = new Map<number, number[]>();
  for (let c = 0; c <= 0xffff; c++) {
    if (c >= 0xd800 && c <= 0xdfff) continue;
    const u = String.fromCharCode(c).toUpperCase();
    let canon = c;
    if (u.length === 1) {
      const k = u.charCodeAt(0);
      if (!(c >= 128 && k < 128)) canon = k;
    }
    const list = byCanon.get(canon);
    if (list) list.push(c); else byCanon.set(canon, [c]);
  }
  const classes = new Map<number, number[]>();
  for (const members of byCanon.values()) {
    if (members.length < 2) continue;
    for (const m of members) classes.set(m, members);
  }
  const units = Uint16Array.from([...classes.keys()].sort((a, b) => a - b));
  return { units, classes };
}

/** All units that are the same letter as `c` in another case (empty when it has none). */
export function caseVariants(c: number): readonly number[] {
  table ??= build();
  return table.classes.get(c) ?? [];
}

/** Adds, for every unit in the normalised [lo, hi] pairs, the units of its other cases (unnormalised result). */
export function addCaseVariants(pairs: number[]): number[] {
  table ??= build();
  const { units, classes } = table;
  const extra: number[] = [];
  for (let i = 0; i < pairs.length; i += 2) {
    const lo = pairs[i], hi = pairs[i + 1];
    // first unit >= lo (binary search), then walk while <= hi
    let a = 0, b = units.length;
    while (a < b) { const m = (a + b) >> 1; if (units[m] < lo) a = m + 1; else b = m; }
    for (let k = a; k < units.length && units[k] <= hi; k++) for (const v of classes.get(units[k])!) extra.push(v, v);
  }
  return extra;
}
