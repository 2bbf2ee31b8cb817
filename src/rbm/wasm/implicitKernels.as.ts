/**
 * Dense kernels of the implicit RBM's training (../implicitShared.ts), in AssemblyScript compiled to
 * WebAssembly with 128-bit SIMD (f32x4) by scripts/build-wasm.ts into implicitKernels.wasm.
 *
 * Unlike cdKernels, this module owns no state: it imports one shared WebAssembly.Memory, laid out by the
 * JavaScript planner (implicitShared.ts), and every export takes byte offsets into it. So every worker
 * thread instantiates the same module over the same memory and works on its share of each mini-batch
 * in place: no copies of the weights between threads.
 *
 * Layouts (float32, row-major): a "rows" block Wr is R rows of F floats (row r at Wr + 4·r·F); a case
 * block H is B rows of F floats; a case × row matrix V has B rows of `stride` floats.
 *
 * The products are blocked for registers (x86 has 16 SIMD registers): 4 cases × 2 rows of dot products,
 * 4 cases × 8 columns of row combinations, 4 rows × 8 columns of the gradient. Summation orders are
 * fixed by the shapes alone, never by which thread runs a call: results do not depend on the thread count.
 */

/** σ(z) = 1 / (1 + e^{−z}) on four lanes, e^x by range reduction x = k ln 2 + r and Cephes' expf polynomial. */
@inline
function sigmoid4(z: v128): v128 {
  let x = f32x4.neg(z);
  x = f32x4.min(f32x4.max(x, f32x4.splat(-87.0)), f32x4.splat(87.0));
  const k = f32x4.nearest(f32x4.mul(x, f32x4.splat(1.44269504088896341)));
  let r = f32x4.sub(x, f32x4.mul(k, f32x4.splat(0.693359375)));
  r = f32x4.add(r, f32x4.mul(k, f32x4.splat(2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1.0));
  const pow2 = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(k), i32x4.splat(127)), 23);
  return f32x4.div(f32x4.splat(1.0), f32x4.add(f32x4.splat(1.0), f32x4.mul(p, pow2)));
}

@inline
function sigmoid1(z: f32): f32 {
  return f32x4.extract_lane(sigmoid4(f32x4.splat(z)), 0);
}

@inline
function hsum(a: v128): f32 {
  return f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 1) + (f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3));
}

/**
 * out[n·stride + r] = bias[r] + Σ_j H[n, j] · Wr[r, j] for n < B, r < R (bias = 0: no bias).
 * The visible logits of a block of rows (W Hᵀ + b, transposed), and the scores of validation users.
 */
