/**
 * The rating model: the user-oriented RBM, the item-oriented RBM and the bias baseline, combined as the
 * convex mixture of their predicted distributions (mixture.ts). One orientation alone is the mixture with
 * no weight on the other. Users without ratings, and items without training ratings, get the bias
 * baseline's prediction.
 *
 * Scoring a block of B users over all I items is two dense products (tfjs), then a softmax per (user,
 * item) and the mixture:
 *
 *   user RBM:  z_U[u, i, k] = b[i,k] + Σ_j p̂_uj W[i,k,j]      = P (B×F) · Wᵀ (F × I·K) + b
 *              with p̂_u = p(h | the user's ratings) = σ(c + Σ_{rated i} W[i, r_i, :])
 *   item RBM:  z_I[i, u, k] = b_u[k] + Σ_j ĥ_ij W_u[k,j]      = Ĥ (I×F) · W_blockᵀ (F × B·K) + b_block
 *              with ĥ_i = p(h | item i's training ratings), and user u's softmax unit (W_u, b_u) trained
 *              or fitted to their ratings (fold-in, rbm/foldin.ts)
 *   p_c(k) = softmax_k(z_c),  p(k) = Σ_c w_c p_c(k),  E = Σ_k level_k p(k).
 *
 * The tensors derived from the weights are created once, on first use, and freed by dispose().
 */
import type { KnownRatings } from '../data/dataset.js';
import { tf } from '../rbm/backend.js';
import { fitVisibleUnit, type FoldInFit } from '../rbm/foldin.js';
import { denseProduct, expWeights, gatherColumns, leaveOneOutHidden, operandScratch } from '../rbm/leaveOneOut.js';
import { hiddenProbabilities, softmaxInPlace, transposeMatrix, type RbmParams } from '../rbm/params.js';
import { BiasModel, pointMassInto, readBiasConfig, type BiasConfig } from './bias.js';
import {
  finite,
  integer,
  nullable,
  objectOf,
  oneOf,
  stateTensor,
  type ModelState,
  type Reader,
  type StoredMeta,
  type TrainingSummary,
} from './meta.js';
import { checkCandidates, pickInfluences } from './explain.js';
import { mixDistributions, type MixtureWeights } from './mixture.js';
import {
  storedKind,
  type Influence,
  type ItemScorer,
  type ItemScores,
  type TrainedModel,
  type UserInput,
  type UserScores,
} from './protocol.js';

/** What an RBM blend version stores as its config (the watch-like model stores one as its `rating`). */
export interface RbmConfig {
  orientation: 'user' | 'item' | 'both';
  seed: number;
  validationFraction: number;
  mixture: MixtureWeights;
  bias: BiasConfig;
  hidden: { user: number | null; item: number | null };
  /** The per-orientation RBM options used (hyperparameters, for display and reproduction). */
  user?: unknown;
  item?: unknown;
}

const weight = finite((v) => v >= 0, 'a non-negative number');
const hiddenUnits = nullable(integer((v) => v > 0, 'a positive integer or null'));
const kept: Reader<unknown> = (value) => value;

export const readRbmConfig: Reader<RbmConfig> = objectOf({
  orientation: oneOf('user', 'item', 'both'),
  seed: finite(),
  validationFraction: finite(),
  mixture: objectOf({ user: weight, item: weight, bias: weight }),
  bias: readBiasConfig,
  hidden: objectOf({ user: hiddenUnits, item: hiddenUnits }),
  user: kept,
  item: kept,
});

export type RbmMeta = StoredMeta<'rbm', RbmConfig>;

export interface ItemRbmPart {
  /** Visible units are users. */
  params: RbmParams;
  /** ĥ_i = p(h | item i's training ratings), items × F. */
  itemHidden: Float32Array;
}

