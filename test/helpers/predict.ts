/**
 * Tests ask a model for a handful of items of one user; the protocol scores every item for a block of
 * users. This reads the asked rows out of `scoreUsers` (a block of one), so it exercises the real path.
 */
import type { KnownRatings, TrainedModel } from '../../src/model/index.js';

export interface ItemPredictions {
  expected: Float32Array;
  distribution: Float32Array;
}

export function predictItems(
  model: TrainedModel,
  ratings: KnownRatings,
  options: { userIndex?: number; refit?: boolean } = {},
  items: Int32Array = Int32Array.from({ length: model.itemIds.length }, (_, i) => i),
): ItemPredictions {
  const [scores] = model.scoreUsers([{ ratings, ...options }]);
  if (!scores.expected || !scores.distribution) throw new Error(`${model.algorithm} does not predict ratings`);
  const K = model.ratingLevels.length;
  const expected = new Float32Array(items.length);
  const distribution = new Float32Array(items.length * K);
  items.forEach((i, n) => {
    expected[n] = scores.expected![i];
    distribution.set(scores.distribution!.subarray(i * K, (i + 1) * K), n * K);
  });
  return { expected, distribution };
}