export function logits(H: usize, B: i32, F: i32, Wr: usize, R: i32, bias: usize, out: usize, stride: i32): void {
  const rowBytes = <usize>F << 2;
  const f4 = <usize>(F & ~3) << 2;
  const outRow = <usize>stride << 2;
  for (let r = 0; r < R; r += 2) {
    const two = r + 1 < R;
    const w0 = Wr + <usize>r * rowBytes;
    const w1 = two ? w0 + rowBytes : w0;
    const b0: f32 = bias ? load<f32>(bias + (<usize>r << 2)) : 0;
    const b1: f32 = bias && two ? load<f32>(bias + (<usize>(r + 1) << 2)) : 0;
    let n = 0;
    for (; n + 4 <= B; n += 4) {
      const h0 = H + <usize>n * rowBytes;
      const h1 = h0 + rowBytes;
      const h2 = h1 + rowBytes;
      const h3 = h2 + rowBytes;
      let a00 = f32x4.splat(0), a01 = f32x4.splat(0), a10 = f32x4.splat(0), a11 = f32x4.splat(0);
      let a20 = f32x4.splat(0), a21 = f32x4.splat(0), a30 = f32x4.splat(0), a31 = f32x4.splat(0);
      for (let j: usize = 0; j < f4; j += 16) {
        const x0 = v128.load(w0 + j);
        const x1 = v128.load(w1 + j);
        let y = v128.load(h0 + j);
        a00 = f32x4.add(a00, f32x4.mul(y, x0));
        a01 = f32x4.add(a01, f32x4.mul(y, x1));
        y = v128.load(h1 + j);
        a10 = f32x4.add(a10, f32x4.mul(y, x0));
        a11 = f32x4.add(a11, f32x4.mul(y, x1));
        y = v128.load(h2 + j);
        a20 = f32x4.add(a20, f32x4.mul(y, x0));
        a21 = f32x4.add(a21, f32x4.mul(y, x1));
        y = v128.load(h3 + j);
        a30 = f32x4.add(a30, f32x4.mul(y, x0));
        a31 = f32x4.add(a31, f32x4.mul(y, x1));
      }
      let s00 = hsum(a00), s01 = hsum(a01), s10 = hsum(a10), s11 = hsum(a11);
      let s20 = hsum(a20), s21 = hsum(a21), s30 = hsum(a30), s31 = hsum(a31);
      for (let j: usize = f4; j < rowBytes; j += 4) {
        const x0 = load<f32>(w0 + j);
        const x1 = load<f32>(w1 + j);
        s00 += load<f32>(h0 + j) * x0;
        s01 += load<f32>(h0 + j) * x1;
        s10 += load<f32>(h1 + j) * x0;
        s11 += load<f32>(h1 + j) * x1;
        s20 += load<f32>(h2 + j) * x0;
        s21 += load<f32>(h2 + j) * x1;
        s30 += load<f32>(h3 + j) * x0;
        s31 += load<f32>(h3 + j) * x1;
      }
      const o = out + (<usize>n * outRow) + (<usize>r << 2);
      store<f32>(o, b0 + s00);
      store<f32>(o + outRow, b0 + s10);
      store<f32>(o + 2 * outRow, b0 + s20);
      store<f32>(o + 3 * outRow, b0 + s30);
      if (two) {
        store<f32>(o + 4, b1 + s01);
        store<f32>(o + outRow + 4, b1 + s11);
        store<f32>(o + 2 * outRow + 4, b1 + s21);
        store<f32>(o + 3 * outRow + 4, b1 + s31);
      }
    }
    for (; n < B; n++) {
      const h0 = H + <usize>n * rowBytes;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
      for (let j: usize = 0; j < f4; j += 16) {
        const y = v128.load(h0 + j);
        a0 = f32x4.add(a0, f32x4.mul(y, v128.load(w0 + j)));
        a1 = f32x4.add(a1, f32x4.mul(y, v128.load(w1 + j)));
      }
      let s0 = hsum(a0), s1 = hsum(a1);
      for (let j: usize = f4; j < rowBytes; j += 4) {
        s0 += load<f32>(h0 + j) * load<f32>(w0 + j);
        s1 += load<f32>(h0 + j) * load<f32>(w1 + j);
      }
      const o = out + (<usize>n * outRow) + (<usize>r << 2);
      store<f32>(o, b0 + s0);
      if (two) store<f32>(o + 4, b1 + s1);
    }
  }
}

/**
 * V[n, r] ← ω_r σ(V[n, r]) in place for n < B, r < R (ω ≡ 1 when omega = 0); returns Σ ω_r σ(V[n, r])².
 */
export function sigmoidRows(V: usize, B: i32, R: i32, stride: i32, omega: usize): f64 {
  const r4 = R & ~3;
  let total: f64 = 0;
  for (let n = 0; n < B; n++) {
    const row = V + ((<usize>n * <usize>stride) << 2);
    let acc = f32x4.splat(0);
    for (let r = 0; r < r4; r += 4) {
      const p = row + (<usize>r << 2);
      const s = sigmoid4(v128.load(p));
      const w = omega ? v128.load(omega + (<usize>r << 2)) : f32x4.splat(1);
      const ws = f32x4.mul(w, s);
      acc = f32x4.add(acc, f32x4.mul(ws, s));
      v128.store(p, ws);
    }
    let sum: f64 = <f64>hsum(acc);
    for (let r = r4; r < R; r++) {
      const p = row + (<usize>r << 2);
      const s = sigmoid1(load<f32>(p));
      const w: f32 = omega ? load<f32>(omega + (<usize>r << 2)) : 1;
      store<f32>(p, w * s);
      sum += <f64>(w * s * s);
    }
    total += sum;
  }
  return total;
}

