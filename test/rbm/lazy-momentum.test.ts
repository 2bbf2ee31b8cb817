/**
 * LazyMomentum (momentum + weight decay applied only to the rows a batch touched, with an exact catch-up of
 * the skipped steps) against the plain dense update written out here:
 *
 *   every step, every row:  v ← μ v + ε (g / B − λ W);  W ← W + v        (biases b and c: λ = 0)
 *
 * with g = 0 for the rows a batch did not touch.
 */
import { describe, expect, it } from 'vitest';
import { CdWorkspace, LazyMomentum } from '../../src/rbm/kernels.js';
import type { RbmParams } from '../../src/rbm/params.js';
import { Rng } from '../../src/rng.js';

const V = 7;
const K = 3;
const F = 4;

function randomParams(rng: Rng): RbmParams {
  return {
    visibles: V,
    levels: K,
    hidden: F,
    W: new Float32Array(V * K * F).map(() => rng.normal()),
    b: new Float32Array(V * K).map(() => rng.normal()),
    c: new Float32Array(F).map(() => rng.normal()),
  };
}

/** Float64 copy of the parameters and velocities: the dense reference's state. */
class Dense {
  W: Float64Array;
  b: Float64Array;
  c: Float64Array;
  vW: Float64Array;
  vb: Float64Array;
  vc: Float64Array;
  constructor(p: RbmParams) {
    this.W = Float64Array.from(p.W);
    this.b = Float64Array.from(p.b);
    this.c = Float64Array.from(p.c);
    this.vW = new Float64Array(p.W.length);
    this.vb = new Float64Array(p.b.length);
    this.vc = new Float64Array(p.c.length);
  }
  step(g: { W: Float64Array; b: Float64Array; c: Float64Array }, B: number, lr: number, mu: number, decay: number): void {
    for (let n = 0; n < this.W.length; n++) {
      this.vW[n] = mu * this.vW[n] + lr * (g.W[n] / B - decay * this.W[n]);
      this.W[n] += this.vW[n];
    }
    for (let n = 0; n < this.b.length; n++) {
      this.vb[n] = mu * this.vb[n] + lr * (g.b[n] / B);
      this.b[n] += this.vb[n];
    }
    for (let n = 0; n < this.c.length; n++) {
      this.vc[n] = mu * this.vc[n] + lr * (g.c[n] / B);
      this.c[n] += this.vc[n];
    }
  }
}

/** A batch's statistics for the given rows (others zero), written into the workspace as accumulateCase would. */
function fillBatch(ws: CdWorkspace, rng: Rng, rows: number[]): { W: Float64Array; b: Float64Array; c: Float64Array } {
  const g = { W: new Float64Array(V * K * F), b: new Float64Array(V * K), c: new Float64Array(F) };
  for (const i of rows) {
    for (let n = i * K * F; n < (i + 1) * K * F; n++) g.W[n] = ws.gW[n] = Math.fround(rng.normal() * 3);
    for (let n = i * K; n < (i + 1) * K; n++) g.b[n] = ws.gb[n] = Math.fround(rng.normal() * 3);
    if (ws.isTouched[i] === 0) {
      ws.isTouched[i] = 1;
      ws.touched[ws.touchedCount++] = i;
    }
  }
  for (let j = 0; j < F; j++) g.c[j] = ws.gc[j] = Math.fround(rng.normal() * 3);
  return g;
}

function expectClose(actual: Float32Array, expected: Float64Array, tol: number): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let n = 0; n < actual.length; n++) {
    worst = Math.max(worst, Math.abs(actual[n] - expected[n]) / Math.max(1, Math.abs(expected[n])));
  }
  expect(worst).toBeLessThan(tol);
}

/** The lazy optimiser's W, b, c equal the dense reference's, to float32 rounding. */
function expectSameParams(p: RbmParams, dense: { W: Float64Array; b: Float64Array; c: Float64Array }): void {
  expectClose(p.W, dense.W, 1e-5);
  expectClose(p.b, dense.b, 1e-5);
  expectClose(p.c, dense.c, 1e-5);
}

