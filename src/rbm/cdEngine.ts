/**
 * The CD training engine: one RBM's parameters, optimiser state and training cases behind a small
 * interface, run either by the WebAssembly SIMD kernels (wasm/cdKernels.as.ts, built into
 * wasm/cdKernels.wasm) or by the plain-JS kernels of kernels.ts, which are the reference and the fallback.
 *
 * Selection: `RBM_KERNELS=wasm|js` forces one (a forced wasm that cannot load is an error); unset (or
 * `auto`), wasm is used when it instantiates here, else JS. Both engines compute the same update and draw
 * the same random numbers from the same seeded Rng stream (the wasm module runs an exact port of
 * xoshiro128** on the state handed to it); their weights differ only by float rounding (summation order).
 */
import { readFileSync } from 'node:fs';
import type { CompressedRows } from '../data/dataset.js';
import { normalPairs, xoshiroJump, type Rng } from '../rng.js';
import { CdHelperThreads, REPORT } from './cdThreads.js';
import { accumulateCase, CdWorkspace, LazyMomentum } from './kernels.js';
import { copyParamsInto, expectationsOfRows, hiddenOfRows, type RbmParams } from './params.js';

export type KernelsKind = 'wasm' | 'js';

export interface CdEngineOptions {
  /** Initial ε and μ (trainRbm sets them per epoch with setRates). */
  lr: number;
  momentum: number;
  /** λ on W. */
  weightDecay: number;
  batchSize: number;
  /** Persistent CD chains. */
  persistent: boolean;
  /** Mean-field last step of the negative phase (else sampled). */
  meanField: boolean;
  /**
   * Threads that train this RBM together (default 1). Above 1 the wasm engine runs each epoch on this many
   * threads sharing its memory (parallelEpoch in wasm/cdKernels.as.ts; helpers: cdHelper.ts); the JS
   * reference engine always runs on one.
   */
  threads?: number;
  /**
   * Weight bytes a batch's longest case must read (its ratings × K × F × 4) for the parallel epoch to take
   * every case's positive phase in a phase of its own before the Gibbs steps (parallelEpoch's phase P:
   * the rows prepared right before the Gibbs step reads them, so a long case does not fetch each row from
   * memory twice). Smaller batches keep the fused phase: their rows stay in cache, and P's barrier costs
   * more than it saves. Default PHASE_SPLIT_BYTES; the same bits either way (tests force both).
   */
  splitFromBytes?: number;
}

/**
 * Half this machine's 32 MiB L3 (the other half for the other thread's case): the item RBM at MovieLens
 * 25M's size reads far more (an item of 80,000 ratings: 650 MB), ML-1M's longest cases a few MB.
 */
export const PHASE_SPLIT_BYTES = 16 * 1024 * 1024;

/**
 * Inference the engine makes besides training, on the same threads: the validation slice it predicts
 * (the same rows as the training cases, held-out ratings) and the cases whose hidden probabilities are
 * asked for after training (the item RBM's features from all training ratings).
 */
export interface CdEngineInference {
  validation?: CompressedRows | null;
  features?: CompressedRows | null;
}

export interface EpochStatistics {
  /** Σ of squared reconstruction errors of the first Gibbs step over the epoch's ratings, and their count. */
  squaredError: number;
  errorCount: number;
}

