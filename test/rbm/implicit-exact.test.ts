/**
 * The implicit RBM's equations against brute force on a model small enough to enumerate: I = 3 Bernoulli
 * visible units and F = 3 binary hidden units, 2³ · 2³ = 64 joint states. Everything is recomputed here in
 * float64 from the float32 parameters, independently of src/rbm/implicitParams.ts:
 *
 *   E(v, h) = −Σ_i b_i v_i − Σ_j c_j h_j − Σ_{i,j} v_i W[i,j] h_j
 */
import { describe, expect, it } from 'vitest';
import {
  accumulateCd,
  applyUpdate,
  applyUpdateNegated,
  cdScratch,
  implicitFreeEnergy,
  implicitHidden,
  implicitVisible,
  initImplicitParams,
  itemLogOdds,
  zeroGradient,
  type ImplicitParams,
} from '../../src/rbm/implicitParams.js';
import { Rng } from '../../src/rng.js';

const I = 3;
const F = 3;

function randomParams(seed: number): ImplicitParams {
  const rng = new Rng(seed);
  return {
    items: I,
    hidden: F,
    W: new Float32Array(I * F).map(() => rng.normal()),
    b: new Float32Array(I).map(() => 0.7 * rng.normal()),
    c: new Float32Array(F).map(() => 0.7 * rng.normal()),
  };
}

const STATES = (n: number): number[][] => Array.from({ length: 1 << n }, (_, s) => Array.from({ length: n }, (_, k) => (s >> k) & 1));
const V_STATES = STATES(I);
const H_STATES = STATES(F);

function energy(p: ImplicitParams, v: number[], h: number[]): number {
  let e = 0;
  for (let i = 0; i < I; i++) e -= p.b[i] * v[i];
  for (let j = 0; j < F; j++) e -= p.c[j] * h[j];
  for (let i = 0; i < I; i++) for (let j = 0; j < F; j++) e -= v[i] * p.W[i * F + j] * h[j];
  return e;
}

const ratedOf = (v: number[]): Int32Array => Int32Array.from(v.flatMap((x, i) => (x ? [i] : [])));

/** Exact log p(v) by enumeration of all 64 states. */
function logProbability(p: ImplicitParams, v: number[]): number {
  let z = 0;
  let pv = 0;
  for (const vs of V_STATES) {
    for (const h of H_STATES) {
      const w = Math.exp(-energy(p, vs, h));
      z += w;
      if (vs.every((x, i) => x === v[i])) pv += w;
    }
  }
  return Math.log(pv / z);
}

/** E[x] under p(x) ∝ exp(−E(x)) over the listed binary states, by enumeration: Σ_x x e^{−E(x)} / Σ_x e^{−E(x)}. */
function enumeratedMean(states: readonly number[][], energyOf: (state: number[]) => number): Float64Array {
  let z = 0;
  const on = new Float64Array(states[0].length);
  for (const state of states) {
    const w = Math.exp(-energyOf(state));
    z += w;
    state.forEach((x, k) => (on[k] += x * w));
  }
  return on.map((x) => x / z);
}

describe('implicit RBM conditionals and free energy against enumeration', () => {
  const p = randomParams(1);

  it('p(h_j = 1 | v) equals the enumerated conditional for every v', () => {
    for (const v of V_STATES) {
      const rated = ratedOf(v);
      const got = implicitHidden(p, rated, 0, rated.length, new Float32Array(F));
      const want = enumeratedMean(H_STATES, (h) => energy(p, v, h));
      for (let j = 0; j < F; j++) expect(got[j]).toBeCloseTo(want[j], 6);
    }
  });

  it('p(v_i = 1 | h) equals the enumerated conditional for every h', () => {
    for (const h of H_STATES) {
      const got = implicitVisible(p, h, new Float32Array(I));
      const want = enumeratedMean(V_STATES, (v) => energy(p, v, h));
      for (let i = 0; i < I; i++) expect(got[i]).toBeCloseTo(want[i], 6);
    }
  });

  it('free energy equals −log Σ_h exp(−E(v, h)) for every v', () => {
    for (const v of V_STATES) {
      const exact = -Math.log(H_STATES.reduce((s, h) => s + Math.exp(-energy(p, v, h)), 0));
      expect(implicitFreeEnergy(p, ratedOf(v))).toBeCloseTo(exact, 5);
    }
  });

  it('the positive statistic v_i p(h_j | v) is −∂F(v)/∂W[i,j] (finite differences)', () => {
    const v = [1, 0, 1];
    const rated = ratedOf(v);
    const h = implicitHidden(p, rated, 0, rated.length, new Float32Array(F));
    const eps = 1e-3;
    for (let i = 0; i < I; i++) {
      for (let j = 0; j < F; j++) {
        const q = { ...p, W: p.W.slice() };
        q.W[i * F + j] += eps;
        const up = implicitFreeEnergy(q, rated);
        q.W[i * F + j] -= 2 * eps;
        const down = implicitFreeEnergy(q, rated);
        expect(-(up - down) / (2 * eps)).toBeCloseTo(v[i] * h[j], 3);
      }
    }
  });
});

