/**
 * Leave-one-out hidden probabilities, the core of `because` (model/explain.ts). An RBM's hidden input is
 * a sum over the rated units, x = c + Σ_n W_{r_n} (W_{r_n} the F weights of the n-th rated unit: item i_n
 * in the implicit RBM, item i_n at level k_n in the softmax RBM), so leaving rating n out only subtracts
 * its row:
 *
 *   p̂ = σ(x),   p̂'_n = σ(x − W_{r_n}) = 1 / (1 + e^{−x} · e^{W_{r_n}})
 *
 * With e^{W} tabulated once per model (expWeights), the N·F leave-one-out sigmoids cost a multiply and a
 * divide each instead of an exp. The visible logits of the listed items are then one dense product for
 * all N + 1 rows, P (N+1 × F) · W_listedᵀ (F × m·K), done by tfjs like the scoring products. Pure.
 */
import { tf } from './backend.js';
import { sigmoid } from './params.js';
import { hiddenMean, type HiddenUnits } from './implicitParams.js';

/**
 * Reused arrays for denseProduct's two operands, which it reads only during its call (into tensors it disposes): `because`
 * built them anew for every list (about a third of the memory a request allocated at MovieLens 25M's size,
 * and such allocations are what set off a server's full garbage collections). operandScratch(slot, n)
 * is valid until the next call for the same slot; slot 0 holds A, slot 1 holds B.
 */
const operands: Float32Array[] = [new Float32Array(0), new Float32Array(0)];
export function operandScratch(slot: 0 | 1, length: number): Float32Array {
  if (operands[slot].length < length) operands[slot] = new Float32Array(Math.max(length, 2 * operands[slot].length));
  return operands[slot].subarray(0, length);
}

/** e^{W} elementwise, the table `leaveOneOutHidden` reads (float32: relative error ~6e-8). */
export function expWeights(W: Float32Array): Float32Array {
  const out = new Float32Array(W.length);
  for (let n = 0; n < W.length; n++) out[n] = Math.exp(W[n]);
  return out;
}

/**
 * Row 0: p̂ = σ(x); row 1 + n: p̂'_n = σ(x − W_{r_n}), for x = c + Σ_n W_{r_n}; (N+1) × F, row-major.
 * `rows[n]` is the row index (in units of F) of the n-th rating's weights in W and expW.
 */
export function leaveOneOutHidden(
  W: Float32Array,
  expW: Float32Array,
  c: Float32Array,
  rows: ArrayLike<number>,
  out: Float32Array = new Float32Array((rows.length + 1) * c.length),
): Float32Array {
  const F = c.length;
  const N = rows.length;
  if (out.length !== (N + 1) * F) throw new RangeError(`leaveOneOutHidden: ${out.length} outputs for ${N + 1} rows of ${F}`);
  const x = Float64Array.from(c);
  for (let n = 0; n < N; n++) {
    const at = rows[n] * F;
    for (let j = 0; j < F; j++) x[j] += W[at + j];
  }
  const ex = new Float64Array(F);
  for (let j = 0; j < F; j++) {
    out[j] = sigmoid(x[j]);
    ex[j] = Math.exp(-x[j]);
  }
  for (let n = 0; n < N; n++) {
    const at = rows[n] * F;
    const o = (n + 1) * F;
    for (let j = 0; j < F; j++) {
      const p = 1 / (1 + ex[j] * expW[at + j]);
      // 0 · ∞ (an input beyond ±700) is the only way to get NaN: fall back to the direct form.
      out[o + j] = p === p ? p : sigmoid(x[j] - W[at + j]);
    }
  }
  return out;
}

/**
 * The same rows with an activity scale (rbm/implicitParams.ts activityScale) and either kind of hidden
 * unit (hiddenMean: σ, or the identity for Gaussian units): for x = Σ_n W_{r_n},
 * row 0: E[h | c + s_full x]; row 1 + n: E[h | c + s_less (x − W_{r_n})], s_less the scale of N − 1
 * ratings. The scale multiplies the whole sum, so the e^{W} shortcut does not apply: one exp per entry.
 */
export function leaveOneOutHiddenScaled(
  W: Float32Array,
  c: Float32Array,
  rows: ArrayLike<number>,
  sFull: number,
  sLess: number,
  units: HiddenUnits = 'binary',
): Float32Array {
  const F = c.length;
  const N = rows.length;
  const x = new Float64Array(F);
  for (let n = 0; n < N; n++) {
    const at = rows[n] * F;
    for (let j = 0; j < F; j++) x[j] += W[at + j];
  }
  const out = new Float32Array((N + 1) * F);
  for (let j = 0; j < F; j++) out[j] = hiddenMean(units, c[j] + sFull * x[j]);
  for (let n = 0; n < N; n++) {
    const at = rows[n] * F;
    const o = (n + 1) * F;
    for (let j = 0; j < F; j++) out[o + j] = hiddenMean(units, c[j] + sLess * (x[j] - W[at + j]));
  }
  return out;
}

/** W's rows `rows` (F weights each) as the columns of an F × rows.length matrix (into `out`, when given). */
export function gatherColumns(
  W: Float32Array,
  F: number,
  rows: ArrayLike<number>,
  out: Float32Array = new Float32Array(F * rows.length),
): Float32Array {
  const m = rows.length;
  if (out.length !== F * m) throw new RangeError(`gatherColumns: ${out.length} outputs for ${F} × ${m}`);
  for (let q = 0; q < m; q++) {
    const at = rows[q] * F;
    for (let j = 0; j < F; j++) out[j * m + q] = W[at + j];
  }
  return out;
}

/** A (r × inner) · B (inner × cols), row-major, as one tfjs product (the backend initialised). */
export function denseProduct(A: Float32Array, r: number, inner: number, B: Float32Array, cols: number): Float32Array {
  const z = tf.tidy(() => tf.matMul(tf.tensor2d(A, [r, inner]), tf.tensor2d(B, [inner, cols])));
  const out = z.dataSync() as Float32Array;
  z.dispose();
  return out;
}