export interface CdEngine {
  readonly kind: KernelsKind;
  /**
   * The parameters being trained, up to date after every trainEpoch. The wasm engine's are views on its
   * memory: copy them (cloneParams / copyParamsInto) to keep or transfer them.
   */
  readonly params: RbmParams;
  /** Sets ε and μ for the next epoch (every row is up to date between epochs). */
  setRates(lr: number, momentum: number): void;
  /**
   * One epoch: the cases in `order`, in mini-batches of options.batchSize, each batch one momentum update
   * of the rows its cases touched; then every row is brought up to date. Draws from `rng`.
   */
  trainEpoch(order: Int32Array, steps: number, rng: Rng): EpochStatistics;
  /** Threads each epoch runs on. */
  readonly threads: number;
  /**
   * The mean-field predictions (params.ts expectationsOfRows) of the validation slice's rows `rows` (all
   * when null) with the current parameters: one per validation entry, 0 for the rows not asked for.
   */
  predictValidation(rows: Int32Array | null): Float64Array;
  /** hiddenOfRows of the feature cases with the current parameters. */
  hiddenFeatures(): Float32Array;
  /**
   * predictValidation(null) and hiddenFeatures() with the current parameters, the same numbers, from one
   * pass where the engine can (the wasm engine reads each weight slice once for both sums).
   */
  predictValidationAndFeatures(): { predictions: Float64Array; features: Float32Array };
  /** Replaces the parameters (after training: the best epoch's, for the passes above). */
  loadParams(p: RbmParams): void;
  /**
   * W[n] ← rng.normal() · scale for n = 0, 1, … in order (initParams' draws, made where W lives): the same
   * weights and the same stream afterwards, on the engine's threads.
   */
  initWeightsNormal(rng: Rng, scale: number): void;
  /** Ends the engine's helper threads, if any (the parameters stay readable). */
  close(): void;
}

function maxCaseLength(rows: CompressedRows): number {
  let max = 0;
  for (let r = 0; r < rows.rows; r++) max = Math.max(max, rows.rowStart[r + 1] - rows.rowStart[r]);
  return max;
}

/** The most ratings any `cases` cases hold together: a bound on one mini-batch's ratings. */
function maxBatchRatings(rows: CompressedRows, cases: number): number {
  const lengths = new Int32Array(rows.rows);
  for (let r = 0; r < rows.rows; r++) lengths[r] = rows.rowStart[r + 1] - rows.rowStart[r];
  lengths.sort();
  let sum = 0;
  for (let n = Math.max(0, rows.rows - cases); n < rows.rows; n++) sum += lengths[n];
  return sum;
}

/** The plain-JS kernels of kernels.ts; trains `params` in place. */
export class JsCdEngine implements CdEngine {
  readonly kind = 'js';
  readonly threads = 1;
  readonly workspace: CdWorkspace;
  readonly optimiser: LazyMomentum;
  private readonly chain: Uint8Array | null;

  constructor(
    readonly params: RbmParams,
    private readonly rows: CompressedRows,
    private readonly ratingLevels: readonly number[],
    private readonly options: CdEngineOptions,
    private readonly inference: CdEngineInference = {},
  ) {
    this.workspace = new CdWorkspace(params, maxCaseLength(rows));
    this.optimiser = new LazyMomentum(this.workspace, options.lr, options.momentum, options.weightDecay);
    this.chain = options.persistent ? rows.levels.slice() : null;
  }

  setRates(lr: number, momentum: number): void {
    this.optimiser.setRates(lr, momentum);
  }

  trainEpoch(order: Int32Array, steps: number, rng: Rng): EpochStatistics {
    const { workspace: ws, optimiser, rows, options } = this;
    ws.squaredError = 0;
    ws.errorCount = 0;
    for (let at = 0; at < order.length; at += options.batchSize) {
      const stop = Math.min(order.length, at + options.batchSize);
      for (let q = at; q < stop; q++) {
        const r = order[q];
        optimiser.prepareRows(rows.colIndex, rows.rowStart[r], rows.rowStart[r + 1]);
        accumulateCase(ws, rows, r, steps, rng, this.ratingLevels, this.chain, options.meanField);
      }
      optimiser.apply(stop - at);
    }
    optimiser.flush();
    return { squaredError: ws.squaredError, errorCount: ws.errorCount };
  }

  predictValidation(rows: Int32Array | null): Float64Array {
    return expectationsOfRows(this.params, this.rows, need(this.inference.validation, 'a validation slice'), this.ratingLevels, rows);
  }

  hiddenFeatures(): Float32Array {
    return hiddenOfRows(this.params, need(this.inference.features, 'feature cases'));
  }

  predictValidationAndFeatures(): { predictions: Float64Array; features: Float32Array } {
    return { predictions: this.predictValidation(null), features: this.hiddenFeatures() };
  }

