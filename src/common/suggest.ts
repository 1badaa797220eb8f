/**
 * "Did you mean": the nearest of a few known words to a misspelt one, for
 * unknown options (options.ts) and unknown commands (cli.ts).
 */

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length]![b.length]!;
}

/** The closest candidate, when it is close enough to be a likely typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  // A word cut short ("proc" for process) is far from the whole in edits but
  // plainly meant it, when it begins one candidate only.
  const lower = word.toLowerCase();
  const starts = lower.length >= 2 ? candidates.filter((c) => c.toLowerCase().startsWith(lower)) : [];
  if (starts.length === 1) return starts[0];
  const scored = candidates.map((c) => [c, editDistance(word.toLowerCase(), c.toLowerCase())] as const);
  const best = scored.sort((a, b) => a[1] - b[1])[0];
  return best && best[1] <= Math.max(2, Math.floor(word.length / 3)) ? best[0] : undefined;
}
