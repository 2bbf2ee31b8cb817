/**
 * The softmax-visible RBM's equations against brute force on a model small enough to enumerate: 2 visible
 * softmax units with K = 3 levels and F = 3 binary hidden units, so the joint p(V, h) ∝ exp(−E(V, h)) has
 * 3² · 2³ = 72 states. Everything is computed here in float64 from the float32 parameters, independently
 * of src/rbm/params.ts:
 *
 *   E(V, h) = −Σ_i b[i, r_i] − Σ_j c_j h_j − Σ_{i,j} h_j W[i, r_i, j]      (sums over the rated units only)
 */
import { describe, expect, it } from 'vitest';
import type { CompressedRows } from '../../src/data/dataset.js';
import { accumulateCase, CdWorkspace } from '../../src/rbm/kernels.js';
import { freeEnergy, hiddenProbabilities, visibleDistribution, type RbmParams } from '../../src/rbm/params.js';
import { Rng } from '../../src/rng.js';

const V = 2;
const K = 3;
const F = 3;
const LEVELS = [1, 2, 3];

/** Random parameters of order 1, so every conditional is far from uniform and from saturation. */
function randomParams(seed: number): RbmParams {
  const rng = new Rng(seed);
  const W = new Float32Array(V * K * F).map(() => rng.normal());
  const b = new Float32Array(V * K).map(() => 0.7 * rng.normal());
  const c = new Float32Array(F).map(() => 0.7 * rng.normal());
  return { visibles: V, levels: K, hidden: F, W, b, c };
}

const w = (p: RbmParams, i: number, k: number, j: number): number => p.W[(i * K + k) * F + j];

/** The 2^F binary hidden vectors. */
const HIDDEN_STATES: number[][] = Array.from({ length: 1 << F }, (_, s) => Array.from({ length: F }, (_, j) => (s >> j) & 1));

/** The K^|units| joint levels of the given rated units, as arrays of levels aligned with `units`. */
function visibleStates(units: number[]): number[][] {
  let states: number[][] = [[]];
  for (let n = 0; n < units.length; n++) states = states.flatMap((s) => Array.from({ length: K }, (_, k) => [...s, k]));
  return states;
}

/** E(V, h) for the rated `units` at `levels`. */
function energy(p: RbmParams, units: number[], levels: number[], h: number[]): number {
  let e = 0;
  units.forEach((i, n) => {
    e -= p.b[i * K + levels[n]];
    for (let j = 0; j < F; j++) e -= h[j] * w(p, i, levels[n], j);
  });
  for (let j = 0; j < F; j++) e -= p.c[j] * h[j];
  return e;
}

interface JointState {
  levels: number[];
  h: number[];
  prob: number;
}

/** The full joint p(V, h) over the rated `units`, normalised by enumeration. */
function joint(p: RbmParams, units: number[]): JointState[] {
  const states: JointState[] = [];
  let z = 0;
  for (const levels of visibleStates(units)) {
    for (const h of HIDDEN_STATES) {
      const u = Math.exp(-energy(p, units, levels, h));
      states.push({ levels, h, prob: u });
      z += u;
    }
  }
  for (const s of states) s.prob /= z;
  return states;
}

/**
 * Exact ∂ log p(V) / ∂θ for one case (data term under p(h | V) minus model term under p(V', h) over the
 * case's rated units), laid out like W, b, c. Units the case did not rate have zero rows.
 */
