/**
 * EASE^R (Steck 2019, "Embarrassingly Shallow Autoencoders for Sparse Data"): an item-item linear model
 * with a zero diagonal, fitted in closed form on the binary users × items matrix X (x_ui = 1 when u rated i):
 *
 *   B = argmin ‖X − X B‖²_F + λ ‖B‖²_F   subject to diag(B) = 0
 *   P = (XᵀX + λI)⁻¹,   B = I − P · diagMat(1 / diag(P)),  i.e.  B_ij = −P_ij / P_jj (i ≠ j),  B_jj = 0
 *   score(u, j) = (x_u B)_j = Σ_{i ∈ items of u} B_ij
 *
 * A user is folded in from their rated items alone (no per-user parameters), so a stored user and a
 * visitor with the same items get the same scores. Ranks only: predicts no ratings. λ is chosen on a
 * validation slice carved from the training part (model/rankingValidation.ts).
 *
 * P comes from one of two identities, whichever costs fewer multiply-adds (U users, I items):
 *   direct:    P = (XᵀX + λI)⁻¹, Cholesky of the I × I system                          ≈ I³/2
 *   Woodbury:  P = (I − Xᵀ(λI + XXᵀ)⁻¹X) / λ = (I − YᵀY) / λ,  Y = L⁻¹X,  L Lᵀ = λI + XXᵀ
 *              (a U × U system)                                                        ≈ U³/6 + U²I/2 + UI²/2
 * B is dense I × I: EASE refuses catalogs beyond `maxItems` (easeConfig.ts) instead of running out of memory.
 */
import type { Dataset } from '../data/dataset.js';
import { checkEaseConfig, validateEaseOptions, type EaseConfig, type EaseOptions, type EasePath } from './easeConfig.js';
import { addGramOfRows, choleskyInPlace, forwardSubstituteInPlace, mirrorLower, spdInverseInPlace } from './linalg.js';
import { jsonObject, modelState, stateTensor, type ModelState, type StoredMeta, type TrainingSummary } from './meta.js';
import { storedKind, type Algorithm, type TrainedModel, type UserInput, type UserScores } from './protocol.js';
import { RankingOnlyModel, type ModelIds } from './rankingOnly.js';
import { bestOf, rowItems, validationNdcgOf, validationSlice, type GridPoint, type RatedRows } from './rankingValidation.js';

export { checkEaseConfig, type EaseConfig, type EaseOptions };

const MB = 1024 * 1024;

/** Throws unless a catalog of `items` fits EASE's dense items × items model under `maxItems`. */
export function checkEaseSize(items: number, maxItems: number): void {
  if (items <= maxItems) return;
  const mb = (n: number): string => {
    const bytes = 4 * n * n;
    return bytes < MB ? `${Math.ceil(bytes / 1024).toLocaleString('en')} KB` : `${Math.round(bytes / MB).toLocaleString('en')} MB`;
  };
  throw new RangeError(
    `EASE keeps a dense items × items matrix: this catalog has ${items.toLocaleString('en')} items, which needs ${mb(items)} ` +
      `of float32 weights (and 4× that while fitting); the limit is ${maxItems.toLocaleString('en')} items (${mb(maxItems)}). ` +
      'Use ials for a catalog this large.',
  );
}

/** The cheaper way to P for U users and I items (see the top of the file). */
export function easePathFor(users: number, items: number): EasePath {
  const direct = items ** 3 / 2;
  const woodbury = users ** 3 / 6 + (users * users * items) / 2 + (users * items * items) / 2;
  return woodbury < direct ? 'woodbury' : 'direct';
}

/** XᵀX + λI (items × items, full), from each user's pairs of rated items. */
function regularisedItemGram(rows: RatedRows, lambda: number): Float64Array {
  const I = rows.cols;
  const G = new Float64Array(I * I);
  for (let u = 0; u < rows.rows; u++) {
    const items = rowItems(rows, u);
    for (const a of items) for (const b of items) G[a * I + b] += 1;
  }
  for (let i = 0; i < I; i++) G[i * I + i] += lambda;
  return G;
}

/** λI + XXᵀ (users × users, lower triangle), from each item's pairs of raters. */
function regularisedUserGram(rows: RatedRows, lambda: number): Float64Array {
  const U = rows.rows;
  const raters: number[][] = Array.from({ length: rows.cols }, () => []);
  for (let u = 0; u < U; u++) for (const i of rowItems(rows, u)) raters[i].push(u);
  const K = new Float64Array(U * U);
  for (const users of raters) {
    for (let a = 0; a < users.length; a++) for (let b = 0; b <= a; b++) K[users[a] * U + users[b]] += 1;
  }
  for (let u = 0; u < U; u++) K[u * U + u] += lambda;
  return K;
}

/** P = (XᵀX + λI)⁻¹, full, by the given identity (default: the cheaper one). */
export function easePrecision(rows: RatedRows, lambda: number, path: EasePath = easePathFor(rows.rows, rows.cols)): Float64Array {
  const I = rows.cols;
  if (path === 'direct') return spdInverseInPlace(regularisedItemGram(rows, lambda), I);
  const U = rows.rows;
  const L = regularisedUserGram(rows, lambda);
  choleskyInPlace(L, U);
  const Y = new Float64Array(U * I);
  for (let u = 0; u < U; u++) for (const i of rowItems(rows, u)) Y[u * I + i] = 1;
  forwardSubstituteInPlace(L, U, Y, I);
  const P = new Float64Array(I * I);
  addGramOfRows(P, Y, U, I, -1);
  for (let i = 0; i < I; i++) P[i * I + i] += 1;
  for (let n = 0; n < P.length; n++) P[n] /= lambda;
  mirrorLower(P, I);
  return P;
}

