/**
 * `because`: which of a user's ratings raised an item's ranking score the most (issue 13).
 *
 * The influence of the user's rating n on item i is
 *
 *   influence(n, i) = score(i | all the user's ratings) − score(i | the same ratings without rating n),
 *
 * computed exactly by the models, without refitting anything per item: an RBM's hidden input is a sum
 * over the rated items, so removing rating n only subtracts its weight row from that input (the models'
 * `explain` say which parts are exact and which are held fixed). This module keeps what every model's
 * `explain` shares: turning the full and leave-one-out scores into the short list a person reads.
 *
 * "Stands out": a rating is listed when its influence is positive and at least BECAUSE_MIN_SHARE (1 %)
 * of the item's score — removing it would lower the score by at least a hundredth of its value — and
 * above a floor of 1e-6, so float rounding never lists a rating whose removal changes nothing. At most
 * `max` ratings, largest influence first (ties: the earlier rating); an empty list when none stands out.
 * Pure: no I/O.
 */
import type { Influence } from './protocol.js';

export type { Influence };

/** A rating stands out when removing it lowers the item's score by at least this share of the score. */
export const BECAUSE_MIN_SHARE = 0.01;
/** …and by more than this, whatever the score (float noise of the leave-one-out arithmetic). */
export const BECAUSE_MIN_INFLUENCE = 1e-6;
/** Influences listed per item at most (the API and page show up to three). */
export const BECAUSE_MAX = 3;

/**
 * The influences of each candidate from its full score and its leave-one-out scores.
 *
 * @param full     score(i | all ratings) of each of the m candidates
 * @param without  score(i | all but rating n), n-major: without[n · m + c] for rating n and candidate c
 * @param ratings  n, the user's number of ratings
 */
export function pickInfluences(full: ArrayLike<number>, without: ArrayLike<number>, ratings: number, max: number): Influence[][] {
  const m = full.length;
  if (without.length !== ratings * m) {
    throw new RangeError(`leave-one-out scores have ${without.length} values, expected ${ratings} ratings × ${m} items`);
  }
  if (!Number.isInteger(max) || max < 0) throw new RangeError(`max influences per item must be a non-negative integer, got ${max}`);
  const out: Influence[][] = [];
  for (let c = 0; c < m; c++) {
    const floor = Math.max(BECAUSE_MIN_INFLUENCE, BECAUSE_MIN_SHARE * full[c]);
    const listed: Influence[] = [];
    for (let n = 0; n < ratings; n++) {
      const influence = full[c] - without[n * m + c];
      if (influence >= floor) listed.push({ rating: n, influence });
    }
    listed.sort((a, b) => b.influence - a.influence || a.rating - b.rating);
    out.push(listed.slice(0, max));
  }
  return out;
}

/** Checks the `explain` arguments shared by every model: candidate item indices within the model. */
export function checkCandidates(items: ArrayLike<number>, itemCount: number): void {
  for (let c = 0; c < items.length; c++) {
    const i = items[c];
    if (!Number.isInteger(i) || i < 0 || i >= itemCount) {
      throw new RangeError(`item to explain at position ${c} is index ${i}, outside the model's items 0 … ${itemCount - 1}`);
    }
  }
}