describe('CD statistics', () => {
  it('CD-1 with given uniforms is v⁰p⁰ᵀ − v¹qᵀ, shapes I×F, I and F', () => {
    const p = randomParams(2);
    const v0 = [0, 1, 1];
    const rated = ratedOf(v0);
    const uniforms = Float32Array.from([0.2, 0.5, 0.9]);
    const grad = zeroGradient(p);
    accumulateCd(p, rated, 0, rated.length, 1, uniforms, 0, grad, cdScratch(p));
    expect([grad.W.length, grad.b.length, grad.c.length]).toEqual([I * F, I, F]);
    // By hand in float64.
    const sig = (x: number): number => 1 / (1 + Math.exp(-x));
    const p0 = Array.from({ length: F }, (_, j) => sig(p.c[j] + v0.reduce((s, x, i) => s + x * p.W[i * F + j], 0)));
    const h = p0.map((x, j) => (uniforms[j] < x ? 1 : 0));
    const v1 = Array.from({ length: I }, (_, i) => sig(p.b[i] + h.reduce((s: number, x, j) => s + x * p.W[i * F + j], 0)));
    const q = Array.from({ length: F }, (_, j) => sig(p.c[j] + v1.reduce((s, x, i) => s + x * p.W[i * F + j], 0)));
    for (let i = 0; i < I; i++) {
      expect(grad.b[i]).toBeCloseTo(v0[i] - v1[i], 5);
      for (let j = 0; j < F; j++) expect(grad.W[i * F + j]).toBeCloseTo(v0[i] * p0[j] - v1[i] * q[j], 5);
    }
    for (let j = 0; j < F; j++) expect(grad.c[j]).toBeCloseTo(p0[j] - q[j], 5);
  });

  it('CD updates on one vector make it more probable (exact likelihood by enumeration)', () => {
    const p = randomParams(3);
    const v = [1, 0, 1];
    const rated = ratedOf(v);
    const before = logProbability(p, v);
    const rng = new Rng(9);
    const grad = zeroGradient(p);
    const inc = zeroGradient(p);
    const s = cdScratch(p);
    const uniforms = new Float32Array(F);
    for (let step = 0; step < 200; step++) {
      grad.W.fill(0);
      grad.b.fill(0);
      grad.c.fill(0);
      uniforms.forEach((_, j) => (uniforms[j] = rng.next()));
      accumulateCd(p, rated, 0, rated.length, 1, uniforms, 0, grad, s);
      applyUpdate(p, grad, inc, 1, 0.05, 0.5, 0);
    }
    expect(logProbability(p, v)).toBeGreaterThan(before + 0.5);
  });

  it('weight decay alone shrinks W and leaves the biases', () => {
    const p = randomParams(4);
    const W = p.W.slice();
    const b = p.b.slice();
    applyUpdate(p, zeroGradient(p), zeroGradient(p), 1, 0.1, 0, 0.5);
    for (let n = 0; n < W.length; n++) expect(p.W[n]).toBeCloseTo(W[n] * (1 - 0.1 * 0.5), 6);
    expect(p.b).toEqual(b);
  });

  it('the update from the negated gradient is applyUpdate bit for bit, and leaves Wᵀ current', () => {
    // Items × hidden of 70 × 5: more than one tile of rows, and a partial last one.
    const items = 70;
    const hidden = 5;
    const rng = new Rng(9);
    const params = (): ImplicitParams => {
      const r = new Rng(3);
      const fill = (n: number) => Float32Array.from({ length: n }, () => r.normal());
      return { items, hidden, W: fill(items * hidden), b: fill(items), c: fill(hidden) };
    };
    const a = params();
    const b = params();
    const incA = zeroGradient(a);
    const incB = zeroGradient(b);
    const Wt = new Float32Array(items * hidden);
    for (let step = 0; step < 3; step++) {
      const grad = zeroGradient(a);
      for (const g of [grad.W, grad.b, grad.c]) for (let n = 0; n < g.length; n++) g[n] = rng.normal() * 7;
      const neg = { W: grad.W.map((x) => -x), b: grad.b.map((x) => -x), c: grad.c.map((x) => -x) };
      applyUpdate(a, grad, incA, 7, 0.05, 0.9, 0.002);
      applyUpdateNegated(b, neg, incB, 7, 0.05, 0.9, 0.002, Wt);
      expect(b.W).toEqual(a.W);
      expect(b.b).toEqual(a.b);
      expect(b.c).toEqual(a.c);
      expect(incB).toEqual(incA);
      for (let i = 0; i < items; i++) for (let j = 0; j < hidden; j++) expect(Wt[j * items + i]).toBe(a.W[i * hidden + j]);
    }
  });
});

describe('visible bias initialisation', () => {
  it('b_i = log((n_i + 1) / (U − n_i + 1)), so W = 0 reproduces each item’s smoothed rate of being rated', () => {
    const counts = [0, 3, 10];
    const U = 10;
    expect(Array.from(itemLogOdds(counts, U))).toEqual(counts.map((n) => Math.fround(Math.log((n + 1) / (U - n + 1)))));
    const p = initImplicitParams(counts, U, 4, new Rng(0), 0.01);
    const flat = implicitVisible({ ...p, W: new Float32Array(p.W.length) }, new Float32Array(4), new Float32Array(3));
    counts.forEach((n, i) => expect(flat[i]).toBeCloseTo((n + 1) / (U + 2), 6));
    expect(Array.from(p.c)).toEqual([0, 0, 0, 0]);
  });
});
