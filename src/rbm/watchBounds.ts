/**
 * p(watch) = σ(z) of the implicit RBM, and upper bounds of it for the exact pruned top-k
 * (model/prunedTopK.ts): a table bound of σ (sigmoidUpperBounds), and the bound of every item's p(watch)
 * from an 8-bit copy of the weights (QuantizedWatchBounds, its kernel in wasm/boundKernels.as.ts), which
 * never computes the float32 logits of the whole catalog. Pure: the kernel's binary is read once, as
 * the training kernels' are.
 */
import { readFileSync } from 'node:fs';

/** p(watch) from its logit, σ(z) = 1 / (1 + e^{−z}): the one formula of every p(watch) served (stored as float32). */
export const watchOfLogit = (z: number): number => 1 / (1 + Math.exp(-z));

const BOUND_Z_MIN = -32;
const BOUND_STEPS_PER_UNIT = 256;
const BOUND_STEPS = -2 * BOUND_Z_MIN * BOUND_STEPS_PER_UNIT;
/** σ(z) at the upper edge of each step of 1/256 over [−32, 32], plus 1e-6 (see sigmoidUpperBounds). */
let boundTable: Float64Array | null = null;

function sigmoidBoundTable(): Float64Array {
  if (!boundTable) {
    boundTable = new Float64Array(BOUND_STEPS + 1);
    for (let m = 0; m <= BOUND_STEPS; m++) boundTable[m] = watchOfLogit(BOUND_Z_MIN + m / BOUND_STEPS_PER_UNIT) + 1e-6;
  }
  return boundTable;
}

/**
 * An upper bound of every fround(watchOfLogit(z_i)), at a table lookup per item instead of an exp (the
 * pruned top-k's bound, WatchLikeModel.scoreBounds; 59,047 exps cost as much as half the dense product).
 * With z in the step (z_lo, z_hi] (z_hi = −32 + m/256, m = ⌈256 (z + 32)⌉, exact in double for a float32
 * z), σ(z) ≤ σ(z_hi): the bound is σ(z_hi) + 1e-6 — above any rounding of the computed σ (double, then
 * float32: < 1e-7 together) — and loose by at most 1/1024 + 1e-6. Below −32, the first step's value;
 * above 32, 1; NaN stays NaN. `out` may be `z` itself (each bound reads only its own logit).
 * boundKernels.as.ts does the same lookup on the same table.
 */
export function sigmoidUpperBounds(z: Float32Array, out: Float32Array = new Float32Array(z.length)): Float32Array {
  const table = sigmoidBoundTable();
  if (out.length !== z.length) throw new RangeError(`sigmoidUpperBounds: ${out.length} outputs for ${z.length} logits`);
  for (let i = 0; i < z.length; i++) {
    const x = z[i];
    const m = Math.ceil((x - BOUND_Z_MIN) * BOUND_STEPS_PER_UNIT);
    out[i] = m <= 0 ? table[0] : m <= BOUND_STEPS ? table[m] : x === x ? 1 : Number.NaN;
  }
  return out;
}

interface BoundKernels {
  watchBounds(
    q: number,
    I: number,
    Fp: number,
    h: number,
    s: number,
    b: number,
    alpha: number,
    beta: number,
    gamma: number,
    t: number,
    l1: number,
    dmax: number,
    table: number,
    steps: number,
    out: number,
  ): void;
}

const WASM_URL = new URL('./wasm/boundKernels.wasm', import.meta.url);
let compiled: WebAssembly.Module | null = null;

/** x rounded up to a float32 (x ≥ 0): fround rounds to nearest, off by at most 2^-24 of x. */
const up = (x: number): number => Math.fround(x * (1 + 2 ** -20));

/**
 * Upper bounds of p(watch_i) = σ(b_i + Σ_j ĥ_j W[i, j]) for every item i, from an 8-bit copy of W made
 * once per model, at a quarter of the float32 product's memory traffic (boundKernels.as.ts has the bound).
 *
 * Quantisation, row by row: M_i = max_j |W_ij|, s_i = M_i / 127 (as float32), q_ij = round(W_ij / s_i)
 * in [−127, 127], and r_i = max_j |W_ij − s_i q_ij| measured (exact in double), so the bound holds
 * whatever the rounding did. A user's row: ĥ_j = t h_j + d_j with h_j 16-bit in [−T, T] and d_max
 * measured; T keeps the integer sum inside int32 (127 · T · Fp < 2³¹).
 *
 * Slack for float32 rounding: the exact logits the bound must cover are float32 sums of F products
 * (ImplicitRbm.logitsOfItems), within γ_{F+1} (Σ_j |ĥ_j W_ij| + |b_i|) of the real value, γ_n = n u / (1 − n u)
 * and u = 2⁻²⁴; the kernel's own few float32 operations err by a few u of the same magnitudes; and
 * Σ_j |ĥ_j W_ij| ≤ ‖ĥ‖₁ M_i. So with c = (F + 16) 2⁻²³ ≥ 2 γ_{F+1} (room for both):
 *   α_i = r_i + c M_i,   β_i = s_i Σ_j |q_ij|,   γ_i = c |b_i|   (each rounded up to float32).
 * How loose: at MovieLens 25M's size the slack averaged 0.001 in the logit, and the pruned top-k
 * evaluated as many items as with the float32 logits (docs/performance.md).
 */
export class QuantizedWatchBounds {
  private readonly kernels: BoundKernels;
  private readonly memory: WebAssembly.Memory;
  private readonly Fp: number;
  private readonly T: number;
  private readonly at: {
    q: number;
    h: number;
    s: number;
    b: number;
    alpha: number;
    beta: number;
    gamma: number;
    table: number;
    out: number;
  };
  private readonly h16: Int16Array;
  private readonly out: Float32Array;
  /** True while a `use` of withBounds holds the output (the next call would overwrite it). */
  private lent = false;

