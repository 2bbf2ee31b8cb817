/**
 * The hidden-unit summary, unit activations and the worked prediction, on hand-made RBM parameters whose
 * answers are known, checked against independent computations (the inference equations of params.ts,
 * and the free energy by summing exp(−E(v, h)) over every hidden configuration).
 */
import { describe, expect, it } from 'vitest';
import { summariseHiddenUnits, unitActivations, unitPull, workedPrediction } from '../../src/rbm/hiddenUnits.js';
import { sigmoid, visibleDistribution, expectation, type RbmParams } from '../../src/rbm/params.js';

const LEVELS = [1, 2, 3];
const V = 5;
const K = 3;
const F = 2;

/**
 * Unit 0: loving item 0 (level 3) switches it on, loving item 1 switches it off, item 2 a little on.
 * Unit 1: only item 3 (level 3) switches it on. Item 4 has no weights at all.
 */
function handMade(): RbmParams {
  const W = new Float32Array(V * K * F);
  const set = (i: number, k: number, j: number, w: number): void => void (W[(i * K + k) * F + j] = w);
  set(0, 2, 0, 3);
  set(0, 0, 0, -1);
  set(1, 2, 0, -2.5);
  set(1, 0, 0, 1.5);
  set(2, 2, 0, 0.5);
  set(3, 2, 1, 2);
  const b = new Float32Array(V * K).map((_, n) => [0.1, 0.3, -0.2][n % K]);
  const c = Float32Array.from([-1, 0.5]);
  return { visibles: V, levels: K, hidden: F, W, b, c };
}

/** E[r_i] with hidden vector h, by params.ts's own p(v_i = k | h). */
function expectedRating(p: RbmParams, i: number, h: number[]): number {
  const out = new Float64Array(K);
  visibleDistribution(p, i, Float32Array.from(h), out);
  return expectation(out, 0, LEVELS);
}

describe('unitPull', () => {
  it('is the change of the expected rating when one unit switches on, the others at σ(c)', () => {
    const p = handMade();
    const pull = unitPull(p, LEVELS);
    const base = [sigmoid(p.c[0]), sigmoid(p.c[1])];
    for (let i = 0; i < V; i++) {
      for (let j = 0; j < F; j++) {
        const on = [...base];
        const off = [...base];
        on[j] = 1;
        off[j] = 0;
        expect(pull[i * F + j]).toBeCloseTo(expectedRating(p, i, on) - expectedRating(p, i, off), 5);
      }
    }
    expect(pull[4 * F + 0]).toBe(0); // no weights, no pull
  });
});

describe('summariseHiddenUnits', () => {
  it('lists the movies that switch each unit on and off, strongest first', () => {
    const summary = summariseHiddenUnits(handMade(), LEVELS, null, { perUnit: 2 });
    expect(summary).toMatchObject({ hidden: F, levels: K, itemsConsidered: V });
    const [u0, u1] = summary.units;
    expect(u0.on.map((x) => x.item)).toEqual([0, 2]);
    expect(u0.off.map((x) => x.item)).toEqual([1]);
    expect(u0.on[0].delta).toBeGreaterThan(u0.on[1].delta);
    expect(u1.on.map((x) => x.item)).toEqual([3]);
    expect(u1.off).toEqual([]);
    expect(u0.baseRate).toBeCloseTo(sigmoid(-1), 6);
    // Unit 0 moves three items, unit 1 one: unit 0 matters more.
    expect(u0.strength).toBeGreaterThan(u1.strength);
  });

  it('leaves out items with too few training ratings', () => {
    const counts = Float32Array.from([50, 50, 3, 50, 50]);
    const summary = summariseHiddenUnits(handMade(), LEVELS, counts, { minRatings: 20 });
    expect(summary.minRatings).toBe(20);
    expect(summary.itemsConsidered).toBe(4);
    expect(summary.units[0].on.map((x) => x.item)).toEqual([0]);
  });

  it('lowers the threshold to the median count when most items would be left out', () => {
    const counts = Float32Array.from([5, 6, 7, 0, 9]);
    const summary = summariseHiddenUnits(handMade(), LEVELS, counts, { minRatings: 20 });
    expect(summary.minRatings).toBe(6);
    expect(summary.itemsConsidered).toBe(3); // items 1, 2, 4
  });

  it('rejects mismatched inputs with a clear message', () => {
    expect(() => summariseHiddenUnits(handMade(), [1, 2], null)).toThrow(/expected 3 rating levels/);
    expect(() => summariseHiddenUnits(handMade(), LEVELS, new Float32Array(2))).toThrow(
      /itemTrainCount has 2 entries, the RBM has 5 items/,
    );
  });
});

describe('unitActivations', () => {
  it('ranks units by how far the ratings raised p(h_j = 1 | V) above σ(c_j)', () => {
    const p = handMade();
    // Item 3 at the top level switches unit 1 on; item 1 at the top level switches unit 0 off.
    const acts = unitActivations(p, { items: Int32Array.from([3, 1]), levels: Uint8Array.from([2, 2]) }, 2);
    expect(acts.map((a) => a.unit)).toEqual([1, 0]);
    expect(acts[0].probability).toBeCloseTo(sigmoid(0.5 + 2), 6);
    expect(acts[0].lift).toBeCloseTo(sigmoid(2.5) - sigmoid(0.5), 6);
    expect(acts[1].probability).toBeCloseTo(sigmoid(-1 - 2.5), 6);
    expect(acts[1].lift).toBeLessThan(0);
    expect(unitActivations(p, { items: new Int32Array(0), levels: new Uint8Array(0) }, 5).every((a) => Math.abs(a.lift) < 1e-7)).toBe(true);
  });
});

describe('workedPrediction', () => {
  it('gives the free energy −log Σ_h exp(−E(v,h)) and the mean-field distribution of the item', () => {
    const p = handMade();
    const ratings = { items: Int32Array.from([0, 2]), levels: Uint8Array.from([2, 1]) };
    const worked = workedPrediction(p, ratings, 3, LEVELS);
    // E(v,h) = −Σ_i b[i,r_i] − Σ_j h_j c_j − Σ_{i,j} h_j W[i,r_i,j], summed over the 2^F hidden states.
    let z = 0;
    for (let mask = 0; mask < 1 << F; mask++) {
      let minusE = 0;
      ratings.items.forEach((i, n) => (minusE += p.b[i * K + ratings.levels[n]]));
      for (let j = 0; j < F; j++) {
        if (!(mask & (1 << j))) continue;
        minusE += p.c[j];
        ratings.items.forEach((i, n) => (minusE += p.W[(i * K + ratings.levels[n]) * F + j]));
      }
      z += Math.exp(minusE);
    }
    expect(worked.freeEnergy).toBeCloseTo(-Math.log(z), 5);
    // Loving item 0 fits unit 0; the mirrored ratings (item 0 at level 1) do not, so they are less probable.
    expect(worked.mirroredFreeEnergy).toBeGreaterThan(worked.freeEnergy);
    expect(worked.distribution.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    const hHat = [sigmoid(-1 + 3 + 0), sigmoid(0.5)];
    expect(worked.expected).toBeCloseTo(expectedRating(p, 3, hHat), 5);
    expect(worked.activeUnits).toBeCloseTo(hHat[0] + hHat[1], 5);
    expect(() => workedPrediction(p, ratings, 9, LEVELS)).toThrow(/item index 9 is outside the RBM's 5 items/);
  });
});
