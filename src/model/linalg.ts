/**
 * Dense symmetric positive definite (SPD) linear algebra in Float64, row-major, for the closed-form
 * baselines: EASE^R needs P = (XᵀX + λI)⁻¹ (items × items), implicit ALS solves one F × F system per user
 * and item. tfjs has no inverse or Cholesky, and Float64 keeps the Woodbury subtraction I − YᵀY (below)
 * accurate.
 *
 * Everything is blocked so that the O(n³) work runs as two kernels over a small packed panel that stays in
 * cache: `syrkPanel` (C −= T Tᵀ, lower triangle) and `subtractRows` (Y[i] −= Σ_k L[i][k] · Y[k]). Pure.
 */

/** Rows (or columns) per block: a 64-wide panel of a few thousand rows stays in the L2 cache. */
const NB = 64;

export class NotPositiveDefiniteError extends Error {
  constructor(n: number, pivot: number, value: number) {
    super(
      `Cholesky factorisation of a ${n} × ${n} matrix failed at pivot ${pivot} (value ${value.toPrecision(3)}): ` +
        'the matrix is not symmetric positive definite (a regularisation λ > 0 makes XᵀX + λI so)',
    );
    this.name = 'NotPositiveDefiniteError';
  }
}

/**
 * C[(off + i)·ldc + off + j] += alpha · Σ_{p<w} T[i·w + p] · T[j·w + p]   for 0 ≤ j ≤ i < rows
 * (the lower triangle of C's trailing block gets alpha · T Tᵀ). T is a packed rows × w panel. Each row i
 * is dotted with four rows j at once, so one load of T[i][p] feeds four multiply-adds.
 */
function syrkPanel(C: Float64Array, ldc: number, off: number, T: Float64Array, rows: number, w: number, alpha: number): void {
  for (let i = 0; i < rows; i++) {
    const ti = i * w;
    const ci = (off + i) * ldc + off;
    let j = 0;
    for (; j + 4 <= i + 1; j += 4) {
      const t0 = j * w;
      const t1 = t0 + w;
      const t2 = t1 + w;
      const t3 = t2 + w;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let p = 0; p < w; p++) {
        const a = T[ti + p];
        s0 += a * T[t0 + p];
        s1 += a * T[t1 + p];
        s2 += a * T[t2 + p];
        s3 += a * T[t3 + p];
      }
      C[ci + j] += alpha * s0;
      C[ci + j + 1] += alpha * s1;
      C[ci + j + 2] += alpha * s2;
      C[ci + j + 3] += alpha * s3;
    }
    for (; j <= i; j++) {
      const tj = j * w;
      let s = 0;
      for (let p = 0; p < w; p++) s += T[ti + p] * T[tj + p];
      C[ci + j] += alpha * s;
    }
  }
}

/**
 * In place, the lower Cholesky factor of the SPD matrix A (n × n, row-major): A = L Lᵀ, L written over
 * the lower triangle, the strict upper triangle zeroed. Blocked right-looking: for each 64-column panel,
 *   L_kk = chol(A_kk),   L_ik = A_ik L_kkᵀ⁻¹ (i below the panel),   A_ij −= L_ik L_jkᵀ (trailing, lower).
 * Only the lower triangle of A is read. Throws NotPositiveDefiniteError on a non-positive pivot.
 */
export function choleskyInPlace(A: Float64Array, n: number): void {
  if (A.length < n * n) throw new RangeError(`cholesky: a ${n} × ${n} matrix needs ${n * n} values, got ${A.length}`);
  // One panel only (n ≤ 64, the ALS systems) needs no trailing update, hence no packed copy.
  const panel = n > NB ? new Float64Array(n * NB) : new Float64Array(0);
  for (let k0 = 0; k0 < n; k0 += NB) {
    const k1 = Math.min(k0 + NB, n);
    const w = k1 - k0;
    // The panel's columns, unblocked (dot products within the panel only: earlier panels are applied).
    for (let j = k0; j < k1; j++) {
      const rj = j * n;
      let d = A[rj + j];
      for (let p = k0; p < j; p++) d -= A[rj + p] * A[rj + p];
      if (!(d > 0)) throw new NotPositiveDefiniteError(n, j, d);
      const ljj = Math.sqrt(d);
      A[rj + j] = ljj;
      for (let i = j + 1; i < n; i++) {
        const ri = i * n;
        let s = A[ri + j];
        for (let p = k0; p < j; p++) s -= A[ri + p] * A[rj + p];
        A[ri + j] = s / ljj;
      }
    }
    if (k1 === n) break;
    // Trailing update of the rows and columns after the panel, with the panel packed contiguously.
    const rows = n - k1;
    for (let i = 0; i < rows; i++) {
      const src = (k1 + i) * n + k0;
      for (let p = 0; p < w; p++) panel[i * w + p] = A[src + p];
    }
    syrkPanel(A, n, k1, panel, rows, w, -1);
  }
  for (let i = 0; i < n; i++) A.fill(0, i * n + i + 1, (i + 1) * n);
}

