/**
 * The WebAssembly SIMD CD kernels (src/rbm/wasm/cdKernels.as.ts via src/rbm/cdEngine.ts) against the
 * plain-JS reference kernels (src/rbm/kernels.ts): the same statistics, the same lazy momentum update, the
 * same random stream, and weights equal up to float rounding (they sum in another order). Then training
 * with them: determinism, and agreement with JS training.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { compressRows, type CompressedRows } from '../../src/data/dataset.js';
import { generateSyntheticRatings } from '../../src/data/synthetic.js';
import {
  createCdEngine,
  JsCdEngine,
  kernelsPreference,
  WasmCdEngine,
  wasmKernelsAvailable,
  type CdEngineOptions,
} from '../../src/rbm/cdEngine.js';
import { validateTrainOptions, type RbmOptions } from '../../src/rbm/config.js';
import { accumulateCase, CdWorkspace, LazyMomentum } from '../../src/rbm/kernels.js';
import { cloneParams, initParams, type RbmParams } from '../../src/rbm/params.js';
import { trainRbmInWorker } from '../../src/rbm/parallel.js';
import { trainRbm, visibleLevelCounts } from '../../src/rbm/train.js';
import { Rng } from '../../src/rng.js';

const LEVELS = [1, 2, 3, 4, 5];

/**
 * Random cases over V visibles: F = 10 so rows have a SIMD part and a scalar tail (F4 = 8); case 3 has
 * no ratings; visibles 0 and V−1 are rated by few cases, so their rows wait many updates between touches.
 */
function randomProblem(seed: number, V = 9, F = 10, cases = 12): { p: RbmParams; rows: CompressedRows } {
  const rng = new Rng(seed);
  const K = LEVELS.length;
  const rowStart = [0];
  const cols: number[] = [];
  const levels: number[] = [];
  for (let r = 0; r < cases; r++) {
    if (r !== 3) {
      for (let i = 0; i < V; i++) {
        const rare = i === 0 || i === V - 1;
        if (rng.next() < (rare ? 0.15 : 0.6)) {
          cols.push(i);
          levels.push(rng.int(K));
        }
      }
    }
    rowStart.push(cols.length);
  }
  const rows: CompressedRows = {
    rows: cases,
    cols: V,
    rowStart: Int32Array.from(rowStart),
    colIndex: Int32Array.from(cols),
    levels: Uint8Array.from(levels),
  };
  const p: RbmParams = {
    visibles: V,
    levels: K,
    hidden: F,
    W: new Float32Array(V * K * F).map(() => rng.normal() * 0.5),
    b: new Float32Array(V * K).map(() => rng.normal() * 0.5),
    c: new Float32Array(F).map(() => rng.normal() * 0.5),
  };
  return { p, rows };
}

function maxCase(rows: CompressedRows): number {
  let m = 0;
  for (let r = 0; r < rows.rows; r++) m = Math.max(m, rows.rowStart[r + 1] - rows.rowStart[r]);
  return m;
}

/** Largest |a − b| / max(1, |b|). */
function worstRelative(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let n = 0; n < a.length; n++) worst = Math.max(worst, Math.abs(a[n] - b[n]) / Math.max(1, Math.abs(b[n])));
  return worst;
}

function maxAbs(a: Float32Array): number {
  let m = 0;
  for (const x of a) m = Math.max(m, Math.abs(x));
  return m;
}

const VARIANTS = [
  { meanField: false, persistent: false, steps: 1 },
  { meanField: true, persistent: false, steps: 1 },
  { meanField: false, persistent: true, steps: 3 },
  { meanField: true, persistent: true, steps: 3 },
] as const;

