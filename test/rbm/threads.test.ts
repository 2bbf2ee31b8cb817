/**
 * Data-parallel training of the rating RBMs (TrainRbmJob.threads > 1: the wasm engine's parallelEpoch on
 * helper threads sharing its memory). The parallel epoch computes the serial case-by-case update with the
 * same draws and the same summation order, so it must equal that path bit for bit at any thread count;
 * one thread must stay exactly the path that existed before threads; and checkpoints and resuming work
 * with threads. Tiny data: each test spawns a few helper threads.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { compressRows, subsetRatings, type CompressedRows } from '../../src/data/dataset.js';
import { generateSyntheticRatings } from '../../src/data/synthetic.js';
import { WASM_OUTPUT } from '../../scripts/build-wasm.js';
import { WasmCdEngine, wasmKernelsAvailable, type CdEngineOptions } from '../../src/rbm/cdEngine.js';
import { CdHelperThreads } from '../../src/rbm/cdThreads.js';
import { validateTrainOptions, type RbmOptions } from '../../src/rbm/config.js';
import { validationSplit } from '../../src/model/rbmFit.js';
import { initParams, type RbmParams } from '../../src/rbm/params.js';
import { trainRbmInWorker } from '../../src/rbm/parallel.js';
import { trainRbm, validationRmse, visibleLevelCounts, type RbmCheckpoint } from '../../src/rbm/train.js';
import { Rng } from '../../src/rng.js';

const ds = generateSyntheticRatings({ seed: 5, users: 60, items: 40, ratings: 900 });

/** One empty case and a few long ones, so the queue of a batch is uneven and one case draws nothing. */
function withEmptyCase(rows: CompressedRows): CompressedRows {
  const rowStart = Int32Array.from([0, ...rows.rowStart]);
  return { ...rows, rows: rows.rows + 1, rowStart };
}

function paramsHash(p: RbmParams): string {
  const h = createHash('sha256');
  for (const a of [p.W, p.b, p.c]) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return h.digest('hex').slice(0, 16);
}

interface EpochRun {
  W: Float32Array;
  b: Float32Array;
  c: Float32Array;
  errors: number[];
  rng: [number, number, number, number];
}

/** Epochs of a wasm engine on `threads` threads (1: the serial path, case by case at every T). */
function runEngine(rows: CompressedRows, threads: number, options: Partial<CdEngineOptions>, stepsPerEpoch: number[]): EpochRun {
  const rng = new Rng(11);
  const K = ds.ratingLevels.length;
  const p = initParams(rows.cols, K, 10, visibleLevelCounts(rows, K), rng, 0.3);
  const engine = new WasmCdEngine(p, rows, ds.ratingLevels, {
    lr: 0.05,
    momentum: 0.5,
    weightDecay: 0.01,
    batchSize: 7,
    persistent: false,
    meanField: true,
    ...options,
    threads,
  });
  try {
    engine.setRowWiseMaxSteps(0);
    const order = new Int32Array(rows.rows).map((_, r) => r);
    const errors: number[] = [];
    stepsPerEpoch.forEach((steps, epoch) => {
      engine.setRates(0.05, epoch === 0 ? 0.5 : 0.9);
      rng.shuffle(order);
      errors.push(engine.trainEpoch(order, steps, rng).squaredError);
    });
    const { W, b, c } = engine.params;
    return { W: W.slice(), b: b.slice(), c: c.slice(), errors, rng: rng.getState() };
  } finally {
    engine.close();
  }
}

