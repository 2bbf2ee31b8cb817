/**
 * Implicit ALS (Hu, Koren & Volinsky 2008, "Collaborative Filtering for Implicit Feedback Datasets") on the
 * binary users × items matrix (p_ui = 1 when u rated i, else 0), with confidence c_ui = 1 + α·p_ui:
 *
 *   min Σ_{u,i} c_ui (p_ui − x_uᵀ y_i)² + λ (Σ_u ‖x_u‖² + Σ_i ‖y_i‖²)
 *
 * alternately solved in closed form, every unrated item included through the Gram matrix YᵀY:
 *   x_u = (YᵀY + α Σ_{i ∈ R_u} y_i y_iᵀ + λI)⁻¹ · (1 + α) Σ_{i ∈ R_u} y_i
 *   y_i = (XᵀX + α Σ_{u ∈ R_i} x_u x_uᵀ + λI)⁻¹ · (1 + α) Σ_{u ∈ R_i} x_u
 *   score(u, i) = x_uᵀ y_i
 *
 * Each iteration updates the items given the users, then the users given the items, so the users' factors
 * at the end are exactly the fold-in above given the final Y (validation ranks with them directly); serving
 * folds every user in (stored or visitor) from their rated items and stores only Y (items × F float32, so
 * a stored user's fold-in equals their trained factor up to that rounding). Ranks only: predicts no ratings.
 * F, λ, α and the iteration count are chosen on a validation slice carved from the training part.
 */
import type { Dataset } from '../data/dataset.js';
import { Rng } from '../rng.js';
import { checkIalsConfig, validateIalsOptions, type IalsConfig, type IalsOptions, type IalsSetting } from './ialsConfig.js';
import { choleskySolveInPlace } from './linalg.js';
import { jsonObject, modelState, stateTensor, type ModelState, type StoredMeta, type TrainingSummary } from './meta.js';
import { storedKind, type Algorithm, type TrainedModel, type UserInput, type UserScores } from './protocol.js';
import { RankingOnlyModel, type ModelIds } from './rankingOnly.js';
import { bestOf, rowItems, validationNdcgOf, validationSlice, type GridPoint, type RatedRows } from './rankingValidation.js';
import { rowsFromLists } from '../rbm/implicit.js';

export { checkIalsConfig, type IalsConfig, type IalsOptions };

/** The lower triangle of VᵀV for V (rows × F, row-major). */
function gramOf(V: Float64Array, rows: number, F: number): Float64Array {
  const G = new Float64Array(F * F);
  for (let r = 0; r < rows; r++) {
    const o = r * F;
    for (let p = 0; p < F; p++) {
      const v = V[o + p];
      if (v === 0) continue;
      const gp = p * F;
      for (let q = 0; q <= p; q++) G[gp + q] += v * V[o + q];
    }
  }
  return G;
}

/** Scratch of one side's solves (F × F system and right-hand side). */
interface Scratch {
  A: Float64Array;
  b: Float64Array;
}
const scratchOf = (F: number): Scratch => ({ A: new Float64Array(F * F), b: new Float64Array(F) });

/**
 * The closed-form factor of one row (a user, or an item) given the other side's factors V and their Gram
 * G = VᵀV (lower): (G + α Σ_{j ∈ rated} v_j v_jᵀ + λI)⁻¹ (1 + α) Σ_{j ∈ rated} v_j, into out[at … at + F).
 */
function solveRow(
  V: Float64Array,
  G: Float64Array,
  F: number,
  rated: ArrayLike<number>,
  setting: IalsSetting,
  s: Scratch,
  out: Float64Array,
  at: number,
): void {
  const { A, b } = s;
  const { alpha, regularization } = setting;
  A.set(G);
  b.fill(0);
  // Four rated rows at a time: each A[p][q] is loaded and stored once per four rank-1 updates.
  let n = 0;
  for (; n + 4 <= rated.length; n += 4) {
    const o0 = rated[n] * F;
    const o1 = rated[n + 1] * F;
    const o2 = rated[n + 2] * F;
    const o3 = rated[n + 3] * F;
    for (let p = 0; p < F; p++) {
      const v0 = V[o0 + p];
      const v1 = V[o1 + p];
      const v2 = V[o2 + p];
      const v3 = V[o3 + p];
      b[p] += v0 + v1 + v2 + v3;
      const w0 = alpha * v0;
      const w1 = alpha * v1;
      const w2 = alpha * v2;
      const w3 = alpha * v3;
      const ap = p * F;
      for (let q = 0; q <= p; q++) A[ap + q] += w0 * V[o0 + q] + w1 * V[o1 + q] + w2 * V[o2 + q] + w3 * V[o3 + q];
    }
  }
  for (; n < rated.length; n++) {
    const o = rated[n] * F;
    for (let p = 0; p < F; p++) {
      const v = V[o + p];
      b[p] += v;
      const w = alpha * v;
      const ap = p * F;
      for (let q = 0; q <= p; q++) A[ap + q] += w * V[o + q];
    }
  }
  for (let p = 0; p < F; p++) {
    A[p * F + p] += regularization;
    b[p] *= 1 + alpha;
  }
  choleskySolveInPlace(A, F, b);
  out.set(b, at);
}