/** x[n] ← σ(x[n]) for n < count. */
export function sigmoidInPlace(x: usize, count: i32): void {
  const c4 = count & ~3;
  for (let n = 0; n < c4; n += 4) v128.store(x + (<usize>n << 2), sigmoid4(v128.load(x + (<usize>n << 2))));
  for (let n = c4; n < count; n++) store<f32>(x + (<usize>n << 2), sigmoid1(load<f32>(x + (<usize>n << 2))));
}

/**
 * Q[n, j] = Σ_{r<R} V[n, r] · Wr[r, j] (overwrites Q, B × F): each case's combination of the rows, the
 * hidden input of the negative phase from a block of rows.
 */
export function combineRows(V: usize, B: i32, stride: i32, Wr: usize, R: i32, F: i32, Q: usize): void {
  const rowBytes = <usize>F << 2;
  const vRow = <usize>stride << 2;
  const f8 = F & ~7;
  let n = 0;
  for (; n + 4 <= B; n += 4) {
    const v0 = V + <usize>n * vRow;
    const v1 = v0 + vRow;
    const v2 = v1 + vRow;
    const v3 = v2 + vRow;
    const q0 = Q + <usize>n * rowBytes;
    for (let j = 0; j < f8; j += 8) {
      const jb = <usize>j << 2;
      let a00 = f32x4.splat(0), a01 = f32x4.splat(0), a10 = f32x4.splat(0), a11 = f32x4.splat(0);
      let a20 = f32x4.splat(0), a21 = f32x4.splat(0), a30 = f32x4.splat(0), a31 = f32x4.splat(0);
      let w = Wr + jb;
      for (let r = 0; r < R; r++, w += rowBytes) {
        const x0 = v128.load(w);
        const x1 = v128.load(w + 16);
        const rb = <usize>r << 2;
        let s = f32x4.splat(load<f32>(v0 + rb));
        a00 = f32x4.add(a00, f32x4.mul(s, x0));
        a01 = f32x4.add(a01, f32x4.mul(s, x1));
        s = f32x4.splat(load<f32>(v1 + rb));
        a10 = f32x4.add(a10, f32x4.mul(s, x0));
        a11 = f32x4.add(a11, f32x4.mul(s, x1));
        s = f32x4.splat(load<f32>(v2 + rb));
        a20 = f32x4.add(a20, f32x4.mul(s, x0));
        a21 = f32x4.add(a21, f32x4.mul(s, x1));
        s = f32x4.splat(load<f32>(v3 + rb));
        a30 = f32x4.add(a30, f32x4.mul(s, x0));
        a31 = f32x4.add(a31, f32x4.mul(s, x1));
      }
      v128.store(q0 + jb, a00);
      v128.store(q0 + jb + 16, a01);
      v128.store(q0 + rowBytes + jb, a10);
      v128.store(q0 + rowBytes + jb + 16, a11);
      v128.store(q0 + 2 * rowBytes + jb, a20);
      v128.store(q0 + 2 * rowBytes + jb + 16, a21);
      v128.store(q0 + 3 * rowBytes + jb, a30);
      v128.store(q0 + 3 * rowBytes + jb + 16, a31);
    }
    for (let j = f8; j < F; j++) {
      const jb = <usize>j << 2;
      let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
      for (let r = 0; r < R; r++) {
        const x = load<f32>(Wr + <usize>r * rowBytes + jb);
        const rb = <usize>r << 2;
        s0 += load<f32>(v0 + rb) * x;
        s1 += load<f32>(v1 + rb) * x;
        s2 += load<f32>(v2 + rb) * x;
        s3 += load<f32>(v3 + rb) * x;
      }
      store<f32>(q0 + jb, s0);
      store<f32>(q0 + rowBytes + jb, s1);
      store<f32>(q0 + 2 * rowBytes + jb, s2);
      store<f32>(q0 + 3 * rowBytes + jb, s3);
    }
  }
  for (; n < B; n++) {
    const v0 = V + <usize>n * vRow;
    const q0 = Q + <usize>n * rowBytes;
    for (let j = 0; j < f8; j += 8) {
      const jb = <usize>j << 2;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
      let w = Wr + jb;
      for (let r = 0; r < R; r++, w += rowBytes) {
        const s = f32x4.splat(load<f32>(v0 + (<usize>r << 2)));
        a0 = f32x4.add(a0, f32x4.mul(s, v128.load(w)));
        a1 = f32x4.add(a1, f32x4.mul(s, v128.load(w + 16)));
      }
      v128.store(q0 + jb, a0);
      v128.store(q0 + jb + 16, a1);
    }
    for (let j = f8; j < F; j++) {
      const jb = <usize>j << 2;
      let s0: f32 = 0;
      for (let r = 0; r < R; r++) s0 += load<f32>(v0 + (<usize>r << 2)) * load<f32>(Wr + <usize>r * rowBytes + jb);
      store<f32>(q0 + jb, s0);
    }
  }
}

