/**
 * The served model: the user-oriented RBM, the item-oriented RBM and the bias baseline, combined as a
 * convex mixture of their predicted distributions,
 *
 *   p(r_ui = k) = w_U · p_U(k) + w_I · p_I(k) + w_B · p_B(k),   w ≥ 0, Σ w = 1,
 *
 * with w fitted on the validation slice (one orientation alone is the mixture with w = 1 on it). Because
 * the mixture is of distributions, the prediction stays the distribution's expectation. Users or items
 * without training ratings get the bias baseline's prediction.
 */
import { BiasModel, pointMassDistribution } from '../model/bias.js';
import type { FoldInOptions, KnownRatings, ModelState, Predictions, RatingModel, UserScorer } from '../model/types.js';
import { fitVisibleUnit, type FoldInFit } from './foldin.js';
import { hiddenProbabilities, visibleDistribution, type RbmParams } from './params.js';

export interface MixtureWeights {
  user: number;
  item: number;
  bias: number;
}

export interface ItemRbmPart {
  /** Visible units are users. */
  params: RbmParams;
  /** ĥ_i = p(h | item i's training ratings), items × F. */
  itemHidden: Float32Array;
}

export interface RbmRecommenderParts {
  ratingLevels: readonly number[];
  userIds: readonly number[];
  itemIds: readonly number[];
  bias: BiasModel;
  /** Training ratings per item; 0 means the RBMs know nothing of it and the bias baseline answers. */
  itemTrainCount: Float32Array;
  user: RbmParams | null;
  item: ItemRbmPart | null;
  mixture: MixtureWeights;
  config: Record<string, unknown>;
  training: Record<string, unknown>;
}

export class RbmRecommender implements RatingModel {
  readonly kind = 'rbm';

  constructor(readonly parts: RbmRecommenderParts) {}

  get ratingLevels(): readonly number[] {
    return this.parts.ratingLevels;
  }
  get userCount(): number {
    return this.parts.userIds.length;
  }
  get itemCount(): number {
    return this.parts.itemIds.length;
  }

  /** The user's softmax unit in the item RBM: trained, or fitted to `ratings` (fold-in). */
  itemRbmUserUnit(ratings: KnownRatings, options: FoldInOptions): FoldInFit | null {
    const part = this.parts.item;
    if (!part) return null;
    const { levels: K, hidden: F, visibles } = part.params;
    const u = options.userIndex;
    const trained = u !== undefined && u >= 0 && u < visibles
      ? { W: part.params.W.subarray(u * K * F, (u + 1) * K * F), b: part.params.b.subarray(u * K, (u + 1) * K) }
      : null;
    if (trained && !options.refit) return trained;
    return fitVisibleUnit(ratings, part.itemHidden, K, F, trained);
  }

  foldIn(ratings: KnownRatings, options: FoldInOptions = {}): UserScorer {
    const { bias, user, mixture, itemTrainCount, ratingLevels } = this.parts;
    const K = ratingLevels.length;
    const biasScorer = bias.foldIn(ratings, options);
    const hasRatings = ratings.items.length > 0;
    const userHidden = user && hasRatings && mixture.user > 0
      ? hiddenProbabilities(user, ratings.items, ratings.levels, 0, ratings.items.length, new Float32Array(user.hidden))
      : null;
    const unit = hasRatings && mixture.item > 0 ? this.itemRbmUserUnit(ratings, options) : null;
    const itemPart = this.parts.item;
    return {
      predict: (items: Int32Array): Predictions => {
        const fallback = biasScorer.predict(items);
        const distribution = fallback.distribution;
        const expected = fallback.expected;
        if (!userHidden && !unit) return fallback;
        const pU = new Float64Array(K);
        const pI = new Float64Array(K);
        for (let n = 0; n < items.length; n++) {
          const i = items[n];
          if (i < 0 || i >= itemTrainCount.length || itemTrainCount[i] === 0) continue;
          if (userHidden && user) visibleDistribution(user, i, userHidden, pU);
          if (unit && itemPart) unitDistribution(unit, itemPart.itemHidden, i, K, itemPart.params.hidden, pI);
          let e = 0;
          for (let k = 0; k < K; k++) {
            const q = mixture.user * pU[k] + mixture.item * pI[k] + mixture.bias * distribution[n * K + k];
            distribution[n * K + k] = q;
            e += q * ratingLevels[k];
          }
          expected[n] = e;
        }
        return { expected, distribution };
      },
    };
  }

