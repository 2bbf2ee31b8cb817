/**
 * The implicit RBM's training engine over shared memory ('shared'): every parameter, the mini-batch and
 * its scratch live in one shared WebAssembly.Memory; the dense products run in the SIMD kernels of
 * wasm/implicitKernels.as.ts; N threads (this one and N − 1 workers, implicitWorker.ts) each take their
 * share of every mini-batch and meet at barriers, and the update is applied once per batch (synchronous).
 *
 * One CD-1 mini-batch of B cases, in phases; "|" is a barrier (thread 0 prepares the batch before the
 * first, which is also where the previous batch ends):
 *   (sampled) the batch's rows caught up (lazy decay) |
 *   A  groups of cases: p⁰_n = σ(c + s(n) Σ_{i∈S_n} W_i), h_n ~ p⁰_n (the uniforms thread 0 drew); Gaussian
 *      hidden units: p⁰_n = c + s(n) Σ W_i and h_n = p⁰_n (mean field), and q in C without σ;
 *      (sampled) the sampled rows gathered, W_M and b_M  |
 *   B  chunks of the negative rows: Vᵀ = σ(W_M Hᵀ + b_M) weighted by ω, partial Q_k = V_k W_k;
 *      (sampled) groups of cases: each case's own rated rows exactly, v_{n,i} = σ(b_i + h_n·W_i), Q_n += Σ v W_i  |
 *   C  every thread, for every case: q_n = σ(c + Q_n + Σ_k Q_k[n]) (chunk partials in chunk order) into
 *      its own copy: B × F × chunks additions, cheaper than the barrier it saves
 *   D  chunks of rows (dense; sampled: slots split evenly): G_M = −Vᵀ Q, then every rated entry's
 *      p⁰_n − v_{n,i} q_n (case order); thread 0: ∂c = Σ_n (p⁰_n − q_n), into c's other buffer
 *   E  the same rows right after their D: Δθ ← μ Δθ + ε (G/B − λ θ), θ ← θ + Δθ (untouched rows: G = 0)
 *      (sampled) |  (the next batch rewrites the sample that D and E read)
 * Groups of cases and chunks of rows are claimed from counters, so a thread that runs ahead (or that the
 * system schedules while another waits for a core) takes more; which thread computes one changes nothing.
 * Dense, 3 barriers a batch; sampled, 5.
 * The split is by cases for the sparse work and by rows (items) for the dense work: splitting the dense
 * products by cases too would leave each thread an I × F partial gradient to add up every batch (memory
 * traffic equal to the update itself); by rows, the only cross-thread sum is Q's (B × F per chunk).
 * The chunks of rows are fixed by the catalog (not by the thread count) and every sum runs in a fixed
 * order, so a seed gives the same parameters at any thread count, bit for bit.
 *
 * Negative phase, 'dense': M = every item, ω = 1 (accumulateCd's statistics, in float32 in another
 * order). 'sampled' (importance-sampled reconstruction, Dauphin, Glorot & Bengio 2011): each case's rated
 * items S_n exactly, plus one shared set M of negative rows per mini-batch, of two strata:
 *   head  the P = ⌊HEAD_SHARE · S⌋ items of highest proposal weight, always in M, with ω_i = 1 (exact);
 *   tail  S − P draws (with replacement) from π restricted to the other items, π_i ∝ (n_i + 1)^¾ (n_i the
 *         item's rating count); item i drawn c_i times enters M once with ω_i = c_i / ((S − P) π_i).
 * Then for every case and each term f of the negative statistics (v_i W_i in q's input, v_i q in ∂W_i,
 * v_i in ∂b_i), with a case's own rated items left out of M's sum (they count exactly, above):
 *   E[Σ_{i∈M∖S_n} ω_i f(i)] = Σ_{i∉S_n} f(i)
 * unbiased sums at (|S_n| + |M|)/I of the dense cost. Most of the negative mass sits on popular items
 * (v_i ≈ their popularity): the head takes it without variance, and π still draws the rare ones.
 */
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { Rng } from '../rng.js';
import { activityScale, type ImplicitParams } from './implicitParams.js';

/** A user's rated items as compressed rows (implicitTrain.ts's RatedRows; not imported, to avoid a cycle). */
type RatedRows = Pick<CompressedRows, 'rows' | 'cols' | 'rowStart' | 'colIndex'>;
import type { CompressedRows } from '../data/dataset.js';
import { topK } from './topK.js';

/** The exports of implicitKernels.wasm (see wasm/implicitKernels.as.ts); pointers are byte offsets. */
// A type alias, not an interface: WebAssembly.Exports (a record of exports) can then be narrowed to it.
export type ImplicitKernels = {
  logits(H: number, B: number, F: number, Wr: number, R: number, bias: number, out: number, stride: number): void;
  sigmoidRows(V: number, B: number, R: number, stride: number, omega: number): number;
  sigmoidInPlace(x: number, count: number): void;
  combineRows(V: number, B: number, stride: number, Wr: number, R: number, F: number, Q: number): void;
  negativeRows(V: number, B: number, stride: number, Q: number, F: number, R: number, G: number, gb: number): void;
  hiddenOfRows(W: number, F: number, cols: number, start: number, end: number, c: number, scale: number, out: number, linear: number): void;
  ratedNegative(h: number, F: number, W: number, b: number, cols: number, start: number, end: number, vOut: number, Q: number): number;
  addEntry(dst: number, p: number, q: number, v: number, F: number): void;
  addParts(dst: number, src: number, parts: number, partStride: number, count: number): void;
  gatherRows(W: number, b: number, F: number, items: number, count: number, rows: number, bk: number): void;
  updateRows(
    W: number,
    inc: number,
    b: number,
    incb: number,
    i0: number,
    i1: number,
    F: number,
    slot: number,
    G: number,
    gb: number,
    lr: number,
    mu: number,
    decay: number,
    scale: number,
    clearSlots: number,
  ): void;
  catchUp(
    W: number,
    inc: number,
    b: number,
    incb: number,
    F: number,
    lastStep: number,
    items: number,
    from: number,
    to: number,
    step: number,
    pow: number,
  ): void;
  updateSlots(
    W: number,
    inc: number,
    b: number,
    incb: number,
    F: number,
    slotItems: number,
    s0: number,
    s1: number,
    G: number,
    gb: number,
    lr: number,
    mu: number,
    decay: number,
    scale: number,
    slot: number,
    lastStep: number,
    step: number,
  ): void;
};

const WASM_URL = new URL('./wasm/implicitKernels.wasm', import.meta.url);
let compiled: WebAssembly.Module | null = null;

export function implicitKernelsModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(readFileSync(WASM_URL));
  return compiled;
}

export function instantiateKernels(module: WebAssembly.Module, memory: WebAssembly.Memory): ImplicitKernels {
  return new WebAssembly.Instance(module, { env: { memory } }).exports as ImplicitKernels;
}

/** Validation users scored per logits block (each thread's block × I floats of scratch). */
const VALIDATION_BLOCK = 32;
/** Rows per chunk of the negative phase: at least this many, and at most MAX_CHUNKS chunks. */
const MIN_CHUNK_ROWS = 64;
const MAX_CHUNKS = 64;