/**
 * The negative statistics of a block of rows: G[r, j] = −Σ_{n<B} V[n, r] · Q[n, j] and gb[r] = −Σ_n V[n, r]
 * (overwrites G's R rows and gb's R entries), cases summed in order.
 */
export function negativeRows(V: usize, B: i32, stride: i32, Q: usize, F: i32, R: i32, G: usize, gb: usize): void {
  const rowBytes = <usize>F << 2;
  const vRow = <usize>stride << 2;
  const f8 = F & ~7;
  for (let r = 0; r < R; r++) store<f32>(gb + (<usize>r << 2), 0);
  for (let r0 = 0; r0 < R; r0 += 4) {
    const rows = min(4, R - r0);
    if (rows === 4) {
      const g0 = G + <usize>r0 * rowBytes;
      const vb = V + (<usize>r0 << 2);
      let colSum = f32x4.splat(0);
      for (let j = 0; j < f8; j += 8) {
        const jb = <usize>j << 2;
        let a00 = f32x4.splat(0), a01 = f32x4.splat(0), a10 = f32x4.splat(0), a11 = f32x4.splat(0);
        let a20 = f32x4.splat(0), a21 = f32x4.splat(0), a30 = f32x4.splat(0), a31 = f32x4.splat(0);
        let q = Q + jb;
        let v = vb;
        for (let n = 0; n < B; n++, q += rowBytes, v += vRow) {
          const x0 = v128.load(q);
          const x1 = v128.load(q + 16);
          const vv = v128.load(v);
          if (j === 0) colSum = f32x4.add(colSum, vv);
          let s = f32x4.splat(f32x4.extract_lane(vv, 0));
          a00 = f32x4.add(a00, f32x4.mul(s, x0));
          a01 = f32x4.add(a01, f32x4.mul(s, x1));
          s = f32x4.splat(f32x4.extract_lane(vv, 1));
          a10 = f32x4.add(a10, f32x4.mul(s, x0));
          a11 = f32x4.add(a11, f32x4.mul(s, x1));
          s = f32x4.splat(f32x4.extract_lane(vv, 2));
          a20 = f32x4.add(a20, f32x4.mul(s, x0));
          a21 = f32x4.add(a21, f32x4.mul(s, x1));
          s = f32x4.splat(f32x4.extract_lane(vv, 3));
          a30 = f32x4.add(a30, f32x4.mul(s, x0));
          a31 = f32x4.add(a31, f32x4.mul(s, x1));
        }
        v128.store(g0 + jb, f32x4.neg(a00));
        v128.store(g0 + jb + 16, f32x4.neg(a01));
        v128.store(g0 + rowBytes + jb, f32x4.neg(a10));
        v128.store(g0 + rowBytes + jb + 16, f32x4.neg(a11));
        v128.store(g0 + 2 * rowBytes + jb, f32x4.neg(a20));
        v128.store(g0 + 2 * rowBytes + jb + 16, f32x4.neg(a21));
        v128.store(g0 + 3 * rowBytes + jb, f32x4.neg(a30));
        v128.store(g0 + 3 * rowBytes + jb + 16, f32x4.neg(a31));
      }
      if (f8 === 0) for (let n = 0; n < B; n++) colSum = f32x4.add(colSum, v128.load(vb + <usize>n * vRow));
      v128.store(gb + (<usize>r0 << 2), f32x4.neg(colSum));
      for (let j = f8; j < F; j++) {
        const jb = <usize>j << 2;
        for (let k = 0; k < 4; k++) {
          let s: f32 = 0;
          for (let n = 0; n < B; n++) s += load<f32>(vb + <usize>n * vRow + (<usize>k << 2)) * load<f32>(Q + <usize>n * rowBytes + jb);
          store<f32>(g0 + <usize>k * rowBytes + jb, -s);
        }
      }
    } else {
      for (let k = 0; k < rows; k++) {
        const r = r0 + k;
        const g0 = G + <usize>r * rowBytes;
        const vb = V + (<usize>r << 2);
        let col: f32 = 0;
        for (let n = 0; n < B; n++) col += load<f32>(vb + <usize>n * vRow);
        store<f32>(gb + (<usize>r << 2), -col);
        for (let j = 0; j < f8; j += 8) {
          const jb = <usize>j << 2;
          let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
          for (let n = 0; n < B; n++) {
            const s = f32x4.splat(load<f32>(vb + <usize>n * vRow));
            const q = Q + <usize>n * rowBytes + jb;
            a0 = f32x4.add(a0, f32x4.mul(s, v128.load(q)));
            a1 = f32x4.add(a1, f32x4.mul(s, v128.load(q + 16)));
          }
          v128.store(g0 + jb, f32x4.neg(a0));
          v128.store(g0 + jb + 16, f32x4.neg(a1));
        }
        for (let j = f8; j < F; j++) {
          const jb = <usize>j << 2;
          let s: f32 = 0;
          for (let n = 0; n < B; n++) s += load<f32>(vb + <usize>n * vRow) * load<f32>(Q + <usize>n * rowBytes + jb);
          store<f32>(g0 + jb, -s);
        }
      }
    }
  }
}