  loadParams(p: RbmParams): void {
    if (p !== this.params) copyParamsInto(p, this.params);
  }

  initWeightsNormal(rng: Rng, scale: number): void {
    rng.fillNormal(this.params.W, scale);
  }

  close(): void {}
}

function need<T>(value: T | null | undefined, what: string): T {
  if (value === null || value === undefined) throw new Error(`the CD engine was created without ${what}`);
  return value;
}

/** The exports of cdKernels.wasm (see wasm/cdKernels.as.ts). Booleans are 0/1; pointers are byte offsets. */
// A type alias, not an interface: WebAssembly.Exports (a record of exports) can then be narrowed to it.
type KernelExports = {
  memory: WebAssembly.Memory;
  /**
   * (V, K, F, rows, nnz, maxCase, persistent, maxGap, batchCases, batchRatings, workers, worker): lays out
   * the memory; returns its end, or 0 if it does not fit.
   */
  plan(...sizes: number[]): number;
  ptrSync(): number;
  ptrW(): number;
  ptrB(): number;
  ptrC(): number;
  ptrVW(): number;
  ptrVB(): number;
  ptrVC(): number;
  ptrRowStart(): number;
  ptrCols(): number;
  ptrLevels(): number;
  ptrChain(): number;
  ptrOrder(): number;
  ptrRatingLevels(): number;
  getSquaredError(): number;
  getErrorCount(): number;
  resetError(): void;
  getStep(): number;
  setRng(s0: number, s1: number, s2: number, s3: number): void;
  getRng(i: number): number;
  setRates(lr: number, momentum: number, weightDecay: number): void;
  beginBatch(batchSize: number): void;
  prepareCase(r: number): void;
  accumulateCase(r: number, steps: number, meanField: number): void;
  applyBatch(): void;
  flush(): void;
  trainEpoch(count: number, batchSize: number, steps: number, meanField: number): void;
  setRowWiseMaxSteps(steps: number): void;
  parallelEpoch(
    count: number,
    batchSize: number,
    steps: number,
    meanField: number,
    lr: number,
    momentum: number,
    weightDecay: number,
    startStep: number,
    splitFromBytes: number,
  ): number;
  abortParallel(): void;
  ptrValRowStart(): number;
  ptrValCols(): number;
  ptrValOut(): number;
  ptrPredRows(): number;
  ptrFeatRowStart(): number;
  ptrFeatCols(): number;
  ptrFeatLevels(): number;
  ptrFeatOut(): number;
  /** (what: 0 predictions, 1 features, 2 both; count of rows in predRows; rows per grab): 0, or 1 if aborted. */
  parallelRows(what: number, count: number, chunk: number): number;
};

const WASM_URL = new URL('./wasm/cdKernels.wasm', import.meta.url);
let compiled: WebAssembly.Module | null = null;
let compileError: Error | null = null;

/** The compiled module (once per thread), or the reason it cannot be had here. */
function kernelModule(): WebAssembly.Module {
  if (compiled) return compiled;
  if (compileError) throw compileError;
  try {
    // Synchronous: trainRbm is synchronous, and Node has no size limit on synchronous compilation.
    compiled = new WebAssembly.Module(readFileSync(WASM_URL));
    return compiled;
  } catch (err) {
    compileError = new Error(`the WebAssembly CD kernels cannot load: ${(err as Error).message}`);
    throw compileError;
  }
}

/**
 * The WebAssembly SIMD kernels: one module instance (and linear memory) per engine. With `threads` > 1,
 * threads − 1 helper threads (cdThreads.ts) share the memory, each with an instance of its own, and every
 * epoch runs data-parallel (parallelEpoch). The module always imports its memory, shared (see
 * scripts/build-wasm.ts); on one thread that changes nothing but where the memory is made.
 */