describe.skipIf(!wasmKernelsAvailable().ok)('data-parallel CD epochs (threads)', () => {
  // Each case spawns helper threads (about half a second each to start): the variants run one orientation
  // at 3 threads; the first both orientations at 2 and 3.
  const cases: [string, Partial<CdEngineOptions>, ('user' | 'item')[], number[]][] = [
    ['mean field', {}, ['user', 'item'], [2, 3]],
    ['sampled', { meanField: false }, ['item'], [3]],
    ['persistent chains', { persistent: true, meanField: false }, ['user'], [3]],
    ['a last batch of one case', { batchSize: 5 }, ['user'], [3]],
    // Phase P (the positive phases apart) in every batch, and in the batches with a case of 10 ratings or
    // more only (K 5 × F 10 × 4 bytes a rating): the same bits as the fused phase of the cases above.
    ['phase P in every batch', { splitFromBytes: 0 }, ['user', 'item'], [2]],
    ['phase P in some batches', { splitFromBytes: 2000 }, ['item'], [3]],
    ['phase P, persistent chains', { persistent: true, meanField: false, splitFromBytes: 0 }, ['user'], [2]],
  ];
  for (const [name, options, orientations, threadCounts] of cases) {
    it(`equal the serial case-by-case epochs bit for bit: ${name}`, () => {
      for (const orientation of orientations) {
        const rows = withEmptyCase(compressRows(ds, orientation));
        const serial = runEngine(rows, 1, options, [1, 1, 2]);
        for (const threads of threadCounts) {
          const parallel = runEngine(rows, threads, options, [1, 1, 2]);
          expect(parallel.W, `${orientation} W at ${threads} threads`).toEqual(serial.W);
          expect(parallel.b).toEqual(serial.b);
          expect(parallel.c).toEqual(serial.c);
          // The reconstruction errors are summed in the serial order too, and the stream ends where it does.
          expect(parallel.errors).toEqual(serial.errors);
          expect(parallel.rng).toEqual(serial.rng);
        }
      }
    });
  }

  it('keeps one thread the path from before threads existed, bit for bit', () => {
    // Hashes of the parameters that the code before data-parallel training (commit 27e08ae) trained here;
    // the schedule crosses from CD-1 (row-by-row batches) to CD-2 (case by case).
    const golden: Record<string, string> = {
      'user meanField': 'ee981089e80d27d8',
      'user sample': '417d86e92a4dc075',
      'item meanField': '827a8a23338a6fdd',
      'item sample': '1e339cbccb6c9cf9',
    };
    for (const orientation of ['user', 'item'] as const) {
      for (const negativePhase of ['meanField', 'sample'] as const) {
        const rbm = {
          negativePhase,
          cdSchedule: [
            { fromEpoch: 1, steps: 1 },
            { fromEpoch: 3, steps: 2 },
          ],
        };
        const options = validateTrainOptions({ hidden: 12, epochs: 4, batchSize: 7, user: rbm, item: rbm })[orientation];
        const job = {
          phase: orientation,
          train: compressRows(ds, orientation),
          validation: null,
          ratingLevels: ds.ratingLevels,
          options,
          seed: 3,
        };
        const one = trainRbm({ ...job, threads: 1 });
        expect(one.kernels).toBe('wasm');
        expect(paramsHash(one.params), `${orientation} ${negativePhase}`).toBe(golden[`${orientation} ${negativePhase}`]);
        expect(paramsHash(trainRbm(job).params)).toBe(golden[`${orientation} ${negativePhase}`]);
      }
    }
  });
});

describe.skipIf(!wasmKernelsAvailable().ok)('trainRbm with threads', () => {
  const split = validationSplit(ds.levels.length, 0.1, 0);
  const train = compressRows(subsetRatings(ds, split.fit), 'item');
  const validation = compressRows(subsetRatings(ds, split.validation), 'item');
  const options = (epochs: number): RbmOptions => ({
    ...validateTrainOptions({ hidden: 8, epochs, lr: 0.2, batchSize: 6 }).item,
    patience: 100,
  });
  const job = (epochs: number, threads: number) => ({
    phase: 'item' as const,
    train,
    validation,
    ratingLevels: ds.ratingLevels,
    options: options(epochs),
    seed: 7,
    threads,
  });

  it('gives one model per seed at any count above 1, close to the one-thread model', () => {
    const two = trainRbm(job(5, 2));
    const four = trainRbm(job(5, 4));
    expect(paramsHash(four.params)).toBe(paramsHash(two.params));
    expect(four.curve).toEqual(two.curve.map((r, n) => ({ ...r, seconds: four.curve[n].seconds })));
    // One thread sums each case's hidden input in another order (row by row): the same model up to
    // float rounding, so the validation RMSE agrees closely.
    const one = trainRbm(job(5, 1));
    expect(Math.abs((two.bestValidationRmse as number) - (one.bestValidationRmse as number))).toBeLessThan(1e-3);
  });

  it('checkpoints and resumes with threads, in a worker too', async () => {
    let saved: RbmCheckpoint | null = null;
    let t = 0;
    trainRbm(job(6, 2), { onCheckpoint: (c) => (saved ??= c), checkpointEveryMs: 150_000, now: () => (t += 60_000) });
    const checkpoint = saved as RbmCheckpoint | null;
    if (!checkpoint) throw new Error('no checkpoint was taken');
    expect(checkpoint.epoch).toBe(3);
    expect(validationRmse(checkpoint.params, train, validation, ds.ratingLevels)).toBe(checkpoint.bestValidationRmse);
    const resumed = trainRbm(job(6, 2), { resumeFrom: checkpoint });
    expect(resumed.curve.slice(0, 3)).toEqual(checkpoint.curve);
    expect(resumed.curve.slice(3).map((r) => r.epoch)).toEqual([4, 5, 6]);
    expect(resumed.bestValidationRmse).toBeLessThanOrEqual(checkpoint.bestValidationRmse as number);
    // In a worker (as fitRbmBlend trains) with another count above 1: the same continuation.
    const inWorker = await trainRbmInWorker(job(6, 3), { resumeFrom: checkpoint });
    expect(paramsHash(inWorker.params)).toBe(paramsHash(resumed.params));
  });
});

describe('training helper threads', () => {
  it('report a helper that cannot start as an error of the epoch, not a hang', async () => {
    const module = new WebAssembly.Module(await readFile(WASM_OUTPUT));
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 16, shared: true });
    // Sizes that cannot fit in this memory: the helper's plan fails, so it never becomes ready.
    const helpers = new CdHelperThreads(module, memory, [100_000, 10, 100, 10, 10, 1, 0, 1, 1, 1, 0, 0], 2);
    try {
      expect(() => helpers.startEpoch([0, 1, 1, 1, 0.1, 0.5, 0, 0])).toThrow(
        'a training helper thread failed: helper 1: the helper could not plan its memory',
      );
    } finally {
      helpers.close();
    }
  });
});
