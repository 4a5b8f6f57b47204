// The one edit distance of the policy checks: "did you mean" hints and catalogue-typo findings, all at policy load.

/**
 * Optimal string alignment distance: insertions, deletions, substitutions and a swap of two neighbours each
 * cost 1, so "brust" is one edit from "burst" (plain Levenshtein, e.g. fastest-levenshtein, counts two).
 * Two rolling rows plus the one before, not a full matrix.
 */
export function editDistance(a: string, b: string): number {
  let before: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      let d = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, before[j - 2] + 1);
      cur[j] = d;
    }
    before = prev;
    prev = cur;
  }
  return prev[b.length];
}
