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
 *
 * A score that is a product of two factors, score = p(watch) · p(like) (pickProductInfluences), also says
 * which factor each rating raised: removing it lowers p(watch), p(like), or both. A rating can raise the
 * score through p(watch) while lowering p(like) (a watched movie rated low: people who watched it watch
 * this one, but this user did not like it), so the list prefers the ratings that raise both factors: they
 * come first, largest influence first, then the others, largest influence first.
 * Pure: no I/O.
 */
import type { Influence, Raises } from './protocol.js';

export type { Influence, Raises };

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
export function pickInfluences(
  full: ArrayLike<number>,
  without: ArrayLike<number>,
  ratings: number,
  max: number,
  raises: Raises,
): Influence[][] {
  return pick(full, without, ratings, max, () => raises);
}

/**
 * A factor counts as raised by a rating when removing the rating lowers it by at least this share of its
 * value (and by more than BECAUSE_MIN_INFLUENCE): smaller moves are float noise or too small to name.
 */
export const RAISES_MIN_SHARE = 0.001;

/**
 * The influences on score = watch · like (each of the m candidates, with the same n-major leave-one-out
 * layout as pickInfluences), with the factor each rating raised, 'both' first. `score`, when given, is the
 * ranking score the influences are measured on instead of the bare product (watch-like's popularity prior
 * mixes π in: (1 − w) · watch · like + w · π); which factor a rating raised still comes from the factors.
 */
export function pickProductInfluences(
  watch: { full: ArrayLike<number>; without: ArrayLike<number> },
  like: { full: ArrayLike<number>; without: ArrayLike<number> },
  ratings: number,
  max: number,
  score?: { full: ArrayLike<number>; without: ArrayLike<number> },
): Influence[][] {
  const m = watch.full.length;
  if (like.full.length !== m || like.without.length !== watch.without.length) {
    throw new RangeError(`the two factors' scores differ in shape: ${m} and ${like.full.length} items`);
  }
  const product = (a: ArrayLike<number>, b: ArrayLike<number>): Float64Array => Float64Array.from(a, (x, r) => x * b[r]);
  const rose = (f: { full: ArrayLike<number>; without: ArrayLike<number> }, at: number, c: number): number => {
    const drop = f.full[c] - f.without[at];
    return drop >= BECAUSE_MIN_INFLUENCE && drop >= RAISES_MIN_SHARE * f.full[c] ? drop / f.full[c] : 0;
  };
  const full = score?.full ?? product(watch.full, like.full);
  const without = score?.without ?? product(watch.without, like.without);
  return pick(full, without, ratings, max, (n, c) => {
    const w = rose(watch, n * m + c, c);
    const l = rose(like, n * m + c, c);
    if (w > 0 && l > 0) return 'both';
    if (w > 0 || l > 0) return w > 0 ? 'watch' : 'like';
    // Neither factor moved by RAISES_MIN_SHARE although the product did: name the one that rose more.
    const dw = (watch.full[c] - watch.without[n * m + c]) / watch.full[c];
    const dl = (like.full[c] - like.without[n * m + c]) / like.full[c];
    return dw >= dl ? 'watch' : 'like';
  });
}

/**
 * For each candidate, the listed ratings: influence ≥ the floor, ordered ('both' first, then influence
 * descending, then the earlier rating), the first `max`. A selection, not a sort of every rating that
 * passes: two bounded lists per candidate (the best `max` raising both factors, the best `max` of the
 * others), each kept in order by insertion, then the first followed by the second, cut to `max`. The
 * same list as sorting them all (test/model/because.test.ts checks it against that sort); for a user with
 * a thousand ratings this was an object and a comparison sort per rating and candidate, now `raisesOf`
 * and a comparison or two.
 */
function pick(
  full: ArrayLike<number>,
  without: ArrayLike<number>,
  ratings: number,
  max: number,
  raisesOf: (rating: number, candidate: number) => Raises,
): Influence[][] {
  const m = full.length;
  if (without.length !== ratings * m) {
    throw new RangeError(`leave-one-out scores have ${without.length} values, expected ${ratings} ratings × ${m} items`);
  }
  if (!Number.isInteger(max) || max < 0) throw new RangeError(`max influences per item must be a non-negative integer, got ${max}`);
  const out: Influence[][] = [];
  // The two bounded lists: ratings, influences and factors, best first.
  const both = { rating: new Int32Array(max), influence: new Float64Array(max), raises: new Array<Raises>(max), size: 0 };
  const other = { rating: new Int32Array(max), influence: new Float64Array(max), raises: new Array<Raises>(max), size: 0 };
  const insert = (list: typeof both, rating: number, influence: number, raises: Raises): void => {
    // Ratings come in ascending order, so an equal influence already kept ranks first.
    let at = list.size;
    while (at > 0 && list.influence[at - 1] < influence) at--;
    if (at >= max) return;
    const end = Math.min(list.size, max - 1);
    for (let x = end; x > at; x--) {
      list.rating[x] = list.rating[x - 1];
      list.influence[x] = list.influence[x - 1];
      list.raises[x] = list.raises[x - 1];
    }
    list.rating[at] = rating;
    list.influence[at] = influence;
    list.raises[at] = raises;
    list.size = Math.min(max, list.size + 1);
  };
  for (let c = 0; c < m; c++) {
    const floor = Math.max(BECAUSE_MIN_INFLUENCE, BECAUSE_MIN_SHARE * full[c]);
    both.size = 0;
    other.size = 0;
    if (max > 0) {
      for (let n = 0; n < ratings; n++) {
        const influence = full[c] - without[n * m + c];
        if (!(influence >= floor)) continue;
        // A rating that can enter neither list needs no factor (the common case past the first few).
        if (both.size === max && other.size === max && influence <= Math.min(both.influence[max - 1], other.influence[max - 1])) continue;
        const raises = raisesOf(n, c);
        insert(raises === 'both' ? both : other, n, influence, raises);
      }
    }
    const listed: Influence[] = [];
    for (let x = 0; x < both.size && listed.length < max; x++)
      listed.push({ rating: both.rating[x], influence: both.influence[x], raises: both.raises[x] });
    for (let x = 0; x < other.size && listed.length < max; x++)
      listed.push({ rating: other.rating[x], influence: other.influence[x], raises: other.raises[x] });
    out.push(listed);
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
