/**
 * Ranking what users would act on (issue 11):
 *
 * - `implicit`: the implicit RBM alone (rbm/implicit.ts), one Bernoulli visible unit per item ("rated or
 *   not"): score(u, i) = p(watch_i) = σ(b_i + Σ_j p̂_j W[i,j]), p̂ = p(h | the items u rated). Predicts
 *   no ratings.
 * - `watch-like` (the served default): the rating blend and the implicit RBM together,
 *     score(u, i) = p(watch_i) · p(r_ui ≥ liked | watch) = p(v_i = 1 | p̂) · Σ_{k ≥ liked} p(r_ui = k),
 *   the chance the user would watch the item and like it, in [0, 1]; `expected` and `distribution` are
 *   the blend's, so every recommended item still carries its predicted rating. Chosen on a validation
 *   slice of the training part over p(watch) alone and the predicted rating alone (see the README).
 *   Optionally mixed with a popularity prior that fades as the user's ratings arrive (coldPrior n₀;
 *   served with none, chosen on validation: docs/ranking.md).
 *
 * Both fold a user in from their rated items without retraining: the implicit RBM needs no per-user
 * parameters at all; the blend uses its usual fold-in.
 */
import type { Dataset } from '../data/dataset.js';
import { tf } from '../rbm/backend.js';
import {
  fitImplicitRbm,
  ImplicitRbm,
  likeFactor,
  likedLevelIndex,
  sigmoidUpperBounds,
  STORED_IMPLICIT_DEFAULTS,
  watchAndLikeScores,
  watchOfLogit,
  type ImplicitRbmOptions,
  type ImplicitRbmState,
} from '../rbm/implicit.js';
import type { TrainOptionsInput } from '../rbm/config.js';
import type { ImplicitTrainHooks } from '../rbm/implicitTrain.js';
import {
  epochReport,
  finite,
  integer,
  listOf,
  modelState,
  nullable,
  objectOf,
  oneOf,
  optional,
  shapedLike,
  type MetaBase,
  type ModelState,
  type StoredMeta,
  type TrainingSummary,
} from './meta.js';
import { pickInfluences, pickProductInfluences } from './explain.js';
import {
  storedKind,
  type Algorithm,
  type BoundedUser,
  type FitHooks,
  type Influence,
  type TrainedModel,
  type UserInput,
  type UserScores,
} from './protocol.js';
import { RankingOnlyModel, type ModelIds } from './rankingOnly.js';
import { RbmBlendModel, readRbmConfig, type RbmConfig } from './rbmBlend.js';
import { fitRbmBlend } from './rbmFit.js';

type ImplicitConfig = ImplicitRbmState['config'];

/** The implicit RBM alone: ranks by p(watch), predicts no ratings. */
export type ImplicitMeta = StoredMeta<'implicit', ImplicitConfig>;

/**
 * The served default: the rating blend (predicted rating and distribution) and the implicit RBM, ranked
 * by p(watch) · p(rating ≥ liked). Tensors: the blend's names plus `implicit.*`.
 */
export type WatchLikeMeta = StoredMeta<
  'watch-like',
  {
    /** Index into ratingLevels of the lowest level that counts as "liked". */
    likedLevel: number;
    rating: RbmConfig;
    implicit: ImplicitConfig;
    /** n₀ of the popularity prior (WatchLikeModel); absent: none (versions before issue 19). */
    coldPrior?: number;
    /** γ of p(watch) · p(like)^γ (WatchLikeModel); absent: 1 (versions before it existed). */
    likeExponent?: number;
  }
>;

/** The implicit RBM's stored config (its options' ranges are checked again when the RBM loads). */
function readImplicitConfig(value: unknown, where: string, base: MetaBase): ImplicitConfig {
  const items = base.itemIds.length;
  const config = objectOf({
    kind: oneOf('implicit-rbm'),
    items: integer((v) => v === items, `the model's ${items} items`),
    hidden: integer((v) => v > 0, 'a positive integer'),
    // A field the stored version predates reads as it was then (binary units, no scaling, …), not as today's default.
    options: shapedLike(STORED_IMPLICIT_DEFAULTS),
    training: optional(
      nullable(
        objectOf({
          epochs: finite(),
          bestEpoch: finite(),
          bestValidationNdcg: nullable(finite()),
          seconds: finite(),
          curve: listOf(epochReport),
        }),
      ),
    ),
  })(value, where);
  return { ...config, training: config.training ?? null };
}