/** Every row of `rows` solved against V (rows.cols × F), into a new rows.rows × F array. */
function solveSide(rows: RatedRows, V: Float64Array, F: number, setting: IalsSetting): Float64Array {
  const out = new Float64Array(rows.rows * F);
  const G = gramOf(V, rows.cols, F);
  const s = scratchOf(F);
  for (let r = 0; r < rows.rows; r++) solveRow(V, G, F, rowItems(rows, r), setting, s, out, r * F);
  return out;
}

/** The items × users view of users × items rows. */
function transposeRows(rows: RatedRows): RatedRows {
  const lists: number[][] = Array.from({ length: rows.cols }, () => []);
  for (let u = 0; u < rows.rows; u++) for (const i of rowItems(rows, u)) lists[i].push(u);
  return rowsFromLists(lists, rows.rows);
}

/**
 * ALS from seeded user factors N(0, initScale²): `iterations` rounds of items-then-users, calling
 * `afterIteration(t, X, Y)` after each (1-based t); it returns false to stop early.
 */
export function alternate(
  rows: RatedRows,
  setting: IalsSetting,
  iterations: number,
  seed: number,
  initScale: number,
  afterIteration: (t: number, X: Float64Array, Y: Float64Array) => boolean = () => true,
): { X: Float64Array; Y: Float64Array } {
  const F = setting.factors;
  const rng = new Rng(seed);
  let X: Float64Array = new Float64Array(rows.rows * F);
  for (let n = 0; n < X.length; n++) X[n] = initScale * rng.normal();
  let Y: Float64Array = new Float64Array(rows.cols * F);
  const byItem = transposeRows(rows);
  for (let t = 1; t <= iterations; t++) {
    Y = solveSide(byItem, X, F, setting);
    X = solveSide(rows, Y, F, setting);
    if (!afterIteration(t, X, Y)) break;
  }
  return { X, Y };
}

/** score_i = x · y_i for every item, summed in Float64 and rounded once to float32. */
function scoresOf(x: Float64Array, xAt: number, Y: Float64Array, items: number, F: number): Float32Array {
  const out = new Float32Array(items);
  for (let i = 0; i < items; i++) {
    const o = i * F;
    let s = 0;
    for (let f = 0; f < F; f++) s += x[xAt + f] * Y[o + f];
    out[i] = s;
  }
  return out;
}

/** The distinct valid item indices of a user, ascending (so the order ratings arrive in changes no bit). */
function distinctItems(items: ArrayLike<number>, I: number): Int32Array {
  const sorted = Int32Array.from(items).sort();
  const out: number[] = [];
  for (let n = 0; n < sorted.length; n++) {
    const i = sorted[n];
    if (!Number.isInteger(i) || i < 0 || i >= I) throw new RangeError(`item index ${i} is outside 0 … ${I - 1}`);
    if (n === 0 || i !== sorted[n - 1]) out.push(i);
  }
  return Int32Array.from(out);
}

export class IalsModel extends RankingOnlyModel implements TrainedModel {
  readonly algorithm = 'ials';
  /** The stored float32 Y widened exactly to Float64 (one element type in the hot loops)… */
  private readonly factors64: Float64Array;
  /** …and YᵀY (lower) from it, so a reloaded model folds users in bit for bit alike. */
  private readonly gram: Float64Array;

  constructor(
    ids: ModelIds,
    /** Y, items × F row-major. */
    readonly itemFactors: Float32Array,
    readonly config: IalsConfig,
    readonly training: TrainingSummary = {},
  ) {
    super(ids);
    this.factors64 = Float64Array.from(itemFactors);
    this.gram = gramOf(this.factors64, this.itemIds.length, config.factors);
  }

  /** x_u for the rated items (the user step's closed form given the stored Y). */
  foldIn(items: ArrayLike<number>): Float64Array {
    const F = this.config.factors;
    const x = new Float64Array(F);
    solveRow(this.factors64, this.gram, F, distinctItems(items, this.itemIds.length), this.config, scratchOf(F), x, 0);
    return x;
  }

  scoreUsers(users: readonly UserInput[]): UserScores[] {
    const I = this.itemIds.length;
    return users.map((user) => ({
      score: scoresOf(this.foldIn(user.ratings.items), 0, this.factors64, I, this.config.factors),
      expected: null,
      distribution: null,
    }));
  }

