/**
 * The implicit RBM's shared-memory engine (rbm/implicitShared.ts): the same statistics as the typed-array
 * reference, the same parameters bit for bit at any thread count, and a sampled negative phase whose
 * bookkeeping (slots, a case's own items left out of the sample, weights) reduces to the dense one when the
 * sample's exact head covers every item.
 */
import { describe, expect, it } from 'vitest';
import { carveValidation, epochBudget, ratedRows, validateImplicitOptions, type ImplicitRbmOptions } from '../../src/rbm/implicit.js';
import { initImplicitParams, type ImplicitParams } from '../../src/rbm/implicitParams.js';
import { aliasTable, decayTable, HEAD_SHARE, implicitKernelsModule, instantiateKernels } from '../../src/rbm/implicitShared.js';
import { negativePhaseFor, SAMPLED_FROM_ITEMS, trainImplicitRbm, type RatedRows } from '../../src/rbm/implicitTrain.js';
import { Rng } from '../../src/rng.js';
import { expectEnginesAgree } from '../helpers/implicitEngines.js';
import { twoTastes } from '../helpers/twoTastes.js';

const USERS = 80;
const ITEMS = 40;
const rows = ratedRows(twoTastes(5, { users: USERS, items: ITEMS, pIn: 0.6, pOut: 0.04 }));

async function train(fit: RatedRows, validation: RatedRows | null, options: Partial<ImplicitRbmOptions>) {
  const o = validateImplicitOptions({ hidden: 8, lr: 0.1, batchSize: 30, epochs: 3, patience: 3, ...options });
  const counts = new Float64Array(ITEMS);
  for (const i of fit.colIndex) counts[i]++;
  const start: ImplicitParams = { ...initImplicitParams(counts, USERS, o.hidden, new Rng(1), 0.1), medianActivity: 7 };
  return trainImplicitRbm(start, fit, validation, o, new Rng(2));
}

const expectIdentical = (a: ImplicitParams, b: ImplicitParams): void => {
  expect(Buffer.from(a.W.buffer, a.W.byteOffset, a.W.byteLength).equals(Buffer.from(b.W.buffer, b.W.byteOffset, b.W.byteLength))).toBe(
    true,
  );
  expect(Array.from(a.b)).toEqual(Array.from(b.b));
  expect(Array.from(a.c)).toEqual(Array.from(b.c));
};

describe('the shared engine', () => {
  it('trains what the typed-array engine trains (dense, CD-1, a partial last batch, F not a multiple of 4)', async () => {
    for (const hidden of [8, 7]) {
      await expectEnginesAgree(rows, USERS, ITEMS, validateImplicitOptions({ hidden, lr: 0.1, batchSize: 30, epochs: 3 }), 'shared');
    }
  });

  it('gives the same parameters and curve bit for bit on 1, 2 and 3 threads, dense and sampled', async () => {
    const { fit, validation } = carveValidation(rows, 0.2, new Rng(3));
    for (const phase of [{ negativePhase: 'dense' }, { negativePhase: 'sampled', negativeSamples: 12 }] as const) {
      const runs = [];
      for (const threads of [1, 2, 3]) runs.push(await train(fit, validation, { ...phase, threads }));
      for (const r of runs.slice(1)) {
        expectIdentical(r.params, runs[0].params);
        expect(r.curve.map((e) => [e.trainRmse, e.validationRmse])).toEqual(runs[0].curve.map((e) => [e.trainRmse, e.validationRmse]));
      }
      expect(runs[0].bestNdcg).toBeGreaterThan(0);
    }
  });

  it('gives the same bit for bit on 1, 2 and 3 threads when the work is claimed in several chunks of rows and groups of cases', async () => {
    // 300 items: 4 chunks of rows dense, 3 sampled; 150 users in batches of 40 (the last one partial), so
    // the threads take different shares of every phase from batch to batch.
    const many = ratedRows(twoTastes(8, { users: 150, items: 300, pIn: 0.5, pOut: 0.05 }));
    const { fit, validation } = carveValidation(many, 0.2, new Rng(3));
    const counts = new Float64Array(many.cols);
    for (const i of fit.colIndex) counts[i]++;
    for (const phase of [{ negativePhase: 'dense' }, { negativePhase: 'sampled', negativeSamples: 260 }] as const) {
      const runs = [];
      for (const threads of [1, 2, 3]) {
        const o = validateImplicitOptions({ hidden: 12, lr: 0.1, batchSize: 40, epochs: 3, patience: 3, ...phase, threads });
        const start = { ...initImplicitParams(counts, fit.rows, o.hidden, new Rng(1), 0.1), medianActivity: 20 };
        runs.push(await trainImplicitRbm(start, fit, validation, o, new Rng(2)));
      }
      for (const r of runs.slice(1)) {
        expectIdentical(r.params, runs[0].params);
        expect(r.curve.map((e) => [e.trainRmse, e.validationRmse])).toEqual(runs[0].curve.map((e) => [e.trainRmse, e.validationRmse]));
      }
    }
  });

  it('samples to the dense statistics when the exact head holds every item (the bookkeeping of slots and exclusions)', async () => {
    const dense = await train(rows, null, { negativePhase: 'dense' });
    const sampled = await train(rows, null, { negativePhase: 'sampled', negativeSamples: Math.ceil(ITEMS / HEAD_SHARE) + 1 });
    for (let n = 0; n < dense.params.W.length; n++) expect(sampled.params.W[n]).toBeCloseTo(dense.params.W[n], 4);
    for (let i = 0; i < ITEMS; i++) expect(sampled.params.b[i]).toBeCloseTo(dense.params.b[i], 4);
  });

  it('a sampled run differs from the dense one when the sample is smaller than the catalog', async () => {
    const dense = await train(rows, null, { negativePhase: 'dense' });
    const sampled = await train(rows, null, { negativePhase: 'sampled', negativeSamples: 12 });
    let diff = 0;
    for (let n = 0; n < dense.params.W.length; n++) diff = Math.max(diff, Math.abs(sampled.params.W[n] - dense.params.W[n]));
    expect(diff).toBeGreaterThan(1e-3);
  });

  it('runs CD-T on the tfjs engine (the same parameters), and names a bad option', async () => {
    const shared = await train(rows, null, { cdSteps: 2, hiddenUnits: 'binary' });
    const tfjs = await train(rows, null, { cdSteps: 2, engine: 'tfjs', hiddenUnits: 'binary' });
    expectIdentical(shared.params, tfjs.params);
    expect(() => validateImplicitOptions({ threads: 0 })).toThrow(/threads must be a positive integer, got 0/);
    expect(() => validateImplicitOptions({ negativePhase: 'some' as 'dense' })).toThrow(
      /negativePhase must be one of "auto", "dense", "sampled"/,
    );
  });
});

