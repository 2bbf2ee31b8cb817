/**
 * What the algorithms that rank without predicting ratings (popular, random, implicit) share: the ids of
 * the data they were fitted on, no rating predictions, and the common part of their stored metadata.
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

  /** The ids as stored metadata (JSON-ready copies). */
  protected idsMeta(): { ratingLevels: number[]; userIds: number[]; itemIds: number[] } {
    return { ratingLevels: [...this.ratingLevels], userIds: [...this.userIds], itemIds: [...this.itemIds] };
  }
}
