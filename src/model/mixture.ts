/**
 * The blend of the rating models, written once: a convex mixture of predicted distributions
 *
 *   p(r_ui = k) = w_U · p_U(k) + w_I · p_I(k) + w_B · p_B(k),   w ≥ 0, Σ w = 1,
 *
 * whose expectation is the same mixture of the components' expectations,
 *
 *   E[r_ui] = Σ_k level_k · p(r_ui = k) = w_U · E_U + w_I · E_I + w_B · E_B,
 *
 * so the weights can be fitted on expectations alone (fitMixture) and the served prediction stays the
 * expectation of the distribution it returns. A component that is absent has weight 0.
 */
/** w_U, w_I, w_B of the mixture. */
export interface MixtureWeights {
  user: number;
  item: number;
  bias: number;
}

/**
 * Writes the mixed distribution into out[outOffset .. +K) and returns its expectation. Each component is
 * a K-vector read at its offset; a null component contributes nothing (its weight must then be 0).
 */
export function mixDistributions(
  w: MixtureWeights,
  pU: ArrayLike<number> | null,
  pI: ArrayLike<number> | null,
  pB: ArrayLike<number>,
  out: Float32Array | Float64Array,
  outOffset: number,
  levels: readonly number[],
): number {
  let e = 0;
  for (let k = 0; k < levels.length; k++) {
    const q = (pU ? w.user * pU[k] : 0) + (pI ? w.item * pI[k] : 0) + w.bias * pB[k];
    out[outOffset + k] = q;
    e += q * levels[k];
  }
  return e;
}

/** E = w_U · E_U + w_I · E_I + w_B · E_B (the expectation of the mixture, from the components' expectations). */
export function mixExpectations(w: MixtureWeights, eU: number | undefined, eI: number | undefined, eB: number): number {
  return w.user * (eU ?? 0) + w.item * (eI ?? 0) + w.bias * eB;
}

/**
 * Convex weights minimising the RMSE of the mixed expectation against `actual`: a grid over the simplex
 * (step 0.02). Exact enough, and robust where least squares would extrapolate with negative weights.
 *
 * With w_B = 1 − w_U − w_I the error of validation pair t is w_U x_t + w_I v_t + z_t, where
 * x = E_U − E_B, v = E_I − E_B, z = E_B − actual (E of an absent component 0), so
 *   SSE(w) = w_U² Σx² + w_I² Σv² + Σz² + 2 w_U w_I Σxv + 2 w_U Σxz + 2 w_I Σvz:
 * six sums in one pass over the pairs, then O(1) per grid point (1,326 of them; at MovieLens 25M's
 * size the pass per point took most of a minute).
 */
export function fitMixture(
  predictions: { user: Float64Array | null; item: Float64Array | null; bias: Float64Array },
  actual: Float64Array,
): MixtureWeights {
  const step = 0.02;
  const n = actual.length;
  if (!predictions.user && !predictions.item) return { user: 0, item: 0, bias: 1 };
  if (n === 0) return defaultMixture(predictions.user !== null, predictions.item !== null);
  let best = defaultMixture(predictions.user !== null, predictions.item !== null);
  let bestSse = Infinity;
  let xx = 0;
  let vv = 0;
  let zz = 0;
  let xv = 0;
  let xz = 0;
  let vz = 0;
  for (let t = 0; t < n; t++) {
    const eB = predictions.bias[t];
    const x = (predictions.user?.[t] ?? 0) - eB;
    const v = (predictions.item?.[t] ?? 0) - eB;
    const z = eB - actual[t];
    xx += x * x;
    vv += v * v;
    zz += z * z;
    xv += x * v;
    xz += x * z;
    vz += v * z;
  }
  const steps = Math.round(1 / step);
  for (let a = 0; a <= steps; a++) {
    const wu = predictions.user ? a * step : 0;
    if (!predictions.user && a > 0) break;
    for (let c = 0; a + c <= steps; c++) {
      const wi = predictions.item ? c * step : 0;
      if (!predictions.item && c > 0) break;
      const wb = 1 - wu - wi;
      if (wb < -1e-9) continue;
      const sse = wu * wu * xx + wi * wi * vv + zz + 2 * (wu * wi * xv + wu * xz + wi * vz);
      if (sse < bestSse - 1e-12) {
        bestSse = sse;
        best = { user: round(wu), item: round(wi), bias: round(Math.max(0, wb)) };
      }
    }
  }
  return best;
}

/** Without validation data: equal weights on the RBMs present, the bias baseline only when there is none. */
export function defaultMixture(hasUser: boolean, hasItem: boolean): MixtureWeights {
  if (hasUser && hasItem) return { user: 0.5, item: 0.5, bias: 0 };
  if (hasUser) return { user: 1, item: 0, bias: 0 };
  if (hasItem) return { user: 0, item: 1, bias: 0 };
  return { user: 0, item: 0, bias: 1 };
}

const round = (x: number): number => Math.round(x * 1000) / 1000;
