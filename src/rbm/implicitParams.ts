/**
 * Parameters and exact inference of the implicit-feedback RBM: one Bernoulli visible unit per item
 * (v_i = 1 when the user rated item i, whatever the rating; 0 otherwise, so here a missing rating is
 * information, unlike the softmax RBM where unrated items are absent), F binary hidden units.
 *
 *   E(v, h) = −Σ_i b_i v_i − Σ_j c_j h_j − Σ_{i,j} v_i W[i,j] h_j
 *   p(h_j = 1 | v) = σ(c_j + Σ_i v_i W[i,j])        (sparse: only the rated items contribute)
 *   p(v_i = 1 | h) = σ(b_i + Σ_j W[i,j] h_j)        (dense: every item)
 *   F(v) = −Σ_i b_i v_i − Σ_j log(1 + exp(c_j + Σ_i v_i W[i,j]))     (free energy, h summed out)
 *
 * Gaussian hidden units (`hiddenUnits: 'gaussian'`, unit variance) change only the hidden side:
 *
 *   E(v, h) = −Σ_i b_i v_i + Σ_j (h_j − c_j)² / 2 − Σ_{i,j} v_i W[i,j] h_j
 *   p(h_j | v) = N(c_j + Σ_i v_i W[i,j], 1),          E[h_j | v] = c_j + Σ_i v_i W[i,j]   (no squashing)
 *   p(v_i = 1 | h) = σ(b_i + Σ_j W[i,j] h_j)          (as above)
 *   F(v) = −Σ_i b_i v_i − ½ Σ_j (c_j + Σ_i v_i W[i,j])²   (+ a constant)
 *
 * so h summed out leaves a Boltzmann machine over the items with low-rank pairwise couplings W Wᵀ (Welling,
 * Rosen-Zvi & Hinton 2005, exponential family harmoniums; the linear code units of Hinton &
 * Salakhutdinov 2006). Everything that reads the hidden side goes through hiddenMean, so scoring, fold-in,
 * `because` and training treat both kinds alike; CD uses the hidden means (mean field) rather than samples
 * for Gaussian units.
 *
 * Layout: W[i,j] at i·F + j (Float32Array, I·F), b (I), c (F). Pure: no I/O.
 */
import type { Rng } from '../rng.js';
import { sigmoid, softplus } from './params.js';

/** The hidden units' kind: binary (Bernoulli) or Gaussian of unit variance (see the file's comment). */
export type HiddenUnits = 'binary' | 'gaussian';
export const HIDDEN_UNITS: readonly HiddenUnits[] = ['binary', 'gaussian'];

export interface ImplicitParams {
  /** I: visible units, one per item. */
  readonly items: number;
  /** F: hidden units. */
  readonly hidden: number;
  /** Absent: binary (every model stored before Gaussian units existed). */
  readonly hiddenUnits?: HiddenUnits;
  readonly W: Float32Array;
  readonly b: Float32Array;
  readonly c: Float32Array;
  /**
   * n_med, when the hidden input is scaled by the user's activity (see activityScale); absent or 0: no
   * scaling (every model stored before issue 19).
   */
  readonly medianActivity?: number;
  /** a of the activity scale s(n) = (n_med / n)^a; absent: ½ (every model stored before it existed). */
  readonly activityExponent?: number;
  /**
   * 1/E when W holds E independently trained RBMs side by side (E·F' hidden units, an ensemble): the
   * visible logits are then the mean of the members' logits (see implicitVisible). Absent: 1.
   */
  readonly visibleScale?: number;
}

/**
 * E[h_j | v] from the hidden input x_j = c_j + s(n) Σ_{rated} W[i,j]: σ(x_j) for binary units (their
 * probability of being on), x_j itself for Gaussian ones. The one place the two kinds differ at inference.
 */
export function hiddenMean(units: HiddenUnits | undefined, x: number): number {
  return units === 'gaussian' ? x : sigmoid(x);
}

/**
 * The activity scale of a user who rated n items: s(n) = (n_med / n)^a, a = ½ by default (√; 1 without
 * n_med or ratings); a larger a pulls users of every activity closer to the median one's input.
 * The hidden input becomes x = c + s(n) Σ_{i rated} W_i: a heuristic, not the posterior, that keeps a
 * heavy user's input from saturating every hidden unit and lifts a light user's, so users of every
 * activity sit where the median one does (n_med: the median number of items per training user).
 */
