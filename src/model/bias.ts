/**
 * Baselines: the global mean, and the regularised user + item bias model (Surprise's BaselineOnly with
 * its ALS procedure and defaults), used by the evaluator for comparison and by every model as the fallback
 * for users or items without training ratings.
 *
 *   r̂(u,i) = μ + b_u + b_i
 *   b_i ← Σ_{u∈U_i} (r_ui − μ − b_u) / (λ_i + |U_i|)
 *   b_u ← Σ_{i∈I_u} (r_ui − μ − b_i) / (λ_u + |I_u|)        (alternated for n epochs)
 */
import type { Dataset, KnownRatings } from '../data/dataset.js';
import { finite, modelState, objectOf, stateTensor, type ModelState, type Reader, type StoredMeta, type TrainingSummary } from './meta.js';
import { storedKind, type Algorithm, type TrainedModel, type UserInput, type UserScores } from './protocol.js';

export interface BiasOptions {
  /** λ_i, item regularisation (Surprise default 10). */
  regItem: number;
  /** λ_u, user regularisation (Surprise default 15). */
  regUser: number;
  epochs: number;
}

export const DEFAULT_BIAS_OPTIONS: BiasOptions = { regItem: 10, regUser: 15, epochs: 10 };

/** What a bias model version stores as its config (also the bias part of an RBM blend's). */
export interface BiasConfig extends BiasOptions {
  globalMean: number;
}

export const readBiasConfig: Reader<BiasConfig> = objectOf({
  regItem: finite(),
  regUser: finite(),
  epochs: finite(),
  globalMean: finite(),
});

export type BiasMeta = StoredMeta<'bias', BiasConfig>;

export class BiasModel implements TrainedModel {
  readonly algorithm = 'bias';
  readonly predictsRatings = true;

  constructor(
    readonly ratingLevels: readonly number[],
    readonly globalMean: number,
    /** b_u by user index. */
    readonly userBias: Float32Array,
    /** b_i by item index. */
    readonly itemBias: Float32Array,
    readonly options: BiasOptions,
    readonly userIds: readonly number[],
    readonly itemIds: readonly number[],
    readonly training: TrainingSummary = {},
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

  /** The user's b_u: the trained one for a known, unchanged user, else fitted to their ratings. */
  userBiasOf(user: UserInput): number {
    const u = user.userIndex;
    return u !== undefined && u >= 0 && u < this.userCount && !user.refit ? this.userBias[u] : this.fitUserBias(user.ratings);
  }

  /** μ + b_u + b_i clipped to the scale. */
  predictValue(userBias: number, item: number): number {
    const K = this.ratingLevels.length;
    const raw = this.globalMean + userBias + (item >= 0 && item < this.itemBias.length ? this.itemBias[item] : 0);
    return Math.min(this.ratingLevels[K - 1], Math.max(this.ratingLevels[0], raw));
  }

  scoreUsers(users: readonly UserInput[]): UserScores[] {
    return users.map((user) => {
      const bu = this.userBiasOf(user);
      const expected = new Float32Array(this.itemCount);
      for (let i = 0; i < expected.length; i++) expected[i] = this.predictValue(bu, i);
      return { score: expected, expected, distribution: pointMassDistribution(expected, this.ratingLevels) };
    });
  }

  dispose(): void {}

  toState(): ModelState<BiasMeta> {
    const config = { ...this.options, globalMean: this.globalMean };
    return modelState(this, 'bias', config, { userBias: this.userBias, itemBias: this.itemBias }, this.training);
  }

  static fromState(state: ModelState<BiasMeta>): BiasModel {
    const { meta } = state;
    const { config } = meta;
    return new BiasModel(
      meta.ratingLevels,
      config.globalMean,
      stateTensor(state, 'userBias', meta.userIds.length),
      stateTensor(state, 'itemBias', meta.itemIds.length),
      { regItem: config.regItem, regUser: config.regUser, epochs: config.epochs },
      meta.userIds,
      meta.itemIds,
      meta.training,
    );
  }
}

export const biasKind = storedKind('bias', readBiasConfig, (state) => BiasModel.fromState(state));

/** Surprise's BaselineOnly as an algorithm of the protocol. */
export const biasAlgorithm: Algorithm<Partial<BiasOptions>> = {
  name: 'bias',
  description: 'user + item bias baseline (Surprise BaselineOnly, ALS)',
  fit: (train, options) => Promise.resolve(fitBiasModel(train, options)),
};

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
  return new BiasModel(ds.ratingLevels, mu, Float32Array.from(bu), Float32Array.from(bi), opts, ds.userIds, ds.itemIds, {
    ratings: ds.levels.length,
  });
}

/**
 * A distribution over levels whose expectation is `value`: the mass is split between the two levels
 * around it (linear interpolation). Used by models that predict a number rather than a distribution.
 * Writes K values at out[offset …].
 */
export function pointMassInto(value: number, levels: readonly number[], out: Float32Array | Float64Array, offset: number): void {
  const K = levels.length;
  for (let k = 0; k < K; k++) out[offset + k] = 0;
  if (K === 1) {
    out[offset] = 1;
    return;
  }
  let k = 0;
  while (k < K - 2 && levels[k + 1] < value) k++;
  const t = Math.min(1, Math.max(0, (value - levels[k]) / (levels[k + 1] - levels[k])));
  out[offset + k] = 1 - t;
  out[offset + k + 1] = t;
}

/** pointMassInto for every value: values.length × K, row-major. */
export function pointMassDistribution(values: Float32Array, levels: readonly number[]): Float32Array {
  const out = new Float32Array(values.length * levels.length);
  for (let n = 0; n < values.length; n++) pointMassInto(values[n], levels, out, n * levels.length);
  return out;
}