export class WasmCdEngine implements CdEngine {
  readonly kind = 'wasm';
  readonly threads: number;
  private readonly x: KernelExports;
  private readonly memory: WebAssembly.Memory;
  private readonly helpers: CdHelperThreads | null = null;
  private readonly V: number;
  private readonly K: number;
  private readonly F: number;
  private view: RbmParams | null = null;
  private lr: number;
  private momentum: number;
  private readonly validation: CompressedRows | null;
  private readonly features: CompressedRows | null;

  constructor(
    initial: RbmParams,
    rows: CompressedRows,
    ratingLevels: readonly number[],
    private readonly options: CdEngineOptions,
    inference: CdEngineInference = {},
  ) {
    const { visibles: V, levels: K, hidden: F } = initial;
    if (K > 255) throw new RangeError('the wasm kernels store levels as bytes: at most 255 levels');
    this.V = V;
    this.K = K;
    this.F = F;
    this.threads = options.threads ?? 1;
    if (!Number.isInteger(this.threads) || this.threads < 1)
      throw new RangeError(`threads must be a positive integer, got ${this.threads}`);
    this.lr = options.lr;
    this.momentum = options.momentum;
    this.validation = inference.validation ?? null;
    this.features = inference.features ?? null;
    for (const [what, extra] of [
      ['validation slice', this.validation],
      ['feature cases', this.features],
    ] as const) {
      if (extra && extra.rows !== rows.rows) throw new RangeError(`the ${what} has ${extra.rows} rows, the training cases ${rows.rows}`);
    }
    // Zeroed, shared (a SharedArrayBuffer), and grown by plan up to wasm32's 4 GiB.
    this.memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
    this.x = new WebAssembly.Instance(kernelModule(), { env: { memory: this.memory } }).exports as KernelExports;
    const x = this.x;
    // Between two flushes (one epoch) a row misses at most one update per batch.
    const maxGap = Math.ceil(rows.rows / options.batchSize);
    // Buffers for a mini-batch processed row by row (trainEpoch), sized for the largest possible batch.
    const batchCases = Math.min(options.batchSize, rows.rows);
    const planArgs = [
      V,
      K,
      F,
      rows.rows,
      rows.colIndex.length,
      maxCaseLength(rows),
      options.persistent ? 1 : 0,
      maxGap,
      batchCases,
      maxBatchRatings(rows, batchCases),
      this.validation?.colIndex.length ?? 0,
      this.features?.colIndex.length ?? 0,
    ];
    const end = x.plan(...planArgs, this.threads, 0);
    if (end === 0) throw new RangeError(`an RBM of ${V}×${K}×${F} weights does not fit in 4 GiB of wasm memory`);
    const buffer = this.memory.buffer;
    new Float32Array(buffer, x.ptrW() >>> 0, V * K * F).set(initial.W);
    new Float32Array(buffer, x.ptrB() >>> 0, V * K).set(initial.b);
    new Float32Array(buffer, x.ptrC() >>> 0, F).set(initial.c);
    new Int32Array(buffer, x.ptrRowStart() >>> 0, rows.rows + 1).set(rows.rowStart);
    new Int32Array(buffer, x.ptrCols() >>> 0, rows.colIndex.length).set(rows.colIndex);
    new Uint8Array(buffer, x.ptrLevels() >>> 0, rows.levels.length).set(rows.levels);
    if (options.persistent) new Uint8Array(buffer, x.ptrChain() >>> 0, rows.levels.length).set(rows.levels);
    new Float64Array(buffer, x.ptrRatingLevels() >>> 0, K).set(ratingLevels);
    if (this.validation && this.validation.colIndex.length > 0) {
      new Int32Array(buffer, x.ptrValRowStart() >>> 0, rows.rows + 1).set(this.validation.rowStart);
      new Int32Array(buffer, x.ptrValCols() >>> 0, this.validation.colIndex.length).set(this.validation.colIndex);
    }
    if (this.features && this.features.colIndex.length > 0) {
      new Int32Array(buffer, x.ptrFeatRowStart() >>> 0, rows.rows + 1).set(this.features.rowStart);
      new Int32Array(buffer, x.ptrFeatCols() >>> 0, this.features.colIndex.length).set(this.features.colIndex);
      new Uint8Array(buffer, x.ptrFeatLevels() >>> 0, this.features.levels.length).set(this.features.levels);
    }
    x.setRates(options.lr, options.momentum, options.weightDecay);
    if (this.threads > 1) this.helpers = new CdHelperThreads(kernelModule(), this.memory, planArgs, this.threads);
  }