/**
 * How long a thread polls a barrier's generation before it sleeps (Atomics.wait): longer than the gaps it
 * has to bridge on a free machine (thread 0 preparing the next batch, a phase's imbalance; a few hundred
 * microseconds), since a sleeping thread takes about as long again to be woken.
 */
const SPIN_MS = 2;

// Control words (Int32Array over the first bytes of the memory).
const GEN = 0;
const COUNT = 1;
const CMD = 2;
const ABORT = 3;
const BATCH = 4;
const SAMPLED_ROWS = 5;
const SLOTS = 6;
const EXCLUSIONS = 7;
const SCORED = 8;
/** Updates applied so far (the lazy decay's clock). */
const STEP = 9;
/** The validation's counter of blocks of users (zeroed by thread 0 before each pass). */
const VAL_CLAIM = 10;
/** The work counters of a batch (4, by parity of its step: CLAIMS + parity · CLAIM_STRIDE), a cache line each. */
const CLAIMS = 16;
const CLAIM_STRIDE = 16;
/** Cases a thread takes at once from a counter. */
const CASE_GROUP = 4;
const CMD_BATCH = 1;
const CMD_VALIDATE = 2;
const CMD_STOP = 3;
const CMD_FLUSH = 4;
/** Nothing: its start barrier waits until every thread is done with the last batch (then one more, see run). */
const CMD_SYNC = 5;
// Float64 words (after the 16 control ints).
const LR = 0;
const MU = 1;

/** Everything a thread needs to find its way in the memory: sizes and byte offsets. */
export interface SharedLayout {
  threads: number;
  items: number;
  hidden: number;
  users: number;
  batchSize: number;
  sampled: boolean;
  /** Negative rows at most: every item (dense) or the draws per batch (sampled). */
  maxRows: number;
  /** S, the proposal draws per mini-batch (sampled). */
  draws: number;
  /** Gradient slots at most: the negative rows plus the batch's rated items outside them. */
  maxSlots: number;
  maxEntries: number;
  medianActivity: number;
  /** a of the activity scale (implicitParams.ts activityScale). */
  activityExponent: number;
  /** Gaussian hidden units: the hidden means are the inputs themselves (no σ), and CD uses the means. */
  gaussian: boolean;
  /** Pseudo-likelihood instead of CD-1 (Gaussian units, dense negative phase; see batchPhases). */
  pl: boolean;
  weightDecay: number;
  validationUsers: number;
  rankCutoff: number;
  ctl: number;
  f64: number;
  W: number;
  inc: number;
  b: number;
  incb: number;
  c: number;
  G: number;
  gb: number;
  slot: number;
  slotItems: number;
  /** Per item: the step its row is current at (sampled: rows no batch touched decay lazily). */
  lastStep: number;
  /** Steps the lazy-decay table covers (a flush comes sooner). */
  powSteps: number;
  pow: number;
  fitStart: number;
  fitCols: number;
  valStart: number;
  valCols: number;
  cases: number;
  entryStart: number;
  uniforms: number;
  P0: number;
  H: number;
  /** q of every case, one copy per thread (B × F each). */
  Q: number;
  /** Sampled: each case's hidden input from its own rated rows (B × F). */
  Qr: number;
  V: number;
  rowItems: number;
  omega: number;
  Wm: number;
  bm: number;
  parts: number;
  entryV: number;
  exclusions: number;
  caseErr: number;
  chunkErr: number;
  scored: number;
  ndcg: number;
  valP: number;
  valZ: number;
  /** Pseudo-likelihood: ‖W_i‖² of every row, written in B chunk by chunk. */
  norms: number;
  /** F zeros (addEntry's p when only −v·q is wanted). */
  zeros: number;
  bytes: number;
}

export interface SharedSetup {
  layout: SharedLayout;
  memory: WebAssembly.Memory;
  module: WebAssembly.Module;
}

const align = (n: number): number => Math.ceil(n / 64) * 64;

/** Plans the memory of one training run. */
export function planLayout(
  p: ImplicitParams,
  fit: RatedRows,
  validation: RatedRows | null,
  o: {
    threads: number;
    batchSize: number;
    sampled: boolean;
    negativeSamples: number;
    weightDecay: number;
    validationUsers: number;
    rankCutoff: number;
    pseudoLikelihood?: boolean;
  },
): SharedLayout {
  const I = p.items;
  const F = p.hidden;
  const B = o.batchSize;
  // The B longest rows bound a batch's rated entries.
  const lengths = Array.from({ length: fit.rows }, (_, u) => fit.rowStart[u + 1] - fit.rowStart[u]).sort((a, b) => b - a);
  const maxEntries = Math.max(
    1,
    lengths.slice(0, B).reduce((s, x) => s + x, 0),
  );
  if (o.pseudoLikelihood && (o.sampled || p.hiddenUnits !== 'gaussian')) {
    throw new RangeError('pseudo-likelihood training needs Gaussian hidden units and the dense negative phase');
  }
  const maxRows = o.sampled ? Math.min(I, o.negativeSamples) : I;
  const maxSlots = o.sampled ? Math.min(I, maxRows + maxEntries) : I;
  let at = 65536;
  const take = (bytes: number): number => {
    const p0 = at;
    at = align(at + bytes);
    return p0;
  };
  const valRows = validation ?? { rows: 0, cols: I, rowStart: new Int32Array(1), colIndex: new Int32Array(0) };
  const layout: Omit<SharedLayout, 'bytes'> = {
    threads: o.threads,
    items: I,
    hidden: F,
    users: fit.rows,
    batchSize: B,
    sampled: o.sampled,
    maxRows,
    draws: o.negativeSamples,
    maxSlots,
    maxEntries,
    medianActivity: p.medianActivity ?? 0,
    activityExponent: p.activityExponent ?? 0.5,
    gaussian: p.hiddenUnits === 'gaussian',
    pl: o.pseudoLikelihood === true,
    weightDecay: o.weightDecay,
    validationUsers: o.validationUsers,
    rankCutoff: o.rankCutoff,
    ctl: take(4 * (CLAIMS + 2 * CLAIM_STRIDE)),
    f64: take(64),
    W: take(4 * I * F),
    inc: take(4 * I * F),
    b: take(4 * I),
    incb: take(4 * I),
    // Two: the batch at step s reads c at cAt(s) and thread 0 writes the updated c to cAt(s + 1), while
    // the other threads may still read the first (C in batchPhases).
    c: take(8 * F),
    G: take(4 * maxSlots * F),
    gb: take(4 * maxSlots),
    slot: take(4 * I),
    slotItems: take(4 * maxSlots),
    lastStep: take(4 * I),
    powSteps: Math.ceil(fit.rows / B) + 2,
    pow: take(24 * (Math.ceil(fit.rows / B) + 3)),
    fitStart: take(4 * (fit.rows + 1)),
    fitCols: take(4 * fit.colIndex.length),
    valStart: take(4 * (valRows.rows + 1)),
    valCols: take(4 * valRows.colIndex.length),
    // Two of each batch input (batchBuffers): thread 0 fills one while the other may still be read.
    cases: take(8 * B),
    entryStart: take(8 * (B + 1)),
    uniforms: take(8 * B * F),
    P0: take(4 * B * F),
    H: take(4 * B * F),
    Q: take(4 * o.threads * B * F),
    Qr: o.sampled ? take(4 * B * F) : 0,
    V: take(4 * B * maxRows),
    rowItems: take(4 * maxRows),
    omega: take(4 * maxRows),
    Wm: o.sampled ? take(4 * maxRows * F) : 0,
    bm: o.sampled ? take(4 * maxRows) : 0,
    parts: take(4 * MAX_CHUNKS * B * F),
    entryV: take(4 * maxEntries),
    exclusions: take(8 * maxEntries),
    caseErr: take(8 * B),
    chunkErr: take(8 * MAX_CHUNKS),
    scored: take(4 * Math.max(1, Math.min(valRows.rows, o.validationUsers))),
    ndcg: take(8 * Math.max(1, Math.min(valRows.rows, o.validationUsers))),
    valP: take(4 * o.threads * VALIDATION_BLOCK * F),
    valZ: take(4 * o.threads * VALIDATION_BLOCK * I),
    norms: take(4 * I),
    zeros: take(4 * F),
  };
  if (at > 65536 * 65536) {
    throw new RangeError(`an implicit RBM of ${I} items × ${F} hidden needs ${at} bytes of training memory, more than wasm's 4 GiB`);
  }
  return { ...layout, bytes: at };
}