export interface RbmBlendParts {
  ratingLevels: readonly number[];
  userIds: readonly number[];
  itemIds: readonly number[];
  bias: BiasModel;
  /** Training ratings per item; 0 means the RBMs know nothing of it and the bias baseline answers. */
  itemTrainCount: Float32Array;
  user: RbmParams | null;
  item: ItemRbmPart | null;
  mixture: MixtureWeights;
  config: Pick<RbmConfig, 'orientation' | 'seed' | 'validationFraction' | 'user' | 'item'>;
  training: TrainingSummary;
}

/** The registry name of a blend by its orientation. */
export const algorithmOfOrientation = (orientation: 'user' | 'item' | 'both'): string => (orientation === 'both' ? 'blend' : orientation);

interface DenseTensors {
  /** Wᵀ of the user RBM, F × (I·K): pre-transposed because wasm's matMul with transposeB is much slower. */
  userWt: tf.Tensor2D | null;
  userB: tf.Tensor2D | null;
  itemHidden: tf.Tensor2D | null;
}

export class RbmBlendModel implements TrainedModel {
  readonly predictsRatings = true;
  readonly algorithm: string;
  private tensors: DenseTensors | null = null;
  private disposed = false;
  private readonly fittedUnits = new WeakMap<object, { ratings: KnownRatings; unit: FoldInFit }>();
  /** e^{W} of the user RBM, tabulated on the first `because` (rbm/leaveOneOut.ts). */
  private userExpW: Float32Array | null = null;
  /** distributionsWithout's reused `without` (grown as users with more ratings come). */
  private withoutScratch = new Float64Array(0);

  constructor(readonly parts: RbmBlendParts) {
    this.algorithm = algorithmOfOrientation(parts.config.orientation);
  }

  get ratingLevels(): readonly number[] {
    return this.parts.ratingLevels;
  }
  get userIds(): readonly number[] {
    return this.parts.userIds;
  }
  get itemIds(): readonly number[] {
    return this.parts.itemIds;
  }

  /**
   * The user's softmax unit in the item RBM: trained, or fitted to `ratings` (fold-in). A fitted unit is
   * remembered for the UserInput object it was fitted for (weakly), so `explain` after `scoreUsers` on the
   * same input does not fit it twice.
   */
  itemRbmUserUnit(ratings: KnownRatings, user: Pick<UserInput, 'userIndex' | 'refit'>): FoldInFit | null {
    const part = this.parts.item;
    if (!part) return null;
    const remembered = this.fittedUnits.get(user);
    if (remembered && remembered.ratings === ratings) return remembered.unit;
    const unit = this.trainedOrFittedUnit(part, ratings, user);
    this.fittedUnits.set(user, { ratings, unit });
    return unit;
  }

  private trainedOrFittedUnit(part: ItemRbmPart, ratings: KnownRatings, user: Pick<UserInput, 'userIndex' | 'refit'>): FoldInFit {
    const { levels: K, hidden: F, visibles } = part.params;
    const u = user.userIndex;
    const trained =
      u !== undefined && u >= 0 && u < visibles
        ? { W: part.params.W.subarray(u * K * F, (u + 1) * K * F), b: part.params.b.subarray(u * K, (u + 1) * K) }
        : null;
    if (trained && !user.refit) return trained;
    return fitVisibleUnit(ratings, part.itemHidden, K, F, trained);
  }