  /** Views on W, b, c in the module's memory (made again if the memory has grown since). */
  get params(): RbmParams {
    const { x, V, K, F } = this;
    const buffer = this.memory.buffer;
    if (!this.view || this.view.W.buffer !== buffer) {
      this.view = {
        visibles: V,
        levels: K,
        hidden: F,
        W: new Float32Array(buffer, x.ptrW() >>> 0, V * K * F),
        b: new Float32Array(buffer, x.ptrB() >>> 0, V * K),
        c: new Float32Array(buffer, x.ptrC() >>> 0, F),
      };
    }
    return this.view;
  }

  /** Views on the momentum velocities vW, vb, vc (for tests). */
  velocities(): { W: Float32Array; b: Float32Array; c: Float32Array } {
    const { x, V, K, F } = this;
    const buffer = this.memory.buffer;
    return {
      W: new Float32Array(buffer, x.ptrVW() >>> 0, V * K * F),
      b: new Float32Array(buffer, x.ptrVB() >>> 0, V * K),
      c: new Float32Array(buffer, x.ptrVC() >>> 0, F),
    };
  }

  setRates(lr: number, momentum: number): void {
    this.lr = lr;
    this.momentum = momentum;
    this.x.setRates(lr, momentum, this.options.weightDecay);
  }

  trainEpoch(order: Int32Array, steps: number, rng: Rng): EpochStatistics {
    const { x, helpers, options } = this;
    new Int32Array(this.memory.buffer, x.ptrOrder() >>> 0, order.length).set(order);
    x.resetError();
    const meanField = options.meanField ? 1 : 0;
    if (!helpers) {
      this.withRng(rng, () => x.trainEpoch(order.length, options.batchSize, steps, meanField));
    } else {
      // Every thread runs parallelEpoch with the same arguments; this one leads (and owns the stream).
      const { lr, momentum } = this;
      const step = x.getStep();
      this.withRng(rng, () => {
        const split = options.splitFromBytes ?? PHASE_SPLIT_BYTES;
        const args = [order.length, options.batchSize, steps, meanField, lr, momentum, options.weightDecay, step, split] as const;
        helpers.startEpoch(args);
        const status = x.parallelEpoch(...args);
        if (status !== 0) {
          helpers.throwIfFailed();
          throw new Error('a training helper thread stopped without saying why');
        }
      });
    }
    return { squaredError: x.getSquaredError(), errorCount: x.getErrorCount() };
  }

  predictValidation(rows: Int32Array | null): Float64Array {
    const validation = need(this.validation, 'a validation slice');
    const n = validation.colIndex.length;
    if (n === 0) return new Float64Array(0);
    const count = this.setPassRows(rows, validation);
    this.runRows(0, count);
    const all = new Float64Array(this.memory.buffer, this.x.ptrValOut() >>> 0, n);
    if (!rows) return all.slice();
    // Only the rows asked for: the others hold an earlier pass's numbers.
    const out = new Float64Array(n);
    for (const r of rows) out.set(all.subarray(validation.rowStart[r], validation.rowStart[r + 1]), validation.rowStart[r]);
    return out;
  }

  hiddenFeatures(): Float32Array {
    const features = need(this.features, 'feature cases');
    const { F } = this;
    if (features.colIndex.length === 0) return hiddenOfRows(this.params, features);
    this.runRows(1, this.setPassRows(null, features));
    return new Float32Array(this.memory.buffer, this.x.ptrFeatOut() >>> 0, features.rows * F).slice();
  }