function readWatchLikeConfig(value: unknown, where: string, base: MetaBase): WatchLikeMeta['config'] {
  const K = base.ratingLevels.length;
  return objectOf({
    likedLevel: integer((v) => v >= 0 && v < K, `a level index in 0 … ${K - 1}`),
    rating: readRbmConfig,
    implicit: (v, w) => readImplicitConfig(v, w, base),
    coldPrior: optional(finite((v) => v >= 0, 'a non-negative number')),
    likeExponent: optional(finite((v) => v >= 0, 'a non-negative number')),
  })(value, where);
}

/**
 * Options of the ranking algorithms: the rating RBMs' (rbm/config.ts) plus the implicit RBM's, and
 * watch-like's popularity prior n₀ (coldPrior, see WatchLikeModel).
 */
export type RankingFitOptions = TrainOptionsInput & {
  implicit?: Partial<ImplicitRbmOptions>;
  coldPrior?: number;
  likeExponent?: number;
  /** How the rating blend and the implicit RBM share the threads (watch-like; DEFAULT_MODEL_SCHEDULE). */
  schedule?: ModelSchedule;
};

/**
 * The served ranking's setting beyond the RBMs' defaults (the implicit RBM's are in rbm/implicit.ts), chosen
 * on validation carved from the training part (`npm run tune --given`; grid and figures in docs/ranking.md).
 */
export const DEFAULT_RANKING: { coldPrior: number; likeExponent: number } = { coldPrior: 0, likeExponent: 0.25 };

/** The popularity prior's weight for a user with n ratings: w(n) = n₀ / (n₀ + n) (0 without a prior). */
export const priorWeight = (n0: number, n: number): number => (n0 > 0 ? n0 / (n0 + n) : 0);

/**
 * score'_i = (1 − w) · score_i + w · π_i in place, π_i the share of training users who rated item i: the
 * popularity prior that fades as the user's ratings arrive. Monotone in score_i, so applied to an upper
 * bound of score_i it gives an upper bound of score'_i (the same double expression, then float32).
 */
export function applyPopularityPrior(
  scores: Float32Array,
  popularity: Float32Array,
  items: ArrayLike<number> | null,
  w: number,
): Float32Array {
  if (w === 0) return scores;
  for (let q = 0; q < scores.length; q++) scores[q] = (1 - w) * scores[q] + w * popularity[items ? items[q] : q];
  return scores;
}

const implicitOptions = (options: RankingFitOptions): Partial<ImplicitRbmOptions> => ({
  seed: options.seed ?? 0,
  ...(options.threads !== undefined ? { threads: options.threads } : {}),
  ...options.implicit,
});

/** The implicit RBM's share of the checkpoint hooks (phase 'implicit'; the rating RBMs have theirs). */
const implicitCheckpoints = (hooks?: FitHooks): ImplicitTrainHooks =>
  hooks?.checkpoints ? { onCheckpoint: hooks.checkpoints.onCheckpoint, resumeFrom: hooks.checkpoints.resumeFrom.implicit } : {};

function implicitTraining(model: ImplicitRbm): TrainingSummary {
  const t = model.training;
  if (!t) return {};
  return {
    seconds: t.seconds,
    epochs: t.epochs,
    curve: t.curve,
    validationRanking: { ndcg: t.bestValidationNdcg, bestEpoch: t.bestEpoch },
    ...(t.stages ? { stages: t.stages } : {}),
  };
}

/** values[items[q]] for each q. */
function gather(values: Float32Array, items: ArrayLike<number>): Float32Array {
  const out = new Float32Array(items.length);
  for (let q = 0; q < items.length; q++) {
    const i = items[q];
    if (!Number.isInteger(i) || i < 0 || i >= values.length)
      throw new RangeError(`item index ${i} at position ${q} is outside 0 … ${values.length - 1}`);
    out[q] = values[i];
  }
  return out;
}

/** p(watch) of every item for each user of the block. */
const watchOf = (implicit: ImplicitRbm, users: readonly UserInput[]): Float32Array[] =>
  implicit.watchProbabilitiesBlock(users.map((u) => u.ratings.items));

export class ImplicitModel extends RankingOnlyModel implements TrainedModel {
  readonly algorithm = 'implicit';

  constructor(
    ids: ModelIds,
    readonly implicit: ImplicitRbm,
  ) {
    super(ids);
  }

  scoreUsers(users: readonly UserInput[]): UserScores[] {
    return watchOf(this.implicit, users).map((score) => ({ score, expected: null, distribution: null }));
  }

