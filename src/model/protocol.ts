/**
 * The algorithm protocol: every model and baseline the project trains, evaluates and serves is an
 * `Algorithm` (fit) producing a `TrainedModel` (fold users in, score items). The evaluator, the batch
 * scorer and the server only ever hold these interfaces and never ask which algorithm they have (LensKit's
 * Trainable/Predictor, Surprise's AlgoBase.fit/estimate).
 *
 * Everything here works on the internal indices of the Dataset the model was trained on; external ids are
 * mapped once, by the serving layer, through `userIds` / `itemIds`.
 */
import type { Dataset, KnownRatings } from '../data/dataset.js';
import type { EpochReport, RbmCheckpoint } from '../rbm/train.js';
import type { MetaBase, ModelState, StoredMeta } from './meta.js';

export type { EpochReport, KnownRatings };

/** One user to fold in: their ratings, and their training index when the model learned parameters for them. */
export interface UserInput {
  readonly ratings: KnownRatings;
  /** Index of this user in the training data, if they were in it (per-user parameters exist)… */
  readonly userIndex?: number;
  /** …and true when their ratings changed since training: per-user parameters are then refitted. */
  readonly refit?: boolean;
}

/** Scores of every item index 0 … itemCount−1 for one user. */
export interface UserScores {
  /** Ranking score (higher = recommend first). For rating models the expected rating. */
  readonly score: Float32Array;
  /** Expected rating Σ_k p(k)·level_k, or null for an algorithm that does not predict ratings. */
  readonly expected: Float32Array | null;
  /** p(r = level_k), itemCount × K row-major, or null for an algorithm that does not predict ratings. */
  readonly distribution: Float32Array | null;
}

/**
 * Exact numbers of chosen items for one user: row q belongs to the q-th item asked for, and equals bit for
 * bit what `scoreUsers` gives that item (same products, same float32 rounding).
 */
export interface ItemScores {
  readonly score: Float32Array;
  readonly expected: Float32Array | null;
  /** items.length × K, row-major, or null for an algorithm that does not predict ratings. */
  readonly distribution: Float32Array | null;
}

/** Scores the given model item indices for one prepared user (see ItemScores). */
export type ItemScorer = (items: ArrayLike<number>) => ItemScores;

/**
 * One user prepared for an exact pruned top-k by score (`TrainedModel.scoreBounds`,
 * model/prunedTopK.ts): a cheap upper bound of every item's ranking score, and the exact scorer of chosen
 * items, which reuses what was computed for the user once (their hidden units, their fitted units).
 */
export interface BoundedUser {
  /**
   * Calls `use` with the bound of every item and returns what it returns: bound[i] ≥ score[i] for every
   * item i as `scoreUsers` computes it (compared as the float32 numbers themselves); a NaN bound only
   * where the score is NaN too. Length: the model's item count. The array is valid during the call only:
   * a model may lend memory it reuses (a catalog-sized array a request is what sets off a server's full
   * garbage collections), so `use` must not keep it, and must not ask for another bound of the same
   * model meanwhile.
   */
  withBound<T>(use: (bound: Float32Array) => T): T;
  scoreItems: ItemScorer;
}

/** One of the user's ratings that raised an item's ranking score (see model/explain.ts). */
export interface Influence {
  /** Position of the rating in the user's `UserInput.ratings` (its item and level are there). */
  readonly rating: number;
  /** score(item | all the user's ratings) − score(item | the same ratings without this one); > 0. */
  readonly influence: number;
  /**
   * Which factor of the score the rating raised: for score = p(watch) · p(like), 'watch', 'like' or
   * 'both'; a model whose score is one factor names it ('watch' for p(watch), 'like' for a rating).
   */
  readonly raises: Raises;
}

/** The part of a ranking score a rating raised (Influence.raises). */
export type Raises = 'watch' | 'like' | 'both';