  predictValidationAndFeatures(): { predictions: Float64Array; features: Float32Array } {
    const validation = need(this.validation, 'a validation slice');
    const features = need(this.features, 'feature cases');
    let covered = validation.colIndex.length > 0 && features.colIndex.length > 0;
    for (let r = 0; covered && r < validation.rows; r++) {
      covered = validation.rowStart[r + 1] === validation.rowStart[r] || features.rowStart[r + 1] > features.rowStart[r];
    }
    if (!covered) return { predictions: this.predictValidation(null), features: this.hiddenFeatures() };
    // Every row with feature ratings (among them every row with validation ratings: those are training
    // ratings too), each its features and, if it has validation ratings, their predictions.
    this.runRows(2, this.setPassRows(null, features));
    const buffer = this.memory.buffer;
    return {
      predictions: new Float64Array(buffer, this.x.ptrValOut() >>> 0, validation.colIndex.length).slice(),
      features: new Float32Array(buffer, this.x.ptrFeatOut() >>> 0, features.rows * this.F).slice(),
    };
  }

  loadParams(p: RbmParams): void {
    const live = this.params;
    if (p.W !== live.W) copyParamsInto(p, live);
  }

  /**
   * The draws split in contiguous parts of whole Box–Muller pairs, one per thread, each part starting from
   * the stream jumped ahead by two draws per earlier pair (xoshiroJump). A zero u is drawn again (a 2^-32
   * chance per pair), which shifts every later pair's draws: the parts after the first that had one are
   * then drawn again here, from where it ended. Either way W and the stream are those of the serial loop.
   */
  initWeightsNormal(rng: Rng, scale: number): void {
    const W = this.params.W;
    if (!this.helpers || W.length < 2 * this.threads) {
      rng.fillNormal(W, scale);
      return;
    }
    let first = 0;
    const spare = rng.getSpareNormal();
    if (spare !== null) {
      W[first++] = spare * scale;
      rng.setSpareNormal(null);
    }
    // Whole pairs on the threads; an odd count's last draw (its pair's second variate cached) here.
    const pairs = Math.floor((W.length - first) / 2);
    const T = this.threads;
    const start0 = rng.getState();
    const parts = Array.from({ length: T }, (_, w) => {
      const p0 = Math.floor((pairs * w) / T);
      const p1 = Math.floor((pairs * (w + 1)) / T);
      const state = xoshiroJump(start0, 2n * BigInt(p0));
      return [W.byteOffset, first + 2 * p0, first + 2 * p1, ...state, scale];
    });
    const ownState = Int32Array.from(start0);
    let ownRedrawn = 0;
    const reports = this.helpers.runNormal(parts, () => {
      ownRedrawn = normalPairs(W, parts[0][1], parts[0][2], ownState, scale);
    });
    // Walk the parts in order; a part drawn from a wrong start (a zero u before it) is drawn again.
    let state = ownState;
    let shifted = ownRedrawn > 0;
    for (let w = 1; w < T; w++) {
      const [, from, to] = parts[w];
      if (shifted) {
        normalPairs(W, from, to, state, scale);
      } else {
        state = Int32Array.from(reports[w].subarray(REPORT.state, REPORT.state + 4));
        shifted = reports[w][REPORT.redrawn] > 0;
      }
    }
    if ((W.length - first) % 2 === 1) {
      const last = new Float64Array(1);
      normalPairs(W, W.length - 1, W.length, state, scale, last);
      rng.setSpareNormal(last[0]);
    }
    rng.setState(state);
  }

  /** Writes the rows a pass visits (`rows`, or every row of `target` that has entries) and returns their count. */
  private setPassRows(rows: Int32Array | null, target: CompressedRows): number {
    const list = new Int32Array(this.memory.buffer, this.x.ptrPredRows() >>> 0, target.rows);
    if (rows) {
      list.set(rows);
      return rows.length;
    }
    let count = 0;
    for (let r = 0; r < target.rows; r++) if (target.rowStart[r + 1] > target.rowStart[r]) list[count++] = r;
    return count;
  }

  /** parallelRows on every thread of the engine (rows per grab: small, so long rows balance out). */
  private runRows(what: 0 | 1 | 2, count: number): void {
    const chunk = 16;
    this.helpers?.startRows([what, count, chunk]);
    if (this.x.parallelRows(what, count, chunk) !== 0) {
      this.helpers?.throwIfFailed();
      throw new Error('a training helper thread stopped without saying why');
    }
  }