describe('wasm CD kernels', () => {
  it('load here (Node 20 has WebAssembly SIMD), and are what createCdEngine picks by default', () => {
    expect(wasmKernelsAvailable()).toEqual({ ok: true });
    const { p, rows } = randomProblem(1);
    const options: CdEngineOptions = { lr: 0.1, momentum: 0.5, weightDecay: 0.01, batchSize: 4, persistent: false, meanField: true };
    expect(createCdEngine(cloneParams(p), rows, LEVELS, options, null).kind).toBe('wasm');
    expect(createCdEngine(cloneParams(p), rows, LEVELS, options, 'js').kind).toBe('js');
  });

  it('Rng.getState/setState hand over the stream: a copy continues exactly where the original is', () => {
    const a = new Rng(42);
    for (let n = 0; n < 5; n++) a.next();
    const b = new Rng(0);
    b.setState(a.getState());
    const fromA = Array.from({ length: 20 }, () => a.nextUint32());
    const fromB = Array.from({ length: 20 }, () => b.nextUint32());
    expect(fromB).toEqual(fromA);
    expect(a.getState().every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32)).toBe(true);
  });

  it('RBM_KERNELS selects the kernels and rejects anything else', () => {
    expect(kernelsPreference({})).toBeNull();
    expect(kernelsPreference({ RBM_KERNELS: 'auto' })).toBeNull();
    expect(kernelsPreference({ RBM_KERNELS: 'wasm' })).toBe('wasm');
    expect(kernelsPreference({ RBM_KERNELS: 'JS' })).toBe('js');
    expect(() => kernelsPreference({ RBM_KERNELS: 'gpu' })).toThrow(/RBM_KERNELS/);
  });

  for (const v of VARIANTS) {
    const label = `${v.meanField ? 'mean-field' : 'sampled'}${v.persistent ? ', persistent chain' : ''}, CD-${v.steps}`;

    it(`one batch's statistics equal accumulateCase's (${label})`, () => {
      const { p, rows } = randomProblem(2 + v.steps);
      // With ε = 1, μ = 0, λ = 0 and B = 1 the velocity after the batch is the summed statistics g.
      const js = new CdWorkspace(cloneParams(p), maxCase(rows));
      const jsRng = new Rng(11);
      const chain = v.persistent ? rows.levels.slice() : null;
      const wasm = new WasmCdEngine(cloneParams(p), rows, LEVELS, { lr: 1, momentum: 0, weightDecay: 0, batchSize: 1, ...v });
      const wasmRng = new Rng(11);
      wasm.beginBatch(1);
      for (const r of [0, 2, 3, 5, 7]) {
        accumulateCase(js, rows, r, v.steps, jsRng, LEVELS, chain, v.meanField);
        wasm.prepareCase(r);
        wasm.accumulateCase(r, v.steps, wasmRng);
      }
      // The same number of draws from the same stream.
      expect(wasmRng.getState()).toEqual(jsRng.getState());
      const g = wasm.velocities();
      expect(maxAbs(js.gW)).toBeGreaterThan(0.1);
      expect(worstRelative(g.W, js.gW)).toBeLessThan(1e-5);
      expect(worstRelative(g.b, js.gb)).toBeLessThan(1e-5);
      expect(worstRelative(g.c, js.gc)).toBeLessThan(1e-5);
      const stats = wasm.statistics();
      expect(stats.errorCount).toBe(js.errorCount);
      expect(stats.squaredError).toBeCloseTo(js.squaredError, 5);
    });

    it(`trainEpoch's row-by-row batches equal the case-by-case steps (${label})`, () => {
      const { p, rows } = randomProblem(30 + v.steps, 40, 10, 30);
      const options: CdEngineOptions = { lr: 0.05, momentum: 0.9, weightDecay: 0.02, batchSize: 7, ...v };
      const rowWise = new WasmCdEngine(cloneParams(p), rows, LEVELS, options);
      rowWise.setRowWiseMaxSteps(v.steps);
      const caseWise = new WasmCdEngine(cloneParams(p), rows, LEVELS, options);
      const rngA = new Rng(8);
      const rngB = new Rng(8);
      const order = Int32Array.from({ length: rows.rows }, (_, r) => r);
      for (let epoch = 0; epoch < 3; epoch++) {
        rngA.shuffle(order);
        rngB.shuffle(order.slice());
        const a = rowWise.trainEpoch(order, v.steps, rngA);
        for (let at = 0; at < order.length; at += options.batchSize) {
          const stop = Math.min(order.length, at + options.batchSize);
          caseWise.beginBatch(stop - at);
          for (let q = at; q < stop; q++) {
            caseWise.prepareCase(order[q]);
            caseWise.accumulateCase(order[q], v.steps, rngB);
          }
          caseWise.applyBatch();
        }
        caseWise.flush();
        const b = caseWise.statistics();
        caseWise.trainEpoch(new Int32Array(0), v.steps, rngB); // resets the statistics
        expect(rngA.getState(), `epoch ${epoch}`).toEqual(rngB.getState());
        expect(a.errorCount).toBe(b.errorCount);
        expect(Math.abs(a.squaredError - b.squaredError) / b.squaredError).toBeLessThan(1e-6);
        expect(worstRelative(rowWise.params.W, caseWise.params.W)).toBeLessThan(1e-5);
        expect(worstRelative(rowWise.params.b, caseWise.params.b)).toBeLessThan(1e-5);
        expect(worstRelative(rowWise.params.c, caseWise.params.c)).toBeLessThan(1e-5);
        expect(worstRelative(rowWise.velocities().W, caseWise.velocities().W)).toBeLessThan(1e-5);
      }
      expect(worstRelative(rowWise.params.W, p.W)).toBeGreaterThan(1e-3);
    });

    it(`updates over several epochs equal LazyMomentum's (${label})`, () => {
      const { p, rows } = randomProblem(20 + v.steps);
      const options: CdEngineOptions = { lr: 0.05, momentum: 0.5, weightDecay: 0.02, batchSize: 3, ...v };
      const js = new JsCdEngine(cloneParams(p), rows, LEVELS, options);
      const wasm = new WasmCdEngine(cloneParams(p), rows, LEVELS, options);
      expect(wasm.params.W).toEqual(p.W);
      const jsRng = new Rng(5);
      const wasmRng = new Rng(5);
      const order = Int32Array.from({ length: rows.rows }, (_, r) => r);
      for (const [epoch, [lr, mu]] of [
        [0.05, 0.5],
        [0.05, 0.9],
        [0.03, 0.9],
      ].entries()) {
        js.setRates(lr, mu);
        wasm.setRates(lr, mu);
        jsRng.shuffle(order);
        wasmRng.shuffle(order.slice());
        const a = js.trainEpoch(order, v.steps, jsRng);
        const b = wasm.trainEpoch(order, v.steps, wasmRng);
        expect(wasmRng.getState(), `epoch ${epoch}`).toEqual(jsRng.getState());
        expect(b.errorCount).toBe(a.errorCount);
        expect(b.squaredError).toBeCloseTo(a.squaredError, 4);
        expect(worstRelative(wasm.params.W, js.params.W)).toBeLessThan(1e-4);
        expect(worstRelative(wasm.params.b, js.params.b)).toBeLessThan(1e-4);
        expect(worstRelative(wasm.params.c, js.params.c)).toBeLessThan(1e-4);
        expect(worstRelative(wasm.velocities().W, js.workspace.vW)).toBeLessThan(1e-4);
      }
      // The weights moved, including the rarely touched rows (caught up by momentum and decay).
      expect(worstRelative(js.params.W, p.W)).toBeGreaterThan(1e-3);
      const F = p.hidden;
      const K = p.levels;
      const rare = p.W.subarray(0, K * F);
      expect(worstRelative(js.params.W.subarray(0, K * F), rare)).toBeGreaterThan(1e-4);
    });
  }

  it('batches of mixed sizes, empty cases and long catch-ups step by step match LazyMomentum', () => {
    const { p, rows } = randomProblem(40);
    const lr = 0.07;
    const mu = 0.8;
    const decay = 0.05;
    const jsP = cloneParams(p);
    const ws = new CdWorkspace(jsP, maxCase(rows));
    const opt = new LazyMomentum(ws, lr, mu, decay);
    const wasm = new WasmCdEngine(cloneParams(p), rows, LEVELS, {
      lr,
      momentum: mu,
      weightDecay: decay,
      batchSize: 1,
      persistent: false,
      meanField: true,
    });
    const jsRng = new Rng(9);
    const wasmRng = new Rng(9);
    // Visible 0 and V−1 are rare; case 3 is empty; some batches repeat a case.
    const batches = [[0, 1], [3], [2, 2, 4], [5], [3], [6, 7, 8, 9], [10], [11, 0], [1], [3], [3], [4, 5, 6]];
    for (const batch of batches) {
      wasm.beginBatch(batch.length);
      for (const r of batch) {
        opt.prepareRows(rows.colIndex, rows.rowStart[r], rows.rowStart[r + 1]);
        accumulateCase(ws, rows, r, 2, jsRng, LEVELS, null, true);
        wasm.prepareCase(r);
        wasm.accumulateCase(r, 2, wasmRng);
      }
      opt.apply(batch.length);
      wasm.applyBatch();
    }
    opt.flush();
    wasm.flush();
    expect(wasmRng.getState()).toEqual(jsRng.getState());
    expect(worstRelative(wasm.params.W, jsP.W)).toBeLessThan(1e-5);
    expect(worstRelative(wasm.params.b, jsP.b)).toBeLessThan(1e-5);
    expect(worstRelative(wasm.params.c, jsP.c)).toBeLessThan(1e-5);
    expect(worstRelative(wasm.velocities().W, ws.vW)).toBeLessThan(1e-5);
  });
});

