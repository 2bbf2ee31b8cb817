/**
 * The implicit RBM's shared-memory engine (rbm/implicitShared.ts): the same statistics as the typed-array
 * reference, the same parameters bit for bit at any thread count, and a sampled negative phase whose
 * bookkeeping (slots, a case's own items left out of the sample, weights) reduces to the dense one when the
 * sample's exact head covers every item.
 */
import { describe, expect, it } from 'vitest';
import { carveValidation, ratedRows, validateImplicitOptions, type ImplicitRbmOptions } from '../../src/rbm/implicit.js';
import { initImplicitParams, type ImplicitParams } from '../../src/rbm/implicitParams.js';
import { aliasTable, HEAD_SHARE } from '../../src/rbm/implicitShared.js';
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
    const shared = await train(rows, null, { cdSteps: 2 });
    const tfjs = await train(rows, null, { cdSteps: 2, engine: 'tfjs' });
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