  scoreUsers(users: readonly UserInput[]): UserScores[] {
    const { bias, user, item, mixture, ratingLevels } = this.parts;
    const K = ratingLevels.length;
    const I = this.itemIds.length;
    const B = users.length;
    if (B === 0) return [];
    const active = users.map((u) => u.ratings.items.length > 0);
    const anyActive = active.some(Boolean);
    const useUser = user !== null && mixture.user > 0 && anyActive;
    const useItem = item !== null && mixture.item > 0 && anyActive;
    const dense = useUser || useItem ? this.denseTensors() : null;

    // User RBM logits, B × (I·K).
    let userLogits: Float32Array | null = null;
    if (useUser && dense?.userWt && dense.userB) {
      const F = user.hidden;
      const P = new Float32Array(B * F);
      const h = new Float32Array(F);
      users.forEach((u, n) => {
        if (!active[n]) return;
        hiddenProbabilities(user, u.ratings.items, u.ratings.levels, 0, u.ratings.items.length, h);
        P.set(h, n * F);
      });
      userLogits = readTensor(() => tf.matMul(tf.tensor2d(P, [B, F]), dense.userWt!).add(dense.userB!));
    }
    // Item RBM logits, I × (B·K): the block's user units laid out as F × (B·K), so no transpose.
    let itemLogits: Float32Array | null = null;
    if (useItem && dense?.itemHidden) {
      const F = item.params.hidden;
      const WbT = new Float32Array(F * B * K);
      const bb = new Float32Array(B * K);
      users.forEach((u, n) => {
        if (!active[n]) return;
        const unit = this.itemRbmUserUnit(u.ratings, u);
        if (!unit) return;
        for (let k = 0; k < K; k++) for (let j = 0; j < F; j++) WbT[j * B * K + n * K + k] = unit.W[k * F + j];
        bb.set(unit.b, n * K);
      });
      itemLogits = readTensor(() => tf.matMul(dense.itemHidden!, tf.tensor2d(WbT, [F, B * K])).add(tf.tensor2d(bb, [1, B * K])));
    }

    const mix = this.itemMixer();
    return users.map((u, n) => {
      const bu = bias.userBiasOf(u);
      const expected = new Float32Array(I);
      const distribution = new Float32Array(I * K);
      for (let i = 0; i < I; i++) {
        mix(expected, distribution, i, i, bu, active[n], userLogits, n * I * K + i * K, itemLogits, i * B * K + n * K);
      }
      return { score: expected, expected, distribution };
    });
  }

  /**
   * One item's distribution and expected rating from its logits, written to row `row` of `expected` /
   * `distribution`: the bias point mass alone for a user without ratings or an item without training
   * ratings, else the mixture of softmax_k(user logits at userAt + k), softmax_k(item logits at
   * itemAt + k) and the bias point mass. The one piece of arithmetic behind scoreUsers and itemScorers,
   * so both give the same float32 numbers.
   */
  private itemMixer(): (
    expected: Float32Array,
    distribution: Float32Array,
    row: number,
    i: number,
    bu: number,
    active: boolean,
    userLogits: Float32Array | null,
    userAt: number,
    itemLogits: Float32Array | null,
    itemAt: number,
  ) => void {
    const { bias, mixture, itemTrainCount, ratingLevels } = this.parts;
    const K = ratingLevels.length;
    const pU = new Float64Array(K);
    const pI = new Float64Array(K);
    const pB = new Float64Array(K);
    return (expected, distribution, row, i, bu, active, userLogits, userAt, itemLogits, itemAt) => {
      const value = bias.predictValue(bu, i);
      if (!active || itemTrainCount[i] === 0) {
        expected[row] = value;
        pointMassInto(value, ratingLevels, distribution, row * K);
        return;
      }
      pointMassInto(value, ratingLevels, pB, 0);
      if (userLogits) {
        for (let k = 0; k < K; k++) pU[k] = userLogits[userAt + k];
        softmaxInPlace(pU, 0, K);
      }
      if (itemLogits) {
        for (let k = 0; k < K; k++) pI[k] = itemLogits[itemAt + k];
        softmaxInPlace(pI, 0, K);
      }
      expected[row] = mixDistributions(mixture, userLogits ? pU : null, itemLogits ? pI : null, pB, distribution, row * K, ratingLevels);
    };
  }

