/**
 * What the algorithms that rank without predicting ratings (popular, random, implicit) share: the ids of
 * the data they were fitted on and no rating predictions (their stored metadata: meta.ts modelState).
 */
import type { Dataset } from '../data/dataset.js';

export type ModelIds = Pick<Dataset, 'ratingLevels' | 'userIds' | 'itemIds'>;

export abstract class RankingOnlyModel {
  readonly predictsRatings = false;
  readonly ratingLevels: readonly number[];
  readonly userIds: readonly number[];
  readonly itemIds: readonly number[];

  constructor(ids: ModelIds) {
    ({ ratingLevels: this.ratingLevels, userIds: this.userIds, itemIds: this.itemIds } = ids);
  }
}
