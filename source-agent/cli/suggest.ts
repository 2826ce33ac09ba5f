// "Did you mean …?" for a mistyped command or option name: the known name closest by edit
// distance, if it is close enough that the suggestion is likely right (restic and git do the same).

import { itemAt } from '../lookup.js';

/**
 * Optimal string alignment distance: insertions, deletions, substitutions, and swaps of two
 * neighbouring characters each count one ("sned" is one edit from "send", not two).
 */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) rows.push(Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number) => itemAt(itemAt(rows, i), j);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      itemAt(rows, i)[j] = best;
    }
  }
  return at(a.length, b.length);
}

/** The candidate closest to `word`: one edit for short words, at most two for longer ones. */
export function closestName(word: string, candidates: Iterable<string>): string | undefined {
  const limit = Math.min(2, Math.max(1, Math.floor(word.length / 3)));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}
