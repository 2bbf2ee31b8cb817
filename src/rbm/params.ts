/**
 * Parameters of one softmax-visible RBM (Salakhutdinov, Mnih & Hinton, ICML 2007) and its exact
 * inference equations. "Visible units" are the columns of the orientation: items for the user RBM (one
 * RBM per user), users for the item RBM (one RBM per item). Only the visible units a case rated take part;
 * the rest are absent, not zero.
 *
 * Layout (row-major, j fastest so every inner loop runs over contiguous memory):
 *   W[i,k,j] at ((i·K) + k)·F + j      Float32Array of length V·K·F
 *   b[i,k]   at i·K + k                Float32Array of length V·K
 *   c[j]                               Float32Array of length F
 */
import type { CompressedRows } from '../data/dataset.js';
import type { Rng } from '../rng.js';

export interface RbmParams {
  /** V: number of visible softmax units (items or users, by orientation). */
  readonly visibles: number;
  /** K: rating levels per softmax unit. */
  readonly levels: number;
  /** F: binary hidden units. */
  readonly hidden: number;
  readonly W: Float32Array;
  readonly b: Float32Array;
  readonly c: Float32Array;
}

/**
 * New parameters: W ~ N(0, initScale²), c = 0, and b[i,k] = log p̂(r_i = k), the visible unit's smoothed
 * rating frequencies (so an untrained model already predicts each unit's own rating distribution).
 * `levelCounts[i·K + k]` counts unit i's training ratings at level k; the smoothing prior is the global
 * level distribution with weight `priorWeight` pseudo-ratings. With `rng` null, W stays zero for the caller
 * to draw where it will live (a CD engine's initWeightsNormal, on its threads: the same numbers).
 */
export function initParams(
  visibles: number,
  levels: number,
  hidden: number,
  levelCounts: Float64Array,
  rng: Rng | null,
  initScale: number,
  priorWeight = 2,
): RbmParams {
  const W = new Float32Array(visibles * levels * hidden);
  rng?.fillNormal(W, initScale);
  const global = new Float64Array(levels);
  let total = 0;
  for (let n = 0; n < levelCounts.length; n++) {
    global[n % levels] += levelCounts[n];
    total += levelCounts[n];
  }
  const b = new Float32Array(visibles * levels);
  for (let i = 0; i < visibles; i++) {
    let ni = 0;
    for (let k = 0; k < levels; k++) ni += levelCounts[i * levels + k];
    for (let k = 0; k < levels; k++) {
      const prior = total > 0 ? (global[k] + 1) / (total + levels) : 1 / levels;
      b[i * levels + k] = Math.log((levelCounts[i * levels + k] + priorWeight * prior) / (ni + priorWeight));
    }
  }
  return { visibles, levels, hidden, W, b, c: new Float32Array(hidden) };
}

export function cloneParams(p: RbmParams): RbmParams {
  return { ...p, W: p.W.slice(), b: p.b.slice(), c: p.c.slice() };
}