function exactGradient(p: RbmParams, units: number[], levels: number[]): { gW: Float64Array; gb: Float64Array; gc: Float64Array } {
  const gW = new Float64Array(V * K * F);
  const gb = new Float64Array(V * K);
  const gc = new Float64Array(F);
  const add = (lv: number[], h: number[], weight: number): void => {
    units.forEach((i, n) => {
      gb[i * K + lv[n]] += weight;
      for (let j = 0; j < F; j++) gW[(i * K + lv[n]) * F + j] += weight * h[j];
    });
    for (let j = 0; j < F; j++) gc[j] += weight * h[j];
  };
  // Data term: p(h | V) ∝ exp(−E(V, h)) over h alone.
  const posterior = HIDDEN_STATES.map((h) => Math.exp(-energy(p, units, levels, h)));
  const zh = posterior.reduce((s, x) => s + x, 0);
  HIDDEN_STATES.forEach((h, s) => add(levels, h, posterior[s] / zh));
  // Model term.
  for (const s of joint(p, units)) add(s.levels, s.h, -s.prob);
  return { gW, gb, gc };
}

/** One case (row 0) rating `units` at `levels`, over V columns. */
function caseRows(units: number[], levels: number[]): CompressedRows {
  return { rows: 1, cols: V, rowStart: Int32Array.of(0, units.length), colIndex: Int32Array.from(units), levels: Uint8Array.from(levels) };
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let n = 0; n < a.length; n++) m = Math.max(m, Math.abs(a[n] - b[n]));
  return m;
};

describe('exact inference on a 2-item, K=3, F=3 model', () => {
  const p = randomParams(11);

  it('the enumerated joint is a proper distribution with non-trivial conditionals (sanity of the brute force)', () => {
    const states = joint(p, [0, 1]);
    expect(states).toHaveLength(K * K * (1 << F));
    expect(states.reduce((s, x) => s + x.prob, 0)).toBeCloseTo(1, 12);
    // The parameters are not degenerate: no single state carries almost all the mass.
    expect(Math.max(...states.map((s) => s.prob))).toBeLessThan(0.5);
  });

  it('hiddenProbabilities equals p(h_j = 1 | V) from the joint, for every V with both items rated', () => {
    const states = joint(p, [0, 1]);
    const out = new Float32Array(F);
    for (const levels of visibleStates([0, 1])) {
      const given = states.filter((s) => s.levels[0] === levels[0] && s.levels[1] === levels[1]);
      const pv = given.reduce((s, x) => s + x.prob, 0);
      const expected = Array.from({ length: F }, (_, j) => given.reduce((s, x) => s + x.h[j] * x.prob, 0) / pv);
      hiddenProbabilities(p, [0, 1], levels, 0, 2, out);
      for (let j = 0; j < F; j++) expect(out[j]).toBeCloseTo(expected[j], 6);
    }
  });

  it('hiddenProbabilities with one item rated ignores the absent item (joint over item 1 alone)', () => {
    const states = joint(p, [1]);
    const out = new Float32Array(F);
    for (let k = 0; k < K; k++) {
      const given = states.filter((s) => s.levels[0] === k);
      const pv = given.reduce((s, x) => s + x.prob, 0);
      // cols/levels arrays with other entries around the case's slice [1, 2): only the slice counts.
      hiddenProbabilities(p, [0, 1, 0], [2, k, 2], 1, 2, out);
      for (let j = 0; j < F; j++) expect(out[j]).toBeCloseTo(given.reduce((s, x) => s + x.h[j] * x.prob, 0) / pv, 6);
    }
    // No rated unit at all: p(h) = σ(c).
    hiddenProbabilities(p, [], [], 0, 0, out);
    for (let j = 0; j < F; j++) expect(out[j]).toBeCloseTo(1 / (1 + Math.exp(-p.c[j])), 6);
  });

  it('visibleDistribution with a binary h equals p(v_i = k | h) from the joint', () => {
    const states = joint(p, [0, 1]);
    const out = new Float64Array(K);
    for (const h of HIDDEN_STATES) {
      const given = states.filter((s) => s.h.every((x, j) => x === h[j]));
      const ph = given.reduce((s, x) => s + x.prob, 0);
      for (let i = 0; i < V; i++) {
        visibleDistribution(p, i, Float32Array.from(h), out);
        expect(out.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 12);
        for (let k = 0; k < K; k++) {
          const expected = given.filter((s) => s.levels[i] === k).reduce((s, x) => s + x.prob, 0) / ph;
          expect(out[k]).toBeCloseTo(expected, 6);
        }
      }
    }
  });

  it('visibleDistribution writes at outOffset and leaves the rest of the buffer alone', () => {
    const h = Float32Array.of(1, 0, 1);
    const alone = new Float64Array(K);
    visibleDistribution(p, 1, h, alone);
    const buffer = new Float64Array(3 * K).fill(-7);
    visibleDistribution(p, 1, h, buffer, K);
    expect(Array.from(buffer.subarray(0, K))).toEqual([-7, -7, -7]);
    expect(Array.from(buffer.subarray(2 * K))).toEqual([-7, -7, -7]);
    expect(Array.from(buffer.subarray(K, 2 * K))).toEqual(Array.from(alone));
  });

  it('freeEnergy equals −log Σ_h exp(−E(V, h)) for every V, with one or both items rated', () => {
    for (const units of [[0, 1], [0], [1]]) {
      for (const levels of visibleStates(units)) {
        const expected = -Math.log(HIDDEN_STATES.reduce((s, h) => s + Math.exp(-energy(p, units, levels, h)), 0));
        expect(Math.abs(freeEnergy(p, units, levels, 0, units.length) - expected)).toBeLessThan(1e-5);
      }
    }
  });

  it('free energies give the model marginal p(V) ∝ exp(−F(V))', () => {
    const states = joint(p, [0, 1]);
    const all = visibleStates([0, 1]);
    const unnorm = all.map((lv) => Math.exp(-freeEnergy(p, [0, 1], lv, 0, 2)));
    const z = unnorm.reduce((s, x) => s + x, 0);
    all.forEach((lv, n) => {
      const marginal = states.filter((s) => s.levels[0] === lv[0] && s.levels[1] === lv[1]).reduce((s, x) => s + x.prob, 0);
      expect(unnorm[n] / z).toBeCloseTo(marginal, 6);
    });
  });

  it('freeEnergy stays finite and accurate for large hidden inputs (stable softplus)', () => {
    const big: RbmParams = { ...p, W: p.W.map((x) => x * 400), c: p.c.map((x) => x * 400) };
    const levels = [2, 0];
    let expected = 0;
    expected -= big.b[0 * K + 2] + big.b[1 * K + 0];
    for (let j = 0; j < F; j++) {
      const x = big.c[j] + w(big, 0, 2, j) + w(big, 1, 0, j);
      expected -= Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
    }
    const f = freeEnergy(big, [0, 1], levels, 0, 2);
    expect(Number.isFinite(f)).toBe(true);
    expect(Math.abs(f - expected)).toBeLessThan(1e-6 * Math.abs(expected));
  });
});