export function activityScale(p: Pick<ImplicitParams, 'medianActivity' | 'activityExponent'>, n: number): number {
  const med = p.medianActivity ?? 0;
  if (!(med > 0 && n > 0)) return 1;
  const a = p.activityExponent ?? 0.5;
  // √ for ½: the same float as every model trained before the exponent existed.
  return a === 0.5 ? Math.sqrt(med / n) : Math.pow(med / n, a);
}

/** The median of the users' rated-item counts (rows with no items ignored; 0 when there are none). */
export function medianActivityOf(rowStart: Int32Array): number {
  const counts: number[] = [];
  for (let u = 0; u + 1 < rowStart.length; u++) if (rowStart[u + 1] > rowStart[u]) counts.push(rowStart[u + 1] - rowStart[u]);
  if (counts.length === 0) return 0;
  counts.sort((a, b) => a - b);
  const m = counts.length >> 1;
  return counts.length % 2 ? counts[m] : (counts[m - 1] + counts[m]) / 2;
}

/**
 * Smoothed log-odds of each item being rated, the initial visible biases:
 *   b_i = log((n_i + 1) / (U − n_i + 1))
 * with n_i the item's rating count among U users (Laplace smoothing keeps b finite for items rated by
 * nobody or everybody). With W = 0 the model then reproduces each item's popularity exactly up to the
 * smoothing, as the practical guide to RBM training recommends (Hinton 2010, §8).
 */
export function itemLogOdds(itemCounts: ArrayLike<number>, users: number): Float32Array {
  const b = new Float32Array(itemCounts.length);
  for (let i = 0; i < b.length; i++) b[i] = Math.log((itemCounts[i] + 1) / (users - itemCounts[i] + 1));
  return b;
}

/** W ~ N(0, initScale²), b = the items' smoothed log-odds of being rated, c = 0. */
export function initImplicitParams(
  itemCounts: ArrayLike<number>,
  users: number,
  hidden: number,
  rng: Rng,
  initScale: number,
): ImplicitParams {
  const items = itemCounts.length;
  const W = new Float32Array(items * hidden);
  // W[n] = normal() · initScale in order, without the per-call overhead: the same numbers and stream.
  rng.fillNormal(W, initScale);
  return { items, hidden, W, b: itemLogOdds(itemCounts, users), c: new Float32Array(hidden) };
}

export function cloneImplicitParams(p: ImplicitParams): ImplicitParams {
  return { ...p, W: p.W.slice(), b: p.b.slice(), c: p.c.slice() };
}

/**
 * p(h_j = 1 | v) = σ(c_j + s(n) Σ_{i rated} W[i,j]) for the n rated items `rated[start..end)`, s(n) the
 * activity scale (1 for a model without it). Writes F values.
 */
export function implicitHidden(p: ImplicitParams, rated: ArrayLike<number>, start: number, end: number, out: Float32Array): Float32Array {
  const { W, c, hidden: F } = p;
  const x = new Float64Array(F);
  for (let n = start; n < end; n++) {
    const row = rated[n] * F;
    for (let j = 0; j < F; j++) x[j] += W[row + j];
  }
  const s = activityScale(p, end - start);
  for (let j = 0; j < F; j++) out[j] = hiddenMean(p.hiddenUnits, c[j] + s * x[j]);
  return out;
}

/**
 * p(v_i = 1 | h) = σ(b_i + a Σ_j W[i,j] h_j) for every item (h binary, or the probabilities p̂: mean
 * field), a = visibleScale (1 for a single RBM; 1/E for an ensemble of E: the mean of the members' logits).
 */
export function implicitVisible(p: ImplicitParams, h: ArrayLike<number>, out: Float32Array): Float32Array {
  const { W, b, hidden: F, items: I } = p;
  const a = p.visibleScale ?? 1;
  for (let i = 0; i < I; i++) {
    const row = i * F;
    let x = 0;
    for (let j = 0; j < F; j++) x += W[row + j] * h[j];
    out[i] = sigmoid(b[i] + a * x);
  }
  return out;
}

/**
 * The free energy of a rated set (no activity scale: the energy's own terms): binary units
 * F(v) = −Σ_{i rated} b_i − Σ_j softplus(x_j), Gaussian F(v) = −Σ_{i rated} b_i − ½ Σ_j x_j², with
 * x_j = c_j + Σ_{i rated} W[i,j] (the Gaussian's constant −(F/2) log 2π left out).
 */
export function implicitFreeEnergy(p: ImplicitParams, rated: ArrayLike<number>): number {
  const { W, b, c, hidden: F } = p;
  const x = Float64Array.from(c);
  let energy = 0;
  for (let n = 0; n < rated.length; n++) {
    energy -= b[rated[n]];
    const row = rated[n] * F;
    for (let j = 0; j < F; j++) x[j] += W[row + j];
  }
  for (let j = 0; j < F; j++) energy -= p.hiddenUnits === 'gaussian' ? 0.5 * x[j] * x[j] : softplus(x[j]);
  return energy;
}