  /** The pruned top-k's bound is the score itself, p(watch), so it is exact and tight. */
  scoreBounds(users: readonly UserInput[]): BoundedUser[] {
    return watchOf(this.implicit, users).map((watch) => ({
      withBound: (use) => use(watch),
      scoreItems: (items) => ({ score: gather(watch, items), expected: null, distribution: null }),
    }));
  }

  /** `because`: p(watch) with and without each rated item (ImplicitRbm.watchWithout), exact. */
  explain(user: UserInput, items: ArrayLike<number>, max: number): Influence[][] {
    const { full, without } = this.implicit.watchWithout(user.ratings.items, items);
    return pickInfluences(full, without, user.ratings.items.length, max, 'watch');
  }

  dispose(): void {
    this.implicit.dispose();
  }

  toState(): ModelState<ImplicitMeta> {
    const { config, tensors } = this.implicit.toState();
    return modelState(this, 'implicit', config, tensors, implicitTraining(this.implicit));
  }

  static fromState(state: ModelState<ImplicitMeta>): ImplicitModel {
    const { meta } = state;
    return new ImplicitModel(meta, ImplicitRbm.fromState({ config: meta.config, tensors: state.tensors }));
  }
}

export class WatchLikeModel implements TrainedModel {
  readonly algorithm = 'watch-like';
  readonly predictsRatings = true;
  /** π_i: share of the training users who rated item i (the popularity prior's scores). */
  readonly popularity: Float32Array;

  constructor(
    readonly rating: RbmBlendModel,
    readonly implicit: ImplicitRbm,
    /** Index into ratingLevels of the lowest "liked" level. */
    readonly likedLevel: number,
    /**
     * n₀ of the popularity prior: a user with n ratings is ranked by (1 − w) · p(watch) · p(like) + w · π,
     * w = n₀ / (n₀ + n); 0 turns it off (every version stored before issue 19).
     */
    readonly coldPrior = 0,
    /**
     * γ: the ranking score is p(watch) · p(like)^γ (1: the plain product of every version stored before γ
     * existed; 0: p(watch) alone). p(like)^γ ≤ 1 for γ ≥ 0, so p(watch) still bounds the score (scoreBounds).
     */
    readonly likeExponent = 1,
    /**
     * The training summary of a loaded version, kept as it was: the stored one already combines the two
     * models' (toState below), so combining again would count the implicit RBM's epochs twice.
     */
    private readonly storedTraining: TrainingSummary | null = null,
  ) {
    if (!(coldPrior >= 0 && Number.isFinite(coldPrior))) throw new RangeError(`coldPrior must be a non-negative number, got ${coldPrior}`);
    if (!(likeExponent >= 0 && Number.isFinite(likeExponent))) {
      throw new RangeError(`likeExponent must be a non-negative number, got ${likeExponent}`);
    }
    const counts = rating.parts.itemTrainCount;
    const U = Math.max(1, rating.userIds.length);
    this.popularity = Float32Array.from(counts, (n) => n / U);
  }

  get ratingLevels(): readonly number[] {
    return this.rating.ratingLevels;
  }
  get userIds(): readonly number[] {
    return this.rating.userIds;
  }
  get itemIds(): readonly number[] {
    return this.rating.itemIds;
  }

  scoreUsers(users: readonly UserInput[]): UserScores[] {
    const ratings = this.rating.scoreUsers(users);
    const watch = watchOf(this.implicit, users);
    const K = this.ratingLevels.length;
    return ratings.map((r, n) => ({
      score: applyPopularityPrior(
        watchAndLikeScores(watch[n], r.distribution!, K, this.likedLevel, this.likeExponent),
        this.popularity,
        null,
        priorWeight(this.coldPrior, users[n].ratings.items.length),
      ),
      expected: r.expected,
      distribution: r.distribution,
    }));
  }