/**
 * p = σ(c + s Σ_{e ∈ [start, end)} W[cols[e]]): the (activity-scaled) hidden probabilities of a case from
 * its rated rows, in F floats at `out`; with `linear` ≠ 0 (Gaussian hidden units) the means
 * c + s Σ W[cols[e]] themselves, without σ.
 */
export function hiddenOfRows(W: usize, F: i32, cols: usize, start: i32, end: i32, c: usize, scale: f32, out: usize, linear: i32): void {
  const rowBytes = <usize>F << 2;
  const f4 = <usize>(F & ~3) << 2;
  for (let j: usize = 0; j < rowBytes; j += 4) store<f32>(out + j, 0);
  for (let e = start; e < end; e++) {
    const w = W + <usize>load<i32>(cols + (<usize>e << 2)) * rowBytes;
    let j: usize = 0;
    for (; j < f4; j += 16) v128.store(out + j, f32x4.add(v128.load(out + j), v128.load(w + j)));
    for (; j < rowBytes; j += 4) store<f32>(out + j, load<f32>(out + j) + load<f32>(w + j));
  }
  const s = f32x4.splat(scale);
  let j: usize = 0;
  if (linear) {
    for (; j < f4; j += 16) v128.store(out + j, f32x4.add(v128.load(c + j), f32x4.mul(s, v128.load(out + j))));
    for (; j < rowBytes; j += 4) store<f32>(out + j, load<f32>(c + j) + scale * load<f32>(out + j));
    return;
  }
  for (; j < f4; j += 16) v128.store(out + j, sigmoid4(f32x4.add(v128.load(c + j), f32x4.mul(s, v128.load(out + j)))));
  for (; j < rowBytes; j += 4) store<f32>(out + j, sigmoid1(load<f32>(c + j) + scale * load<f32>(out + j)));
}