/**
 * Y[i][0 … len) −= Σ_{k ∈ [k0, k1)} L[i·n + k] · Y[k][0 … len), four k at a time so each Y[i][c] is loaded
 * and stored once per four rows.
 */
function subtractRows(L: Float64Array, n: number, Y: Float64Array, m: number, i: number, k0: number, k1: number, len: number): void {
  const yi = i * m;
  const li = i * n;
  let k = k0;
  for (; k + 4 <= k1; k += 4) {
    const a0 = L[li + k];
    const a1 = L[li + k + 1];
    const a2 = L[li + k + 2];
    const a3 = L[li + k + 3];
    if (a0 === 0 && a1 === 0 && a2 === 0 && a3 === 0) continue;
    const y0 = k * m;
    const y1 = y0 + m;
    const y2 = y1 + m;
    const y3 = y2 + m;
    for (let c = 0; c < len; c++) Y[yi + c] -= a0 * Y[y0 + c] + a1 * Y[y1 + c] + a2 * Y[y2 + c] + a3 * Y[y3 + c];
  }
  for (; k < k1; k++) {
    const a = L[li + k];
    if (a === 0) continue;
    const yk = k * m;
    for (let c = 0; c < len; c++) Y[yi + c] -= a * Y[yk + c];
  }
}

/**
 * In place, Y ← L⁻¹ Y for the lower-triangular L (n × n) and Y (n × m), both row-major: forward
 * substitution, Y[i] = (Y[i] − Σ_{k<i} L[i][k] Y[k]) / L[i][i], blocked over k so a block of Y's rows is
 * reused by a block of rows i while in cache. `lowerRhs`: Y is lower triangular (Y[k][c] = 0 for c > k, as
 * for Y = I), which holds for the result too; only the nonzero columns are then touched.
 */
export function forwardSubstituteInPlace(L: Float64Array, n: number, Y: Float64Array, m: number, lowerRhs = false): void {
  for (let i0 = 0; i0 < n; i0 += NB) {
    const i1 = Math.min(i0 + NB, n);
    for (let k0 = 0; k0 < i0; k0 += NB) {
      const k1 = k0 + NB;
      for (let i = i0; i < i1; i++) subtractRows(L, n, Y, m, i, k0, k1, lowerRhs ? Math.min(k1, m) : m);
    }
    for (let i = i0; i < i1; i++) {
      subtractRows(L, n, Y, m, i, i0, i, lowerRhs ? Math.min(i, m) : m);
      const inv = 1 / L[i * n + i];
      const end = lowerRhs ? Math.min(i + 1, m) : m;
      for (let c = 0; c < end; c++) Y[i * m + c] *= inv;
    }
  }
}

/**
 * C += alpha · Yᵀ Y (lower triangle of the m × m matrix C), Y row-major n × m: the rows of Y are taken 64
 * at a time, transposed into a packed m × 64 panel, and applied by `syrkPanel`. `lowerY`: Y is lower
 * triangular (n = m), so a panel of rows [k0, k1) only reaches columns below k1.
 */
export function addGramOfRows(C: Float64Array, Y: Float64Array, n: number, m: number, alpha: number, lowerY = false): void {
  const panel = new Float64Array(m * Math.min(NB, n));
  for (let k0 = 0; k0 < n; k0 += NB) {
    const k1 = Math.min(k0 + NB, n);
    const w = k1 - k0;
    const cols = lowerY ? Math.min(k1, m) : m;
    for (let p = 0; p < w; p++) {
      const yk = (k0 + p) * m;
      for (let c = 0; c < cols; c++) panel[c * w + p] = Y[yk + c];
    }
    syrkPanel(C, m, 0, panel, cols, w, alpha);
  }
}

/** Copies the lower triangle of the n × n matrix A onto its upper triangle. */
export function mirrorLower(A: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) A[j * n + i] = A[i * n + j];
}

/**
 * A⁻¹ of the SPD matrix A (n × n), full (both triangles), overwriting A. With A = L Lᵀ and W = L⁻¹,
 *   A⁻¹ = Wᵀ W.
 * Work ≈ n³/2 multiply-adds; memory: A plus one n × n array.
 */
export function spdInverseInPlace(A: Float64Array, n: number): Float64Array {
  choleskyInPlace(A, n);
  const W = new Float64Array(n * n);
  for (let i = 0; i < n; i++) W[i * n + i] = 1;
  forwardSubstituteInPlace(A, n, W, n, true);
  A.fill(0);
  addGramOfRows(A, W, n, n, 1, true);
  mirrorLower(A, n);
  return A;
}

/**
 * Solves A x = b for the SPD matrix A (n × n, overwritten by its Cholesky factor) and b (overwritten by
 * x): L y = b, then Lᵀ x = y. For the small F × F systems of implicit ALS.
 */
export function choleskySolveInPlace(A: Float64Array, n: number, b: Float64Array): Float64Array {
  choleskyInPlace(A, n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    const ri = i * n;
    for (let k = 0; k < i; k++) s -= A[ri + k] * b[k];
    b[i] = s / A[ri + i];
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i];
    for (let k = i + 1; k < n; k++) s -= A[k * n + i] * b[k];
    b[i] = s / A[i * n + i];
  }
  return b;
}
