/**
 * What the hidden units of the user-oriented RBM learned, and which of them a user's ratings switch on.
 * Pure: parameters in, numbers out (the server caches the per-version summary and adds titles).
 *
 * In the user RBM the visible units are items, so each hidden unit j has item-facing weights W[i,k,j]
 * (i item, k rating level). Rating item i at level k adds W[i,k,j] to unit j's input, and an active unit j
 * adds W[i,k,j] to the logit of level k of item i: the same numbers read both ways, so "the movies whose
 * high ratings switch unit j on" and "the movies a switched-on unit j predicts high" are one list.
 *
 * The summary of unit j's pull on item i is in stars, the change of item i's expected rating when unit j
 * switches from off to on while every other unit sits at its base rate h̄_j' = σ(c_j'):
 *
 *   z⁰[i,k] = b[i,k] + Σ_{j'≠j} h̄_j' W[i,k,j']          (unit j off)
 *   z¹[i,k] = z⁰[i,k] + W[i,k,j]                         (unit j on)
 *   Δ[i,j]  = Σ_k level_k · (softmax_k(z¹[i,·]) − softmax_k(z⁰[i,·]))
 *
 * Why this and not a linear score such as W[i,K−1,j] − W[i,0,j]: Δ is exact for the model's own
 * prediction rule (no linearisation), is on the rating scale so units and items compare, and it discounts
 * a weight on a level the item almost never gets (its softmax mass stays tiny). Holding the other units at
 * σ(c) rather than at 0 keeps the logits where the model lives: all-off is a state it rarely visits.
 */
import type { KnownRatings } from '../data/dataset.js';
import { expectation, freeEnergy, hiddenProbabilities, sigmoid, visibleDistribution, type RbmParams } from './params.js';

export interface UnitItem {
  /** Item index in the model. */
  item: number;
  /** Δ[i,j]: change of the item's expected rating when the unit switches on (stars). */
  delta: number;
}

export interface HiddenUnitSummary {
  unit: number;
  /** σ(c_j): the unit's probability of being on before any rating is seen. */
  baseRate: number;
  /** Root mean square of Δ[·,j] over the summarised items: how much the unit matters to predictions. */
  strength: number;
  /** Items with the largest positive Δ (rating them high switches the unit on), largest first. */
  on: UnitItem[];
  /** Items with the most negative Δ (rating them high switches it off), most negative first. */
  off: UnitItem[];
}

export interface HiddenUnitsSummary {
  /** F. */
  hidden: number;
  /** K. */
  levels: number;
  /** Only items with at least this many training ratings are listed (rarely rated items' weights are noise). */
  minRatings: number;
  /** Number of items that met `minRatings`. */
  itemsConsidered: number;
  units: HiddenUnitSummary[];
}

export interface HiddenUnitsOptions {
  /** Items listed per unit and direction (default 8). */
  perUnit?: number;
  /**
   * Wanted minimum of training ratings per listed item (default 20). Lowered to the median count of the
   * rated items when fewer than half of them reach it, so a small catalog still lists something.
   */
  minRatings?: number;
}

function effectiveMinRatings(counts: ArrayLike<number> | null, V: number, wanted: number): number {
  if (!counts) return 0;
  const positive: number[] = [];
  for (let i = 0; i < V; i++) if (counts[i] > 0) positive.push(counts[i]);
  if (positive.length === 0) return 1;
  positive.sort((a, b) => a - b);
  const median = positive[Math.floor((positive.length - 1) / 2)];
  return Math.max(1, Math.min(wanted, median));
}

/** Δ[i,j] for every item and unit (see the module comment), items × F row-major. */
export function unitPull(p: RbmParams, ratingLevels: readonly number[]): Float32Array {
  const { visibles: V, levels: K, hidden: F, W, b, c } = p;
  if (ratingLevels.length !== K) throw new Error(`expected ${K} rating levels for the RBM, got ${ratingLevels.length}`);
  const hBar = new Float64Array(F);
  for (let j = 0; j < F; j++) hBar[j] = sigmoid(c[j]);
  const zBar = new Float64Array(K);
  const z = new Float64Array(K);
  const out = new Float32Array(V * F);
  const softmaxExpectation = (logits: Float64Array): number => {
    let max = -Infinity;
    for (let k = 0; k < K; k++) if (logits[k] > max) max = logits[k];
    let sum = 0;
    let e = 0;
    for (let k = 0; k < K; k++) {
      const w = Math.exp(logits[k] - max);
      sum += w;
      e += w * ratingLevels[k];
    }
    return e / sum;
  };
  for (let i = 0; i < V; i++) {
    for (let k = 0; k < K; k++) {
      const row = (i * K + k) * F;
      let x = b[i * K + k];
      for (let j = 0; j < F; j++) x += hBar[j] * W[row + j];
      zBar[k] = x;
    }
    for (let j = 0; j < F; j++) {
      for (let k = 0; k < K; k++) z[k] = zBar[k] - hBar[j] * W[(i * K + k) * F + j];
      const off = softmaxExpectation(z);
      for (let k = 0; k < K; k++) z[k] += W[(i * K + k) * F + j];
      out[i * F + j] = softmaxExpectation(z) - off;
    }
  }
  return out;
}

