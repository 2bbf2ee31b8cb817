/**
 * The hot loops of CD training, in one module: typed arrays, no allocation per case, and work that follows
 * the number of ratings (cases × their rated units × K × F), never cases × all units.
 *
 * These plain-JS kernels are the reference and the fallback: training normally runs their WebAssembly
 * SIMD port (wasm/cdKernels.as.ts, ~10× faster here), chosen by cdEngine.ts; test/rbm/wasm-kernels.test.ts
 * checks the two agree. A change to the CD statistics or the optimiser here must be made there too.
 *
 * The reference stays case by case, the plainest statement of the math. The wasm epoch (trainBatch there)
 * reorders each mini-batch row by row for memory traffic, with the same update and the same random
 * draws; the tests hold it to this reference and to the wasm module's own case-by-case entry points.
 *
 * tfjs is not used here: its gather and segment-sum (what the masked, ragged parts of CD would need) are
 * unusably slow on the wasm and cpu backends, so tfjs is kept for the dense products of scoring
 * (batch.ts, RbmRecommender's whole-catalogue path).
 */
import type { CompressedRows } from '../data/dataset.js';
import type { Rng } from '../rng.js';
import { sigmoid, type RbmParams } from './params.js';

/** Gradient accumulators and per-row optimiser state, allocated once per training run. */
export class CdWorkspace {
  /** Σ over the batch of (data − model) statistics for W, b, c. Only touched rows are non-zero. */
  readonly gW: Float32Array;
  readonly gb: Float32Array;
  readonly gc: Float32Array;
  /** Momentum "velocities". */
  readonly vW: Float32Array;
  readonly vb: Float32Array;
  readonly vc: Float32Array;
  /** Rows (visible units) the current batch touched. */
  readonly touched: Int32Array;
  touchedCount = 0;
  readonly isTouched: Uint8Array;
  /** Update step at which each row was last brought up to date (lazy momentum and decay). */
  readonly lastStep: Int32Array;
  step = 0;
  // Per-case scratch.
  readonly positiveHidden: Float32Array;
  readonly negativeHidden: Float32Array;
  readonly activeHidden: Int32Array;
  readonly visibleProbs: Float64Array;
  /** Negative-phase level of each rating of the case (or of the persistent chain). */
  readonly negativeLevels: Uint8Array;
  /** Mean-field negative phase: the reconstruction's level probabilities of each rating of the case (n × K). */
  readonly negativeProbs: Float32Array;
  squaredError = 0;
  errorCount = 0;

  constructor(
    readonly p: RbmParams,
    maxCaseRatings: number,
  ) {
    const { visibles: V, levels: K, hidden: F } = p;
    this.gW = new Float32Array(V * K * F);
    this.gb = new Float32Array(V * K);
    this.gc = new Float32Array(F);
    this.vW = new Float32Array(V * K * F);
    this.vb = new Float32Array(V * K);
    this.vc = new Float32Array(F);
    this.touched = new Int32Array(V);
    this.isTouched = new Uint8Array(V);
    this.lastStep = new Int32Array(V);
    this.positiveHidden = new Float32Array(F);
    this.negativeHidden = new Float32Array(F);
    this.activeHidden = new Int32Array(F);
    this.visibleProbs = new Float64Array(K);
    this.negativeLevels = new Uint8Array(maxCaseRatings);
    this.negativeProbs = new Float32Array(maxCaseRatings * K);
  }
}

/**
 * Accumulates the CD-T statistics of one case (one user for the user RBM) into the workspace:
 *
 *   ∂log p/∂W[i,k,j] ≈ <v_ik h_j>_data − <v_ik h_j>_T
 *   ∂log p/∂b[i,k]   ≈ <v_ik>_data − <v_ik>_T
 *   ∂log p/∂c_j      ≈ <h_j>_data − <h_j>_T
 *
 * The data term uses p(h|V) (probabilities, lower variance); the chain alternates a binary hidden sample
 * and a sampled softmax reconstruction of the rated units only, T times; the model term uses the last
 * reconstruction's one-hot levels and its hidden probabilities. With `chain` (persistent CD) the chain
 * starts from, and is saved back to, the case's persistent levels instead of the data.
 */