  /** null when W or b has a value that is not finite (no bound can be derived: the float32 path serves). */
  static of(W: Float32Array, b: Float32Array, items: number, hidden: number): QuantizedWatchBounds | null {
    if (W.length !== items * hidden || b.length !== items) {
      throw new RangeError(`quantized bounds: W has ${W.length} values and b ${b.length}, expected ${items} × ${hidden} and ${items}`);
    }
    for (let n = 0; n < W.length; n++) if (!Number.isFinite(W[n])) return null;
    for (let i = 0; i < items; i++) if (!Number.isFinite(b[i])) return null;
    return new QuantizedWatchBounds(W, b, items, hidden);
  }

  private constructor(
    W: Float32Array,
    b: Float32Array,
    readonly items: number,
    readonly hidden: number,
  ) {
    const I = items;
    const F = hidden;
    const Fp = (this.Fp = Math.max(16, Math.ceil(F / 16) * 16));
    this.T = Math.min(32767, Math.floor((2 ** 31 - 1) / (127 * Fp)));
    const align = (n: number): number => Math.ceil(n / 16) * 16;
    let end = 0;
    const take = (bytes: number): number => {
      const start = end;
      end = align(end + bytes);
      return start;
    };
    const at = {
      q: take(I * Fp),
      h: take(Fp * 2),
      s: take(I * 4),
      b: take(I * 4),
      alpha: take(I * 4),
      beta: take(I * 4),
      gamma: take(I * 4),
      table: take((BOUND_STEPS + 1) * 8),
      out: take(I * 4),
    };
    this.at = at;
    this.memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(end / 65536)) });
    compiled ??= new WebAssembly.Module(readFileSync(WASM_URL));
    this.kernels = new WebAssembly.Instance(compiled, { env: { memory: this.memory } }).exports as unknown as BoundKernels;
    const buffer = this.memory.buffer;
    const q = new Int8Array(buffer, at.q, I * Fp);
    const s = new Float32Array(buffer, at.s, I);
    const alpha = new Float32Array(buffer, at.alpha, I);
    const beta = new Float32Array(buffer, at.beta, I);
    const gamma = new Float32Array(buffer, at.gamma, I);
    new Float32Array(buffer, at.b, I).set(b);
    new Float64Array(buffer, at.table, BOUND_STEPS + 1).set(sigmoidBoundTable());
    const c = (F + 16) * 2 ** -23;
    for (let i = 0; i < I; i++) {
      const row = i * F;
      let M = 0;
      for (let j = 0; j < F; j++) M = Math.max(M, Math.abs(W[row + j]));
      const si = Math.fround(M / 127);
      let r = 0;
      let sumQ = 0;
      for (let j = 0; j < F; j++) {
        const w = W[row + j];
        const qij = si === 0 ? 0 : Math.max(-127, Math.min(127, Math.round(w / si)));
        q[i * Fp + j] = qij;
        r = Math.max(r, Math.abs(w - si * qij));
        sumQ += Math.abs(qij);
      }
      s[i] = si;
      alpha[i] = up(r + c * M);
      beta[i] = up(si * sumQ);
      gamma[i] = up(c * Math.abs(b[i]));
    }
    this.h16 = new Int16Array(buffer, at.h, Fp);
    this.out = new Float32Array(buffer, at.out, I);
  }

  /**
   * Calls `use` with bound[i] ≥ fround(watchOfLogit(z_i)) for every item, z_i = b_i + Σ_j ĥ_j W[i, j]
   * however float32 sums it (the hidden row ĥ as the logits' product takes it: the visible scale folded
   * in), and returns what it returns. The array is the kernel's output in its own memory, lent for the
   * call (no catalog-sized allocation a request): `use` may change it, must not keep it, and must not ask
   * for another bound meanwhile (refused).
   */
  withBounds<T>(hiddenRow: ArrayLike<number>, use: (bounds: Float32Array) => T): T {
    if (this.lent) throw new Error('quantized bounds: asked for a bound while the previous one is still in use');
    this.compute(hiddenRow);
    this.lent = true;
    try {
      return use(this.out);
    } finally {
      this.lent = false;
    }
  }

  private compute(hiddenRow: ArrayLike<number>): void {
    const F = this.hidden;
    if (hiddenRow.length !== F) throw new RangeError(`quantized bounds: a hidden row of ${hiddenRow.length} values, expected ${F}`);
    let hmax = 0;
    let l1 = 0;
    for (let j = 0; j < F; j++) {
      const a = Math.abs(hiddenRow[j]);
      if (!(a <= Number.MAX_VALUE)) throw new RangeError(`quantized bounds: hidden unit ${j} is ${hiddenRow[j]}, not a finite number`);
      hmax = Math.max(hmax, a);
      l1 += a;
    }
    const t = Math.fround(hmax / this.T);
    let dmax = 0;
    for (let j = 0; j < F; j++) {
      const x = hiddenRow[j];
      const hj = t === 0 ? 0 : Math.max(-this.T, Math.min(this.T, Math.round(x / t)));
      this.h16[j] = hj;
      dmax = Math.max(dmax, Math.abs(x - t * hj));
    }
    const at = this.at;
    this.kernels.watchBounds(
      at.q,
      this.items,
      this.Fp,
      at.h,
      at.s,
      at.b,
      at.alpha,
      at.beta,
      at.gamma,
      t,
      up(l1),
      up(dmax),
      at.table,
      BOUND_STEPS,
      at.out,
    );
  }
}