/** Gradient accumulators of one mini-batch (sums over its cases, not yet averaged). */
export interface ImplicitGradient {
  readonly W: Float32Array;
  readonly b: Float32Array;
  readonly c: Float32Array;
}

export function zeroGradient(p: ImplicitParams): ImplicitGradient {
  return { W: new Float32Array(p.W.length), b: new Float32Array(p.items), c: new Float32Array(p.hidden) };
}

/** Work buffers of `accumulateCd`, allocated once per trainer. */
export interface CdScratch {
  p0: Float32Array;
  h: Float32Array;
  q: Float32Array;
  v: Float32Array;
  onMask: Uint8Array;
}

export function cdScratch(p: ImplicitParams): CdScratch {
  return {
    p0: new Float32Array(p.hidden),
    h: new Float32Array(p.hidden),
    q: new Float32Array(p.hidden),
    v: new Float32Array(p.items),
    onMask: new Uint8Array(p.items),
  };
}

/**
 * Adds one case's CD-T statistics to `grad` (dense reconstruction over every item):
 *
 *   p⁰ = p(h | v⁰)                                   positive phase, sparse over the rated set S
 *   h ~ p⁰;  for t = 1 … T:  vᵗ = p(v | h),  qᵗ = p(h | vᵗ),  h ~ qᵗ (t < T)
 *   ∂W[i,j] += v⁰_i p⁰_j − v^T_i q^T_j,   ∂b_i += v⁰_i − v^T_i,   ∂c_j += p⁰_j − q^T_j
 *
 * The reconstruction is mean field (probabilities, not samples) as Hinton's guide advises for the
 * visible units; hidden units are sampled with `uniforms` (T·F numbers: step t uses [t·F, (t+1)·F)) so
 * every engine given the same numbers computes the same statistics. Returns Σ_i (v⁰_i − v^T_i)².
 */
export function accumulateCd(
  p: ImplicitParams,
  rated: ArrayLike<number>,
  start: number,
  end: number,
  steps: number,
  uniforms: Float32Array,
  uniformOffset: number,
  grad: ImplicitGradient,
  s: CdScratch,
): number {
  const { W, hidden: F, items: I } = p;
  const gaussian = p.hiddenUnits === 'gaussian';
  implicitHidden(p, rated, start, end, s.p0);
  for (let j = 0; j < F; j++) s.h[j] = gaussian ? s.p0[j] : uniforms[uniformOffset + j] < s.p0[j] ? 1 : 0;
  for (let t = 1; t <= steps; t++) {
    implicitVisible(p, s.h, s.v);
    // q = E[h | v] from c + Wᵀ v, dense over all items.
    const q = s.q;
    q.set(p.c);
    for (let i = 0; i < I; i++) {
      const vi = s.v[i];
      const row = i * F;
      for (let j = 0; j < F; j++) q[j] += vi * W[row + j];
    }
    for (let j = 0; j < F; j++) q[j] = hiddenMean(p.hiddenUnits, q[j]);
    if (t < steps) {
      const u = uniformOffset + t * F;
      for (let j = 0; j < F; j++) s.h[j] = gaussian ? q[j] : uniforms[u + j] < q[j] ? 1 : 0;
    }
  }
  // Positive statistics on the rated rows, negative on all rows.
  for (let n = start; n < end; n++) {
    const i = rated[n];
    const row = i * F;
    for (let j = 0; j < F; j++) grad.W[row + j] += s.p0[j];
    grad.b[i] += 1;
  }
  let err = 0;
  for (let n = start; n < end; n++) s.onMask[rated[n]] = 1;
  for (let i = 0; i < I; i++) {
    const vi = s.v[i];
    const row = i * F;
    for (let j = 0; j < F; j++) grad.W[row + j] -= vi * s.q[j];
    grad.b[i] -= vi;
    const d = s.onMask[i] - vi;
    err += d * d;
  }
  for (let n = start; n < end; n++) s.onMask[rated[n]] = 0;
  for (let j = 0; j < F; j++) grad.c[j] += s.p0[j] - s.q[j];
  return err;
}