export function accumulateCase(
  ws: CdWorkspace,
  rows: CompressedRows,
  caseIndex: number,
  steps: number,
  rng: Rng,
  ratingLevels: readonly number[],
  chain: Uint8Array | null,
  meanField: boolean,
): void {
  const p = ws.p;
  const { W, b, c, hidden: F, levels: K } = p;
  const { gW, gb, gc, positiveHidden: ph0, negativeHidden: ph, activeHidden: active, visibleProbs: probs } = ws;
  const neg = ws.negativeLevels;
  const cols = rows.colIndex;
  const lv = rows.levels;
  const start = rows.rowStart[caseIndex];
  const end = rows.rowStart[caseIndex + 1];
  if (end === start) return;

  // Positive phase: ph0 = σ(c + Σ_i W[i, r_i, :]); statistics <v h>_data.
  ph0.set(c);
  for (let n = start; n < end; n++) {
    const row = (cols[n] * K + lv[n]) * F;
    for (let j = 0; j < F; j++) ph0[j] += W[row + j];
  }
  for (let j = 0; j < F; j++) ph0[j] = sigmoid(ph0[j]);
  for (let n = start; n < end; n++) {
    const i = cols[n];
    const row = (i * K + lv[n]) * F;
    for (let j = 0; j < F; j++) gW[row + j] += ph0[j];
    gb[i * K + lv[n]] += 1;
    if (ws.isTouched[i] === 0) {
      ws.isTouched[i] = 1;
      ws.touched[ws.touchedCount++] = i;
    }
  }
  for (let j = 0; j < F; j++) gc[j] += ph0[j];

  // Chain start: the data (CD) or the persistent chain's last state (PCD).
  if (chain === null) {
    ph.set(ph0);
  } else {
    ph.set(c);
    for (let n = start; n < end; n++) {
      const row = (cols[n] * K + chain[n]) * F;
      for (let j = 0; j < F; j++) ph[j] += W[row + j];
    }
    for (let j = 0; j < F; j++) ph[j] = sigmoid(ph[j]);
  }

  for (let t = 0; t < steps; t++) {
    // h ~ Bernoulli(ph): keep the indices of the active units, so Σ_j h_j W[i,k,j] skips the zeros.
    let nActive = 0;
    for (let j = 0; j < F; j++) if (rng.next() < ph[j]) active[nActive++] = j;
    // v_i ~ softmax_k(b[i,k] + Σ_{active j} W[i,k,j]) for the rated units only.
    for (let n = start; n < end; n++) {
      const i = cols[n];
      let max = -Infinity;
      for (let k = 0; k < K; k++) {
        const row = (i * K + k) * F;
        let x = b[i * K + k];
        for (let a = 0; a < nActive; a++) x += W[row + active[a]];
        probs[k] = x;
        if (x > max) max = x;
      }
      let sum = 0;
      for (let k = 0; k < K; k++) {
        probs[k] = Math.exp(probs[k] - max);
        sum += probs[k];
      }
      if (t === 0) {
        // Reconstruction error of the first step: the "train RMSE" reported per epoch.
        let e = 0;
        for (let k = 0; k < K; k++) e += (probs[k] / sum) * ratingLevels[k];
        const d = e - ratingLevels[lv[n]];
        ws.squaredError += d * d;
        ws.errorCount++;
      }
      if (meanField) {
        const at = (n - start) * K;
        for (let k = 0; k < K; k++) ws.negativeProbs[at + k] = probs[k] / sum;
      }
      let u = rng.next() * sum;
      let k = 0;
      while (k < K - 1 && u >= probs[k]) u -= probs[k++];
      neg[n - start] = k;
    }
    ph.set(c);
    if (meanField && t === steps - 1) {
      // Last step, mean field: ph = σ(c + Σ_i Σ_k p(v_i = k) W[i, k, :]).
      for (let n = start; n < end; n++) {
        const at = (n - start) * K;
        for (let k = 0; k < K; k++) {
          const q = ws.negativeProbs[at + k];
          const row = (cols[n] * K + k) * F;
          for (let j = 0; j < F; j++) ph[j] += q * W[row + j];
        }
      }
    } else {
      // ph = σ(c + Σ_i W[i, v_i, :]).
      for (let n = start; n < end; n++) {
        const row = (cols[n] * K + neg[n - start]) * F;
        for (let j = 0; j < F; j++) ph[j] += W[row + j];
      }
    }
    for (let j = 0; j < F; j++) ph[j] = sigmoid(ph[j]);
  }

  if (meanField) {
    // Negative statistics with the reconstruction's probabilities: <v_ik h_j>_T = p(v_i = k) ph_j.
    for (let n = start; n < end; n++) {
      const i = cols[n];
      const at = (n - start) * K;
      for (let k = 0; k < K; k++) {
        const q = ws.negativeProbs[at + k];
        const row = (i * K + k) * F;
        for (let j = 0; j < F; j++) gW[row + j] -= q * ph[j];
        gb[i * K + k] -= q;
      }
      if (chain !== null) chain[n] = neg[n - start];
    }
    for (let j = 0; j < F; j++) gc[j] -= ph[j];
    return;
  }

  // Negative statistics <v h>_T with the sampled levels.
  for (let n = start; n < end; n++) {
    const i = cols[n];
    const level = neg[n - start];
    const row = (i * K + level) * F;
    for (let j = 0; j < F; j++) gW[row + j] -= ph[j];
    gb[i * K + level] -= 1;
    if (chain !== null) chain[n] = level;
  }
  for (let j = 0; j < F; j++) gc[j] -= ph[j];
}

