/**
 * How faithful `because` is (model/explain.ts): for each user, their top-N items by score, and for each
 * item the top reported influence against the actual drop of the item's score when that rating is
 * removed and the user scored again (scoreUsers, the serving path). Exact parts give a gap at float
 * rounding; the item RBM's user unit, held fixed by `explain` where a rescore refits it, gives the rest.
 * Pure: no I/O.
 */
import { topK, type TrainedModel, type UserInput } from '../model/index.js';

export interface BecauseGapSummary {
  /** Listed items with a non-empty because (one check each: its top rating). */
  checks: number;
  /** Median of the reported top influences. */
  medianInfluence: number | null;
  /** |reported − actual|: median, 90th percentile, max. */
  gapMedian: number | null;
  gapP90: number | null;
  gapMax: number | null;
  /** |reported − actual| / |actual|: median, 90th percentile. */
  relativeGapMedian: number | null;
  relativeGapP90: number | null;
  /** Share of checks whose rating, removed, does lower the score. */
  sameSign: number | null;
}

/**
 * @param users    the inputs to explain, as serving builds them
 * @param without  the input serving would build once rating n is removed (a visitor posts the rest; a
 *                 stored user's ratings changed, so their per-user parameters are refitted)
 */
export function becauseGap(
  model: TrainedModel,
  users: readonly UserInput[],
  top: number,
  without: (input: UserInput, n: number) => UserInput,
): BecauseGapSummary {
  if (!model.explain) throw new Error(`the ${model.algorithm} model has no because (explain) to check`);
  const gaps: number[] = [];
  const relative: number[] = [];
  const influences: number[] = [];
  let same = 0;
  for (const input of users) {
    const [scores] = model.scoreUsers([input]);
    const rated = new Set(input.ratings.items);
    const best = Array.from(topK(scores.score, top, (i) => rated.has(i)));
    const because = model.explain(input, best, 1);
    because.forEach((list, c) => {
      const first = list[0];
      if (!first) return;
      const actual = scores.score[best[c]] - model.scoreUsers([without(input, first.rating)])[0].score[best[c]];
      const gap = Math.abs(first.influence - actual);
      gaps.push(gap);
      relative.push(gap / Math.abs(actual));
      influences.push(first.influence);
      if (actual > 0) same++;
    });
  }
  const q = (values: number[], p: number): number | null => {
    if (values.length === 0) return null;
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  };
  return {
    checks: gaps.length,
    medianInfluence: q(influences, 0.5),
    gapMedian: q(gaps, 0.5),
    gapP90: q(gaps, 0.9),
    gapMax: q(gaps, 1),
    relativeGapMedian: q(relative, 0.5),
    relativeGapP90: q(relative, 0.9),
    sameSign: gaps.length > 0 ? same / gaps.length : null,
  };
}

/** The ratings without the n-th one. */
export function ratingsWithout(input: UserInput, n: number): UserInput['ratings'] {
  const keep = (_: number, t: number): boolean => t !== n;
  return { items: input.ratings.items.filter(keep), levels: input.ratings.levels.filter(keep) };
}