/**
 * Adds one case's pseudo-likelihood statistics (Besag 1975; for RBMs, Marlin, Swersky, Chen & de Freitas
 * 2010) to `grad`, Gaussian hidden units only. With h summed out the model is a Boltzmann machine over
 * the items (the file's comment), so each item's conditional given all the others is exact and cheap:
 *
 *   l_i = log p(v_i = 1 | v_−i) / p(v_i = 0 | v_−i) = b_i + W_i·h_−i + ½ s ‖W_i‖²
 *       = b_i + W_i·h + s (½ − v_i) ‖W_i‖²,          h = c + s x̄,  x̄ = Σ_{r∈S} W_r,  h_−i = h − v_i s W_i
 *
 * (s = s(n) the activity scale, held at the user's n: F(v) = −bᵀv − ‖c + s Wᵀv‖² / (2s) is the energy it
 * implies). The objective is Σ_i log p(v_i | v_−i): every item, rated or not, predicted from the others,
 * the task a ranking is judged on. With g_i = v_i − σ(l_i) and R = Σ_i σ(l_i) W_i:
 *
 *   ∂W_i = v_i (h + s (x̄ − R)) + g_i h + 2 s (½ − v_i) g_i W_i
 *        = v_i (2h − c − s R) − σ(l_i) h − s |g_i| W_i
 *   ∂b_i = g_i,   ∂c = x̄ − R
 *
 * The dense part (l, R and σ(l)·h over every item) costs what CD-1's reconstruction does. Returns Σ_i g_i².
 */
export function accumulatePl(
  p: ImplicitParams,
  rated: ArrayLike<number>,
  start: number,
  end: number,
  grad: ImplicitGradient,
  s: CdScratch,
): number {
  const { W, b, c, hidden: F, items: I } = p;
  const scale = activityScale(p, end - start);
  implicitHidden(p, rated, start, end, s.p0);
  const h = s.p0;
  for (let n = start; n < end; n++) s.onMask[rated[n]] = 1;
  // R = Σ_i σ(l_i) W_i into q, σ(l_i) into v.
  const R = s.q;
  R.fill(0);
  for (let i = 0; i < I; i++) {
    const row = i * F;
    let z = 0;
    let norm = 0;
    for (let j = 0; j < F; j++) {
      z += W[row + j] * h[j];
      norm += W[row + j] * W[row + j];
    }
    const v = sigmoid(b[i] + z + scale * (0.5 - s.onMask[i]) * norm);
    s.v[i] = v;
    for (let j = 0; j < F; j++) R[j] += v * W[row + j];
  }
  let err = 0;
  for (let i = 0; i < I; i++) {
    const v = s.v[i];
    const g = s.onMask[i] - v;
    const row = i * F;
    const shrink = scale * Math.abs(g);
    for (let j = 0; j < F; j++) grad.W[row + j] += s.onMask[i] * (2 * h[j] - c[j] - scale * R[j]) - v * h[j] - shrink * W[row + j];
    grad.b[i] += g;
    err += g * g;
  }
  for (let n = start; n < end; n++) s.onMask[rated[n]] = 0;
  // x̄ = (h − c) / s; a case with no rated item has x̄ = 0.
  for (let j = 0; j < F; j++) grad.c[j] += (end > start ? (h[j] - c[j]) / scale : 0) - R[j];
  return err;
}

/**
 * The same statistics with the negative phase restricted to the rated set S and m unrated items M drawn
 * uniformly (with replacement), each standing for (I − |S|)/m unrated items (importance weight ω):
 *
 *   qᵗ = σ(c + Σ_{i∈S} vᵗ_i W_i + ω Σ_{i∈M} vᵗ_i W_i),   ∂W_i −= ω_i v^T_i q^T  for i ∈ S ∪ M
 *
 * an unbiased but noisier estimate of the dense negative statistics at (|S| + m)/I of their cost. Returns
 * the squared reconstruction error on S ∪ M, the sampled zeros weighted by ω.
 */