describe('training with the wasm kernels', () => {
  const saved = process.env.RBM_KERNELS;
  afterEach(() => {
    if (saved === undefined) delete process.env.RBM_KERNELS;
    else process.env.RBM_KERNELS = saved;
  });

  const ds = generateSyntheticRatings({ seed: 3, users: 200, items: 150, ratings: 8_000 });
  const rows = compressRows(ds, 'user');
  const options = (overrides: Partial<RbmOptions> = {}): RbmOptions => ({
    ...validateTrainOptions({ hidden: 12, epochs: 4, lr: 0.1 }).user,
    ...overrides,
  });
  const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);

  it('is deterministic: the same seed gives bit-identical weights, and the result is a plain copy', () => {
    process.env.RBM_KERNELS = 'wasm';
    const a = trainRbm({ phase: 'user', train: rows, validation: null, ratingLevels: ds.ratingLevels, options: options(), seed: 3 });
    const b = trainRbm({ phase: 'user', train: rows, validation: null, ratingLevels: ds.ratingLevels, options: options(), seed: 3 });
    expect(a.kernels).toBe('wasm');
    expect(bits(a.params.W)).toEqual(bits(b.params.W));
    expect(bits(a.params.b)).toEqual(bits(b.params.b));
    expect(bits(a.params.c)).toEqual(bits(b.params.c));
    expect(a.curve.map((r) => r.trainRmse)).toEqual(b.curve.map((r) => r.trainRmse));
    // Not a view on a wasm memory: its own buffer, exactly its size (so it can be transferred).
    expect(a.params.W.buffer.byteLength).toBe(a.params.W.byteLength);
    expect(a.params.W.buffer).not.toBeInstanceOf(SharedArrayBuffer);
  });

  it('trains to the same weights as the JS kernels, up to rounding (early stopping on validation too)', () => {
    for (const negativePhase of ['meanField', 'sample'] as const) {
      const o = options({
        negativePhase,
        cdSchedule: [
          { fromEpoch: 1, steps: 1 },
          { fromEpoch: 3, steps: 3 },
        ],
      });
      process.env.RBM_KERNELS = 'js';
      const js = trainRbm({ phase: 'user', train: rows, validation: rows, ratingLevels: ds.ratingLevels, options: o, seed: 4 });
      process.env.RBM_KERNELS = 'wasm';
      const wasm = trainRbm({ phase: 'user', train: rows, validation: rows, ratingLevels: ds.ratingLevels, options: o, seed: 4 });
      expect([js.kernels, wasm.kernels]).toEqual(['js', 'wasm']);
      expect(wasm.bestEpoch).toBe(js.bestEpoch);
      expect(worstRelative(wasm.params.W, js.params.W)).toBeLessThan(1e-4);
      expect(worstRelative(wasm.params.b, js.params.b)).toBeLessThan(1e-4);
      for (let e = 0; e < js.curve.length; e++) {
        expect(wasm.curve[e].trainRmse).toBeCloseTo(js.curve[e].trainRmse, 4);
        expect(wasm.curve[e].validationRmse!).toBeCloseTo(js.curve[e].validationRmse!, 4);
      }
    }
  });

  it('refuses a model too large for wasm32 memory (createCdEngine then falls back to the JS kernels)', () => {
    // 2^31 weights (8 GiB) cannot be planned. The arrays here are tiny: only the shape claims that size,
    // and plan refuses it before anything is copied.
    const small = randomProblem(3);
    const huge: RbmParams = { ...small.p, visibles: 1 << 20, hidden: 512 };
    const engineOptions: CdEngineOptions = { lr: 0.1, momentum: 0.5, weightDecay: 0, batchSize: 2, persistent: false, meanField: true };
    expect(() => new WasmCdEngine(huge, small.rows, LEVELS, engineOptions)).toThrow(/does not fit/);
  });

  it('runs in the training worker thread too, with the same weights as on the main thread', async () => {
    process.env.RBM_KERNELS = 'wasm';
    const o = options({ epochs: 2 });
    const here = trainRbm({ phase: 'user', train: rows, validation: null, ratingLevels: ds.ratingLevels, options: o, seed: 6 });
    const there = await trainRbmInWorker({
      phase: 'user',
      train: rows,
      validation: null,
      ratingLevels: ds.ratingLevels,
      options: o,
      seed: 6,
    });
    expect(there.kernels).toBe('wasm');
    expect(bits(there.params.W)).toEqual(bits(here.params.W));
  });

  it('initialises from the same parameters as the JS path (the engine copies them in unchanged)', () => {
    const rng = new Rng(1);
    const p = initParams(rows.cols, 5, 8, visibleLevelCounts(rows, 5), rng, 0.01);
    const engine = new WasmCdEngine(p, rows, ds.ratingLevels, {
      lr: 0.1,
      momentum: 0.5,
      weightDecay: 0,
      batchSize: 10,
      persistent: false,
      meanField: true,
    });
    expect(bits(engine.params.W)).toEqual(bits(p.W));
    expect(bits(engine.params.b)).toEqual(bits(p.b));
  });
});