  /**
   * For the exact pruned top-k (model/prunedTopK.ts): score_i = p(watch_i) · min(1, Σ_{k ≥ liked} p(r_i = k))
   * and the like factor lies in [0, 1], so p(watch_i) bounds the score from above — as float32 numbers
   * too, since rounding is monotonic and fround(w · x) ≤ w for x ≤ 1. On the wasm backend the bound of
   * p(watch) comes from the implicit RBM's 8-bit copy of W (ImplicitRbm.watchBounds, rbm/watchBounds.ts:
   * a quarter of the float32 product's memory traffic, σ by a table), and the evaluated items' logits
   * are computed from p̂ in the product's own float32 arithmetic (ImplicitRbm.logitsOfItems, bit for
   * bit); elsewhere, or for parameters that are not all finite, from the dense product's logits through
   * σ's table bound (sigmoidUpperBounds). p(watch) itself is computed, by the same formula as scoreUsers,
   * for the evaluated items only. The costly factor, the blend's distribution (two K×F products per item,
   * softmaxes, mixture), is computed only for the items the bound cannot rule out
   * (RbmBlendModel.itemScorers), then multiplied exactly as scoreUsers does (watchAndLikeScores), so every
   * number equals the full scoring's.
   */
  scoreBounds(users: readonly UserInput[]): BoundedUser[] {
    const lists = users.map((u) => u.ratings.items);
    const wasm = tf.getBackend() === 'wasm';
    const kernel = wasm ? this.implicit.watchBounds() : null;
    let hidden: Float32Array[];
    let logits: Float32Array[] = [];
    const priors = users.map((user) => priorWeight(this.coldPrior, user.ratings.items.length));
    let boundOf: <T>(n: number, use: (bound: Float32Array) => T) => T;
    if (kernel) {
      hidden = this.implicit.watchHidden(lists).hidden;
      // Each user's bound when the pruned top-k asks for it, in the kernel's memory (lent for the call).
      boundOf = (n, use) => kernel.withBounds(hidden[n], (bound) => use(applyPopularityPrior(bound, this.popularity, null, priors[n])));
    } else {
      ({ logits, hidden } = this.implicit.watchLogitsAndHidden(lists));
      // On the wasm backend the bounds overwrite the logits (one catalog-sized array a user instead of
      // two); the evaluated items' logits are recomputed from p̂ as above.
      const bounds = logits.map((z, n) =>
        applyPopularityPrior(sigmoidUpperBounds(z, wasm ? z : undefined), this.popularity, null, priors[n]),
      );
      boundOf = (n, use) => use(bounds[n]);
    }
    const rating = this.rating.itemScorers(users);
    const K = this.ratingLevels.length;
    return users.map((user, n) => {
      const w = priors[n];
      return {
        withBound: (use) => boundOf(n, use),
        scoreItems: (items) => {
          const watch = wasm ? this.implicit.logitsOfItems(hidden[n], items) : gather(logits[n], items);
          for (let q = 0; q < watch.length; q++) watch[q] = watchOfLogit(watch[q]);
          const r = rating[n](items);
          return {
            score: applyPopularityPrior(
              watchAndLikeScores(watch, r.distribution!, K, this.likedLevel, this.likeExponent),
              this.popularity,
              items,
              w,
            ),
            expected: r.expected,
            distribution: r.distribution,
          };
        },
      };
    });
  }

  /**
   * `because` for score = p(watch) · min(1, Σ_{k ≥ liked} p(k)), as scoreUsers computes it (the product
   * of float64 factors here, of float32 ones there), with and without each rating: p(watch) from ImplicitRbm.watchWithout (exact), p(k) from
   * RbmBlendModel.distributionsWithout (exact for the user RBM and the bias baseline; the item RBM's user
   * unit held fixed, see there). With the popularity prior, the full score has w(n) and each leave-one-out
   * score w(n − 1), as a user with one rating fewer gets.
   */
  explain(user: UserInput, items: ArrayLike<number>, max: number): Influence[][] {
    const watch = this.implicit.watchWithout(user.ratings.items, items);
    const rating = this.rating.distributionsWithout(user, items, true);
    const K = this.ratingLevels.length;
    const m = items.length;
    const n = user.ratings.items.length;
    const liked = this.likedLevel;
    const gamma = this.likeExponent;
    const like = (p: Float64Array): Float64Array => {
      const out = new Float64Array(p.length / K);
      for (let r = 0; r < out.length; r++) {
        let sum = 0;
        for (let k = liked; k < K; k++) sum += p[r * K + k];
        out[r] = likeFactor(sum, gamma);
      }
      return out;
    };
    const likes = { full: like(rating.full), without: like(rating.without) };
    // The ranking score (1 − w) · p(watch) · p(like) + w · π, with w(n) in full and w(n − 1) without a rating.
    const score = (w: Float64Array, l: Float64Array, prior: number): Float64Array => {
      const out = new Float64Array(w.length);
      for (let r = 0; r < w.length; r++) out[r] = (1 - prior) * w[r] * l[r] + prior * this.popularity[items[r % m]];
      return out;
    };
    const scores = {
      full: score(watch.full, likes.full, priorWeight(this.coldPrior, n)),
      without: score(watch.without, likes.without, priorWeight(this.coldPrior, n - 1)),
    };
    // Each reason also says which factor it raised, p(watch), p(like) or both (model/explain.ts).
    return pickProductInfluences(watch, likes, n, max, scores);
  }