export interface FitHooks {
  onEpoch?: (report: EpochReport) => void;
  /** Checkpoints of the RBMs (long trainings): written every few minutes, resumed per phase (user, item, implicit). */
  checkpoints?: RbmCheckpoints;
}

export interface RbmCheckpoints {
  onCheckpoint(checkpoint: RbmCheckpoint): void;
  resumeFrom: Partial<Record<string, RbmCheckpoint>>;
}

export interface TrainedModel {
  /** The algorithm that produced it ('blend', 'user', 'item', 'bias', 'popular', 'random', …). */
  readonly algorithm: string;
  /** Ascending rating values (K = length); predictions are on this scale. */
  readonly ratingLevels: readonly number[];
  /** External ids by internal index. */
  readonly userIds: readonly number[];
  readonly itemIds: readonly number[];
  /** Whether `UserScores.expected` / `distribution` are filled. */
  readonly predictsRatings: boolean;
  /**
   * Folds the users in (no retraining) and scores every item for each, in order. One call is one block
   * of dense products, so a batch of users costs little more than one; the API calls it with one user,
   * the batch scorer and the evaluator with blocks, and both get the same numbers.
   */
  scoreUsers(users: readonly UserInput[]): UserScores[];
  /**
   * Optional capability (exact pruned top-k): prepares each user of the block for ranking by score without
   * scoring every item — a per-item upper bound of the ranking score from one cheap dense product, and
   * `scoreItems` for the few candidates the bound cannot rule out (model/prunedTopK.ts). A list built
   * from it is the list `scoreUsers` + topK give, item for item and number for number. Models whose score
   * has no cheap bound leave it out, and serving scores every item.
   */
  scoreBounds?(users: readonly UserInput[]): BoundedUser[];
  /**
   * Optional capability: for each of `items` (model item indices, typically the listed top-k), the user's
   * ratings that raised its ranking score the most, at most `max`, largest influence first, only those
   * that stand out (model/explain.ts). Computed from the user's hidden input without refitting per item;
   * costs about ratings × items × hidden units, so ask only for the items shown. Pure.
   */
  explain?(user: UserInput, items: ArrayLike<number>, max: number): Influence[][];
  /** Everything needed to rebuild the model bit for bit. */
  toState(): ModelState;
  /** Frees what the model holds outside the JS heap (tfjs tensors). Idempotent. */
  dispose(): void;
}

export interface Algorithm<Options = unknown> {
  readonly name: string;
  /** One line for `--help` and the evaluation table. */
  readonly description: string;
  fit(train: Dataset, options: Options, hooks?: FitHooks): Promise<TrainedModel>;
}

/**
 * How one kind of stored model version comes back: its `kind` tag, the check of its metadata (the common
 * fields already read; its `config` read by a schema, see meta.ts) and the loader from a checked state.
 * Each model file exports one; model/algorithms.ts lists them, and the union of stored metadata, the
 * check of a loaded row and `modelFromState` all follow from that one list.
 */
export interface StoredKind<Meta extends StoredMeta = StoredMeta> {
  readonly kind: Meta['kind'];
  /** Checks a raw metadata object tagged with this kind and returns it typed (ModelMetaError otherwise). */
  readMeta(raw: Record<string, unknown>, base: MetaBase): Meta;
  /** Rebuilds the model from a checked state: its predictions are bit-identical to the saved model's. */
  fromState(state: ModelState<Meta>): TrainedModel;
}

/** A StoredKind from its tag, the reader of its `config` (given the common fields) and its loader. */
export function storedKind<Kind extends string, Config>(
  kind: Kind,
  readConfig: (value: unknown, where: string, base: MetaBase) => Config,
  fromState: (state: ModelState<StoredMeta<Kind, Config>>) => TrainedModel,
): StoredKind<StoredMeta<Kind, Config>> {
  return {
    kind,
    readMeta: (raw, base) => ({ ...raw, ...base, kind, config: readConfig(raw.config, 'config', base) }),
    fromState,
  };
}
