/**
 * Seeded pseudo-random numbers. No module uses Math.random: every consumer receives an Rng, so a seed
 * reproduces a run bit for bit.
 *
 * Generator: xoshiro128** (Blackman & Vigna), 32-bit state words, seeded through splitmix32 so that
 * small consecutive seeds give unrelated streams.
 */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareNormal: number | null = null;

  constructor(seed: number) {
    let x = seed >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /**
   * The four xoshiro128** state words, to hand the stream to another implementation of the same generator
   * (the WebAssembly CD kernels draw from it and hand it back with `setState`, so a seed gives the same
   * stream whichever kernels run). The cached second normal variate is not part of it: it stays here.
   */
  getState(): [number, number, number, number] {
    return [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0];
  }

  setState(state: ArrayLike<number>): void {
    this.s0 = state[0] | 0;
    this.s1 = state[1] | 0;
    this.s2 = state[2] | 0;
    this.s3 = state[3] | 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box–Muller, caching the second variate). */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** The cached second normal variate (the next normal() returns it), or null. */
  getSpareNormal(): number | null {
    return this.spareNormal;
  }

  setSpareNormal(value: number | null): void {
    this.spareNormal = value;
  }

  /**
   * out[n] ← normal() · scale for n = 0, 1, …, in order: the same values and the same stream afterwards
   * (the cached variate included) as that loop, without its per-call overhead (e.g. a model's initial
   * weights: 162 M draws for the item RBM at MovieLens 25M's size).
   */
  fillNormal(out: Float32Array, scale: number): void {
    let at = 0;
    if (this.spareNormal !== null && out.length > 0) {
      out[at++] = this.spareNormal * scale;
      this.spareNormal = null;
    }
    const state = Int32Array.from(this.getState());
    const spare = new Float64Array(1);
    normalPairs(out, at, out.length, state, scale, spare);
    this.setState(state);
    // An odd count leaves the last pair's second variate for the next normal().
    if ((out.length - at) % 2 === 1) this.spareNormal = spare[0];
  }

  /** In-place Fisher–Yates shuffle. */
  shuffle<T extends { length: number; [i: number]: number }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * Box–Muller pairs into out[start..end), exactly as Rng.normal() draws them from a stream with no cached
 * variate: u uniform in (0, 1) (a zero u is drawn again), v uniform in [0, 1), out ← r cos(2πv) · scale
 * then r sin(2πv) · scale, r = √(−2 ln u). `state` (the four xoshiro128** words) is advanced in place.
 * Returns the count of zero u's drawn again: without any, the pairs used exactly 2 draws each, which is
 * what lets several threads fill parts of one array from jumped states (see xoshiroJump). When
 * `end - start` is odd, the last pair's second variate (unscaled) goes to spare[0].
 */
export function normalPairs(
  out: Float32Array,
  start: number,
  end: number,
  state: Int32Array,
  scale: number,
  spare: Float64Array | null = null,
): number {
  let s0 = state[0] | 0;
  let s1 = state[1] | 0;
  let s2 = state[2] | 0;
  let s3 = state[3] | 0;
  let redrawn = 0;
  const twoPi = 2 * Math.PI;
  for (let at = start; at < end; at += 2) {
    let u = 0;
    for (;;) {
      u = (Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0) / 4294967296;
      const t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = rotl(s3, 11);
      if (u !== 0) break;
      redrawn++;
    }
    const v = (Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0) / 4294967296;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    // The same operations, in the same order, as normal(): (r · cos(2π · v)) · scale.
    const r = Math.sqrt(-2 * Math.log(u));
    out[at] = r * Math.cos(twoPi * v) * scale;
    if (at + 1 < end) out[at + 1] = r * Math.sin(twoPi * v) * scale;
    else if (spare) spare[0] = r * Math.sin(twoPi * v);
  }
  state[0] = s0;
  state[1] = s1;
  state[2] = s2;
  state[3] = s3;
  return redrawn;
}

/**
 * xoshiro128**'s state after `steps` draws, without drawing them. The state transition is linear over
 * GF(2) (xors, shifts and rotations of the 128 state bits): s ← T s, so the state after n draws is Tⁿ s,
 * computed by squaring (T^(2^k) for each bit k of n), each matrix as its 128 columns (the images of the
 * unit states). A negative count n goes back: T has order 2^128 − 1 (the generator's period).
 */
export function xoshiroJump(state: readonly number[], steps: bigint): [number, number, number, number] {
  const period = (1n << 128n) - 1n;
  let n = ((steps % period) + period) % period;
  // Columns of T: one step applied to each unit state.
  let columns = new Int32Array(128 * 4);
  for (let c = 0; c < 128; c++) {
    const s = [0, 0, 0, 0];
    s[c >>> 5] = 1 << (c & 31);
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    columns.set(s, c * 4);
  }
  const apply = (m: Int32Array, v: ArrayLike<number>, into: Int32Array): void => {
    let a = 0,
      b = 0,
      c = 0,
      d = 0;
    for (let bit = 0; bit < 128; bit++) {
      if ((v[bit >>> 5] >>> (bit & 31)) & 1) {
        a ^= m[bit * 4];
        b ^= m[bit * 4 + 1];
        c ^= m[bit * 4 + 2];
        d ^= m[bit * 4 + 3];
      }
    }
    into[0] = a;
    into[1] = b;
    into[2] = c;
    into[3] = d;
  };
  const s = Int32Array.from(state, (x) => x | 0);
  const next = new Int32Array(4);
  while (n > 0n) {
    if (n & 1n) {
      apply(columns, s, next);
      s.set(next);
    }
    n >>= 1n;
    if (n > 0n) {
      // T² column by column: T · (T e_c).
      const squared = new Int32Array(128 * 4);
      for (let c = 0; c < 128; c++) apply(columns, columns.subarray(c * 4, c * 4 + 4), squared.subarray(c * 4, c * 4 + 4));
      columns = squared;
    }
  }
  return [s[0] >>> 0, s[1] >>> 0, s[2] >>> 0, s[3] >>> 0];
}