/**
 * Momentum SGD with weight decay, applied lazily to the rows a batch touched:
 *   v ← μ v + ε (g / B − λ W);   W ← W + v.
 * A row the batch did not touch has g = 0, and its state [W; v] evolves linearly by
 *   A = [[1 − ελ, μ], [−ελ, μ]]   (biases: λ = 0),
 * so s skipped steps are caught up exactly with A^s when the row is next touched (or at the epoch's end).
 * The update is therefore identical to the dense one, at the cost of the touched rows only.
 */
export class LazyMomentum {
  private powersW: Float64Array[] = [];
  private powersB: Float64Array[] = [];

  constructor(
    private readonly ws: CdWorkspace,
    private lr: number,
    private momentum: number,
    private readonly weightDecay: number,
  ) {
    this.resetPowers();
  }

  /** Changes ε and μ (at an epoch boundary, after `flush`). */
  setRates(lr: number, momentum: number): void {
    this.lr = lr;
    this.momentum = momentum;
    this.resetPowers();
  }

  private resetPowers(): void {
    this.powersW = [Float64Array.of(1, 0, 0, 1)];
    this.powersB = [Float64Array.of(1, 0, 0, 1)];
  }

  private power(cache: Float64Array[], decay: number, s: number): Float64Array {
    const a = Float64Array.of(1 - this.lr * decay, this.momentum, -this.lr * decay, this.momentum);
    while (cache.length <= s) {
      const m = cache[cache.length - 1];
      cache.push(
        Float64Array.of(a[0] * m[0] + a[1] * m[2], a[0] * m[1] + a[1] * m[3], a[2] * m[0] + a[3] * m[2], a[2] * m[1] + a[3] * m[3]),
      );
    }
    return cache[s];
  }

  /** Brings row i up to `upTo` steps by applying the gradient-free recurrence for the missed steps. */
  private catchUp(i: number, upTo: number): void {
    const ws = this.ws;
    const s = upTo - ws.lastStep[i];
    if (s <= 0) return;
    const { W, b, levels: K, hidden: F } = ws.p;
    const mW = this.power(this.powersW, this.weightDecay, s);
    const base = i * K * F;
    for (let n = base; n < base + K * F; n++) {
      const w = W[n];
      const v = ws.vW[n];
      W[n] = mW[0] * w + mW[1] * v;
      ws.vW[n] = mW[2] * w + mW[3] * v;
    }
    const mB = this.power(this.powersB, 0, s);
    for (let n = i * K; n < (i + 1) * K; n++) {
      const w = b[n];
      const v = ws.vb[n];
      b[n] = mB[0] * w + mB[1] * v;
      ws.vb[n] = mB[2] * w + mB[3] * v;
    }
    ws.lastStep[i] = upTo;
  }

  /**
   * Brings the rows a case is about to read up to date, so its CD statistics see the same weights as
   * the dense update would (rows last touched several batches ago have missed momentum and decay steps).
   */
  prepareRows(cols: Int32Array, start: number, end: number): void {
    for (let n = start; n < end; n++) this.catchUp(cols[n], this.ws.step);
  }

  /** One update from the accumulated statistics of `batchSize` cases; clears the accumulators. */
  apply(batchSize: number): void {
    const ws = this.ws;
    const { W, b, c, levels: K, hidden: F } = ws.p;
    const { lr, momentum: mu, weightDecay: decay } = this;
    const scale = lr / batchSize;
    for (let t = 0; t < ws.touchedCount; t++) {
      const i = ws.touched[t];
      this.catchUp(i, ws.step);
      const base = i * K * F;
      for (let n = base; n < base + K * F; n++) {
        const v = mu * ws.vW[n] + scale * ws.gW[n] - lr * decay * W[n];
        ws.vW[n] = v;
        W[n] += v;
        ws.gW[n] = 0;
      }
      for (let n = i * K; n < (i + 1) * K; n++) {
        const v = mu * ws.vb[n] + scale * ws.gb[n];
        ws.vb[n] = v;
        b[n] += v;
        ws.gb[n] = 0;
      }
      ws.lastStep[i] = ws.step + 1;
      ws.isTouched[i] = 0;
    }
    ws.touchedCount = 0;
    for (let j = 0; j < F; j++) {
      const v = mu * ws.vc[j] + scale * ws.gc[j];
      ws.vc[j] = v;
      c[j] += v;
      ws.gc[j] = 0;
    }
    ws.step++;
  }

  /** Brings every row up to date (before evaluating, snapshotting or changing the rates). */
  flush(): void {
    for (let i = 0; i < this.ws.p.visibles; i++) this.catchUp(i, this.ws.step);
  }
}
