import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addGramOfRows,
  choleskyInPlace,
  choleskySolveInPlace,
  forwardSubstituteInPlace,
  mirrorLower,
  NotPositiveDefiniteError,
  spdInverseInPlace,
} from '../../src/model/linalg.js';
import { Rng } from '../../src/rng.js';

/** A random SPD matrix M Mᵀ + shift·I (n × n, full), from a seeded Gaussian M (n × n). */
function randomSpd(n: number, seed: number, shift = 0.5): Float64Array {
  const rng = new Rng(seed);
  const M = Float64Array.from({ length: n * n }, () => rng.normal());
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += M[i * n + k] * M[j * n + k];
      A[i * n + j] = s + (i === j ? shift : 0);
    }
  return A;
}

const matVec = (A: Float64Array, n: number, x: Float64Array): Float64Array =>
  Float64Array.from({ length: n }, (_, i) => {
    let s = 0;
    for (let k = 0; k < n; k++) s += A[i * n + k] * x[k];
    return s;
  });

describe('Cholesky factorisation and solves (Float64, blocked)', () => {
  it('factors and solves a known 3 × 3 system', () => {
    // A = L Lᵀ with L = [[2,0,0],[6,1,0],[-8,5,3]]; A x = b for x = (1, 2, 3).
    const A = Float64Array.from([4, 12, -16, 12, 37, -43, -16, -43, 98]);
    const L = A.slice();
    choleskyInPlace(L, 3);
    expect(Array.from(L)).toEqual([2, 0, 0, 6, 1, 0, -8, 5, 3]);
    const x = choleskySolveInPlace(A.slice(), 3, matVec(A, 3, Float64Array.from([1, 2, 3])));
    Array.from(x).forEach((v, i) => expect(v).toBeCloseTo(i + 1, 10));
  });

  it('solves random SPD systems of sizes across the 64-wide blocks', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 150 }), fc.integer({ min: 0, max: 1e6 }), (n, seed) => {
        const A = randomSpd(n, seed, n);
        const rng = new Rng(seed + 1);
        const x = Float64Array.from({ length: n }, () => rng.normal());
        const solved = choleskySolveInPlace(A.slice(), n, matVec(A, n, x));
        for (let i = 0; i < n; i++) expect(Math.abs(solved[i] - x[i])).toBeLessThan(1e-8);
      }),
      { numRuns: 25 },
    );
  });

  it('inverts a random SPD matrix: A · A⁻¹ = I, symmetric', () => {
    for (const n of [5, 64, 65, 130]) {
      const A = randomSpd(n, n, 1);
      const inv = spdInverseInPlace(A.slice(), n);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let k = 0; k < n; k++) s += A[i * n + k] * inv[k * n + j];
          expect(Math.abs(s - (i === j ? 1 : 0))).toBeLessThan(1e-8);
          expect(inv[i * n + j]).toBe(inv[j * n + i]);
        }
    }
  });

  it('forward substitution with many right-hand sides equals L⁻¹ Y, and the Gram of rows equals YᵀY', () => {
    const n = 70;
    const m = 9;
    const L = randomSpd(n, 3, n);
    choleskyInPlace(L, n);
    const rng = new Rng(4);
    const B = Float64Array.from({ length: n * m }, () => rng.normal());
    const Y = B.slice();
    forwardSubstituteInPlace(L, n, Y, m);
    // L · Y = B.
    for (let i = 0; i < n; i++)
      for (let c = 0; c < m; c++) {
        let s = 0;
        for (let k = 0; k <= i; k++) s += L[i * n + k] * Y[k * m + c];
        expect(Math.abs(s - B[i * m + c])).toBeLessThan(1e-9);
      }
    const C = new Float64Array(m * m);
    addGramOfRows(C, B, n, m, 2);
    mirrorLower(C, m);
    for (let a = 0; a < m; a++)
      for (let b = 0; b < m; b++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += B[k * m + a] * B[k * m + b];
        expect(C[a * m + b]).toBeCloseTo(2 * s, 9);
      }
  });

  it('refuses a matrix that is not positive definite, naming the pivot', () => {
    const A = Float64Array.from([1, 2, 2, 1]);
    expect(() => choleskyInPlace(A, 2)).toThrow(NotPositiveDefiniteError);
    expect(() => choleskyInPlace(Float64Array.from([1, 2, 2, 1]), 2)).toThrow(/2 × 2 matrix failed at pivot 1/);
  });
});