  /**
   * Each user prepared for scoring chosen items only (the exact step of the pruned top-k, see
   * WatchLikeModel.scoreBounds): the same numbers as scoreUsers for those items, at a cost that follows
   * the number of items asked for instead of the catalog's size. Once per user:
   *   p̂_u = p(h | the user's ratings) (user RBM), the user's softmax unit (W_u, b_u) of the item RBM
   *   (trained, or fitted: rbm/foldin.ts), b_u of the bias baseline;
   * then per call, for the m items asked for:
   *   user RBM:  z_U[q, k] = b[i_q,k] + Σ_j p̂_uj W[i_q,k,j]   = p̂_u (1×F) · W_mᵀ (F × m·K) + b_m
   *   item RBM:  z_I[q, k] = b_u[k] + Σ_j ĥ_{i_q j} W_u[k,j]  = Ĥ_m (m×F) · W_uᵀ (F × K) + b_u
   *   the softmaxes and the mixture as in scoreUsers (itemMixer).
   * Each logit must be the full product's entry bit for bit. On the wasm backend (XNNPACK: float32
   * multiply, then add, in order of j, no fused multiply-add) the m·K dot products are computed here in
   * the same order and float32 rounding (dotF32), with no tfjs call per chunk; on another backend the two
   * products run on tfjs itself over the gathered rows (W_m: the K rows of W per item; Ĥ_m: the items'
   * rows of ĥ); `products: 'tfjs'` forces the latter. test/serving/pruned-serving.test.ts checks both
   * against scoreUsers, bit for bit.
   * Needs no dense tensor of the whole catalog (scoreUsers uploads Wᵀ, I·K·F floats, on first use).
   */
  itemScorers(users: readonly UserInput[], products: 'auto' | 'tfjs' = 'auto'): ItemScorer[] {
    if (this.disposed)
      throw new Error(`the ${this.algorithm} model was disposed (its model version was retired); score with the current one`);
    const { bias, user, item, mixture, ratingLevels } = this.parts;
    const K = ratingLevels.length;
    const I = this.itemIds.length;
    const sequentialF32 = products === 'auto' && tf.getBackend() === 'wasm';
    return users.map((u) => {
      const active = u.ratings.items.length > 0;
      const bu = bias.userBiasOf(u);
      let hidden: Float32Array | null = null;
      if (user !== null && mixture.user > 0 && active) {
        hidden = new Float32Array(user.hidden);
        hiddenProbabilities(user, u.ratings.items, u.ratings.levels, 0, u.ratings.items.length, hidden);
      }
      // The item RBM's user unit (W_u: K × F, b_u), zeros when there is none (as in scoreUsers).
      let unitW: Float32Array | null = null;
      let unitB: Float32Array | null = null;
      if (item !== null && mixture.item > 0 && active) {
        const F = item.params.hidden;
        unitW = new Float32Array(K * F);
        unitB = new Float32Array(K);
        const unit = this.itemRbmUserUnit(u.ratings, u);
        if (unit) {
          unitW.set(unit.W.subarray(0, K * F));
          unitB.set(unit.b.subarray(0, K));
        }
      }
      const mix = this.itemMixer();
      return (items: ArrayLike<number>): ItemScores => {
        checkCandidates(items, I);
        const m = items.length;
        const expected = new Float32Array(m);
        const distribution = new Float32Array(m * K);
        let userLogits: Float32Array | null = null;
        if (hidden && user && m > 0) {
          const F = user.hidden;
          if (sequentialF32) {
            userLogits = new Float32Array(m * K);
            for (let q = 0; q < m; q++) {
              for (let k = 0; k < K; k++) {
                const row = (items[q] * K + k) * F;
                userLogits[q * K + k] = Math.fround(dotF32(hidden, 0, user.W, row, F) + user.b[items[q] * K + k]);
              }
            }
          } else {
            const Wm = new Float32Array(F * m * K);
            const bm = new Float32Array(m * K);
            for (let q = 0; q < m; q++) {
              const i = items[q];
              for (let k = 0; k < K; k++) {
                const row = (i * K + k) * F;
                const col = q * K + k;
                bm[col] = user.b[i * K + k];
                for (let j = 0; j < F; j++) Wm[j * m * K + col] = user.W[row + j];
              }
            }
            const h = hidden;
            userLogits = readTensor(() => tf.matMul(tf.tensor2d(h, [1, F]), tf.tensor2d(Wm, [F, m * K])).add(tf.tensor2d(bm, [1, m * K])));
          }
        }
        let itemLogits: Float32Array | null = null;
        if (unitW && unitB && item && m > 0) {
          const F = item.params.hidden;
          const H = item.itemHidden;
          if (sequentialF32) {
            itemLogits = new Float32Array(m * K);
            for (let q = 0; q < m; q++) {
              for (let k = 0; k < K; k++) itemLogits[q * K + k] = Math.fround(dotF32(H, items[q] * F, unitW, k * F, F) + unitB[k]);
            }
          } else {
            const Hm = new Float32Array(m * F);
            for (let q = 0; q < m; q++) Hm.set(H.subarray(items[q] * F, (items[q] + 1) * F), q * F);
            const WuT = new Float32Array(F * K);
            for (let k = 0; k < K; k++) for (let j = 0; j < F; j++) WuT[j * K + k] = unitW[k * F + j];
            const b = unitB;
            itemLogits = readTensor(() => tf.matMul(tf.tensor2d(Hm, [m, F]), tf.tensor2d(WuT, [F, K])).add(tf.tensor2d(b, [1, K])));
          }
        }
        for (let q = 0; q < m; q++) mix(expected, distribution, q, items[q], bu, active, userLogits, q * K, itemLogits, q * K);
        return { score: expected, expected, distribution };
      };
    });
  }