describe('the sampled negative phase', () => {
  it('draws from the alias table with the table’s probabilities', () => {
    const weights = [5, 1, 0.5, 3, 0.5];
    const { prob, alias, p } = aliasTable(weights);
    const rng = new Rng(4);
    const counts = new Float64Array(weights.length);
    const draws = 200_000;
    for (let s = 0; s < draws; s++) {
      const x = rng.next() * weights.length;
      const col = Math.floor(x);
      counts[x - col < prob[col] ? col : alias[col]]++;
    }
    const total = weights.reduce((a, b) => a + b, 0);
    weights.forEach((w, i) => {
      expect(p[i]).toBeCloseTo(w / total, 12);
      expect(Math.abs(counts[i] / draws - w / total)).toBeLessThan(0.005);
    });
  });

  it('is chosen by the catalog size under auto (dense below SAMPLED_FROM_ITEMS, or when the sample would hold every item)', () => {
    expect(negativePhaseFor({ negativePhase: 'auto', negativeSamples: 2000 }, 1682)).toBe('dense');
    expect(negativePhaseFor({ negativePhase: 'auto', negativeSamples: 2000 }, SAMPLED_FROM_ITEMS - 1)).toBe('dense');
    expect(negativePhaseFor({ negativePhase: 'auto', negativeSamples: 2000 }, SAMPLED_FROM_ITEMS)).toBe('sampled');
    expect(negativePhaseFor({ negativePhase: 'auto', negativeSamples: 100_000 }, 59_047)).toBe('dense');
    expect(negativePhaseFor({ negativePhase: 'dense', negativeSamples: 2000 }, 59_047)).toBe('dense');
    expect(negativePhaseFor({ negativePhase: 'sampled', negativeSamples: 2000 }, 100)).toBe('sampled');
  });
});

describe('the lazy decay of rows a sampled batch did not touch', () => {
  it('catching a row up k steps at once equals k gradient-free momentum steps', () => {
    const F = 7;
    const memory = new WebAssembly.Memory({ initial: 2, maximum: 2, shared: true });
    const k = instantiateKernels(implicitKernelsModule(), memory);
    const f32 = new Float32Array(memory.buffer);
    const i32 = new Int32Array(memory.buffer);
    // Two copies of one row (W, ΔW, b, Δb) at rows 0 and 1; slot −1 (untouched); lastStep 0.
    const [W, inc, b, incb, slot, last, pow] = [65536, 65536 + 64, 65536 + 128, 65536 + 160, 65536 + 192, 65536 + 224, 65536 + 256];
    const rng = new Rng(5);
    for (let j = 0; j < F; j++) {
      f32[W / 4 + j] = f32[W / 4 + F + j] = rng.normal();
      f32[inc / 4 + j] = f32[inc / 4 + F + j] = rng.normal() * 0.1;
    }
    f32[b / 4] = f32[b / 4 + 1] = 0.3;
    f32[incb / 4] = f32[incb / 4 + 1] = -0.05;
    i32[slot / 4] = i32[slot / 4 + 1] = -1;
    const [lr, mu, decay, steps] = [0.02, 0.9, 0.03, 25];
    for (let s = 0; s < steps; s++) k.updateRows(W, inc, b, incb, 0, 1, F, slot, 0, 0, lr, mu, decay, 0.01, 0);
    f32.set(decayTable(lr, mu, decay, steps), pow / 4);
    k.catchUp(W, inc, b, incb, F, last, 0, 1, 2, steps, pow);
    expect(i32[last / 4 + 1]).toBe(steps);
    for (let j = 0; j < F; j++) {
      expect(f32[W / 4 + F + j]).toBeCloseTo(f32[W / 4 + j], 5);
      expect(f32[inc / 4 + F + j]).toBeCloseTo(f32[inc / 4 + j], 5);
    }
    expect(f32[b / 4 + 1]).toBeCloseTo(f32[b / 4], 5);
    expect(f32[incb / 4 + 1]).toBeCloseTo(f32[incb / 4], 5);
  });
});

describe('the epoch budget', () => {
  it('keeps the epochs of a small catalog and caps a large one at 10 (never more than asked)', () => {
    const o = validateImplicitOptions();
    expect(epochBudget(o, 943)).toBe(60);
    expect(epochBudget(o, 330)).toBe(60);
    expect(epochBudget(o, 2_000)).toBe(30);
    expect(epochBudget(o, 6_040)).toBe(10);
    expect(epochBudget(o, 162_541)).toBe(10);
    expect(epochBudget({ ...o, epochs: 3 }, 162_541)).toBe(3);
    expect(epochBudget({ ...o, scaleEpochs: false }, 162_541)).toBe(60);
  });
});