  close(): void {
    this.helpers?.close();
  }

  /**
   * The most CD steps for which trainEpoch processes a batch row by row (default 1: measured faster only
   * there; see cdKernels.as.ts). For tests of the row-by-row path at T > 1.
   */
  setRowWiseMaxSteps(steps: number): void {
    this.x.setRowWiseMaxSteps(steps);
  }

  // The steps of trainEpoch one at a time, for comparing with the JS kernels.

  /** Starts a mini-batch of `size` cases (the gradient scale is ε/size). */
  beginBatch(size: number): void {
    this.x.beginBatch(size);
  }

  /** Brings case r's rows up to date before it reads them (LazyMomentum.prepareRows). */
  prepareCase(r: number): void {
    this.x.prepareCase(r);
  }

  /** Adds case r's CD-`steps` statistics, scaled by ε/B, to the velocities (accumulateCase). */
  accumulateCase(r: number, steps: number, rng: Rng): void {
    this.withRng(rng, () => this.x.accumulateCase(r, steps, this.options.meanField ? 1 : 0));
  }

  /**
   * Ends the batch (LazyMomentum.apply). W ← W + v is deferred to each row's next catch-up, so `params`
   * shows the updated weights only after flush.
   */
  applyBatch(): void {
    this.x.applyBatch();
  }

  /** Brings every row up to date (LazyMomentum.flush). */
  flush(): void {
    this.x.flush();
  }

  /** Reconstruction error accumulated since the last trainEpoch (or since construction). */
  statistics(): EpochStatistics {
    return { squaredError: this.x.getSquaredError(), errorCount: this.x.getErrorCount() };
  }

  /** Runs `f` with the module drawing from `rng`'s stream, and hands the advanced stream back. */
  private withRng(rng: Rng, f: () => void): void {
    const x = this.x;
    const [s0, s1, s2, s3] = rng.getState();
    x.setRng(s0, s1, s2, s3);
    f();
    rng.setState([x.getRng(0), x.getRng(1), x.getRng(2), x.getRng(3)]);
  }
}

/** The kernels asked for by RBM_KERNELS: 'wasm', 'js', or null for automatic. */
export function kernelsPreference(env: NodeJS.ProcessEnv = process.env): KernelsKind | null {
  const v = (env.RBM_KERNELS ?? '').trim().toLowerCase();
  if (v === '' || v === 'auto') return null;
  if (v === 'wasm' || v === 'js') return v;
  throw new RangeError(`RBM_KERNELS must be "wasm", "js" or "auto", got ${JSON.stringify(env.RBM_KERNELS)}`);
}

/** Whether the wasm kernels load in this thread (and if not, why). */
export function wasmKernelsAvailable(): { ok: true } | { ok: false; reason: string } {
  try {
    kernelModule();
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
}

/**
 * An engine training a copy of `params` (wasm) or `params` itself (js) on the cases of `rows`. `kind`
 * defaults to RBM_KERNELS, then to wasm where it loads.
 */
export function createCdEngine(
  params: RbmParams,
  rows: CompressedRows,
  ratingLevels: readonly number[],
  options: CdEngineOptions,
  kind: KernelsKind | null = kernelsPreference(),
  inference: CdEngineInference = {},
): CdEngine {
  if (kind === 'js') return new JsCdEngine(params, rows, ratingLevels, options, inference);
  if (kind === 'wasm') return new WasmCdEngine(params, rows, ratingLevels, options, inference);
  if (!wasmKernelsAvailable().ok) return new JsCdEngine(params, rows, ratingLevels, options, inference);
  try {
    return new WasmCdEngine(params, rows, ratingLevels, options, inference);
  } catch {
    // E.g. the model does not fit in wasm32's 4 GiB: the JS kernels have no such limit.
    return new JsCdEngine(params, rows, ratingLevels, options, inference);
  }
}