  /**
   * The predicted distribution of each candidate from all the user's ratings and with each rating left out
   * in turn, for `because` (model/explain.ts); per component, as scoreUsers mixes them:
   *
   * - user RBM, exact: x = c + Σ_n W[i_n, k_n, :], and leaving rating n out subtracts its row,
   *     p̂'_n = σ(x − W[i_n, k_n, :]),  p_U(k | …) = softmax_k(b[i,k] + Σ_j p̂'_{n,j} W[i,k,j]);
   * - bias baseline, exact: b_u is recomputed without rating n by the one ALS half-step serving uses for
   *   changed ratings, b_u' = (Σ_{t≠n} (r_t − μ − b_{i_t})) / (λ_u + N − 1), the item biases fixed;
   * - item RBM, held fixed: the user's softmax unit (W_u, b_u) is the trained one (stored users) or the
   *   one fitted by logistic regression to all their ratings (visitors). Without rating n serving would
   *   refit it (rbm/foldin.ts); that refit is not done per rating, so this component's p_I(k) is the same
   *   in every row and its share of an influence is approximate (measured in test/model/because.test.ts);
   * - a user left without ratings, or an item without training ratings, gets the bias point mass, as in
   *   scoreUsers.
   *
   * The full row is computed the same way as the others, so an influence is a difference of like numbers;
   * the user RBM's N·m·K·F multiply-adds are one tfjs product.
   *
   * @param reuse  `without` in memory this model reuses, valid until its next call with `reuse` (for
   *   `explain`, which reads it once: at N·m·K doubles it was the largest array a request allocated)
   * @returns full[c·K + k]; without[(n·m + c)·K + k] with rating n left out.
   */
  distributionsWithout(user: UserInput, candidates: ArrayLike<number>, reuse = false): { full: Float64Array; without: Float64Array } {
    const { bias, user: userRbm, item, mixture, itemTrainCount, ratingLevels } = this.parts;
    const K = ratingLevels.length;
    checkCandidates(candidates, this.itemIds.length);
    const { items, levels } = user.ratings;
    const N = items.length;
    const m = candidates.length;
    const full = new Float64Array(m * K);
    // Every entry of `without` is written below, so a reused array needs no clearing.
    if (reuse && this.withoutScratch.length < N * m * K)
      this.withoutScratch = new Float64Array(Math.max(N * m * K, 2 * this.withoutScratch.length));
    const without = reuse ? this.withoutScratch.subarray(0, N * m * K) : new Float64Array(N * m * K);
    const useUser = userRbm !== null && mixture.user > 0;
    const useItem = item !== null && mixture.item > 0;

    // Bias baseline: b_u with all ratings, and without each (d_t = r_t − μ − b_{i_t}).
    const buFull = bias.userBiasOf(user);
    let sum = 0;
    const d = new Float64Array(N);
    for (let t = 0; t < N; t++) sum += d[t] = ratingLevels[levels[t]] - bias.globalMean - bias.itemBias[items[t]];
    const regUser = bias.options.regUser;

    // Item RBM, the unit held fixed: p_I(k) of each candidate (unchanged by leaving a rating out).
    const pI = new Float64Array(m * K);
    if (useItem && N > 0) {
      const unit = this.itemRbmUserUnit(user.ratings, user);
      const F = item.params.hidden;
      if (unit) {
        for (let q = 0; q < m; q++) {
          const hRow = candidates[q] * F;
          for (let k = 0; k < K; k++) {
            let z = unit.b[k];
            for (let j = 0; j < F; j++) z += item.itemHidden[hRow + j] * unit.W[k * F + j];
            pI[q * K + k] = z;
          }
          softmaxInPlace(pI, q * K, K);
        }
      }
    }

    // User RBM logits of the candidates for all ratings (row 0) and without each (row 1 + n): one dense
    // product of the leave-one-out hidden probabilities (rbm/leaveOneOut.ts) by the candidates' weights.
    let userLogits: Float32Array | null = null;
    if (useUser && N > 0 && m > 0) {
      const F = userRbm.hidden;
      const rows = new Int32Array(N);
      for (let t = 0; t < N; t++) rows[t] = items[t] * K + levels[t];
      const columns = new Int32Array(m * K);
      for (let q = 0; q < m; q++) for (let k = 0; k < K; k++) columns[q * K + k] = candidates[q] * K + k;
      this.userExpW ??= expWeights(userRbm.W);
      const P = leaveOneOutHidden(userRbm.W, this.userExpW, userRbm.c, rows, operandScratch(0, (N + 1) * F));
      userLogits = denseProduct(P, N + 1, F, gatherColumns(userRbm.W, F, columns, operandScratch(1, F * m * K)), m * K);
    }
    // Row `row` of m distributions (row 0: all ratings, in `full`; row 1 + t: without rating t), each the
    // mixture of p_U(k | that row's logits), the unit-held p_I and the point mass of b_u: the arithmetic of
    // mixDistributions and pointMassInto, in their order, written out in one loop (a thousand-rating user
    // made this N · m calls of each, with copies of every p_U and p_I).
    const { user: wU, item: wI, bias: wB } = mixture;
    const pB = new Float64Array(K);
    const pU = new Float64Array(K);
    for (let row = 0; row <= N; row++) {
      const out = row === 0 ? full : without;
      const offset = row === 0 ? 0 : (row - 1) * m * K;
      const rated = row === 0 ? N : N - 1;
      const bu = row === 0 ? buFull : (sum - d[row - 1]) / (regUser + N - 1);
      for (let q = 0; q < m; q++) {
        const i = candidates[q];
        const at = offset + q * K;
        pointMassInto(bias.predictValue(bu, i), ratingLevels, pB, 0);
        if (rated === 0 || itemTrainCount[i] === 0) {
          for (let k = 0; k < K; k++) out[at + k] = pB[k];
          continue;
        }
        if (useUser && userLogits) {
          // p_U: the softmax of the row's logits plus b (a row without ratings took the point mass above).
          const from = row * m * K + q * K;
          const b = userRbm!.b;
          for (let k = 0; k < K; k++) pU[k] = userLogits[from + k] + b[i * K + k];
          softmaxInPlace(pU, 0, K);
        }
        for (let k = 0; k < K; k++) {
          out[at + k] = (useUser ? wU * pU[k] : 0) + (useItem ? wI * pI[q * K + k] : 0) + wB * pB[k];
        }
      }
    }
    return { full, without };
  }