/** B_ij = −P_ij / P_jj off the diagonal, B_jj = 0; I × I row-major float32 (row i: what rating i adds). */
export function easeWeights(rows: RatedRows, lambda: number, path?: EasePath): Float32Array {
  const I = rows.cols;
  const P = easePrecision(rows, lambda, path);
  const B = new Float32Array(I * I);
  for (let i = 0; i < I; i++) {
    for (let j = 0; j < I; j++) if (i !== j) B[i * I + j] = -P[i * I + j] / P[j * I + j];
  }
  return B;
}

/**
 * score_j = Σ_{i ∈ items} B[i][j], summed in Float64 over the distinct items in ascending order (so the
 * order ratings arrive in does not change a bit), rounded once to float32.
 */
function easeScores(B: Float32Array, I: number, items: ArrayLike<number>): Float32Array {
  const sorted = Int32Array.from(items).sort();
  const sum = new Float64Array(I);
  for (let n = 0; n < sorted.length; n++) {
    const i = sorted[n];
    if (n > 0 && i === sorted[n - 1]) continue;
    if (!Number.isInteger(i) || i < 0 || i >= I) throw new RangeError(`item index ${i} is outside 0 … ${I - 1}`);
    const row = i * I;
    for (let j = 0; j < I; j++) sum[j] += B[row + j];
  }
  return Float32Array.from(sum);
}

export class EaseModel extends RankingOnlyModel implements TrainedModel {
  readonly algorithm = 'ease';

  constructor(
    ids: ModelIds,
    /** B, items × items row-major. */
    readonly weights: Float32Array,
    readonly config: EaseConfig,
    readonly training: TrainingSummary = {},
  ) {
    super(ids);
  }

  scoreUsers(users: readonly UserInput[]): UserScores[] {
    const I = this.itemIds.length;
    return users.map((user) => ({ score: easeScores(this.weights, I, user.ratings.items), expected: null, distribution: null }));
  }

  dispose(): void {}

  toState(): ModelState<EaseMeta> {
    return modelState(this, 'ease', this.config, { B: this.weights }, this.training);
  }

  static fromState(state: ModelState<EaseMeta>): EaseModel {
    const { meta } = state;
    const I = meta.itemIds.length;
    return new EaseModel(meta, stateTensor(state, 'B', I * I), meta.config, meta.training);
  }
}

/** Fits EASE on `train`: λ from the grid on a validation slice (unless pinned), then B on all of `train`. */
export function fitEase(train: Dataset, input: Partial<EaseOptions> = {}): EaseModel {
  const o = validateEaseOptions(input);
  const I = train.itemIds.length;
  checkEaseSize(I, o.maxItems);
  const started = performance.now();
  const grid: GridPoint<number>[] = [];
  // A grid of one value is a pin: nothing to choose, no validation slice needed.
  const pinned = o.lambda ?? (o.lambdas.length === 1 ? o.lambdas[0] : null);
  let lambda = pinned;
  const slice = validationSlice(train, o.validationFraction, o.seed);
  if (lambda === null) {
    for (const l of o.lambdas) {
      const B = easeWeights(slice.fit, l);
      const ndcg = validationNdcgOf((_, rated) => rated.map((items) => easeScores(B, I, items)), slice.fit, slice.validation, o.rankCutoff);
      grid.push({ setting: l, ndcg });
    }
    lambda = bestOf(grid).setting;
  }
  const path = easePathFor(slice.all.rows, I);
  const B = easeWeights(slice.all, lambda, path);
  const best = grid.find((g) => g.setting === lambda);
  const config: EaseConfig = {
    lambda,
    path,
    grid: grid.map((g) => ({ lambda: g.setting, ndcg: Number.isFinite(g.ndcg) ? g.ndcg : null })),
    validationFraction: o.validationFraction,
    rankCutoff: o.rankCutoff,
    seed: o.seed,
  };
  const training: TrainingSummary = {
    seconds: (performance.now() - started) / 1000,
    ratings: slice.all.colIndex.length,
    fitRatings: pinned === null ? slice.fit.colIndex.length : slice.all.colIndex.length,
    validationRatings: pinned === null ? slice.validation.colIndex.length : 0,
    validationRanking: { ndcg: best && Number.isFinite(best.ndcg) ? best.ndcg : null, lambda },
    notes: [
      pinned === null
        ? `λ = ${lambda} chosen by validation nDCG@${o.rankCutoff} over ${grid.map((g) => `${g.setting}: ${g.ndcg.toFixed(4)}`).join(', ')}`
        : `λ = ${lambda} pinned`,
      `P = (XᵀX + λI)⁻¹ by the ${path === 'woodbury' ? `Woodbury identity (${slice.all.rows} × ${slice.all.rows} users system)` : `direct ${I} × ${I} items system`}`,
    ],
  };
  return new EaseModel(train, B, config, training);
}

/** Options of the closed-form baselines, under their own keys of the fit options. */
export interface EaseFitOptions {
  seed?: number;
  ease?: Partial<EaseOptions>;
}

export const easeAlgorithm: Algorithm<EaseFitOptions> = {
  name: 'ease',
  description: 'EASE^R item-item linear model (Steck 2019), λ chosen on validation; ranks only',
  fit: (train, options) => Promise.resolve(fitEase(train, { seed: options.seed ?? 0, ...options.ease })),
};

/** A stored EASE version: the config checked by checkEaseConfig; tensor `B` (items × items). */
export type EaseMeta = StoredMeta<'ease', EaseConfig>;

export const easeKind = storedKind(
  'ease',
  (value, where) => checkEaseConfig(jsonObject(value, where), where),
  (state) => EaseModel.fromState(state),
);