/** Every component of the estimated gradient (W, b, c) within `tol` of the exact one. */
function expectGradientNear(
  est: { gW: ArrayLike<number>; gb: ArrayLike<number>; gc: ArrayLike<number> },
  exact: { gW: ArrayLike<number>; gb: ArrayLike<number>; gc: ArrayLike<number> },
  tol: number,
): void {
  expect(maxAbsDiff(est.gW, exact.gW)).toBeLessThan(tol);
  expect(maxAbsDiff(est.gb, exact.gb)).toBeLessThan(tol);
  expect(maxAbsDiff(est.gc, exact.gc)).toBeLessThan(tol);
}

/**
 * Monte-Carlo estimate of the gradient that accumulateCase would follow for one case: persistent CD with a
 * single Gibbs step per call and the weights held fixed. The persistent levels form a Markov chain
 * (h ~ p(h | v), v' ~ p(v | h)) whose stationary distribution is the model's p(V) over the case's rated
 * units, and the negative statistics use p(h | v') in place of h, so their average is the model term
 * E_p[v_ik h_j]. The positive statistics are exact (p(h | V)) on every call.
 */
function pcdEstimate(p: RbmParams, rows: CompressedRows, iterations: number, burnIn: number, seed: number, meanField = false) {
  const rng = new Rng(seed);
  const ws = new CdWorkspace(p, rows.colIndex.length);
  const chain = rows.levels.slice();
  const sumW = new Float64Array(p.W.length);
  const sumB = new Float64Array(p.b.length);
  const sumC = new Float64Array(p.c.length);
  for (let it = 0; it < burnIn + iterations; it++) {
    accumulateCase(ws, rows, 0, 1, rng, LEVELS, chain, meanField);
    if (it >= burnIn) {
      for (let n = 0; n < sumW.length; n++) sumW[n] += ws.gW[n];
      for (let n = 0; n < sumB.length; n++) sumB[n] += ws.gb[n];
      for (let n = 0; n < sumC.length; n++) sumC[n] += ws.gc[n];
    }
    // Read, then clear, as LazyMomentum.apply does (float32 accumulators would lose precision over 10^5 calls).
    ws.gW.fill(0);
    ws.gb.fill(0);
    ws.gc.fill(0);
  }
  return { gW: sumW.map((x) => x / iterations), gb: sumB.map((x) => x / iterations), gc: sumC.map((x) => x / iterations), ws };
}