  /** `because` for the rating blend alone: its ranking score is the expected rating E = Σ_k level_k p(k). */
  explain(user: UserInput, items: ArrayLike<number>, max: number): Influence[][] {
    const { full, without } = this.distributionsWithout(user, items, true);
    const levels = this.ratingLevels;
    const K = levels.length;
    const expect = (p: Float64Array): Float64Array => {
      const e = new Float64Array(p.length / K);
      for (let r = 0; r < e.length; r++) for (let k = 0; k < K; k++) e[r] += levels[k] * p[r * K + k];
      return e;
    };
    return pickInfluences(expect(full), expect(without), user.ratings.items.length, max, 'like');
  }

  /** Tensors of this (immutable) model for the dense products, uploaded once. */
  private denseTensors(): DenseTensors {
    if (this.disposed)
      throw new Error(`the ${this.algorithm} model was disposed (its model version was retired); score with the current one`);
    if (!this.tensors) {
      const { user, item, ratingLevels } = this.parts;
      const K = ratingLevels.length;
      const I = this.itemIds.length;
      this.tensors = {
        userWt: user ? tf.tensor2d(transposeMatrix(user.W, I * K, user.hidden), [user.hidden, I * K]) : null,
        userB: user ? tf.tensor2d(user.b, [1, I * K]) : null,
        itemHidden: item ? tf.tensor2d(item.itemHidden, [I, item.params.hidden]) : null,
      };
    }
    return this.tensors;
  }