/** The negative rows of a batch in chunks: fixed by their count alone, never by the thread count. */
export function chunking(rows: number): { chunks: number; size: number } {
  if (rows === 0) return { chunks: 0, size: 0 };
  const chunks = Math.max(1, Math.min(MAX_CHUNKS, Math.floor(rows / MIN_CHUNK_ROWS)));
  const size = Math.ceil(Math.ceil(rows / chunks) / 4) * 4;
  return { chunks: Math.ceil(rows / size), size };
}

/**
 * The byte offsets of a batch's inputs (case indices, their entries' starts, the hidden units' uniforms):
 * two buffers, taken by the parity of the batch's step.
 */
function batchBuffers(L: SharedLayout, step: number): { cases: number; entryStart: number; uniforms: number } {
  const x = step & 1;
  const B = L.batchSize;
  return { cases: L.cases + x * 4 * B, entryStart: L.entryStart + x * 4 * (B + 1), uniforms: L.uniforms + x * 4 * B * L.hidden };
}

/** The byte offset of c as it stands before the update of step `step` (two buffers by parity). */
const cAt = (L: SharedLayout, step: number): number => L.c + (step & 1) * 4 * L.hidden;

/** The first x in [lo, hi) with a[base + x] ≥ value (a ascending there), else hi. */
function lowerBound(a: Int32Array, base: number, lo: number, hi: number, value: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[base + mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** [from, to) of `count` items for thread t of n, in blocks of `quantum`. */
function share(count: number, t: number, n: number, quantum = 1): [number, number] {
  const blocks = Math.ceil(count / quantum);
  const a = Math.floor((t * blocks) / n) * quantum;
  const b = Math.floor(((t + 1) * blocks) / n) * quantum;
  return [Math.min(a, count), Math.min(b, count)];
}

/** One thread's view of the shared training state, and the phases it runs. */
export class SharedThread {
  readonly k: ImplicitKernels;
  readonly ctl: Int32Array;
  readonly f64: Float64Array;
  private readonly i32: Int32Array;
  private readonly f32: Float32Array;
  private readonly d64: Float64Array;
  private readonly mask: Uint8Array;
  private readonly relevant: Uint8Array;

  constructor(
    readonly L: SharedLayout,
    readonly memory: WebAssembly.Memory,
    module: WebAssembly.Module,
    readonly tid: number,
  ) {
    this.k = instantiateKernels(module, memory);
    const buf = memory.buffer;
    this.ctl = new Int32Array(buf, L.ctl, CLAIMS + 2 * CLAIM_STRIDE);
    this.f64 = new Float64Array(buf, L.f64, 8);
    this.i32 = new Int32Array(buf);
    this.f32 = new Float32Array(buf);
    this.d64 = new Float64Array(buf);
    this.mask = new Uint8Array(L.items);
    this.relevant = new Uint8Array(L.items);
    this.incC = new Float64Array(L.hidden);
    this.plGradC = new Float64Array(L.hidden);
    this.scales = new Float64Array(L.pl ? L.batchSize : 0);
  }

  /** Waits until every thread has arrived (a generation barrier over Atomics). */
  barrier(): void {
    const ctl = this.ctl;
    const gen = Atomics.load(ctl, GEN);
    if (Atomics.add(ctl, COUNT, 1) === this.L.threads - 1) {
      Atomics.store(ctl, COUNT, 0);
      Atomics.add(ctl, GEN, 1);
      Atomics.notify(ctl, GEN);
    } else {
      // Spin first (SPIN_MS), reading the clock every 1,024 polls.
      const until = performance.now() + SPIN_MS;
      for (let spin = 1; Atomics.load(ctl, GEN) === gen; spin++) if ((spin & 1023) === 0 && performance.now() > until) break;
      while (Atomics.load(ctl, GEN) === gen) {
        if (Atomics.load(ctl, ABORT) !== 0) throw new Error('implicit RBM training: another training thread failed');
        Atomics.wait(ctl, GEN, gen, 1000);
      }
    }
    if (Atomics.load(ctl, ABORT) !== 0) throw new Error('implicit RBM training: another training thread failed');
  }

  abort(): void {
    Atomics.store(this.ctl, ABORT, 1);
    Atomics.add(this.ctl, GEN, 1);
    Atomics.notify(this.ctl, GEN);
  }

  /** A worker's loop: wait for a command, run its share, until told to stop. */
  serve(): void {
    for (;;) {
      this.barrier();
      const cmd = Atomics.load(this.ctl, CMD);
      if (cmd === CMD_STOP) return;
      if (cmd === CMD_BATCH) this.batchPhases();
      else if (cmd === CMD_VALIDATE) this.validatePhase();
      else if (cmd === CMD_FLUSH) this.flushPhase();
      else if (cmd === CMD_SYNC) this.barrier();
    }
  }

  /** Every row brought up to date (the lazy decay of rows no batch touched since). */
  private flushPhase(): void {
    const L = this.L;
    const [i0, i1] = share(L.items, this.tid, L.threads);
    this.k.catchUp(L.W, L.inc, L.b, L.incb, L.hidden, L.lastStep, 0, i0, i1, this.ctl[STEP], L.pow);
    this.barrier();
  }

  /** Thread 0: starts a command on every thread and runs its own share. */
  run(cmd: number): void {
    Atomics.store(this.ctl, CMD, cmd);
    this.barrier();
    if (cmd === CMD_BATCH) this.batchPhases();
    else if (cmd === CMD_VALIDATE) this.validatePhase();
    else if (cmd === CMD_FLUSH) this.flushPhase();
    // Every command has a barrier after each thread read CMD (a batch's first phase ends in one), so
    // thread 0 never rewrites CMD before the others have read it.
    else if (cmd === CMD_SYNC) this.barrier();
  }

  private batchPhases(): void {
    const L = this.L;
    const { k, i32, f32, tid } = this;
    const N = L.threads;
    const F = L.hidden;
    const ctl = this.ctl;
    // Everything thread 0 set for this batch, read before the first barrier below (which thread 0 cannot
    // pass before every thread has read it): under the dense phase thread 0 prepares the next batch, in
    // the other buffer, while the others finish this one.
    const B = ctl[BATCH];
    const M = ctl[SAMPLED_ROWS];
    const slots = ctl[SLOTS];
    const nExcl = ctl[EXCLUSIONS];
    const step = ctl[STEP];
    const lr = this.f64[LR];
    const mu = this.f64[MU];
    const { cases, entryStart, uniforms } = batchBuffers(L, step);
    const c = cAt(L, step);
    // This thread's q of every case (C below).
    const Q = L.Q + tid * L.batchSize * F * 4;
    const fb = F * 4;
    const { chunks, size } = chunking(M);
    const Wr = L.sampled ? L.Wm : L.W;
    const bias = L.sampled ? L.bm : L.b;
    const [k0, k1] = share(chunks, tid, N);
    // Sampled: this thread's slots, a share of the sampled rows, whose gradient is a product, and a share
    // of the batch's other rated rows, whose gradient is their entries alone (balanced separately).
    const [s0, s1] = L.sampled ? share(M, tid, N, 4) : [0, 0];
    const [e0, e1] = L.sampled ? share(slots - M, tid, N, 4).map((x) => x + M) : [0, 0];
    // The rest is claimed from counters (groups of cases, chunks of rows): a thread that is ahead, or
    // that the system let run while another waited for a core, takes more. Who computes a group or a
    // chunk changes no number. This batch's counters are by its parity; thread 0 zeroes the other
    // parity's, which every thread finished with before this batch started.
    const claims = CLAIMS + (step & 1) * CLAIM_STRIDE;
    if (tid === 0) for (let x = 0; x < 4; x++) Atomics.store(ctl, CLAIMS + ((step + 1) & 1) * CLAIM_STRIDE + x, 0);
    const claim = (counter: number): number => Atomics.add(ctl, claims + counter, 1);
    // Pseudo-likelihood reads each case's s(n) in B, C and D: once per batch, on every thread.
    if (L.pl) for (let n = 0; n < B; n++) this.scales[n] = this.caseScale(cases, n);
    if (L.sampled) {
      // The batch's rows brought up to date (their lazy decay) before anything reads them.
      k.catchUp(L.W, L.inc, L.b, L.incb, F, L.lastStep, L.slotItems, s0, s1, step, L.pow);
      k.catchUp(L.W, L.inc, L.b, L.incb, F, L.lastStep, L.slotItems, e0, e1, step, L.pow);
      this.barrier();
    }
    // A: positive phase of the cases; the sampled rows gathered.
    for (let g = claim(0) * CASE_GROUP; g < B; g = claim(0) * CASE_GROUP) {
      for (let n = g; n < Math.min(B, g + CASE_GROUP); n++) this.positive(n, cases, uniforms, c);
    }
    if (L.sampled) {
      for (let q = k0; q < k1; q++) {
        const r0 = q * size;
        const r1 = Math.min(M, r0 + size);
        k.gatherRows(L.W, L.b, F, L.rowItems + 4 * r0, r1 - r0, L.Wm + r0 * fb, L.bm + 4 * r0);
      }
    }
    this.barrier();
    // B: the negative rows' reconstructions and their partial hidden inputs, chunk by chunk.
    const stride = L.maxRows;
    for (let q = claim(1); q < chunks; q = claim(1)) {
      const r0 = q * size;
      const r1 = Math.min(M, r0 + size);
      const V = L.V + 4 * r0;
      k.logits(L.H, B, F, Wr + r0 * fb, r1 - r0, bias + 4 * r0, V, stride);
      if (L.pl) this.pseudoLikelihoodLogits(B, cases, r0, r1);
      let err = k.sigmoidRows(V, B, r1 - r0, stride, L.sampled ? L.omega + 4 * r0 : 0);
      // A case's own rated items among the sampled rows count exactly (phase B's rated part), not here.
      for (let x = 0; x < nExcl; x++) {
        const n = i32[(L.exclusions >> 2) + 2 * x];
        const r = i32[(L.exclusions >> 2) + 2 * x + 1];
        if (r < r0 || r >= r1) continue;
        const at = (L.V >> 2) + n * stride + r;
        err -= (f32[at] * f32[at]) / f32[(L.omega >> 2) + r];
        f32[at] = 0;
      }
      this.d64[(L.chunkErr >> 3) + q] = err;
      k.combineRows(V, B, stride, Wr + r0 * fb, r1 - r0, F, L.parts + q * B * fb);
    }
    if (L.sampled) {
      // Each case's own rated rows, exactly: v and their share of the case's hidden input.
      for (let g = claim(2) * CASE_GROUP; g < B; g = claim(2) * CASE_GROUP) {
        for (let n = g; n < Math.min(B, g + CASE_GROUP); n++) {
          const Qn = L.Qr + n * fb;
          f32.fill(0, Qn >> 2, (Qn >> 2) + F);
          const u = i32[(cases >> 2) + n];
          const s = i32[(L.fitStart >> 2) + u];
          const e = i32[(L.fitStart >> 2) + u + 1];
          const at = i32[(entryStart >> 2) + n];
          this.d64[(L.caseErr >> 3) + n] = k.ratedNegative(L.H + n * fb, F, L.W, L.b, L.fitCols, s, e, L.entryV + 4 * at, Qn);
        }
      }
    }
    this.barrier();
    // C: q_n = σ(c + Q_n + Σ_k Q_k[n]) (chunk partials added in chunk order) of every case, by every thread
    // into its own copy: the same numbers on each (B × F × chunks additions, little beside B), and D reads
    // them without another barrier.
    if (L.sampled) f32.copyWithin(Q >> 2, L.Qr >> 2, (L.Qr >> 2) + B * F);
    else f32.fill(0, Q >> 2, (Q >> 2) + B * F);
    k.addParts(Q, L.parts, chunks, B * F, B * F);
    for (let n = 0; n < B; n++) k.addParts(Q + n * fb, c, 1, 0, F);
    if (!L.gaussian) k.sigmoidInPlace(Q, B * F);
    if (L.pl) this.pseudoLikelihoodCases(B, Q, c);
    if (!L.sampled && tid === 0) {
      // Σ_i (v⁰_i − v_i)² = Σ_i v_i² + Σ_{rated} (1 − 2 v_i): the rated part, for thread 0 to add up
      // when the batch returns (the others may still be in D and E then).
      for (let n = 0; n < B; n++) {
        const u = i32[(cases >> 2) + n];
        let err = 0;
        for (let e = i32[(L.fitStart >> 2) + u]; e < i32[(L.fitStart >> 2) + u + 1]; e++) {
          err += 1 - 2 * f32[(L.V >> 2) + n * stride + i32[(L.fitCols >> 2) + e]];
        }
        this.d64[(L.caseErr >> 3) + n] = err;
      }
    }
    if (L.sampled) {
      // D: the gradient of this thread's slots.
      if (s1 > s0) k.negativeRows(L.V + 4 * s0, B, stride, Q, F, s1 - s0, L.G + s0 * fb, L.gb + 4 * s0);
      for (let s = e0; s < e1; s++) {
        f32.fill(0, (L.G + s * fb) >> 2, (L.G + (s + 1) * fb) >> 2);
        f32[(L.gb >> 2) + s] = 0;
      }
      if (s1 > s0 || e1 > e0) {
        for (let n = 0; n < B; n++) {
          const u = i32[(cases >> 2) + n];
          const s = i32[(L.fitStart >> 2) + u];
          const e = i32[(L.fitStart >> 2) + u + 1];
          const at = i32[(entryStart >> 2) + n];
          for (let x = s; x < e; x++) {
            const slot = i32[(L.slot >> 2) + i32[(L.fitCols >> 2) + x]];
            if ((slot < s0 || slot >= s1) && (slot < e0 || slot >= e1)) continue;
            const v = f32[(L.entryV >> 2) + at + x - s];
            k.addEntry(L.G + slot * fb, L.P0 + n * fb, Q + n * fb, v, F);
            f32[(L.gb >> 2) + slot] += 1 - v;
          }
        }
      }
      // E: the update of this thread's rows, right away: their gradient is complete (D wrote it all, and
      // nothing else reads W until the next batch); the rows no batch touched decay lazily (catchUp).
      k.updateSlots(L.W, L.inc, L.b, L.incb, F, L.slotItems, s0, s1, L.G, L.gb, lr, mu, L.weightDecay, 1 / B, L.slot, L.lastStep, step + 1);
      k.updateSlots(L.W, L.inc, L.b, L.incb, F, L.slotItems, e0, e1, L.G, L.gb, lr, mu, L.weightDecay, 1 / B, L.slot, L.lastStep, step + 1);
    } else {
      // D and E (dense, slot = item), a chunk of rows at a time: its gradient −Vᵀ Q, then each case's rated
      // entries among its rows (a contiguous run of the case's sorted items) in case order, then the
      // update of its rows, right away (nothing else reads them until the next batch).
      for (let q = claim(3); q < chunks; q = claim(3)) {
        const r0 = q * size;
        const r1 = Math.min(M, r0 + size);
        // Pseudo-likelihood: −σ(l)ᵀ h instead of −Vᵀ Q, each rated entry's 2h − c − s R (in Q since C)
        // instead of p⁰, and the shrink −s |g_i| W_i (pseudoLikelihoodShrink).
        k.negativeRows(L.V + 4 * r0, B, stride, L.pl ? L.H : Q, F, r1 - r0, L.G + r0 * fb, L.gb + 4 * r0);
        for (let n = 0; n < B; n++) {
          const u = i32[(cases >> 2) + n];
          const e = i32[(L.fitStart >> 2) + u + 1];
          for (let x = lowerBound(i32, L.fitCols >> 2, i32[(L.fitStart >> 2) + u], e, r0); x < e; x++) {
            const i = i32[(L.fitCols >> 2) + x];
            if (i >= r1) break;
            k.addEntry(L.G + i * fb, L.pl ? Q + n * fb : L.P0 + n * fb, Q + n * fb, 0, F);
            f32[(L.gb >> 2) + i] += 1;
          }
        }
        if (L.pl) this.pseudoLikelihoodShrink(B, cases, r0, r1);
        k.updateRows(L.W, L.inc, L.b, L.incb, r0, r1, F, L.slot, L.G, L.gb, lr, mu, L.weightDecay, 1 / B, 0);
      }
    }
    // And c, on thread 0.
    if (tid === 0) {
      const cf = c >> 2;
      const cNext = cAt(L, step + 1) >> 2;
      for (let j = 0; j < F; j++) {
        let g = 0;
        if (L.pl) g = this.plGradC[j];
        else for (let n = 0; n < B; n++) g += f32[(L.P0 >> 2) + n * F + j] - f32[(Q >> 2) + n * F + j];
        const vc = mu * this.incC[j] + lr * (g / B);
        this.incC[j] = vc;
        f32[cNext + j] = f32[cf + j] + vc;
      }
    }
    // The sampled phase's next batch rewrites the slots and sample (thread 0, before its start) that D and
    // E read here: wait for every thread. The dense one's next start is the barrier.
    if (L.sampled) this.barrier();
  }

  /** s(n) of case n of the batch. */
  private caseScale(cases: number, n: number): number {
    const { L, i32 } = this;
    const u = i32[(cases >> 2) + n];
    return activityScale(L, i32[(L.fitStart >> 2) + u + 1] - i32[(L.fitStart >> 2) + u]);
  }

  /**
   * Pseudo-likelihood, B (rows r0 … r1 of every case): the logits b_i + W_i·h that `logits` wrote become
   * the conditionals' l_i = b_i + W_i·h + s (½ − v_i) ‖W_i‖² (implicitParams.ts accumulatePl); the
   * rows' ‖W_i‖² are kept for the shrink in D.
   */
  private pseudoLikelihoodLogits(B: number, cases: number, r0: number, r1: number): void {
    const { L, i32, f32 } = this;
    const F = L.hidden;
    const nf = L.norms >> 2;
    for (let r = r0; r < r1; r++) {
      let norm = 0;
      for (let j = r * F, e = j + F; j < e; j++) norm += f32[(L.W >> 2) + j] * f32[(L.W >> 2) + j];
      f32[nf + r] = norm;
    }
    for (let n = 0; n < B; n++) {
      const s = this.scales[n];
      const row = (L.V >> 2) + n * L.maxRows;
      for (let r = r0; r < r1; r++) f32[row + r] += 0.5 * s * f32[nf + r];
      const u = i32[(cases >> 2) + n];
      const e = i32[(L.fitStart >> 2) + u + 1];
      for (let x = lowerBound(i32, L.fitCols >> 2, i32[(L.fitStart >> 2) + u], e, r0); x < e; x++) {
        const i = i32[(L.fitCols >> 2) + x];
        if (i >= r1) break;
        f32[row + i] -= s * f32[nf + i];
      }
    }
  }

  /**
   * Pseudo-likelihood, C (every thread, its own copy Q of c + R_n, R_n = Σ_i σ(l_ni) W_i): thread 0 first
   * adds up ∂c = Σ_n (x̄_n − R_n), x̄_n = (h_n − c) / s_n; then Q_n ← 2h_n − c − s_n R_n, what D adds to
   * each rated row of case n.
   */
  private pseudoLikelihoodCases(B: number, Q: number, c: number): void {
    const { L, f32 } = this;
    const F = L.hidden;
    const cf = c >> 2;
    if (this.tid === 0) {
      const g = this.plGradC;
      g.fill(0);
      for (let n = 0; n < B; n++) {
        const s = this.scales[n];
        const hf = (L.H >> 2) + n * F;
        const qf = (Q >> 2) + n * F;
        for (let j = 0; j < F; j++) g[j] += (f32[hf + j] - f32[cf + j]) / s - (f32[qf + j] - f32[cf + j]);
      }
    }
    for (let n = 0; n < B; n++) {
      const s = this.scales[n];
      const hf = (L.H >> 2) + n * F;
      const qf = (Q >> 2) + n * F;
      for (let j = 0; j < F; j++) f32[qf + j] = 2 * f32[hf + j] - f32[cf + j] - s * (f32[qf + j] - f32[cf + j]);
    }
  }

  /**
   * Pseudo-likelihood, D (rows r0 … r1): ∂W_i += d_i W_i with d_i = −Σ_n s_n |v_ni − σ(l_ni)|, the
   * gradient of the ‖W_i‖² term in l_i: −Σ_n s_n σ(l_ni) over every case, + s_n (2σ(l_ni) − 1) for the
   * cases that rated i.
   */
  private pseudoLikelihoodShrink(B: number, cases: number, r0: number, r1: number): void {
    const { L, i32, f32, k } = this;
    const F = L.hidden;
    const fb = F * 4;
    if (this.shrink.length < r1 - r0) this.shrink = new Float64Array(r1 - r0);
    const d = this.shrink;
    d.fill(0, 0, r1 - r0);
    for (let n = 0; n < B; n++) {
      const s = this.scales[n];
      const row = (L.V >> 2) + n * L.maxRows;
      for (let r = r0; r < r1; r++) d[r - r0] -= s * f32[row + r];
      const u = i32[(cases >> 2) + n];
      const e = i32[(L.fitStart >> 2) + u + 1];
      for (let x = lowerBound(i32, L.fitCols >> 2, i32[(L.fitStart >> 2) + u], e, r0); x < e; x++) {
        const i = i32[(L.fitCols >> 2) + x];
        if (i >= r1) break;
        d[i - r0] += s * (2 * f32[row + i] - 1);
      }
    }
    for (let r = r0; r < r1; r++) k.addEntry(L.G + r * fb, L.zeros, L.W + r * fb, -d[r - r0], F);
  }

  /** Pseudo-likelihood: thread 0's ∂c of the batch (C), used after D. */
  private readonly plGradC: Float64Array;
  /** Pseudo-likelihood: s(n) of the batch's cases (set at the batch's start). */
  private readonly scales: Float64Array;
  /** Pseudo-likelihood: the shrink coefficients of a chunk's rows (D). */
  private shrink = new Float64Array(0);

  /**
   * A's work for case n: p⁰_n = σ(c + s(n) Σ_{i∈S_n} W_i) and h_n ~ p⁰_n (the case's uniforms); Gaussian
   * units: p⁰_n = c + s(n) Σ W_i and h_n = p⁰_n (mean field).
   */
  private positive(n: number, cases: number, uniforms: number, c: number): void {
    const { L, i32, f32 } = this;
    const F = L.hidden;
    const fb = F * 4;
    const u = i32[(cases >> 2) + n];
    const s = i32[(L.fitStart >> 2) + u];
    const e = i32[(L.fitStart >> 2) + u + 1];
    const p0 = L.P0 + n * fb;
    this.k.hiddenOfRows(L.W, F, L.fitCols, s, e, c, activityScale(L, e - s), p0, L.gaussian ? 1 : 0);
    const pf = p0 >> 2;
    const hf = (L.H + n * fb) >> 2;
    if (L.gaussian) {
      f32.copyWithin(hf, pf, pf + F);
      return;
    }
    const uf = (uniforms + n * fb) >> 2;
    for (let j = 0; j < F; j++) f32[hf + j] = f32[uf + j] < f32[pf + j] ? 1 : 0;
  }

  /** The momentum of c (only thread 0 updates c). */
  private readonly incC: Float64Array;

  private validatePhase(): void {
    const L = this.L;
    const { k, i32, f32, tid } = this;
    const F = L.hidden;
    const I = L.items;
    const users = this.ctl[SCORED];
    const P = L.valP + tid * VALIDATION_BLOCK * F * 4;
    const Z = L.valZ + tid * VALIDATION_BLOCK * I * 4;
    const cutoff = L.rankCutoff;
    const c = cAt(L, this.ctl[STEP]);
    // Blocks of users claimed from a counter; each user's figure is its own (ndcg[n]), added up in order.
    for (
      let from = Atomics.add(this.ctl, VAL_CLAIM, 1) * VALIDATION_BLOCK;
      from < users;
      from = Atomics.add(this.ctl, VAL_CLAIM, 1) * VALIDATION_BLOCK
    ) {
      const to = Math.min(users, from + VALIDATION_BLOCK);
      for (let n = from; n < to; n++) {
        const u = i32[(L.scored >> 2) + n];
        const s = i32[(L.fitStart >> 2) + u];
        const e = i32[(L.fitStart >> 2) + u + 1];
        k.hiddenOfRows(L.W, F, L.fitCols, s, e, c, activityScale(L, e - s), P + (n - from) * F * 4, L.gaussian ? 1 : 0);
      }
      k.logits(P, to - from, F, L.W, I, L.b, Z, I);
      for (let n = from; n < to; n++) {
        const u = i32[(L.scored >> 2) + n];
        const fs = i32[(L.fitStart >> 2) + u];
        const fe = i32[(L.fitStart >> 2) + u + 1];
        const vs = i32[(L.valStart >> 2) + u];
        const ve = i32[(L.valStart >> 2) + u + 1];
        for (let e = fs; e < fe; e++) this.mask[i32[(L.fitCols >> 2) + e]] = 1;
        for (let e = vs; e < ve; e++) this.relevant[i32[(L.valCols >> 2) + e]] = 1;
        const z = f32.subarray((Z >> 2) + (n - from) * I, (Z >> 2) + (n - from + 1) * I);
        const top = topK(z, cutoff, (i) => this.mask[i] !== 0);
        let dcg = 0;
        for (let r = 0; r < top.length; r++) if (this.relevant[top[r]]) dcg += 1 / Math.log2(r + 2);
        let idcg = 0;
        for (let r = 0; r < Math.min(cutoff, ve - vs); r++) idcg += 1 / Math.log2(r + 2);
        this.d64[(L.ndcg >> 3) + n] = dcg / idcg;
        for (let e = fs; e < fe; e++) this.mask[i32[(L.fitCols >> 2) + e]] = 0;
        for (let e = vs; e < ve; e++) this.relevant[i32[(L.valCols >> 2) + e]] = 0;
      }
    }
    this.barrier();
  }
}

/**
 * The lazy decay's coefficients for k = 0 … steps gradient-free momentum steps (catchUp in the kernels):
 * A^k = [[a, b], [c, d]] with A = [[1 − ελ, μ], [−ελ, μ]], β_k = μ + … + μ^k and μ^k; computed in double,
 * 6 float32 per k.
 */
export function decayTable(lr: number, mu: number, decay: number, steps: number): Float32Array {
  const out = new Float32Array(6 * (steps + 1));
  const e = lr * decay;
  let [a, b, c, d] = [1, 0, 0, 1];
  let beta = 0;
  let muK = 1;
  for (let k = 0; k <= steps; k++) {
    out.set([a, b, c, d, beta, muK], 6 * k);
    // A^{k+1} = A · A^k.
    [a, b, c, d] = [(1 - e) * a + mu * c, (1 - e) * b + mu * d, -e * a + mu * c, -e * b + mu * d];
    muK *= mu;
    beta += muK;
  }
  return out;
}

/** Walker's alias table of a distribution (weights need not sum to 1), for O(1) draws. */
export function aliasTable(weights: ArrayLike<number>): { prob: Float64Array; alias: Int32Array; p: Float64Array } {
  const n = weights.length;
  let total = 0;
  for (let i = 0; i < n; i++) total += weights[i];
  const p = Float64Array.from(weights, (w) => w / total);
  const scaled = Float64Array.from(p, (x) => x * n);
  const prob = new Float64Array(n);
  const alias = new Int32Array(n);
  const small: number[] = [];
  const large: number[] = [];
  scaled.forEach((x, i) => (x < 1 ? small : large).push(i));
  while (small.length && large.length) {
    const s = small.pop()!;
    const l = large.pop()!;
    prob[s] = scaled[s];
    alias[s] = l;
    scaled[l] = scaled[l] + scaled[s] - 1;
    (scaled[l] < 1 ? small : large).push(l);
  }
  for (const i of [...small, ...large]) {
    prob[i] = 1;
    alias[i] = i;
  }
  return { prob, alias, p };
}

/**
 * The proposal of the sampled negative phase: π_i ∝ (n_i + 1)^¾ over the items' rating counts n_i
 * (between uniform and popularity, as word2vec's negative sampling: the popular items that carry most of
 * the negative statistics are drawn often, the rare ones still drawn).
 */
export const proposalWeights = (counts: ArrayLike<number>): Float64Array => Float64Array.from(counts, (n) => Math.pow(n + 1, 0.75));

/**
 * The share of a mini-batch's S negative rows given to the head (the most popular items by π, taken
 * exactly with ω = 1); the other draws sample the tail (docs/performance.md: S matters more than the share).
 */
export const HEAD_SHARE = 0.75;

export interface SharedEngineOptions {
  threads: number;
  batchSize: number;
  sampled: boolean;
  negativeSamples: number;
  weightDecay: number;
  validationUsers: number;
  rankCutoff: number;
  /** Train by pseudo-likelihood (implicitParams.ts accumulatePl) instead of CD-1: dense, Gaussian units. */
  pseudoLikelihood?: boolean;
}

/** Thread 0's side: owns the memory and the workers, prepares each batch, runs its share. */
export class SharedEngine {
  private readonly workers: Worker[] = [];
  private readonly t0: SharedThread;
  private readonly L: SharedLayout;
  private readonly alias: { prob: Float64Array; alias: Int32Array; p: Float64Array } | null;
  /** The head: the most popular items, in every batch's negative rows exactly (ω = 1), ascending. */
  private readonly head: Int32Array;
  /** The tail's items (the alias table's columns) in order. */
  private readonly tail: Int32Array;
  /** π restricted to the tail and renormalised, by item (0 for the head). */
  private readonly tailP: Float64Array;
  private readonly draws: Int32Array;
  private readonly rows: RatedRows;

  private constructor(
    private readonly setup: SharedSetup,
    rows: RatedRows,
    proposal: Float64Array | null,
    private readonly rng: Rng,
  ) {
    this.L = setup.layout;
    this.rows = rows;
    this.t0 = new SharedThread(setup.layout, setup.memory, setup.module, 0);
    this.draws = new Int32Array(this.L.items);
    if (proposal) {
      const I = this.L.items;
      const P = Math.min(I, Math.floor(this.L.draws * HEAD_SHARE));
      const byWeight = Int32Array.from({ length: I }, (_, i) => i).sort((a, b) => proposal[b] - proposal[a] || a - b);
      this.head = byWeight.slice(0, P).sort();
      this.tail = byWeight.slice(P).sort();
      this.alias = aliasTable(Array.from(this.tail, (i) => proposal[i]));
      this.tailP = new Float64Array(I);
      this.tail.forEach((i, k) => (this.tailP[i] = this.alias!.p[k]));
    } else {
      this.tailP = new Float64Array(0);
      this.head = new Int32Array(0);
      this.tail = new Int32Array(0);
      this.alias = null;
    }
  }

  static async create(
    p: ImplicitParams,
    fit: RatedRows,
    validation: RatedRows | null,
    o: SharedEngineOptions,
    rng: Rng,
  ): Promise<SharedEngine> {
    const layout = planLayout(p, fit, validation, o);
    const pages = Math.ceil(layout.bytes / 65536);
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    const module = implicitKernelsModule();
    const L = layout;
    const buf = memory.buffer;
    new Float32Array(buf, L.W, p.W.length).set(p.W);
    new Float32Array(buf, L.b, p.items).set(p.b);
    new Float32Array(buf, L.c, p.hidden).set(p.c);
    new Int32Array(buf, L.fitStart, fit.rows + 1).set(fit.rowStart);
    new Int32Array(buf, L.fitCols, fit.colIndex.length).set(fit.colIndex);
    if (validation) {
      new Int32Array(buf, L.valStart, validation.rows + 1).set(validation.rowStart);
      new Int32Array(buf, L.valCols, validation.colIndex.length).set(validation.colIndex);
    }
    const slot = new Int32Array(buf, L.slot, p.items);
    if (o.sampled) slot.fill(-1);
    else for (let i = 0; i < p.items; i++) slot[i] = i;
    let proposal: Float64Array | null = null;
    if (o.sampled) {
      const counts = new Float64Array(p.items);
      for (let n = 0; n < fit.colIndex.length; n++) counts[fit.colIndex[n]]++;
      proposal = proposalWeights(counts);
    }
    const engine = new SharedEngine({ layout, memory, module }, fit, proposal, rng);
    try {
      await engine.startWorkers();
    } catch (err) {
      engine.dispose();
      throw err;
    }
    return engine;
  }

  private async startWorkers(): Promise<void> {
    const entry = new URL('./implicitWorker.ts', import.meta.url).href;
    const started: Promise<void>[] = [];
    for (let tid = 1; tid < this.L.threads; tid++) {
      const worker = new Worker(new URL('./worker-boot.mjs', import.meta.url), {
        workerData: { entry, layout: this.L, memory: this.setup.memory, module: this.setup.module, tid },
      });
      this.workers.push(worker);
      started.push(
        new Promise((resolve, reject) => {
          worker.once('message', (m: { type: string; message?: string }) =>
            m.type === 'ready' ? resolve() : reject(new Error(`implicit RBM training thread ${tid}: ${m.message}`)),
          );
          worker.once('error', reject);
        }),
      );
    }
    await Promise.all(started);
  }

  /** One mini-batch (CD-1); returns the summed squared reconstruction error (estimated when sampled). */
  batch(cases: Int32Array, uniforms: Float32Array, lr: number, momentum: number): number {
    const L = this.L;
    const buf = this.setup.memory.buffer;
    const B = cases.length;
    const F = L.hidden;
    const ctl = this.t0.ctl;
    const at = batchBuffers(L, ctl[STEP]);
    new Int32Array(buf, at.cases, B).set(cases);
    new Float32Array(buf, at.uniforms, B * F).set(uniforms.subarray(0, B * F));
    const entryStart = new Int32Array(buf, at.entryStart, B + 1);
    const { rowStart, colIndex } = this.rows;
    entryStart[0] = 0;
    for (let n = 0; n < B; n++) entryStart[n + 1] = entryStart[n] + rowStart[cases[n] + 1] - rowStart[cases[n]];
    ctl[BATCH] = B;
    if (L.sampled) {
      const M = this.sample();
      // Slots: the sampled rows first, then the batch's other rated items in case order.
      const slot = new Int32Array(buf, L.slot, L.items);
      const excl = new Int32Array(buf, L.exclusions, 2 * L.maxEntries);
      const slotItems = new Int32Array(buf, L.slotItems, L.maxSlots);
      slotItems.set(new Int32Array(buf, L.rowItems, M));
      let next = M;
      let nExcl = 0;
      for (let n = 0; n < B; n++) {
        for (let e = rowStart[cases[n]]; e < rowStart[cases[n] + 1]; e++) {
          const i = colIndex[e];
          if (slot[i] < 0) {
            slotItems[next] = i;
            slot[i] = next++;
          } else if (slot[i] < M) {
            excl[2 * nExcl] = n;
            excl[2 * nExcl + 1] = slot[i];
            nExcl++;
          }
        }
      }
      ctl[SAMPLED_ROWS] = M;
      ctl[SLOTS] = next;
      ctl[EXCLUSIONS] = nExcl;
    } else {
      ctl[SAMPLED_ROWS] = L.items;
      ctl[SLOTS] = L.items;
      ctl[EXCLUSIONS] = 0;
    }
    if (L.sampled) this.prepareDecay(lr, momentum);
    this.t0.f64[LR] = lr;
    this.t0.f64[MU] = momentum;
    this.t0.run(CMD_BATCH);
    // Dense: the other threads may still be in this batch's D and E (see batchPhases).
    this.settled = L.sampled || this.workers.length === 0;
    ctl[STEP]++;
    const d64 = new Float64Array(buf);
    let err = 0;
    const { chunks } = chunking(ctl[SAMPLED_ROWS]);
    for (let q = 0; q < chunks; q++) err += d64[(L.chunkErr >> 3) + q];
    for (let n = 0; n < B; n++) err += d64[(L.caseErr >> 3) + n];
    return err;
  }

  /**
   * Draws the batch's S rows from the proposal (one uniform a draw: its integer part picks a column of the
   * alias table, its fraction the item or its alias), each distinct item once with ω_i = c_i / (S π_i), in
   * ascending item order; writes them as slots 0 … M − 1 and returns M.
   */
  private sample(): number {
    const L = this.L;
    const { prob, alias } = this.alias!;
    const I = L.items;
    const S = L.draws - this.head.length;
    const draws = this.draws;
    const picked: number[] = [];
    const T = this.tail.length;
    for (let s = 0; s < S && T > 0; s++) {
      const x = this.rng.next() * T;
      const col = Math.floor(x);
      const i = this.tail[x - col < prob[col] ? col : alias[col]];
      if (draws[i]++ === 0) picked.push(i);
    }
    for (const i of this.head) picked.push(i);
    picked.sort((a, b) => a - b);
    const buf = this.setup.memory.buffer;
    const rowItems = new Int32Array(buf, L.rowItems, picked.length);
    const omega = new Float32Array(buf, L.omega, picked.length);
    const slot = new Int32Array(buf, L.slot, I);
    picked.forEach((i, k) => {
      rowItems[k] = i;
      omega[k] = draws[i] === 0 ? 1 : draws[i] / (S * this.tailP[i]);
      slot[i] = k;
      draws[i] = 0;
    });
    return picked.length;
  }

  /** The (lr, μ) the lazy-decay table holds, and the step of the last flush. */
  private decayOf: [number, number] | null = null;
  private flushedAt = 0;

  /**
   * The lazy-decay table for this batch's ε and μ: A^k, β_k, μ^k for k = 0 … powSteps (in double, stored
   * float32). A change of ε or μ (a new epoch's) first brings every row up to date under the old ones, as
   * does a run of more steps than the table covers.
   */
  private prepareDecay(lr: number, mu: number): void {
    const L = this.L;
    const step = this.t0.ctl[STEP];
    const same = this.decayOf !== null && this.decayOf[0] === lr && this.decayOf[1] === mu;
    if (!same || step - this.flushedAt >= L.powSteps) this.flush();
    if (same) return;
    this.decayOf = [lr, mu];
    new Float32Array(this.setup.memory.buffer, L.pow, 6 * (L.powSteps + 1)).set(decayTable(lr, mu, L.weightDecay, L.powSteps));
  }

  /** Whether every thread is done with the last batch (else W may still be changing). */
  private settled = true;

  /** Waits until every thread is done with the last batch. */
  private settle(): void {
    if (this.settled) return;
    this.t0.run(CMD_SYNC);
    this.settled = true;
  }

  /** Brings every row up to date (sampled: the lazy decay); the parameters are then the trained ones. */
  flush(): void {
    if (!this.L.sampled || this.decayOf === null || this.t0.ctl[STEP] === this.flushedAt) return;
    this.t0.run(CMD_FLUSH);
    this.settled = true;
    this.flushedAt = this.t0.ctl[STEP];
  }

  /** Mean validation nDCG@k over `users` (each ranked by its fit items, fit items excluded). */
  validate(users: readonly number[]): number {
    if (users.length === 0) return NaN;
    this.flush();
    const L = this.L;
    const buf = this.setup.memory.buffer;
    new Int32Array(buf, L.scored, users.length).set(users);
    this.t0.ctl[SCORED] = users.length;
    this.t0.ctl[VAL_CLAIM] = 0;
    this.t0.run(CMD_VALIDATE);
    this.settled = true;
    const ndcg = new Float64Array(buf, L.ndcg, users.length);
    let total = 0;
    for (let n = 0; n < users.length; n++) total += ndcg[n];
    return total / users.length;
  }

  /** The live parameters, as views on the shared memory (copy them to keep them). */
  read(): ImplicitParams {
    this.settle();
    this.flush();
    const L = this.L;
    const buf = this.setup.memory.buffer;
    return {
      items: L.items,
      hidden: L.hidden,
      W: new Float32Array(buf, L.W, L.items * L.hidden),
      b: new Float32Array(buf, L.b, L.items),
      c: new Float32Array(buf, cAt(L, this.t0.ctl[STEP]), L.hidden),
      ...(L.medianActivity > 0 ? { medianActivity: L.medianActivity } : {}),
      ...(L.medianActivity > 0 && L.activityExponent !== 0.5 ? { activityExponent: L.activityExponent } : {}),
      ...(L.gaussian ? { hiddenUnits: 'gaussian' as const } : {}),
    };
  }

  dispose(): void {
    if (this.workers.length > 0) {
      try {
        this.t0.run(CMD_STOP);
      } catch {
        // a failed thread already stopped the others
      }
    }
    for (const w of this.workers) void w.terminate();
    this.workers.length = 0;
  }
}