/**
 * A case's negative phase on its own rated rows (the sampled engine's exact part): for e ∈ [start, end),
 * v_e = σ(b_i + h · W_i) with i = cols[e], stored at vOut[e − start], and Q += Σ_e v_e W_i. Returns
 * Σ_e (1 − v_e)², the rated items' share of the reconstruction error.
 */
export function ratedNegative(h: usize, F: i32, W: usize, b: usize, cols: usize, start: i32, end: i32, vOut: usize, Q: usize): f64 {
  const rowBytes = <usize>F << 2;
  const f4 = <usize>(F & ~3) << 2;
  let err: f64 = 0;
  for (let e = start; e < end; e++) {
    const i = <usize>load<i32>(cols + (<usize>e << 2));
    const w = W + i * rowBytes;
    let acc = f32x4.splat(0);
    let j: usize = 0;
    for (; j < f4; j += 16) acc = f32x4.add(acc, f32x4.mul(v128.load(h + j), v128.load(w + j)));
    let x = hsum(acc);
    for (; j < rowBytes; j += 4) x += load<f32>(h + j) * load<f32>(w + j);
    const v = sigmoid1(load<f32>(b + (i << 2)) + x);
    store<f32>(vOut + (<usize>(e - start) << 2), v);
    err += <f64>((1 - v) * (1 - v));
    const vs = f32x4.splat(v);
    j = 0;
    for (; j < f4; j += 16) v128.store(Q + j, f32x4.add(v128.load(Q + j), f32x4.mul(vs, v128.load(w + j))));
    for (; j < rowBytes; j += 4) store<f32>(Q + j, load<f32>(Q + j) + v * load<f32>(w + j));
  }
  return err;
}

/** dst[j] += p[j] − v · q[j] for j < F: one rated entry's positive term and its exact negative term. */
export function addEntry(dst: usize, p: usize, q: usize, v: f32, F: i32): void {
  const bytes = <usize>F << 2;
  const f4 = <usize>(F & ~3) << 2;
  const vs = f32x4.splat(v);
  let j: usize = 0;
  for (; j < f4; j += 16) v128.store(dst + j, f32x4.add(v128.load(dst + j), f32x4.sub(v128.load(p + j), f32x4.mul(vs, v128.load(q + j)))));
  for (; j < bytes; j += 4) store<f32>(dst + j, load<f32>(dst + j) + (load<f32>(p + j) - v * load<f32>(q + j)));
}

/** dst[j] += Σ_{k<parts} src[k·partStride + j] for j < count, parts added in order. */
export function addParts(dst: usize, src: usize, parts: i32, partStride: i32, count: i32): void {
  const bytes = <usize>count << 2;
  const c4 = <usize>(count & ~3) << 2;
  const stride = <usize>partStride << 2;
  for (let k = 0; k < parts; k++) {
    const s = src + <usize>k * stride;
    let j: usize = 0;
    for (; j < c4; j += 16) v128.store(dst + j, f32x4.add(v128.load(dst + j), v128.load(s + j)));
    for (; j < bytes; j += 4) store<f32>(dst + j, load<f32>(dst + j) + load<f32>(s + j));
  }
}

/** Rows[k] = W[items[k]] for k < count (F floats each), and bk[k] = b[items[k]]. */
export function gatherRows(W: usize, b: usize, F: i32, items: usize, count: i32, rows: usize, bk: usize): void {
  const rowBytes = <usize>F << 2;
  for (let k = 0; k < count; k++) {
    const i = <usize>load<i32>(items + (<usize>k << 2));
    memory.copy(rows + <usize>k * rowBytes, W + i * rowBytes, rowBytes);
    store<f32>(bk + (<usize>k << 2), load<f32>(b + (i << 2)));
  }
}

