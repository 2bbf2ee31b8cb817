/**
 * Folding a user into the item-oriented RBM. There the user is a visible softmax unit with weights
 * W[u,k,:] and biases b[u,k]; the items are the cases, with hidden features ĥ_i = p(h | item i's ratings)
 * fixed by training. A user the model has not seen (or whose ratings changed) gets their unit fitted to
 * their ratings with the item features held fixed: multinomial logistic regression
 *
 *   maximise  Σ_{n} log softmax_k(b[k] + Σ_j ĥ_{i_n, j} W[k, j]) at k = r_n  −  (λ/2) ‖W‖²
 *
 * by full-batch gradient ascent, warm-started from the trained unit when there is one. Milliseconds for a
 * typical user; the number of iterations shrinks for very active users so the cost stays bounded.
 */
import type { KnownRatings } from '../data/dataset.js';
import { softmaxInPlace } from './params.js';

export interface FoldInFit {
  /** K × F weights of the user's softmax unit. */
  W: Float32Array;
  /** K biases. */
  b: Float32Array;
}

export interface FoldInSettings {
  iterations: number;
  stepSize: number;
  /** λ of the L2 penalty on W (per rating, as the loss is averaged). */
  l2: number;
  /** Upper bound on iterations × ratings × K × F multiply-adds. */
  maxWork: number;
}

export const DEFAULT_FOLD_IN: FoldInSettings = { iterations: 60, stepSize: 1, l2: 0.01, maxWork: 3e7 };

export function fitVisibleUnit(
  ratings: KnownRatings,
  itemHidden: Float32Array,
  K: number,
  F: number,
  start: FoldInFit | null,
  settings: FoldInSettings = DEFAULT_FOLD_IN,
): FoldInFit {
  const n = ratings.items.length;
  const W = start ? start.W.slice() : new Float32Array(K * F);
  const b = new Float32Array(K);
  if (start) b.set(start.b);
  else {
    // Smoothed log frequencies of the user's own levels, as the training initialisation does.
    const counts = new Float64Array(K);
    for (let t = 0; t < n; t++) counts[ratings.levels[t]]++;
    for (let k = 0; k < K; k++) b[k] = Math.log((counts[k] + 2 / K) / (n + 2));
  }
  if (n === 0) return { W, b };
  const iterations = Math.max(5, Math.min(settings.iterations, Math.floor(settings.maxWork / (n * K * F))));
  const gW = new Float64Array(K * F);
  const gb = new Float64Array(K);
  const p = new Float64Array(K);
  for (let it = 0; it < iterations; it++) {
    gW.fill(0);
    gb.fill(0);
    for (let t = 0; t < n; t++) {
      const x = ratings.items[t] * F;
      for (let k = 0; k < K; k++) {
        let z = b[k];
        for (let j = 0; j < F; j++) z += W[k * F + j] * itemHidden[x + j];
        p[k] = z;
      }
      softmaxInPlace(p, 0, K);
      for (let k = 0; k < K; k++) {
        // ∂/∂z_k of the log-likelihood: [k = r] − p_k.
        const g = (k === ratings.levels[t] ? 1 : 0) - p[k];
        gb[k] += g;
        for (let j = 0; j < F; j++) gW[k * F + j] += g * itemHidden[x + j];
      }
    }
    const step = settings.stepSize / n;
    for (let k = 0; k < K; k++) b[k] += step * gb[k];
    for (let q = 0; q < K * F; q++) W[q] += step * gW[q] - settings.stepSize * settings.l2 * W[q];
  }
  return { W, b };
}