describe('CD statistics against the exact log-likelihood gradient', () => {
  const p = randomParams(11);
  /*
   * Tolerance 0.02 (absolute) on every component. Each call's statistic lies in [−1, 1] with variance
   * ≤ 1/4 per component; over 2·10^5 correlated chain steps (integrated autocorrelation of a few steps for
   * this well-mixing 72-state chain) the standard error is ≈ 0.003, so 0.02 is > 5 standard errors, while a
   * wrong term (e.g. a model expectation under the data, or a missing/extra unit in the energy) shifts
   * components by ≥ 0.05 for these order-1 parameters — asserted below.
   */
  const TOL = 0.02;
  const ITER = 200_000;

  it('persistent chain with fixed weights: ⟨data − model⟩ matches the exact gradient (both items rated)', () => {
    const levels = [2, 0];
    const exact = exactGradient(p, [0, 1], levels);
    const est = pcdEstimate(p, caseRows([0, 1], levels), ITER, 1000, 3);
    expectGradientNear(est, exact, TOL);
    // The check has teeth: the exact gradient is far from zero, so "no model term" or "no data term" fails.
    expect(Math.max(...exact.gW.map(Math.abs))).toBeGreaterThan(5 * TOL);
    expect(Math.max(...exact.gb.map(Math.abs))).toBeGreaterThan(5 * TOL);
  });

  it('a different case and seed agree too (the model term is the same, the data term moves)', () => {
    const levels = [0, 1];
    const exact = exactGradient(p, [0, 1], levels);
    const est = pcdEstimate(p, caseRows([0, 1], levels), ITER, 1000, 8);
    expectGradientNear(est, exact, TOL);
  });

  it('a case rating only item 0: matches the one-unit model gradient, and item 1 gets exactly zero rows', () => {
    const exact = exactGradient(p, [0], [1]);
    const est = pcdEstimate(p, caseRows([0], [1]), ITER, 1000, 5);
    expectGradientNear(est, exact, TOL);
    // The masked unit: contributes nothing, and is not marked as touched.
    const rows1 = caseRows([0], [1]);
    const ws = new CdWorkspace(p, 1);
    const rng = new Rng(1);
    for (let it = 0; it < 50; it++) accumulateCase(ws, rows1, 0, 3, rng, LEVELS, null, it % 2 === 0);
    expect(ws.gW.subarray(K * F).every((x) => x === 0)).toBe(true);
    expect(ws.gb.subarray(K).every((x) => x === 0)).toBe(true);
    expect(ws.gW.subarray(0, K * F).some((x) => x !== 0)).toBe(true);
    expect(ws.touchedCount).toBe(1);
    expect(ws.touched[0]).toBe(0);
    expect(ws.isTouched[1]).toBe(0);
    // The one-unit gradient is not the two-unit one: treating item 1 as present would be caught.
    const wrong = exactGradient(p, [0, 1], [1, 0]);
    expect(maxAbsDiff(wrong.gc, exact.gc)).toBeGreaterThan(3 * TOL);
  });

  it('per call, the positive statistics are exactly p(h | V) and each negative one-hot sums to −1 per unit', () => {
    const rows = caseRows([0, 1], [2, 0]);
    const ws = new CdWorkspace(p, 2);
    accumulateCase(ws, rows, 0, 2, new Rng(4), LEVELS, null, false);
    const ph = new Float32Array(F);
    hiddenProbabilities(p, [0, 1], [2, 0], 0, 2, ph);
    // gb: +1 at the data level, −1 at the sampled level (so each unit's row sums to 0).
    for (let i = 0; i < V; i++) expect(ws.gb[i * K] + ws.gb[i * K + 1] + ws.gb[i * K + 2]).toBe(0);
    // gc = p(h | V) − p(h | v'), the second term a probability: the difference lies in (ph − 1, ph).
    for (let j = 0; j < F; j++) {
      expect(ws.gc[j]).toBeLessThan(ph[j] + 1e-7);
      expect(ws.gc[j]).toBeGreaterThan(ph[j] - 1 - 1e-7);
    }
  });

  it('CD-T from the data (no persistent chain) with long T also approaches the exact gradient', () => {
    // With T = 25 Gibbs steps each call's final state is (to well under the tolerance) a draw from the
    // model, so the average over calls converges to the same model term. Fewer calls, same 0.02 tolerance:
    // 2·10^4 independent draws give a standard error ≈ 0.0035.
    const levels = [1, 2];
    const exact = exactGradient(p, [0, 1], levels);
    const rows = caseRows([0, 1], levels);
    const ws = new CdWorkspace(p, 2);
    const rng = new Rng(9);
    const n = 20_000;
    const sumW = new Float64Array(p.W.length);
    const sumB = new Float64Array(p.b.length);
    for (let it = 0; it < n; it++) {
      accumulateCase(ws, rows, 0, 25, rng, LEVELS, null, false);
      for (let q = 0; q < sumW.length; q++) sumW[q] += ws.gW[q];
      for (let q = 0; q < sumB.length; q++) sumB[q] += ws.gb[q];
      ws.gW.fill(0);
      ws.gb.fill(0);
      ws.gc.fill(0);
    }
    expect(
      maxAbsDiff(
        sumW.map((x) => x / n),
        exact.gW,
      ),
    ).toBeLessThan(TOL);
    expect(
      maxAbsDiff(
        sumB.map((x) => x / n),
        exact.gb,
      ),
    ).toBeLessThan(TOL);
  });

  it('mean-field negative phase: the visible-bias statistics are still unbiased for the exact gradient', () => {
    // With meanField the model term of b is E[p(v | h)] under the chain, which has the same expectation as
    // the one-hot v; (the W and c terms use a mean-field hidden vector and are biased by design).
    const levels = [2, 0];
    const exact = exactGradient(p, [0, 1], levels);
    const est = pcdEstimate(p, caseRows([0, 1], levels), ITER, 1000, 21, true);
    expect(maxAbsDiff(est.gb, exact.gb)).toBeLessThan(TOL);
  });

  it('the reconstruction error of the first step is accumulated once per rated unit', () => {
    const rows = caseRows([0, 1], [2, 0]);
    const ws = new CdWorkspace(p, 2);
    accumulateCase(ws, rows, 0, 5, new Rng(2), LEVELS, null, false);
    expect(ws.errorCount).toBe(2);
    // Expected rating within [1, 3], so each squared error ≤ 4.
    expect(ws.squaredError).toBeGreaterThanOrEqual(0);
    expect(ws.squaredError).toBeLessThanOrEqual(8);
  });
});