describe('LazyMomentum equals the dense momentum + weight-decay update', () => {
  it('after batches touching different rows, flush gives the dense W, b, c (several rate settings)', () => {
    for (const [lr, mu, decay] of [
      [0.05, 0.9, 0.01],
      [0.1, 0.5, 0.1],
      [0.02, 0, 0.5],
      [0.3, 0.95, 0],
    ] as const) {
      const rng = new Rng(17);
      const p = randomParams(rng);
      const initial = p.W.slice();
      const dense = new Dense(p);
      const ws = new CdWorkspace(p, V);
      const opt = new LazyMomentum(ws, lr, mu, decay);
      // Rows 5 and 6 are first touched late, row 6 never again: long catch-ups from the initial state too.
      const schedule = [[0, 1], [1], [2, 3], [0], [], [1, 4], [0, 2], [5], [], [], [3], [0, 1, 2, 3, 4], [6], [2], [4, 5]];
      for (let s = 0; s < schedule.length; s++) {
        const B = 1 + (s % 3);
        const g = fillBatch(ws, rng, schedule[s]);
        opt.apply(B);
        dense.step(g, B, lr, mu, decay);
      }
      opt.flush();
      expectSameParams(p, dense);
      // Not trivial: row 6 (touched once, then caught up over 2 steps by flush) and row 3 moved.
      for (const i of [3, 6]) expect(Math.abs(dense.W[i * K * F] - initial[i * K * F])).toBeGreaterThan(1e-3);
    }
  });

  it('a row is exact whenever it is touched (before flush), and a flush in the middle changes nothing', () => {
    const lr = 0.07;
    const mu = 0.8;
    const decay = 0.05;
    const rng = new Rng(3);
    const p = randomParams(rng);
    const dense = new Dense(p);
    const ws = new CdWorkspace(p, V);
    const opt = new LazyMomentum(ws, lr, mu, decay);
    for (let s = 0; s < 40; s++) {
      const rows = [...new Set([rng.int(V), rng.int(V)])].filter(() => rng.next() < 0.8);
      const g = fillBatch(ws, rng, rows);
      opt.apply(4);
      dense.step(g, 4, lr, mu, decay);
      for (const i of rows) {
        expectClose(p.W.subarray(i * K * F, (i + 1) * K * F), dense.W.subarray(i * K * F, (i + 1) * K * F), 1e-5);
        expectClose(p.b.subarray(i * K, (i + 1) * K), dense.b.subarray(i * K, (i + 1) * K), 1e-5);
      }
      if (s === 17) {
        opt.flush();
        expectClose(p.W, dense.W, 1e-5);
        opt.flush(); // idempotent
        expectClose(p.W, dense.W, 1e-5);
      }
    }
    opt.flush();
    expectSameParams(p, dense);
  });

  it('setRates between epochs (after flush) continues exactly with the new ε and μ', () => {
    const rng = new Rng(5);
    const p = randomParams(rng);
    const dense = new Dense(p);
    const ws = new CdWorkspace(p, V);
    const decay = 0.02;
    const opt = new LazyMomentum(ws, 0.1, 0.5, decay);
    const epochs = [
      { lr: 0.1, mu: 0.5 },
      { lr: 0.05, mu: 0.9 },
      { lr: 0.025, mu: 0.9 },
    ];
    for (const [e, { lr, mu }] of epochs.entries()) {
      opt.setRates(lr, mu);
      for (let s = 0; s < 12; s++) {
        const rows = s % 4 === 0 ? [] : [(s * 3 + e) % V];
        const g = fillBatch(ws, rng, rows);
        opt.apply(2);
        dense.step(g, 2, lr, mu, decay);
      }
      opt.flush();
      expectSameParams(p, dense);
    }
  });

  it('apply clears the accumulators and the touched set', () => {
    const rng = new Rng(8);
    const p = randomParams(rng);
    const ws = new CdWorkspace(p, V);
    const opt = new LazyMomentum(ws, 0.1, 0.9, 0.01);
    fillBatch(ws, rng, [1, 3]);
    opt.apply(2);
    expect(ws.gW.every((x) => x === 0)).toBe(true);
    expect(ws.gb.every((x) => x === 0)).toBe(true);
    expect(ws.gc.every((x) => x === 0)).toBe(true);
    expect(ws.touchedCount).toBe(0);
    expect(ws.isTouched.every((x) => x === 0)).toBe(true);
    expect(ws.step).toBe(1);
  });

  it('without momentum or decay an untouched row never moves', () => {
    const rng = new Rng(9);
    const p = randomParams(rng);
    const before = p.W.slice();
    const ws = new CdWorkspace(p, V);
    const opt = new LazyMomentum(ws, 0.1, 0, 0);
    for (let s = 0; s < 5; s++) {
      fillBatch(ws, rng, [0]);
      opt.apply(1);
    }
    opt.flush();
    expect(Array.from(p.W.subarray(K * F))).toEqual(Array.from(before.subarray(K * F)));
    expect(Array.from(p.W.subarray(0, K * F))).not.toEqual(Array.from(before.subarray(0, K * F)));
  });
});