  dispose(): void {
    this.disposed = true;
    if (!this.tensors) return;
    this.tensors.userWt?.dispose();
    this.tensors.userB?.dispose();
    this.tensors.itemHidden?.dispose();
    this.tensors = null;
  }

  toState(): ModelState<RbmMeta> {
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
        kind: 'rbm',
        algorithm: this.algorithm,
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

  static fromState(state: ModelState<RbmMeta>): RbmBlendModel {
    const { meta } = state;
    const { config } = meta;
    const K = meta.ratingLevels.length;
    const I = meta.itemIds.length;
    const U = meta.userIds.length;
    const rbm = (prefix: string, visibles: number, hidden: number): RbmParams => ({
      visibles,
      levels: K,
      hidden,
      W: stateTensor(state, `${prefix}.W`, visibles * K * hidden),
      b: stateTensor(state, `${prefix}.b`, visibles * K),
      c: stateTensor(state, `${prefix}.c`, hidden),
    });
    const bias = new BiasModel(
      meta.ratingLevels,
      config.bias.globalMean,
      stateTensor(state, 'bias.userBias', U),
      stateTensor(state, 'bias.itemBias', I),
      { regItem: config.bias.regItem, regUser: config.bias.regUser, epochs: config.bias.epochs },
      meta.userIds,
      meta.itemIds,
    );
    const { hidden } = config;
    return new RbmBlendModel({
      ratingLevels: meta.ratingLevels,
      userIds: meta.userIds,
      itemIds: meta.itemIds,
      bias,
      itemTrainCount: stateTensor(state, 'itemTrainCount', I),
      user: hidden.user ? rbm('user', I, hidden.user) : null,
      item: hidden.item ? { params: rbm('item', U, hidden.item), itemHidden: stateTensor(state, 'item.hidden', I * hidden.item) } : null,
      mixture: config.mixture,
      config: {
        orientation: config.orientation,
        seed: config.seed,
        validationFraction: config.validationFraction,
        user: config.user,
        item: config.item,
      },
      training: meta.training ?? {},
    });
  }
}

export const rbmKind = storedKind('rbm', readRbmConfig, (state) => RbmBlendModel.fromState(state));

/**
 * Σ_j a[aAt + j] · b[bAt + j] for j = 0 … n−1 in float32 arithmetic, in order: each product and each
 * partial sum rounded to float32 (a double holds a float32 product exactly and rounds a sum of two
 * float32s correctly), as XNNPACK's float32 GEMM on the wasm backend accumulates one output.
 */
function dotF32(a: Float32Array, aAt: number, b: Float32Array, bAt: number, n: number): number {
  let acc = 0;
  for (let j = 0; j < n; j++) acc = Math.fround(acc + Math.fround(a[aAt + j] * b[bAt + j]));
  return acc;
}

/** Runs a tfjs computation and reads its result back (the intermediate tensors are freed). */
function readTensor(compute: () => tf.Tensor): Float32Array {
  const z = tf.tidy(compute);
  const data = z.dataSync() as Float32Array;
  z.dispose();
  return data;
}