  dispose(): void {}

  toState(): ModelState<IalsMeta> {
    return modelState(this, 'ials', this.config, { Y: this.itemFactors }, this.training);
  }

  static fromState(state: ModelState<IalsMeta>): IalsModel {
    const { meta } = state;
    return new IalsModel(meta, stateTensor(state, 'Y', meta.itemIds.length * meta.config.factors), meta.config, meta.training);
  }
}

/** Every combination of the option lists, factors outermost. */
function gridOf(o: IalsOptions): IalsSetting[] {
  return o.factors.flatMap((factors) =>
    o.regularization.flatMap((regularization) => o.alpha.map((alpha) => ({ factors, regularization, alpha }))),
  );
}

const describe = (s: IalsSetting & { iterations: number }): string =>
  `F ${s.factors}, λ ${s.regularization}, α ${s.alpha}, ${s.iterations} iterations`;

/**
 * Fits implicit ALS on `train`: every grid point runs on the validation slice's fit part with early
 * stopping by validation nDCG@k (the users' factors after an iteration are their fold-in, so the held-out
 * items are ranked by X Yᵀ); the best setting and iteration count are refitted on all of `train`.
 */
export function fitIals(train: Dataset, input: Partial<IalsOptions> = {}): IalsModel {
  const o = validateIalsOptions(input);
  const started = performance.now();
  const slice = validationSlice(train, o.validationFraction, o.seed);
  const I = slice.all.cols;
  const grid: GridPoint<IalsSetting & { iterations: number }>[] = [];
  let chosen = o.pinned;
  if (chosen === null) {
    for (const setting of gridOf(o)) {
      const F = setting.factors;
      let best: GridPoint<IalsSetting & { iterations: number }> = { setting: { ...setting, iterations: 1 }, ndcg: -Infinity };
      alternate(slice.fit, setting, o.maxIterations, o.seed, o.initScale, (t, X, Y) => {
        const ndcg = validationNdcgOf((users) => users.map((u) => scoresOf(X, u * F, Y, I, F)), slice.fit, slice.validation, o.rankCutoff);
        if (ndcg > best.ndcg) best = { setting: { ...setting, iterations: t }, ndcg };
        return t - best.setting.iterations < o.patience;
      });
      grid.push(best);
    }
    chosen = bestOf(grid).setting;
  }
  const { Y } = alternate(slice.all, chosen, chosen.iterations, o.seed, o.initScale);
  const best = grid.length > 0 ? bestOf(grid) : null;
  const config: IalsConfig = {
    factors: chosen.factors,
    regularization: chosen.regularization,
    alpha: chosen.alpha,
    iterations: chosen.iterations,
    grid: grid.map((g) => ({ ...g.setting, ndcg: Number.isFinite(g.ndcg) ? g.ndcg : null })),
    validationFraction: o.validationFraction,
    rankCutoff: o.rankCutoff,
    seed: o.seed,
  };
  const training: TrainingSummary = {
    seconds: (performance.now() - started) / 1000,
    epochs: chosen.iterations,
    ratings: slice.all.colIndex.length,
    fitRatings: o.pinned === null ? slice.fit.colIndex.length : slice.all.colIndex.length,
    validationRatings: o.pinned === null ? slice.validation.colIndex.length : 0,
    validationRanking: { ndcg: best && Number.isFinite(best.ndcg) ? best.ndcg : null },
    notes: [
      o.pinned === null
        ? `${describe(chosen)} chosen by validation nDCG@${o.rankCutoff} over ${grid.map((g) => `[${describe(g.setting)}: ${g.ndcg.toFixed(4)}]`).join(', ')}`
        : `${describe(chosen)} pinned`,
    ],
  };
  return new IalsModel(train, Float32Array.from(Y), config, training);
}

export interface IalsFitOptions {
  seed?: number;
  ials?: Partial<IalsOptions>;
}

export const ialsAlgorithm: Algorithm<IalsFitOptions> = {
  name: 'ials',
  description: 'implicit ALS (Hu, Koren & Volinsky 2008) on rated-or-not, F/λ/α/iterations chosen on validation; ranks only',
  fit: (train, options) => Promise.resolve(fitIals(train, { seed: options.seed ?? 0, ...options.ials })),
};

/** A stored implicit-ALS version: the config checked by checkIalsConfig; tensor `Y` (items × factors). */
export type IalsMeta = StoredMeta<'ials', IalsConfig>;

export const ialsKind = storedKind(
  'ials',
  (value, where) => checkIalsConfig(jsonObject(value, where), where),
  (state) => IalsModel.fromState(state),
);
