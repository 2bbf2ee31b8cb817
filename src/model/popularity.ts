/**
 * Two reference points for ranking, as algorithms of the protocol:
 *
 * - `popular`: every user gets the most-rated items they have not rated; score(u, i) = n_i, the number of
 *   training ratings of item i. The strong non-personalised baseline of top-N evaluation.
 * - `random`: score(u, i) ~ U(0, 1), seeded per user, so a seed reproduces every list. The floor.
 *
 * Neither predicts ratings (`expected` and `distribution` are null); exclusion of a user's rated items is
 * the caller's job, as for every algorithm.
 */
import type { Dataset } from '../data/dataset.js';
import { Rng } from '../rng.js';
import { integer, jsonObject, modelState, objectOf, stateTensor, type ModelState, type StoredMeta } from './meta.js';
import { storedKind, type Algorithm, type TrainedModel, type UserInput, type UserScores } from './protocol.js';
import { RankingOnlyModel, type ModelIds } from './rankingOnly.js';

export type PopularMeta = StoredMeta<'popular', Record<string, unknown>>;
export type RandomMeta = StoredMeta<'random', { seed: number }>;

export class PopularModel extends RankingOnlyModel implements TrainedModel {
  readonly algorithm = 'popular';

  /** `counts[i]` = training ratings of item i. */
  constructor(
    ids: ModelIds,
    readonly counts: Float32Array,
  ) {
    super(ids);
  }

  scoreUsers(users: readonly UserInput[]): UserScores[] {
    // The same scores for everyone: one array, shared (callers never write to scores).
    return users.map(() => ({ score: this.counts, expected: null, distribution: null }));
  }

  dispose(): void {}

  toState(): ModelState<PopularMeta> {
    return modelState(this, 'popular', {}, { counts: this.counts });
  }

  static fromState(state: ModelState<PopularMeta>): PopularModel {
    return new PopularModel(state.meta, stateTensor(state, 'counts', state.meta.itemIds.length));
  }
}

export const popularKind = storedKind('popular', jsonObject, (state) => PopularModel.fromState(state));

export function itemRatingCounts(train: Dataset): Float32Array {
  const counts = new Float32Array(train.itemIds.length);
  for (let r = 0; r < train.items.length; r++) counts[train.items[r]]++;
  return counts;
}

export const popularAlgorithm: Algorithm<Record<string, never>> = {
  name: 'popular',
  description: 'most-rated items the user has not rated (score = training rating count)',
  fit: (train) => Promise.resolve(new PopularModel(train, itemRatingCounts(train))),
};

export class RandomModel extends RankingOnlyModel implements TrainedModel {
  readonly algorithm = 'random';

  constructor(
    ids: ModelIds,
    readonly seed: number,
  ) {
    super(ids);
  }

  /**
   * The stream of a user depends only on the seed and who the user is (their training index, or for a
   * new user the items they rated), never on the order users are scored in.
   */
  scoreUsers(users: readonly UserInput[]): UserScores[] {
    return users.map((user) => {
      let key = user.userIndex ?? -1;
      if (key < 0) for (const i of user.ratings.items) key = Math.imul(key ^ i, 0x01000193);
      const rng = new Rng(Math.imul(this.seed + 1, 0x9e3779b1) ^ key);
      const score = new Float32Array(this.itemIds.length);
      for (let i = 0; i < score.length; i++) score[i] = rng.next();
      return { score, expected: null, distribution: null };
    });
  }

  dispose(): void {}

  toState(): ModelState<RandomMeta> {
    return modelState(this, 'random', { seed: this.seed }, {});
  }

  static fromState(state: ModelState<RandomMeta>): RandomModel {
    return new RandomModel(state.meta, state.meta.config.seed);
  }
}

export const randomKind = storedKind('random', objectOf({ seed: integer() }), (state) => RandomModel.fromState(state));

export const randomAlgorithm: Algorithm<{ seed?: number }> = {
  name: 'random',
  description: 'items in a seeded random order (the floor of any ranking metric)',
  fit: (train, options) => Promise.resolve(new RandomModel(train, options.seed ?? 0)),
};
