/**
 * The implicit RBM as a trained model, on a generated two-taste data set small enough to train in a
 * fraction of a second: group A mostly watches items 0–19, group B items 20–39.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Dataset } from '../../src/data/dataset.js';
import { initBackend, readFloat32, tf } from '../../src/rbm/backend.js';
import {
  carveValidation,
  fitImplicitRbm,
  ImplicitRbm,
  likedLevelIndex,
  ratedRows,
  validateImplicitOptions,
  watchAndLikeScores,
  type ImplicitRbmOptions,
  type ImplicitRbmState,
} from '../../src/rbm/implicit.js';
import { validationNdcg, validationUsers } from '../../src/rbm/implicitTrain.js';
import { Rng } from '../../src/rng.js';
import { expectEnginesAgree } from '../helpers/implicitEngines.js';
import { twoTastes } from '../helpers/twoTastes.js';

const USERS = 80;
const ITEMS = 40;

const SMALL: Partial<ImplicitRbmOptions> = {
  hidden: 8,
  epochs: 30,
  lr: 0.1,
  batchSize: 10,
  patience: 4,
  validationFraction: 0.2,
  members: 1,
  // The binary RBM's machinery (tfjs engine, CD-T, sampled hidden units); implicit-gaussian.test.ts has the Gaussian one's.
  hiddenUnits: 'binary',
  lrCosine: false,
};

let data: Dataset;
beforeAll(async () => {
  await initBackend();
  data = twoTastes(5, { users: USERS, items: ITEMS, pIn: 0.6, pOut: 0.04 });
});

describe('fitImplicitRbm', () => {
  it('same seed → bit-identical parameters; another seed → different ones', async () => {
    const a = await fitImplicitRbm(data, { ...SMALL, epochs: 4, seed: 3 });
    const b = await fitImplicitRbm(data, { ...SMALL, epochs: 4, seed: 3 });
    const c = await fitImplicitRbm(data, { ...SMALL, epochs: 4, seed: 4 });
    expect(b.params.W).toEqual(a.params.W);
    expect(b.params.b).toEqual(a.params.b);
    expect(b.params.c).toEqual(a.params.c);
    expect(c.params.W).not.toEqual(a.params.W);
  });

  it('learns the tastes: a group-A user’s unseen group-A items outrank every group-B item', async () => {
    const model = await fitImplicitRbm(data, SMALL);
    const rated = [0, 2, 4, 6, 8, 10];
    const p = model.watchProbabilities(rated);
    const unseenA = Array.from({ length: 20 }, (_, i) => i).filter((i) => !rated.includes(i));
    const minA = Math.min(...unseenA.map((i) => p[i]));
    const maxB = Math.max(...Array.from({ length: 20 }, (_, i) => p[20 + i]));
    expect(minA).toBeGreaterThan(maxB);
  });

  it('stops early: returns the best validation epoch, ending within `patience` epochs of it', async () => {
    const options = validateImplicitOptions({ ...SMALL, epochs: 200, lr: 0.3, patience: 3, seed: 1 });
    const model = await fitImplicitRbm(data, options);
    const t = model.training!;
    expect(t.epochs).toBeLessThan(200);
    expect(t.epochs - t.bestEpoch).toBe(options.patience);
    const ndcgs = t.curve.map((r) => 1 - r.validationRmse!);
    expect(Math.max(...ndcgs)).toBeCloseTo(t.bestValidationNdcg!, 12);
    expect(ndcgs.indexOf(Math.max(...ndcgs)) + 1).toBe(t.bestEpoch);
    // The returned parameters are that epoch's: recomputing the criterion on the same slice gives it back.
    const { fit, validation } = carveValidation(ratedRows(data), options.validationFraction, new Rng(options.seed));
    expect(validationNdcg(model.params, fit, validation, options.rankCutoff)).toBeCloseTo(t.bestValidationNdcg!, 6);
  });

  it('early stopping scores at most `validationUsers` users, evenly spaced, the same ones every epoch', async () => {
    const options = validateImplicitOptions({ ...SMALL, epochs: 200, lr: 0.3, patience: 3, seed: 1, validationUsers: 7 });
    const { fit, validation } = carveValidation(ratedRows(data), options.validationFraction, new Rng(options.seed));
    const all = validationUsers(validation, Infinity);
    expect(all.length).toBeGreaterThan(7);
    const some = validationUsers(validation, 7);
    expect(some).toHaveLength(7);
    expect(new Set(some).size).toBe(7);
    expect(some.every((u) => all.includes(u))).toBe(true);
    expect(some[0]).toBe(all[0]);
    const model = await fitImplicitRbm(data, options);
    const t = model.training!;
    // The criterion it stopped on is the subset's (not every user's) nDCG of the returned parameters.
    expect(validationNdcg(model.params, fit, validation, options.rankCutoff, some)).toBeCloseTo(t.bestValidationNdcg!, 6);
    expect(validationNdcg(model.params, fit, validation, options.rankCutoff)).not.toBeCloseTo(t.bestValidationNdcg!, 6);
  });

  it('rejects bad options with the field and the expected value', async () => {
    expect(() => validateImplicitOptions({ hidden: 0 })).toThrow('implicit RBM option hidden must be a positive integer, got 0');
    expect(() => validateImplicitOptions({ engine: 'gpu' as 'js' })).toThrow(
      'implicit RBM option engine must be one of "shared", "tfjs", "js", "sampled", got "gpu"',
    );
    expect(() => validateImplicitOptions({ validationFraction: 0.7 })).toThrow('validationFraction must be in [0, 0.5)');
  });
});

describe('engines', () => {
  it('the tfjs and the typed-array engines train the same parameters from the same seed', async () => {
    const rows = ratedRows(data);
    await expectEnginesAgree(rows, USERS, ITEMS, validateImplicitOptions({ ...SMALL, epochs: 3, cdSteps: 2 }));
  });

  it('readFloat32 gives a float32 tensor’s values (in place on the wasm backend)', () => {
    const values = Float32Array.from({ length: 1000 }, (_, n) => Math.sin(n));
    const t = tf.tidy(() => tf.tensor2d(values, [100, 10]).mul(2));
    expect(Array.from(readFloat32(t))).toEqual(Array.from(t.dataSync()));
    t.dispose();
    const i = tf.tensor1d([1, 2], 'int32');
    expect(() => readFloat32(i)).toThrow(/float32/);
    i.dispose();
  });

  it('the sampled-zeros engine learns the tastes too', async () => {
    const model = await fitImplicitRbm(data, { ...SMALL, engine: 'sampled', zeroSamples: 10 });
    const p = model.watchProbabilities([1, 3, 5, 7]);
    const meanA = p.slice(8, 20).reduce((s, x) => s + x, 0) / 12;
    const meanB = p.slice(20).reduce((s, x) => s + x, 0) / 20;
    expect(meanA).toBeGreaterThan(2 * meanB);
  });
});

describe('scoring and storage', () => {
  let model: ImplicitRbm;
  beforeAll(async () => {
    model = await fitImplicitRbm(data, { ...SMALL, epochs: 6 });
  });

  it('dense block scoring equals per-user scoring, in order, for blocks of any size', () => {
    const users = [[0, 1, 2], [], [39], [5, 25, 30, 31]];
    const single = users.map((u) => model.watchProbabilities(u));
    for (const blockSize of [1, 3, 256]) {
      const block = model.watchProbabilitiesBlock(users, blockSize);
      expect(block).toHaveLength(users.length);
      block.forEach((row, n) => {
        expect(row).toHaveLength(ITEMS);
        for (let i = 0; i < ITEMS; i++) expect(row[i]).toBeCloseTo(single[n][i], 5);
      });
    }
  });

  it('names the user and position of an item index outside the model', () => {
    expect(() => model.watchProbabilitiesBlock([[1], [2, 40]])).toThrow(
      "user #1: rated item index 40 at position 1 is outside the model's items 0 … 39",
    );
  });

  it('round-trips through tensors and a JSON config bit for bit', () => {
    const state = model.toState();
    const stored: ImplicitRbmState = {
      config: JSON.parse(JSON.stringify(state.config)),
      tensors: Object.fromEntries(
        Object.entries(state.tensors).map(([k, t]) => [k, new Float32Array(Buffer.from(t.buffer.slice(0)).buffer)]),
      ),
    };
    const back = ImplicitRbm.fromState(stored);
    expect(back.params.W).toEqual(model.params.W);
    expect(back.options).toEqual(model.options);
    expect(back.watchProbabilities([3, 4])).toEqual(model.watchProbabilities([3, 4]));
    expect(back.watchProbabilitiesBlock([[3, 4]])[0]).toEqual(model.watchProbabilitiesBlock([[3, 4]])[0]);
    back.dispose();
    back.dispose();
  });

  it('rejects a state with a missing or mis-sized tensor, saying which and what was expected', () => {
    const state = model.toState();
    const { 'implicit.c': _c, ...noC } = state.tensors;
    expect(() => ImplicitRbm.fromState({ ...state, tensors: noC })).toThrow('implicit RBM state is missing tensor "implicit.c"');
    expect(() => ImplicitRbm.fromState({ ...state, tensors: { ...state.tensors, 'implicit.b': new Float32Array(3) } })).toThrow(
      'implicit RBM state tensor "implicit.b" has 3 values, expected 40 (40 items × 8 hidden)',
    );
  });
});

describe('helpers', () => {
  it('carveValidation holds out round(fraction·n) of each user’s items, disjoint, keeping one fit item', () => {
    const rows = ratedRows(data);
    const { fit, validation } = carveValidation(rows, 0.25, new Rng(0));
    for (let u = 0; u < rows.rows; u++) {
      const all = Array.from(rows.colIndex.subarray(rows.rowStart[u], rows.rowStart[u + 1]));
      const f = Array.from(fit.colIndex.subarray(fit.rowStart[u], fit.rowStart[u + 1]));
      const v = Array.from(validation.colIndex.subarray(validation.rowStart[u], validation.rowStart[u + 1]));
      expect([...f, ...v].sort((a, b) => a - b)).toEqual(all);
      expect(v).toHaveLength(Math.min(Math.round(0.25 * all.length), Math.max(0, all.length - 1)));
    }
  });

  it('liked level: 4 stars on 1–5 and on 0.5–5', () => {
    expect(likedLevelIndex([1, 2, 3, 4, 5])).toBe(3);
    expect(likedLevelIndex([0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5])).toBe(7);
  });

  it('score = p(watch) · p(rating ≥ liked), checked on shapes', () => {
    const watch = Float32Array.from([0.5, 0.2]);
    const dist = Float32Array.from([0.1, 0.1, 0.2, 0.3, 0.3, 0, 0, 0, 0.5, 0.5]);
    const s = watchAndLikeScores(watch, dist, 5, 3);
    expect(s[0]).toBeCloseTo(0.5 * 0.6, 6);
    expect(s[1]).toBeCloseTo(0.2 * 1, 6);
    expect(() => watchAndLikeScores(watch, dist.subarray(1), 5, 3)).toThrow(
      'rating distribution has 9 values, expected 2 items × 5 levels',
    );
    expect(() => watchAndLikeScores(watch, dist, 5, 5)).toThrow('liked level index must be an integer in [0, 4], got 5');
  });
});

describe('tfjs memory', () => {
  it('training, validation and block scoring leave no tensors behind once the model is disposed', async () => {
    const before = tf.memory().numTensors;
    const model = await fitImplicitRbm(data, { ...SMALL, epochs: 3 });
    model.watchProbabilitiesBlock([[1, 2], [3]]);
    expect(tf.memory().numTensors).toBe(before + 2); // the cached Wᵀ and b of the block path
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