export function accumulateCdSampled(
  p: ImplicitParams,
  rated: ArrayLike<number>,
  start: number,
  end: number,
  steps: number,
  zeros: number,
  rng: Rng,
  grad: ImplicitGradient,
  s: CdScratch,
): number {
  const { W, b, hidden: F, items: I } = p;
  const nS = end - start;
  for (let n = start; n < end; n++) s.onMask[rated[n]] = 1;
  const set: number[] = [];
  for (let n = start; n < end; n++) set.push(rated[n]);
  const unrated = I - nS;
  const m = unrated > 0 ? zeros : 0;
  while (set.length < nS + m) {
    const i = rng.int(I);
    if (!s.onMask[i]) set.push(i);
  }
  const omega = m > 0 ? unrated / m : 0;
  const weight = (n: number): number => (n < nS ? 1 : omega);
  const gaussian = p.hiddenUnits === 'gaussian';
  implicitHidden(p, rated, start, end, s.p0);
  for (let j = 0; j < F; j++) s.h[j] = gaussian ? s.p0[j] : rng.next() < s.p0[j] ? 1 : 0;
  const v = new Float32Array(set.length);
  for (let t = 1; t <= steps; t++) {
    for (let n = 0; n < set.length; n++) {
      const row = set[n] * F;
      let x = b[set[n]];
      for (let j = 0; j < F; j++) x += W[row + j] * s.h[j];
      v[n] = sigmoid(x);
    }
    s.q.set(p.c);
    for (let n = 0; n < set.length; n++) {
      const a = weight(n) * v[n];
      const row = set[n] * F;
      for (let j = 0; j < F; j++) s.q[j] += a * W[row + j];
    }
    for (let j = 0; j < F; j++) s.q[j] = hiddenMean(p.hiddenUnits, s.q[j]);
    if (t < steps) for (let j = 0; j < F; j++) s.h[j] = gaussian ? s.q[j] : rng.next() < s.q[j] ? 1 : 0;
  }
  let err = 0;
  for (let n = 0; n < set.length; n++) {
    const i = set[n];
    const row = i * F;
    const on = n < nS ? 1 : 0;
    const a = weight(n) * v[n];
    for (let j = 0; j < F; j++) grad.W[row + j] += on * s.p0[j] - a * s.q[j];
    grad.b[i] += on - a;
    err += weight(n) * (on - v[n]) ** 2;
  }
  for (let j = 0; j < F; j++) grad.c[j] += s.p0[j] - s.q[j];
  for (let n = start; n < end; n++) s.onMask[rated[n]] = 0;
  return err;
}

/**
 * One momentum step from a batch's summed gradient (B cases), weight decay λ on W only:
 *   Δθ ← μ Δθ + ε (∂θ / B − λ θ),   θ ← θ + Δθ
 */
export function applyUpdate(
  p: ImplicitParams,
  grad: ImplicitGradient,
  inc: ImplicitGradient,
  cases: number,
  lr: number,
  momentum: number,
  weightDecay: number,
): void {
  const scale = 1 / cases;
  for (let n = 0; n < p.W.length; n++) {
    inc.W[n] = momentum * inc.W[n] + lr * (grad.W[n] * scale - weightDecay * p.W[n]);
    p.W[n] += inc.W[n];
  }
  for (let i = 0; i < p.items; i++) {
    inc.b[i] = momentum * inc.b[i] + lr * grad.b[i] * scale;
    p.b[i] += inc.b[i];
  }
  for (let j = 0; j < p.hidden; j++) {
    inc.c[j] = momentum * inc.c[j] + lr * grad.c[j] * scale;
    p.c[j] += inc.c[j];
  }
}

/**
 * applyUpdate from the negated gradient −∂θ (what the tfjs engine's products leave behind), in one pass over
 * W: the same arithmetic as negating into a gradient buffer and calling applyUpdate (negation is exact, and
 * rounding is symmetric, so −(a − b) = (−a) + b in float32 too), without the extra I×F buffer and loop.
 * With `Wt` (F × I) it also leaves the updated W transposed there, written a tile of rows at a time while
 * they are in cache (a separate transpose strides through all of W).
 */
export function applyUpdateNegated(
  p: ImplicitParams,
  negGrad: ImplicitGradient,
  inc: ImplicitGradient,
  cases: number,
  lr: number,
  momentum: number,
  weightDecay: number,
  Wt?: Float32Array,
): void {
  const scale = 1 / cases;
  const { W, b, c, items: I, hidden: F } = p;
  const gW = negGrad.W;
  const iW = inc.W;
  const TILE = 32;
  for (let i0 = 0; i0 < I; i0 += TILE) {
    const i1 = Math.min(I, i0 + TILE);
    for (let n = i0 * F; n < i1 * F; n++) {
      iW[n] = momentum * iW[n] + lr * (-gW[n] * scale - weightDecay * W[n]);
      W[n] += iW[n];
    }
    if (Wt) {
      for (let j = 0; j < F; j++) {
        const out = j * I;
        for (let i = i0; i < i1; i++) Wt[out + i] = W[i * F + j];
      }
    }
  }
  for (let i = 0; i < I; i++) {
    inc.b[i] = momentum * inc.b[i] + lr * -negGrad.b[i] * scale;
    b[i] += inc.b[i];
  }
  for (let j = 0; j < F; j++) {
    inc.c[j] = momentum * inc.c[j] + lr * -negGrad.c[j] * scale;
    c[j] += inc.c[j];
  }
}