/**
 * Every hidden unit with the items that most switch it on and off. `itemTrainCount[i]` (training ratings
 * of item i) filters out items the model knows little about; null considers every item.
 */
export function summariseHiddenUnits(
  p: RbmParams,
  ratingLevels: readonly number[],
  itemTrainCount: ArrayLike<number> | null,
  options: HiddenUnitsOptions = {},
): HiddenUnitsSummary {
  const perUnit = options.perUnit ?? 8;
  if (!Number.isInteger(perUnit) || perUnit < 1) throw new Error(`perUnit must be a positive integer, got ${perUnit}`);
  const { visibles: V, hidden: F } = p;
  if (itemTrainCount && itemTrainCount.length !== V) {
    throw new Error(`itemTrainCount has ${itemTrainCount.length} entries, the RBM has ${V} items`);
  }
  const minRatings = effectiveMinRatings(itemTrainCount, V, options.minRatings ?? 20);
  const considered: number[] = [];
  for (let i = 0; i < V; i++) if (!itemTrainCount || itemTrainCount[i] >= minRatings) considered.push(i);
  const pull = unitPull(p, ratingLevels);
  const units: HiddenUnitSummary[] = [];
  for (let j = 0; j < F; j++) {
    const scored = considered.map((i) => ({ item: i, delta: pull[i * F + j] }));
    let squares = 0;
    for (const s of scored) squares += s.delta * s.delta;
    // Ties broken by item index so the lists are deterministic.
    const on = scored
      .filter((s) => s.delta > 0)
      .sort((a, b) => b.delta - a.delta || a.item - b.item)
      .slice(0, perUnit);
    const off = scored
      .filter((s) => s.delta < 0)
      .sort((a, b) => a.delta - b.delta || a.item - b.item)
      .slice(0, perUnit);
    units.push({ unit: j, baseRate: sigmoid(p.c[j]), strength: scored.length > 0 ? Math.sqrt(squares / scored.length) : 0, on, off });
  }
  return { hidden: F, levels: p.levels, minRatings, itemsConsidered: considered.length, units };
}

export interface UnitActivation {
  unit: number;
  /** p(h_j = 1 | V) = σ(c_j + Σ_{rated i} W[i, r_i, j]). */
  probability: number;
  /** σ(c_j), the same before any rating. */
  baseRate: number;
  /** probability − baseRate: how far the ratings moved the unit (the ranking key). */
  lift: number;
}

/**
 * The hidden units a user's ratings switch on most: p(h_j = 1 | V) against the base rate σ(c_j), ranked by
 * the rise in probability (a unit moving 0.99 → 0.999 has a large log-odds change but changes no
 * prediction; the probability is what enters p(v_i = k | p̂)). Returns the `limit` largest rises.
 */
export function unitActivations(p: RbmParams, ratings: KnownRatings, limit: number): UnitActivation[] {
  const probabilities = hiddenProbabilities(p, ratings.items, ratings.levels, 0, ratings.items.length, new Float32Array(p.hidden));
  const all: UnitActivation[] = [];
  for (let j = 0; j < p.hidden; j++) {
    const baseRate = sigmoid(p.c[j]);
    all.push({ unit: j, probability: probabilities[j], baseRate, lift: probabilities[j] - baseRate });
  }
  return all.sort((a, b) => b.lift - a.lift || a.unit - b.unit).slice(0, limit);
}

export interface WorkedPrediction {
  /** Free energy F(V) of the user's ratings (lower = more probable under the model). */
  freeEnergy: number;
  /** F(V) of the same items with every rating mirrored on the scale (level k → K−1−k), for contrast. */
  mirroredFreeEnergy: number;
  /** p(v_i = k | p̂) for the asked item, p̂ = p(h | V): the user RBM's mean-field prediction. */
  distribution: number[];
  /** Σ_k level_k · distribution_k. */
  expected: number;
  /** Σ_j p̂_j: how many hidden units are on, in expectation. */
  activeUnits: number;
}

/** The user RBM's numbers for one user and one item, as the "How it works" view shows them. */
export function workedPrediction(p: RbmParams, ratings: KnownRatings, item: number, ratingLevels: readonly number[]): WorkedPrediction {
  if (item < 0 || item >= p.visibles) throw new Error(`item index ${item} is outside the RBM's ${p.visibles} items`);
  const n = ratings.items.length;
  const hHat = hiddenProbabilities(p, ratings.items, ratings.levels, 0, n, new Float32Array(p.hidden));
  const dist = new Float64Array(p.levels);
  visibleDistribution(p, item, hHat, dist);
  const mirrored = Uint8Array.from(ratings.levels, (k) => p.levels - 1 - k);
  let activeUnits = 0;
  for (let j = 0; j < p.hidden; j++) activeUnits += hHat[j];
  return {
    freeEnergy: freeEnergy(p, ratings.items, ratings.levels, 0, n),
    mirroredFreeEnergy: freeEnergy(p, ratings.items, mirrored, 0, n),
    distribution: [...dist],
    expected: expectation(dist, 0, ratingLevels),
    activeUnits,
  };
}
