/**
 * The pruned top-k's bound of p(watch) from an 8-bit copy of the implicit RBM's weights (../watchBounds.ts
 * quantises, plans the memory and derives the slack), in AssemblyScript compiled to WebAssembly with
 * 128-bit SIMD by scripts/build-wasm.ts into boundKernels.wasm.
 *
 * Why: serving a list computes p(watch) of every item only to bound the score (model/prunedTopK.ts); the
 * exact logits of the few items the bound cannot rule out are computed apart (ImplicitRbm.logitsOfItems).
 * The float32 product reads all of W per request (I × F × 4 bytes: 37.8 MB at 59,047 items and 160
 * units), more than the L3 cache; the 8-bit copy is a quarter of that, and i32x4.dot_i16x8_s does eight
 * multiply-adds an instruction.
 *
 * For item i with W_i = s_i q_i + e_i (q_i 8-bit, |e_ij| ≤ r_i) and the user's hidden row ĥ = t h + d
 * (h 16-bit, |d_j| ≤ d_max), the exact logit z_i = b_i + Σ_j W_ij ĥ_j satisfies
 *
 *   z_i ≤ b_i + s_i t Σ_j q_ij h_j + α_i ‖ĥ‖₁ + β_i d_max + γ_i
 *
 * with α_i ≥ r_i (plus float32 rounding's share), β_i ≥ s_i Σ_j |q_ij|, γ_i the rounding of b_i: the
 * integer sum is exact (its range is planned so that it cannot overflow), the rest is slack. The bound of
 * p(watch) is then σ's table upper bound of that logit, as rbm/implicit.ts sigmoidUpperBounds computes it.
 *
 * Layout (byte offsets, planned in JavaScript): q is I rows of Fp bytes (Fp a multiple of 16, the padding
 * zero); h is Fp int16; s, b, alpha, beta, gamma and out are I float32; table is steps + 1 float64.
 */

@inline
function finish(
  acc: v128,
  i: i32,
  b: usize,
  s: usize,
  alpha: usize,
  beta: usize,
  gamma: usize,
  t: f32,
  l1: f32,
  dmax: f32,
  table: usize,
  steps: i32,
  out: usize,
): void {
  const sum = i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) + (i32x4.extract_lane(acc, 2) + i32x4.extract_lane(acc, 3));
  const at = <usize>i << 2;
  const z: f32 =
    load<f32>(b + at) + load<f32>(s + at) * (t * <f32>sum) + (load<f32>(alpha + at) * l1 + load<f32>(beta + at) * dmax + load<f32>(gamma + at));
  // σ's upper bound from the table of step upper edges: the step m = ⌈256 (z + 32)⌉ (in double, exact).
  const m = Math.ceil((<f64>z + 32.0) * 256.0);
  let p: f64;
  if (m <= 0) p = load<f64>(table);
  else if (m <= <f64>steps) p = load<f64>(table + (<usize>(<i32>m) << 3));
  else p = z == z ? 1.0 : NaN;
  store<f32>(out + at, <f32>p);
}

@inline
function dot16(acc: v128, v: v128, h0: v128, h1: v128): v128 {
  return i32x4.add(
    acc,
    i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v), h0), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(v), h1)),
  );
}

/** out[i] ≥ fround(σ(z_i)) for each of the I items: the bound above, four items at a time. */
export function watchBounds(
  q: usize,
  I: i32,
  Fp: i32,
  h: usize,
  s: usize,
  b: usize,
  alpha: usize,
  beta: usize,
  gamma: usize,
  t: f32,
  l1: f32,
  dmax: f32,
  table: usize,
  steps: i32,
  out: usize,
): void {
  const row = <usize>Fp;
  let i = 0;
  for (; i + 4 <= I; i += 4) {
    const r0 = q + <usize>i * row;
    let a0 = i32x4.splat(0);
    let a1 = i32x4.splat(0);
    let a2 = i32x4.splat(0);
    let a3 = i32x4.splat(0);
    for (let j = 0; j < Fp; j += 16) {
      const hj = h + (<usize>j << 1);
      const h0 = v128.load(hj);
      const h1 = v128.load(hj + 16);
      const x = r0 + <usize>j;
      a0 = dot16(a0, v128.load(x), h0, h1);
      a1 = dot16(a1, v128.load(x + row), h0, h1);
      a2 = dot16(a2, v128.load(x + 2 * row), h0, h1);
      a3 = dot16(a3, v128.load(x + 3 * row), h0, h1);
    }
    finish(a0, i, b, s, alpha, beta, gamma, t, l1, dmax, table, steps, out);
    finish(a1, i + 1, b, s, alpha, beta, gamma, t, l1, dmax, table, steps, out);
    finish(a2, i + 2, b, s, alpha, beta, gamma, t, l1, dmax, table, steps, out);
    finish(a3, i + 3, b, s, alpha, beta, gamma, t, l1, dmax, table, steps, out);
  }
  for (; i < I; i++) {
    const r0 = q + <usize>i * row;
    let a0 = i32x4.splat(0);
    for (let j = 0; j < Fp; j += 16) {
      const hj = h + (<usize>j << 1);
      a0 = dot16(a0, v128.load(r0 + <usize>j), v128.load(hj), v128.load(hj + 16));
    }
    finish(a0, i, b, s, alpha, beta, gamma, t, l1, dmax, table, steps, out);
  }
}
