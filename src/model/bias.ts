/**
 * Baselines: the global mean, and the regularised user + item bias model (Surprise's BaselineOnly with
 * its ALS procedure and defaults), used by the evaluator for comparison and by every model as the fallback
 * for users or items without training ratings.
 *
 *   r̂(u,i) = μ + b_u + b_i
 *   b_i ← Σ_{u∈U_i} (r_ui − μ − b_u) / (λ_i + |U_i|)
 *   b_u ← Σ_{i∈I_u} (r_ui − μ − b_i) / (λ_u + |I_u|)        (alternated for n epochs)
 */
import type { Dataset } from '../data/dataset.js';
import type { FoldInOptions, KnownRatings, ModelState, Predictions, RatingModel, UserScorer } from './types.js';

export interface BiasOptions {
  /** λ_i, item regularisation (Surprise default 10). */
  regItem: number;
  /** λ_u, user regularisation (Surprise default 15). */
  regUser: number;
  epochs: number;
}

export const DEFAULT_BIAS_OPTIONS: BiasOptions = { regItem: 10, regUser: 15, epochs: 10 };

export class BiasModel implements RatingModel {
  readonly kind = 'bias';

  constructor(
    readonly ratingLevels: readonly number[],
    readonly globalMean: number,
    /** b_u by user index. */
    readonly userBias: Float32Array,
    /** b_i by item index. */
    readonly itemBias: Float32Array,
    readonly options: BiasOptions,
    private readonly ids: { userIds: readonly number[]; itemIds: readonly number[] },
  ) {}

  get userCount(): number {
    return this.userBias.length;
  }
  get itemCount(): number {
    return this.itemBias.length;
  }

  /** b_u for a user from their ratings alone, with the item biases fixed (one ALS half-step). */
  fitUserBias(ratings: KnownRatings): number {
    let sum = 0;
    for (let n = 0; n < ratings.items.length; n++) {
      sum += this.ratingLevels[ratings.levels[n]] - this.globalMean - this.itemBias[ratings.items[n]];
    }
    return sum / (this.options.regUser + ratings.items.length);
  }

  /** μ + b_u + b_i clipped to the scale. */
  predictValue(userBias: number, item: number): number {
    const K = this.ratingLevels.length;
    const raw = this.globalMean + userBias + (item >= 0 && item < this.itemBias.length ? this.itemBias[item] : 0);
    return Math.min(this.ratingLevels[K - 1], Math.max(this.ratingLevels[0], raw));
  }

  foldIn(ratings: KnownRatings, options: FoldInOptions = {}): UserScorer {
    const known = options.userIndex !== undefined && options.userIndex >= 0 && options.userIndex < this.userCount;
    const bu = known && !options.refit ? this.userBias[options.userIndex!] : this.fitUserBias(ratings);
    return {
      predict: (items: Int32Array): Predictions => {
        const expected = new Float32Array(items.length);
        for (let n = 0; n < items.length; n++) expected[n] = this.predictValue(bu, items[n]);
        return { expected, distribution: pointMassDistribution(expected, this.ratingLevels) };
      },
    };
  }

  toState(): ModelState {
    return {
      meta: {
        kind: this.kind,
        ratingLevels: [...this.ratingLevels],
        userIds: [...this.ids.userIds],
        itemIds: [...this.ids.itemIds],
        config: { ...this.options, globalMean: this.globalMean },
      },
      tensors: { userBias: this.userBias, itemBias: this.itemBias },
    };
  }

  static fromState(state: ModelState): BiasModel {
    const config = state.meta.config as unknown as BiasOptions & { globalMean: number };
    return new BiasModel(
      state.meta.ratingLevels,
      config.globalMean,
      state.tensors.userBias,
      state.tensors.itemBias,
      { regItem: config.regItem, regUser: config.regUser, epochs: config.epochs },
      state.meta,
    );
  }
}

/** Mean of all training ratings. */
export function globalMean(ds: Dataset): number {
  let sum = 0;
  for (let r = 0; r < ds.levels.length; r++) sum += ds.ratingLevels[ds.levels[r]];
  return ds.levels.length > 0 ? sum / ds.levels.length : (ds.ratingLevels[0] + ds.ratingLevels[ds.ratingLevels.length - 1]) / 2;
}

/** Fits the bias baseline by alternating least squares (Surprise's `baseline_als`). */
export function fitBiasModel(ds: Dataset, options: Partial<BiasOptions> = {}): BiasModel {
  const opts = { ...DEFAULT_BIAS_OPTIONS, ...options };
  const mu = globalMean(ds);
  const nUsers = ds.userIds.length;
  const nItems = ds.itemIds.length;
  const bu = new Float64Array(nUsers);
  const bi = new Float64Array(nItems);
  const userCount = new Float64Array(nUsers);
  const itemCount = new Float64Array(nItems);
  for (let r = 0; r < ds.levels.length; r++) {
    userCount[ds.users[r]]++;
    itemCount[ds.items[r]]++;
  }
  const sumU = new Float64Array(nUsers);
  const sumI = new Float64Array(nItems);
  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    sumI.fill(0);
    for (let r = 0; r < ds.levels.length; r++) {
      sumI[ds.items[r]] += ds.ratingLevels[ds.levels[r]] - mu - bu[ds.users[r]];
    }
    for (let i = 0; i < nItems; i++) bi[i] = sumI[i] / (opts.regItem + itemCount[i]);
    sumU.fill(0);
    for (let r = 0; r < ds.levels.length; r++) {
      sumU[ds.users[r]] += ds.ratingLevels[ds.levels[r]] - mu - bi[ds.items[r]];
    }
    for (let u = 0; u < nUsers; u++) bu[u] = sumU[u] / (opts.regUser + userCount[u]);
  }
  return new BiasModel(ds.ratingLevels, mu, Float32Array.from(bu), Float32Array.from(bi), opts, ds);
}

/**
 * A distribution over levels whose expectation is `value`: the mass is split between the two levels
 * around it (linear interpolation). Used by models that predict a number rather than a distribution.
 */
export function pointMassDistribution(values: Float32Array, levels: readonly number[]): Float32Array {
  const K = levels.length;
  const out = new Float32Array(values.length * K);
  for (let n = 0; n < values.length; n++) {
    const v = values[n];
    let k = 0;
    while (k < K - 2 && levels[k + 1] < v) k++;
    if (K === 1) {
      out[n] = 1;
      continue;
    }
    const t = Math.min(1, Math.max(0, (v - levels[k]) / (levels[k + 1] - levels[k])));
    out[n * K + k] = 1 - t;
    out[n * K + k + 1] = t;
  }
  return out;
}