  dispose(): void {
    this.rating.dispose();
    this.implicit.dispose();
  }

  toState(): ModelState<WatchLikeMeta> {
    const rating = this.rating.toState();
    const implicit = this.implicit.toState();
    const it = implicitTraining(this.implicit);
    const rt = rating.meta.training ?? {};
    const training = this.storedTraining ?? {
      ...rt,
      seconds: Math.max(rt.seconds ?? 0, it.seconds ?? 0),
      epochs: (rt.epochs ?? 0) + (it.epochs ?? 0),
      curve: [...(rt.curve ?? []), ...(it.curve ?? [])],
      validationRanking: it.validationRanking,
      stages: { ...rt.stages, ...it.stages },
    };
    return {
      meta: {
        kind: 'watch-like',
        algorithm: this.algorithm,
        ratingLevels: rating.meta.ratingLevels,
        userIds: rating.meta.userIds,
        itemIds: rating.meta.itemIds,
        config: {
          likedLevel: this.likedLevel,
          rating: rating.meta.config,
          implicit: implicit.config,
          ...(this.coldPrior > 0 ? { coldPrior: this.coldPrior } : {}),
          likeExponent: this.likeExponent,
        },
        training,
      },
      tensors: { ...rating.tensors, ...implicit.tensors },
    };
  }

  static fromState(state: ModelState<WatchLikeMeta>): WatchLikeModel {
    const { meta } = state;
    const rating = RbmBlendModel.fromState({
      meta: { ...meta, kind: 'rbm', algorithm: 'blend', config: meta.config.rating },
      tensors: state.tensors,
    });
    return new WatchLikeModel(
      rating,
      ImplicitRbm.fromState({ config: meta.config.implicit, tensors: state.tensors }),
      meta.config.likedLevel,
      meta.config.coldPrior ?? 0,
      meta.config.likeExponent ?? 1,
      meta.training ?? {},
    );
  }
}

export const implicitKind = storedKind('implicit', readImplicitConfig, (state) => ImplicitModel.fromState(state));
export const watchLikeKind = storedKind('watch-like', readWatchLikeConfig, (state) => WatchLikeModel.fromState(state));

export const implicitAlgorithm: Algorithm<RankingFitOptions> = {
  name: 'implicit',
  description: 'implicit RBM over "rated or not": ranks by p(watch)',
  fit: async (train, options, hooks) =>
    new ImplicitModel(train, await fitImplicitRbm(train, implicitOptions(options), hooks?.onEpoch, implicitCheckpoints(hooks))),
};

/**
 * How watch-like's two models share the threads: the implicit RBM after the rating blend, each model on
 * every thread in turn ('inTurn'), or beside it at the same time ('beside', each still asking for every
 * thread, so 2 × threads compete for the cores). Chosen by measurement at MovieLens 25M's size
 * (docs/performance.md, "Training on N threads").
 */
export type ModelSchedule = 'inTurn' | 'beside';
export const DEFAULT_MODEL_SCHEDULE: ModelSchedule = 'inTurn';

/** Fits both models, as `options.schedule` (default DEFAULT_MODEL_SCHEDULE) lays them out. */
async function fitWatchLike(train: Dataset, options: RankingFitOptions, hooks?: FitHooks): Promise<WatchLikeModel> {
  const rating = (): Promise<{ model: RbmBlendModel }> => fitRbmBlend(train, { ...options, orientation: 'both' }, hooks);
  const implicit = (): Promise<ImplicitRbm> => fitImplicitRbm(train, implicitOptions(options), hooks?.onEpoch, implicitCheckpoints(hooks));
  const [r, i] =
    (options.schedule ?? DEFAULT_MODEL_SCHEDULE) === 'beside'
      ? await Promise.all([rating(), implicit()])
      : [await rating(), await implicit()];
  return new WatchLikeModel(
    r.model,
    i,
    likedLevelIndex(train.ratingLevels),
    options.coldPrior ?? DEFAULT_RANKING.coldPrior,
    options.likeExponent ?? DEFAULT_RANKING.likeExponent,
  );
}

export const watchLikeAlgorithm: Algorithm<RankingFitOptions> = {
  name: 'watch-like',
  description: 'p(watch) from the implicit RBM × p(rating ≥ liked) from the rating blend; predicts ratings with the blend',
  fit: fitWatchLike,
};