  toState(): ModelState {
    const { bias, user, item, itemTrainCount, mixture, config, training } = this.parts;
    const tensors: Record<string, Float32Array> = {
      'bias.userBias': bias.userBias,
      'bias.itemBias': bias.itemBias,
      itemTrainCount,
    };
    if (user) Object.assign(tensors, { 'user.W': user.W, 'user.b': user.b, 'user.c': user.c });
    if (item) {
      Object.assign(tensors, { 'item.W': item.params.W, 'item.b': item.params.b, 'item.c': item.params.c, 'item.hidden': item.itemHidden });
    }
    return {
      meta: {
        kind: this.kind,
        ratingLevels: [...this.parts.ratingLevels],
        userIds: [...this.parts.userIds],
        itemIds: [...this.parts.itemIds],
        config: {
          ...config,
          mixture,
          bias: { ...bias.options, globalMean: bias.globalMean },
          hidden: { user: user?.hidden ?? null, item: item?.params.hidden ?? null },
        },
        training,
      },
      tensors,
    };
  }

  static fromState(state: ModelState): RbmRecommender {
    const { meta, tensors } = state;
    const config = meta.config as Record<string, unknown> & {
      mixture: MixtureWeights;
      bias: { regItem: number; regUser: number; epochs: number; globalMean: number };
      hidden: { user: number | null; item: number | null };
    };
    const K = meta.ratingLevels.length;
    const need = (name: string): Float32Array => {
      const t = tensors[name];
      if (!t) throw new Error(`model state is missing tensor "${name}"`);
      return t;
    };
    const rbm = (prefix: string, visibles: number, hidden: number): RbmParams => {
      const params = { visibles, levels: K, hidden, W: need(`${prefix}.W`), b: need(`${prefix}.b`), c: need(`${prefix}.c`) };
      if (params.W.length !== visibles * K * hidden || params.b.length !== visibles * K || params.c.length !== hidden) {
        throw new Error(`model state tensor shapes of "${prefix}" do not match ${visibles} visibles × ${K} levels × ${hidden} hidden`);
      }
      return params;
    };
    const bias = new BiasModel(meta.ratingLevels, config.bias.globalMean, need('bias.userBias'), need('bias.itemBias'),
      { regItem: config.bias.regItem, regUser: config.bias.regUser, epochs: config.bias.epochs }, meta);
    const { mixture, bias: _bias, hidden, ...rest } = config;
    return new RbmRecommender({
      ratingLevels: meta.ratingLevels,
      userIds: meta.userIds,
      itemIds: meta.itemIds,
      bias,
      itemTrainCount: need('itemTrainCount'),
      user: hidden.user ? rbm('user', meta.itemIds.length, hidden.user) : null,
      item: hidden.item ? { params: rbm('item', meta.userIds.length, hidden.item), itemHidden: need('item.hidden') } : null,
      mixture,
      config: rest,
      training: meta.training ?? {},
    });
  }
}

/** p(v_u = k | ĥ_i) = softmax_k(b[k] + Σ_j ĥ_ij W[k,j]) for a user's unit and item i's hidden features. */
export function unitDistribution(unit: FoldInFit, itemHidden: Float32Array, i: number, K: number, F: number, out: Float64Array): void {
  const x = i * F;
  let max = -Infinity;
  for (let k = 0; k < K; k++) {
    let z = unit.b[k];
    for (let j = 0; j < F; j++) z += unit.W[k * F + j] * itemHidden[x + j];
    out[k] = z;
    if (z > max) max = z;
  }
  let sum = 0;
  for (let k = 0; k < K; k++) sum += out[k] = Math.exp(out[k] - max);
  for (let k = 0; k < K; k++) out[k] /= sum;
}

export { pointMassDistribution };
