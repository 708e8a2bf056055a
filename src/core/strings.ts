/**
 * String helpers for user-facing messages: edit distance and "did you mean" suggestions.
 */

/**
 * Levenshtein edit distance between `a` and `b`: the fewest single-character insertions,
 * deletions and substitutions that turn one into the other. Compares UTF-16 code units.
 */
export function levenshtein(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  // One row of the dynamic-programming table, indexed by position in `b`.
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = new Array<number>(b.length + 1);
    current[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length];
}

export interface ClosestOptions {
  /**
   * Largest distance still worth suggesting. Default: a third of the word's length, at least 2,
   * so short typos are caught and unrelated names are not offered.
   */
  maxDistance?: number;
  /** How many suggestions at most (default 3). */
  limit?: number;
}

/**
 * The candidates nearest to `word` by edit distance (case-insensitive), nearest first, ties in
 * the candidates' order. Only candidates within `maxDistance` are returned.
 */
export function closestMatches(
  word: string,
  candidates: Iterable<string>,
  opts: ClosestOptions = {},
): string[] {
  const maxDistance = opts.maxDistance ?? Math.max(2, Math.floor(word.length / 3));
  const limit = opts.limit ?? 3;
  const lower = word.toLowerCase();
  const scored: { name: string; distance: number; order: number }[] = [];
  let order = 0;
  for (const name of candidates) {
    const distance = levenshtein(lower, name.toLowerCase());
    if (distance <= maxDistance) scored.push({ name, distance, order });
    order++;
  }
  scored.sort((x, y) => x.distance - y.distance || x.order - y.order);
  return scored.slice(0, limit).map((s) => s.name);
}

/** The single nearest candidate within the default distance, or undefined. */
export function closestMatch(word: string, candidates: Iterable<string>): string | undefined {
  return closestMatches(word, candidates, { limit: 1 })[0];
}

/** `" (did you mean 'x'?)"`, `" (did you mean 'x' or 'y'?)"`, or `""` when nothing is close. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const matches = closestMatches(word, candidates);
  if (matches.length === 0) return '';
  const quoted = matches.map((m) => `'${m}'`);
  const list =
    quoted.length === 1 ? quoted[0] : `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}`;
  return ` (did you mean ${list}?)`;
}
