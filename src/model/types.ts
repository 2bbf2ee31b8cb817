/**
 * The one model protocol shared by the evaluator, the trainer, the batch scorer and the server, so that a
 * baseline and the RBM are compared and served by the same code (LensKit's fit/predict idea).
 *
 * Everything here works on the internal indices of the Dataset the model was trained on; the external ids
 * live in `ModelState.meta.userIds / itemIds` and are mapped by the callers.
 */

/** A user's known ratings: item indices and level indices (into ratingLevels), same length. */
export interface KnownRatings {
  readonly items: Int32Array;
  readonly levels: Uint8Array;
}

/** Predictions for n items: expected rating, and the distribution over the K levels (row-major n × K). */
export interface Predictions {
  readonly expected: Float32Array;
  readonly distribution: Float32Array;
}

/** A user folded into a model: scores any items without further fitting. */
export interface UserScorer {
  predict(items: Int32Array): Predictions;
}

export interface FoldInOptions {
  /**
   * Index of this user in the training data, if they were in it. Models that learn per-user parameters
   * (the item-oriented RBM's visible units, the bias baseline's user bias) use the trained ones...
   */
  userIndex?: number;
  /** ...unless the user's ratings changed since training: then they are refitted from `ratings`. */
  refit?: boolean;
}

export interface RatingModel {
  /** 'bias' | 'rbm' | 'blend' … */
  readonly kind: string;
  readonly ratingLevels: readonly number[];
  readonly userCount: number;
  readonly itemCount: number;
  /**
   * Folds a user in from their known ratings (fast: milliseconds, no retraining). For a user-oriented RBM
   * this computes p(h | ratings); for an item-oriented RBM it uses (or refits) the user's visible-unit
   * weights with the items' hidden features held fixed.
   */
  foldIn(ratings: KnownRatings, options?: FoldInOptions): UserScorer;
  /** Everything needed to rebuild the model bit for bit: JSON metadata plus Float32 tensors. */
  toState(): ModelState;
}

export interface ModelState {
  meta: ModelMeta;
  tensors: Record<string, Float32Array>;
}

export interface ModelMeta {
  kind: string;
  ratingLevels: number[];
  /** External ids of the users and items the model was trained on, by internal index. */
  userIds: number[];
  itemIds: number[];
  /** Kind-specific configuration (hyperparameters, orientation, blend weights …). */
  config: Record<string, unknown>;
  /** Filled by the trainer: curve, metrics, backend, seconds … */
  training?: Record<string, unknown>;
  [key: string]: unknown;
}

/** Called once per epoch during training (for progress bars and learning curves). */
export interface EpochReport {
  /** Which sub-model is training, e.g. 'user', 'item'. */
  phase: string;
  epoch: number;
  /** CD steps used this epoch. */
  cdSteps: number;
  trainRmse: number;
  validationRmse: number | null;
  seconds: number;
}