export function copyParamsInto(from: RbmParams, to: RbmParams): void {
  to.W.set(from.W);
  to.b.set(from.b);
  to.c.set(from.c);
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/**
 * p(h_j = 1 | V) = σ(c_j + Σ_{rated i} W[i, r_i, j]) for the case whose ratings are
 * cols[start..end) at levels[start..end). Writes F values into `out`.
 */
export function hiddenProbabilities(
  p: RbmParams,
  cols: ArrayLike<number>,
  levels: ArrayLike<number>,
  start: number,
  end: number,
  out: Float32Array,
): Float32Array {
  const { W, c, hidden: F, levels: K } = p;
  out.set(c);
  for (let n = start; n < end; n++) {
    const row = (cols[n] * K + levels[n]) * F;
    for (let j = 0; j < F; j++) out[j] += W[row + j];
  }
  for (let j = 0; j < F; j++) out[j] = sigmoid(out[j]);
  return out;
}

/**
 * p(v_i = k | h) = softmax_k(b[i,k] + Σ_j h_j W[i,k,j]). With h the hidden probabilities p̂ this is the
 * mean-field reconstruction the predictions use. Writes K values into `out`.
 */
export function visibleDistribution(p: RbmParams, i: number, h: Float32Array, out: Float32Array | Float64Array, outOffset = 0): void {
  const { W, b, hidden: F, levels: K } = p;
  for (let k = 0; k < K; k++) {
    const row = (i * K + k) * F;
    let x = b[i * K + k];
    for (let j = 0; j < F; j++) x += h[j] * W[row + j];
    out[outOffset + k] = x;
  }
  softmaxInPlace(out, outOffset, K);
}

/**
 * softmax over values[offset .. offset+K) in place: p_k = exp(z_k − max z) / Σ_k' exp(z_k' − max z)
 * (shifting by the max keeps exp from overflowing and does not change the result). The one softmax of
 * the project's inference code; the CD kernels inline theirs, mirrored by the WebAssembly port.
 */
export function softmaxInPlace(values: Float32Array | Float64Array, offset: number, K: number): void {
  let max = -Infinity;
  for (let k = 0; k < K; k++) if (values[offset + k] > max) max = values[offset + k];
  let sum = 0;
  for (let k = 0; k < K; k++) sum += values[offset + k] = Math.exp(values[offset + k] - max);
  for (let k = 0; k < K; k++) values[offset + k] /= sum;
}

/**
 * Free energy of a case's observed ratings (hidden units summed out), for monitoring:
 *   F(V) = −Σ_i b[i, r_i] − Σ_j log(1 + exp(c_j + Σ_i W[i, r_i, j])).
 */
export function freeEnergy(p: RbmParams, cols: ArrayLike<number>, levels: ArrayLike<number>, start: number, end: number): number {
  const { W, b, c, hidden: F, levels: K } = p;
  const x = Float64Array.from(c);
  let energy = 0;
  for (let n = start; n < end; n++) {
    energy -= b[cols[n] * K + levels[n]];
    const row = (cols[n] * K + levels[n]) * F;
    for (let j = 0; j < F; j++) x[j] += W[row + j];
  }
  for (let j = 0; j < F; j++) energy -= softplus(x[j]);
  return energy;
}

/** log(1 + e^x), stable for large |x|. */
export function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/** Σ_k level_k · p_k: the expected rating of a distribution over the levels. */
export function expectation(dist: ArrayLike<number>, offset: number, ratingLevels: readonly number[]): number {
  let e = 0;
  for (let k = 0; k < ratingLevels.length; k++) e += dist[offset + k] * ratingLevels[k];
  return e;
}

/**
 * Row-major rows × cols → cols × rows, into `out` (allocated when not given). The dense products use
 * pre-transposed operands because wasm's matMul with transposeB is much slower.
 */
export function transposeMatrix(a: Float32Array, rows: number, cols: number, out: Float32Array = new Float32Array(a.length)): Float32Array {
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c];
  return out;
}

/**
 * The mean-field expected rating of the (case, visible) pairs of `target`'s rows `rows` (every row when
 * null), given each case's ratings in `input` (same rows) as the data: p̂ = p(h | input ratings), then
 * E_k[softmax_k(b[i,k] + Σ_j p̂_j W[i,k,j])]. One value per entry of target.colIndex, in its order; the
 * entries of rows not asked for are 0. The wasm kernels' parallelRows computes the same numbers bit for bit.
 */
export function expectationsOfRows(
  p: RbmParams,
  input: CompressedRows,
  target: CompressedRows,
  levels: readonly number[],
  rows: Int32Array | null,
): Float64Array {
  const out = new Float64Array(target.colIndex.length);
  const h = new Float32Array(p.hidden);
  const dist = new Float64Array(p.levels);
  const count = rows ? rows.length : target.rows;
  for (let q = 0; q < count; q++) {
    const r = rows ? rows[q] : q;
    const s = target.rowStart[r];
    const e = target.rowStart[r + 1];
    if (s === e) continue;
    hiddenProbabilities(p, input.colIndex, input.levels, input.rowStart[r], input.rowStart[r + 1], h);
    for (let t = s; t < e; t++) {
      visibleDistribution(p, target.colIndex[t], h, dist);
      out[t] = expectation(dist, 0, levels);
    }
  }
  return out;
}

/** hiddenProbabilities of every row of `rows`, F values a row (row r at r·F). */
export function hiddenOfRows(p: RbmParams, rows: CompressedRows): Float32Array {
  const F = p.hidden;
  const out = new Float32Array(rows.rows * F);
  for (let r = 0; r < rows.rows; r++) {
    hiddenProbabilities(p, rows.colIndex, rows.levels, rows.rowStart[r], rows.rowStart[r + 1], out.subarray(r * F, (r + 1) * F));
  }
  return out;
}