/**
 * The momentum step of rows [i0, i1) (weight decay λ on W only):
 *   Δθ ← μ Δθ + ε (g / B − λ θ),   θ ← θ + Δθ
 * with g the row's gradient G[slot[i]] and gb[slot[i]] when slot[i] ≥ 0, else g = 0 (a row the batch did
 * not touch still decays and keeps its momentum). `scale` is 1/B. With `clearSlots`, slot[i] ← −1 after.
 */
export function updateRows(
  W: usize,
  inc: usize,
  b: usize,
  incb: usize,
  i0: i32,
  i1: i32,
  F: i32,
  slot: usize,
  G: usize,
  gb: usize,
  lr: f32,
  mu: f32,
  decay: f32,
  scale: f32,
  clearSlots: i32,
): void {
  const rowBytes = <usize>F << 2;
  const f4 = <usize>(F & ~3) << 2;
  const m = f32x4.splat(mu);
  const e = f32x4.splat(lr);
  const d = f32x4.splat(decay);
  const sc = f32x4.splat(scale);
  for (let i = i0; i < i1; i++) {
    const sp = slot + (<usize>i << 2);
    const s = load<i32>(sp);
    const w = W + <usize>i * rowBytes;
    const v = inc + <usize>i * rowBytes;
    const bp = b + (<usize>i << 2);
    const vbp = incb + (<usize>i << 2);
    let j: usize = 0;
    if (s >= 0) {
      const g = G + <usize>s * rowBytes;
      for (; j < f4; j += 16) {
        const x = v128.load(w + j);
        const nv = f32x4.add(f32x4.mul(m, v128.load(v + j)), f32x4.mul(e, f32x4.sub(f32x4.mul(v128.load(g + j), sc), f32x4.mul(d, x))));
        v128.store(v + j, nv);
        v128.store(w + j, f32x4.add(x, nv));
      }
      for (; j < rowBytes; j += 4) {
        const x = load<f32>(w + j);
        const nv = mu * load<f32>(v + j) + lr * (load<f32>(g + j) * scale - decay * x);
        store<f32>(v + j, nv);
        store<f32>(w + j, x + nv);
      }
      const nb = mu * load<f32>(vbp) + lr * load<f32>(gb + (<usize>s << 2)) * scale;
      store<f32>(vbp, nb);
      store<f32>(bp, load<f32>(bp) + nb);
      if (clearSlots) store<i32>(sp, -1);
    } else {
      const ed = f32x4.mul(e, d);
      for (; j < f4; j += 16) {
        const x = v128.load(w + j);
        const nv = f32x4.sub(f32x4.mul(m, v128.load(v + j)), f32x4.mul(ed, x));
        v128.store(v + j, nv);
        v128.store(w + j, f32x4.add(x, nv));
      }
      for (; j < rowBytes; j += 4) {
        const x = load<f32>(w + j);
        const nv = mu * load<f32>(v + j) - lr * decay * x;
        store<f32>(v + j, nv);
        store<f32>(w + j, x + nv);
      }
      const nb = mu * load<f32>(vbp);
      store<f32>(vbp, nb);
      store<f32>(bp, load<f32>(bp) + nb);
    }
  }
}

/**
 * Lazy decay (the sampled negative phase): a row no batch touched for k steps took k gradient-free momentum
 * steps, a linear map of (θ, Δθ) applied at once,
 *   (W, ΔW) ← A^k (W, ΔW),   A = [[1 − ελ, μ], [−ελ, μ]];   (b, Δb) ← (b + (μ + … + μ^k) Δb, μ^k Δb)
 * with A^k's entries and the b coefficients at pow + 24·k (6 floats: a, b, c, d, β_k, μ^k). Catches up
 * rows items[x] (or x itself when items = 0) for x ∈ [from, to) from lastStep[i] to `step`.
 */
export function catchUp(
  W: usize,
  inc: usize,
  b: usize,
  incb: usize,
  F: i32,
  lastStep: usize,
  items: usize,
  from: i32,
  to: i32,
  step: i32,
  pow: usize,
): void {
  const rowBytes = <usize>F << 2;
  const f4 = <usize>(F & ~3) << 2;
  for (let x = from; x < to; x++) {
    const i = items ? load<i32>(items + (<usize>x << 2)) : x;
    const lp = lastStep + (<usize>i << 2);
    const k = step - load<i32>(lp);
    if (k <= 0) continue;
    store<i32>(lp, step);
    const p = pow + <usize>k * 24;
    const a = load<f32>(p);
    const bw = load<f32>(p, 4);
    const c = load<f32>(p, 8);
    const d = load<f32>(p, 12);
    const av = f32x4.splat(a);
    const bv = f32x4.splat(bw);
    const cv = f32x4.splat(c);
    const dv = f32x4.splat(d);
    const w = W + <usize>i * rowBytes;
    const v = inc + <usize>i * rowBytes;
    let j: usize = 0;
    for (; j < f4; j += 16) {
      const x0 = v128.load(w + j);
      const y0 = v128.load(v + j);
      v128.store(w + j, f32x4.add(f32x4.mul(av, x0), f32x4.mul(bv, y0)));
      v128.store(v + j, f32x4.add(f32x4.mul(cv, x0), f32x4.mul(dv, y0)));
    }
    for (; j < rowBytes; j += 4) {
      const x0 = load<f32>(w + j);
      const y0 = load<f32>(v + j);
      store<f32>(w + j, a * x0 + bw * y0);
      store<f32>(v + j, c * x0 + d * y0);
    }
    const vb = load<f32>(incb + (<usize>i << 2));
    store<f32>(b + (<usize>i << 2), load<f32>(b + (<usize>i << 2)) + load<f32>(p, 16) * vb);
    store<f32>(incb + (<usize>i << 2), load<f32>(p, 20) * vb);
  }
}

/**
 * The momentum step of the rows of slots [s0, s1) (items slotItems[s], gradient G[s], gb[s]), as updateRows
 * does for a touched row; then slot[i] ← −1 and lastStep[i] ← step (the row is current after this step).
 */
export function updateSlots(
  W: usize,
  inc: usize,
  b: usize,
  incb: usize,
  F: i32,
  slotItems: usize,
  s0: i32,
  s1: i32,
  G: usize,
  gb: usize,
  lr: f32,
  mu: f32,
  decay: f32,
  scale: f32,
  slot: usize,
  lastStep: usize,
  step: i32,
): void {
  const rowBytes = <usize>F << 2;
  const f4 = <usize>(F & ~3) << 2;
  const m = f32x4.splat(mu);
  const e = f32x4.splat(lr);
  const dd = f32x4.splat(decay);
  const sc = f32x4.splat(scale);
  for (let s = s0; s < s1; s++) {
    const i = <usize>load<i32>(slotItems + (<usize>s << 2));
    const w = W + i * rowBytes;
    const v = inc + i * rowBytes;
    const g = G + <usize>s * rowBytes;
    let j: usize = 0;
    for (; j < f4; j += 16) {
      const x = v128.load(w + j);
      const nv = f32x4.add(f32x4.mul(m, v128.load(v + j)), f32x4.mul(e, f32x4.sub(f32x4.mul(v128.load(g + j), sc), f32x4.mul(dd, x))));
      v128.store(v + j, nv);
      v128.store(w + j, f32x4.add(x, nv));
    }
    for (; j < rowBytes; j += 4) {
      const x = load<f32>(w + j);
      const nv = mu * load<f32>(v + j) + lr * (load<f32>(g + j) * scale - decay * x);
      store<f32>(v + j, nv);
      store<f32>(w + j, x + nv);
    }
    const nb = mu * load<f32>(incb + (i << 2)) + lr * load<f32>(gb + (<usize>s << 2)) * scale;
    store<f32>(incb + (i << 2), nb);
    store<f32>(b + (i << 2), load<f32>(b + (i << 2)) + nb);
    store<i32>(slot + (i << 2), -1);
    store<i32>(lastStep + (i << 2), step);
  }
}
