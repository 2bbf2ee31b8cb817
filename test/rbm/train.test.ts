/**
 * Training and serving the softmax-visible RBM end to end on small generated data: determinism, learning,
 * bad options, divergence, degenerate scales, persistence, batch scoring and fold-in.
 *
 * The data: the synthetic latent-factor world of src/data/synthetic.ts (300 users × 200 items, 20 000
 * ratings, 1–5 stars), which has real user × item structure, so a working RBM beats the bias baseline.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { predictItems } from '../helpers/predict.js';
import {
  compressRows,
  datasetFromTriples,
  subsetRatings,
  type CompressedRows,
  type Dataset,
  type RatingTriple,
} from '../../src/data/dataset.js';
import { generateSyntheticRatings } from '../../src/data/synthetic.js';
import { predictTest } from '../../src/eval/crossValidate.js';
import { errorMetrics } from '../../src/eval/metrics.js';
import { holdout } from '../../src/eval/splits.js';
import { fitBiasModel, globalMean } from '../../src/model/bias.js';
import { modelFromState, NonFiniteTrainingError, type KnownRatings, type ModelState, type UserInput } from '../../src/model/index.js';
import { RbmBlendModel } from '../../src/model/rbmBlend.js';
import { fitRbmBlend, validationSplit } from '../../src/model/rbmFit.js';
import { initBackend } from '../../src/rbm/backend.js';
import { cdStepsAt, validateTrainOptions, type RbmOptions, type TrainOptionsInput } from '../../src/rbm/config.js';
import { hiddenProbabilities, initParams, softmaxInPlace, visibleDistribution } from '../../src/rbm/params.js';
import { pointMassInto } from '../../src/model/bias.js';
import { trainRbm, validationRmse, visibleLevelCounts } from '../../src/rbm/train.js';
import { Rng } from '../../src/rng.js';

const SMALL: TrainOptionsInput = { hidden: 16, epochs: 10, lr: 0.2, seed: 0, validationFraction: 0.1 };

/** The RBM options for one orientation: defaults plus the small, fast settings. */
function rbmOptions(overrides: Partial<RbmOptions> = {}): RbmOptions {
  return { ...validateTrainOptions({ hidden: 16, epochs: 10, lr: 0.2 }).user, patience: 100, ...overrides };
}

/** Train fit, sequentially (no worker threads) unless asked. */
async function fit(train: Dataset, options: TrainOptionsInput = {}, parallel = false): Promise<RbmBlendModel> {
  return (await fitRbmBlend(train, { ...SMALL, ...options }, { parallel })).model;
}

function userRatings(rows: CompressedRows, u: number): KnownRatings {
  const s = rows.rowStart[u];
  const e = rows.rowStart[u + 1];
  return { items: rows.colIndex.subarray(s, e), levels: rows.levels.subarray(s, e) };
}

const allItems = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i);

function rmseOfMean(train: Dataset, test: Dataset): number {
  const mu = globalMean(train);
  let s = 0;
  for (let r = 0; r < test.levels.length; r++) s += (test.ratingLevels[test.levels[r]] - mu) ** 2;
  return Math.sqrt(s / test.levels.length);
}

/** A deep copy of a state as it would come back from SQLite: JSON metadata, Float32 BLOB tensors. */
function roundTrip(state: ModelState): ModelState {
  const tensors: Record<string, Float32Array> = {};
  for (const [name, t] of Object.entries(state.tensors)) {
    const blob = Buffer.from(t.buffer.slice(t.byteOffset, t.byteOffset + t.byteLength));
    tensors[name] = new Float32Array(blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.byteLength));
  }
  return { meta: JSON.parse(JSON.stringify(state.meta)) as ModelState['meta'], tensors };
}

function bitsOf(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

const ds = generateSyntheticRatings({ seed: 1, users: 300, items: 200, ratings: 20_000 });
const [fold] = holdout(ds, 0.2, 0);

describe('trainRbm (one orientation)', () => {
  const { fit: fitIdx, validation: valIdx } = validationSplit(fold.train.levels.length, 0.1, 0);
  const fitSet = subsetRatings(fold.train, fitIdx);
  const valSet = subsetRatings(fold.train, valIdx);
  const trainUser = (options: RbmOptions, seed: number) =>
    trainRbm({ phase: 'user', train: rows(fitSet), validation: rows(valSet), ratingLevels: ds.ratingLevels, options, seed });
  const rows = (d: Dataset) => compressRows(d, 'user');

  it('is deterministic: the same seed gives bit-identical weights and the same curve; another seed differs', () => {
    const a = trainUser(rbmOptions({ epochs: 4 }), 7);
    const b = trainUser(rbmOptions({ epochs: 4 }), 7);
    const c = trainUser(rbmOptions({ epochs: 4 }), 8);
    expect(bitsOf(a.params.W)).toEqual(bitsOf(b.params.W));
    expect(bitsOf(a.params.b)).toEqual(bitsOf(b.params.b));
    expect(bitsOf(a.params.c)).toEqual(bitsOf(b.params.c));
    expect(a.curve.map((r) => [r.trainRmse, r.validationRmse])).toEqual(b.curve.map((r) => [r.trainRmse, r.validationRmse]));
    expect(bitsOf(a.params.W)).not.toEqual(bitsOf(c.params.W));
  });

  it('learns: validation RMSE falls over the first epochs, and the RBM alone beats the global mean and bias baselines', () => {
    const res = trainUser(rbmOptions({ epochs: 10 }), 3);
    const v = res.curve.map((r) => r.validationRmse as number);
    expect(v).toHaveLength(10);
    expect(v.every(Number.isFinite)).toBe(true);
    expect(v[4]).toBeLessThan(v[0] - 0.03);
    expect(Math.min(...v)).toBeLessThan(v[0] - 0.1);
    expect(res.curve.every((r) => Number.isFinite(r.trainRmse) && r.trainRmse > 0)).toBe(true);

    // Held-out ratings (the fold's test part), predicted from each user's training ratings only.
    const heldOut = validationRmse(res.params, rows(fold.train), rows(fold.test), ds.ratingLevels);
    expect(heldOut).toBeLessThan(rmseOfMean(fold.train, fold.test) - 0.1);
    const bias = predictTest(fitBiasModel(fold.train), fold.train, fold.test);
    expect(heldOut).toBeLessThan(errorMetrics(bias.predicted, bias.actual).rmse);
  });

  it("returns the best epoch's weights under early stopping, and stops after `patience` epochs without improvement", () => {
    // With patience 2 the run usually ends once the curve flattens; either way the result is the best epoch.
    const res = trainUser(rbmOptions({ epochs: 30, patience: 2 }), 3);
    const v = res.curve.map((r) => r.validationRmse as number);
    const best = Math.min(...v);
    expect(res.bestValidationRmse).toBe(best);
    expect(res.curve[res.bestEpoch - 1].validationRmse).toBe(best);
    expect(validationRmse(res.params, rows(fitSet), rows(valSet), ds.ratingLevels)).toBe(best);
    expect(res.epochs).toBe(res.curve.length);
    if (res.curve.length < 30) expect(res.curve.length - res.bestEpoch).toBe(2);
    else expect(res.bestEpoch).toBeGreaterThanOrEqual(28);
  });

  it('follows the CD-T schedule, and persistent and mean-field variants also learn', () => {
    const schedule = [
      { fromEpoch: 1, steps: 1 },
      { fromEpoch: 3, steps: 3 },
      { fromEpoch: 5, steps: 5 },
    ];
    const res = trainUser(rbmOptions({ epochs: 6, cdSchedule: schedule }), 3);
    expect(res.curve.map((r) => r.cdSteps)).toEqual([1, 1, 3, 3, 5, 5]);
    expect([1, 2, 3, 4, 5, 6, 99].map((e) => cdStepsAt(schedule, e))).toEqual([1, 1, 3, 3, 5, 5, 5]);
    for (const variant of [{ persistent: true }, { negativePhase: 'meanField' as const }]) {
      const r = trainUser(rbmOptions({ epochs: 8, ...variant }), 3);
      const v = r.curve.map((x) => x.validationRmse as number);
      expect(Math.min(...v)).toBeLessThan(v[0] - 0.05);
    }
  });

  it('item orientation (users as visible units) learns too', () => {
    const byItem = (d: Dataset) => compressRows(d, 'item');
    const res = trainRbm({
      phase: 'item',
      train: byItem(fitSet),
      validation: byItem(valSet),
      ratingLevels: ds.ratingLevels,
      options: rbmOptions({ epochs: 10 }),
      seed: 3,
    });
    expect(res.params.visibles).toBe(ds.userIds.length);
    const v = res.curve.map((r) => r.validationRmse as number);
    expect(Math.min(...v)).toBeLessThan(v[0] - 0.05);
  });

  it("initialises visible biases to each unit's smoothed log rating frequencies", () => {
    const K = ds.ratingLevels.length;
    const byUser = rows(fitSet);
    const counts = visibleLevelCounts(byUser, K);
    const p = initParams(byUser.cols, K, 4, counts, new Rng(1), 0.01);
    const global = new Float64Array(K);
    let total = 0;
    for (let n = 0; n < counts.length; n++) {
      global[n % K] += counts[n];
      total += counts[n];
    }
    for (const i of [0, 5, 77]) {
      let ni = 0;
      for (let k = 0; k < K; k++) ni += counts[i * K + k];
      let sum = 0;
      for (let k = 0; k < K; k++) {
        const prior = (global[k] + 1) / (total + K);
        expect(Math.exp(p.b[i * K + k])).toBeCloseTo((counts[i * K + k] + 2 * prior) / (ni + 2), 6);
        sum += Math.exp(p.b[i * K + k]);
      }
      expect(sum).toBeCloseTo(1, 5);
    }
    expect(p.c.every((x) => x === 0)).toBe(true);
  });
});

describe('validateTrainOptions', () => {
  it('accepts the defaults and applies shorthand fields to both orientations', () => {
    const o = validateTrainOptions({ hidden: 12, epochs: 3, lr: 0.01, item: { hidden: 20 } });
    expect(o.user.hidden).toBe(12);
    expect(o.item.hidden).toBe(20);
    expect(o.user.epochs).toBe(3);
    expect(o.item.lr).toBe(0.01);
    expect(validateTrainOptions().orientation).toBe('both');
  });

  it.each([
    [{ hidden: 0 }, /hidden/],
    [{ hidden: -3 }, /hidden/],
    [{ hidden: 2.5 }, /hidden/],
    [{ lr: 0 }, /\blr\b/],
    [{ lr: -0.1 }, /\blr\b/],
    [{ lr: Number.NaN }, /\blr\b/],
    [{ lr: Number.POSITIVE_INFINITY }, /\blr\b/],
    [{ epochs: 2.5 }, /epochs/],
    [{ epochs: 0 }, /epochs/],
    [{ batchSize: 0 }, /batchSize/],
    [{ momentum: 1 }, /momentum/],
    [{ weightDecay: -1 }, /weightDecay/],
    [{ item: { hidden: 0 } }, /item RBM option hidden/],
    [{ user: { cdSchedule: [] } }, /cdSchedule/],
    [{ seed: -1 }, /seed/],
    [{ validationFraction: 0.5 }, /validationFraction/],
    [{ orientation: 'sideways' as never }, /orientation/],
  ])('rejects %j with a message naming the field', (input, message) => {
    expect(() => validateTrainOptions(input as TrainOptionsInput)).toThrow(message);
  });

  it('fitRecommender rejects bad options before doing any work', async () => {
    let epochs = 0;
    await expect(fitRbmBlend(fold.train, { hidden: 0 }, { onEpoch: () => epochs++, parallel: false })).rejects.toThrow(/hidden/);
    expect(epochs).toBe(0);
  });
});

describe('fitRecommender and RbmBlendModel', () => {
  let both: RbmBlendModel;
  let userOnly: RbmBlendModel;
  let itemOnly: RbmBlendModel;
  const trainRows = compressRows(fold.train, 'user');

  beforeAll(async () => {
    await initBackend();
    both = await fit(fold.train, { orientation: 'both' });
    userOnly = await fit(fold.train, { orientation: 'user' });
    itemOnly = await fit(fold.train, { orientation: 'item' });
  });

  it('the fitted mixture is convex and the blended model beats the global mean and the bias baseline on held-out ratings', () => {
    for (const model of [both, userOnly, itemOnly]) {
      const { user, item, bias } = model.parts.mixture;
      for (const w of [user, item, bias]) expect(w).toBeGreaterThanOrEqual(0);
      expect(user + item + bias).toBeCloseTo(1, 6);
    }
    expect(userOnly.parts.mixture.item).toBe(0);
    expect(itemOnly.parts.mixture.user).toBe(0);
    const base = predictTest(fitBiasModel(fold.train), fold.train, fold.test);
    const biasRmse = errorMetrics(base.predicted, base.actual).rmse;
    for (const model of [both, userOnly]) {
      const p = predictTest(model, fold.train, fold.test);
      const rmse = errorMetrics(p.predicted, p.actual).rmse;
      expect(rmse).toBeLessThan(rmseOfMean(fold.train, fold.test) - 0.1);
      expect(rmse).toBeLessThan(biasRmse - 0.05);
    }
  });

  it('is deterministic: the same seed gives bit-identical weights and predictions, another seed differs', async () => {
    const again = await fit(fold.train, { orientation: 'both' });
    expect(bitsOf(again.parts.user!.W)).toEqual(bitsOf(both.parts.user!.W));
    expect(bitsOf(again.parts.item!.params.W)).toEqual(bitsOf(both.parts.item!.params.W));
    expect(again.parts.mixture).toEqual(both.parts.mixture);
    const a = predictTest(again, fold.train, fold.test).predicted;
    const b = predictTest(both, fold.train, fold.test).predicted;
    expect(Array.from(a)).toEqual(Array.from(b));
    const other = await fit(fold.train, { orientation: 'both', seed: 1 });
    expect(bitsOf(other.parts.user!.W)).not.toEqual(bitsOf(both.parts.user!.W));
  });

  it('training the two orientations in worker threads gives the same model bit for bit', async () => {
    const parallel = await fit(fold.train, { orientation: 'both' }, true);
    expect(bitsOf(parallel.parts.user!.W)).toEqual(bitsOf(both.parts.user!.W));
    expect(bitsOf(parallel.parts.item!.params.W)).toEqual(bitsOf(both.parts.item!.params.W));
    expect(bitsOf(parallel.parts.item!.itemHidden)).toEqual(bitsOf(both.parts.item!.itemHidden));
    expect(parallel.parts.mixture).toEqual(both.parts.mixture);
  });

  it('a NaN-producing learning rate stops training with NonFiniteTrainingError naming the epoch', async () => {
    for (const parallel of [false, true]) {
      const err = await fitRbmBlend(fold.train, { ...SMALL, orientation: parallel ? 'both' : 'user', lr: 1e6 }, { parallel }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(NonFiniteTrainingError);
      const e = err as NonFiniteTrainingError;
      expect(e.epoch).toBeGreaterThanOrEqual(1);
      expect(e.epoch).toBeLessThanOrEqual(SMALL.epochs!);
      expect(e.message).toContain(`epoch ${e.epoch}`);
      expect(e.message).toMatch(/NaN or infinite/);
    }
  });

  it('toState → modelFromState (through JSON and Float32 blobs) gives bit-identical predictions', () => {
    for (const model of [both, userOnly, itemOnly]) {
      const restored = modelFromState(roundTrip(model.toState()));
      expect(restored).toBeInstanceOf(RbmBlendModel);
      const items = allItems(model.itemIds.length);
      for (const u of [0, 1, 17, 123, 299]) {
        const ratings = userRatings(trainRows, u);
        for (const options of [{ userIndex: u }, {}, { userIndex: u, refit: true }]) {
          const a = predictItems(model, ratings, options, items);
          const b = predictItems(restored, ratings, options, items);
          expect(bitsOf(b.expected)).toEqual(bitsOf(a.expected));
          expect(bitsOf(b.distribution)).toEqual(bitsOf(a.distribution));
        }
      }
    }
  });

  it('predictions are distributions over the levels whose expectation is the predicted rating', () => {
    const K = ds.ratingLevels.length;
    const items = allItems(both.itemIds.length);
    const p = predictItems(both, userRatings(trainRows, 5), { userIndex: 5 }, items);
    expect(p.distribution).toHaveLength(items.length * K);
    for (let n = 0; n < items.length; n++) {
      let sum = 0;
      let e = 0;
      for (let k = 0; k < K; k++) {
        const q = p.distribution[n * K + k];
        expect(q).toBeGreaterThanOrEqual(0);
        sum += q;
        e += q * ds.ratingLevels[k];
      }
      expect(sum).toBeCloseTo(1, 5);
      expect(p.expected[n]).toBeCloseTo(e, 4);
      expect(p.expected[n]).toBeGreaterThanOrEqual(1);
      expect(p.expected[n]).toBeLessThanOrEqual(5);
    }
  });

  it('scoreUsers gives every user the same numbers in a block of 37 as alone (the API and the batch scorer agree)', () => {
    for (const model of [both, itemOnly, userOnly]) {
      const users: UserInput[] = Array.from({ length: model.userIds.length }, (_, u) => ({
        ratings: userRatings(trainRows, u),
        userIndex: u,
      }));
      // Plus a user with no ratings, a brand-new user (no index) with someone's ratings, and a refit.
      users.push({ ratings: { items: new Int32Array(0), levels: new Uint8Array(0) } });
      users.push({ ratings: userRatings(trainRows, 42) });
      users.push({ ratings: userRatings(trainRows, 43), userIndex: 43, refit: true });
      let n = 0;
      for (let from = 0; from < users.length; from += 37) {
        for (const scores of model.scoreUsers(users.slice(from, from + 37))) {
          const [alone] = model.scoreUsers([users[n++]]);
          expect(scores.score).toHaveLength(model.itemIds.length);
          expect(bitsOf(scores.expected!)).toEqual(bitsOf(alone.expected!));
          expect(bitsOf(scores.distribution!)).toEqual(bitsOf(alone.distribution!));
        }
      }
      expect(n).toBe(users.length);
    }
  });

  it('the dense scores equal the per-item equations p(v_i = k | p̂) mixed with the bias baseline', () => {
    const K = ds.ratingLevels.length;
    const { user, mixture, bias } = both.parts;
    for (const u of [0, 9, 250]) {
      const ratings = userRatings(trainRows, u);
      const [scores] = both.scoreUsers([{ ratings, userIndex: u }]);
      const h = hiddenProbabilities(user!, ratings.items, ratings.levels, 0, ratings.items.length, new Float32Array(user!.hidden));
      const unit = both.itemRbmUserUnit(ratings, { userIndex: u })!;
      const F = both.parts.item!.params.hidden;
      for (const i of [0, 17, 99, 199]) {
        const pU = new Float64Array(K);
        visibleDistribution(user!, i, h, pU);
        const pI = new Float64Array(K);
        for (let k = 0; k < K; k++) {
          pI[k] = unit.b[k];
          for (let j = 0; j < F; j++) pI[k] += unit.W[k * F + j] * both.parts.item!.itemHidden[i * F + j];
        }
        softmaxInPlace(pI, 0, K);
        const pB = new Float64Array(K);
        pointMassInto(bias.predictValue(bias.userBias[u], i), ds.ratingLevels, pB, 0);
        let e = 0;
        for (let k = 0; k < K; k++) {
          const q = mixture.user * pU[k] + mixture.item * pI[k] + mixture.bias * pB[k];
          expect(scores.distribution![i * K + k]).toBeCloseTo(q, 5);
          e += q * ds.ratingLevels[k];
        }
        expect(scores.expected![i]).toBeCloseTo(e, 4);
      }
    }
  });

  it('item orientation: refit fold-in stays close to the trained user unit, and a brand-new user gets finite predictions', () => {
    const items = allItems(itemOnly.itemIds.length);
    let sumDiff = 0;
    let count = 0;
    for (let u = 0; u < 60; u++) {
      const ratings = userRatings(trainRows, u);
      const trained = predictItems(itemOnly, ratings, { userIndex: u }, items).expected;
      const refit = predictItems(itemOnly, ratings, { userIndex: u, refit: true }, items).expected;
      for (let i = 0; i < items.length; i++) sumDiff += Math.abs(trained[i] - refit[i]);
      count += items.length;
    }
    // Same ratings, the unit refitted by logistic regression from the trained one: close on average
    // (the rating scale spans 4; the two predictors differ by ~0.1 here).
    expect(sumDiff / count).toBeLessThan(0.25);

    // A new user, not in training: the unit is fitted from scratch; predictions finite, on the scale, and
    // informed by the ratings (a user who loves everything is predicted higher than one who hates everything).
    const someItems = Int32Array.from([0, 3, 5, 8, 13, 21, 34, 55, 89, 144]);
    const fan = predictItems(itemOnly, { items: someItems, levels: new Uint8Array(someItems.length).fill(4) }, {}, items).expected;
    const critic = predictItems(itemOnly, { items: someItems, levels: new Uint8Array(someItems.length).fill(0) }, {}, items).expected;
    let fanMean = 0;
    let criticMean = 0;
    for (let i = 0; i < items.length; i++) {
      for (const x of [fan[i], critic[i]]) {
        expect(Number.isFinite(x)).toBe(true);
        expect(x).toBeGreaterThanOrEqual(1);
        expect(x).toBeLessThanOrEqual(5);
      }
      fanMean += fan[i] / items.length;
      criticMean += critic[i] / items.length;
    }
    expect(fanMean).toBeGreaterThan(criticMean + 0.5);
  });

  it('a user with no ratings gets the bias baseline (μ + b_i), from foldIn and from scoreUsers', async () => {
    const empty = { items: new Int32Array(0), levels: new Uint8Array(0) };
    const items = allItems(both.itemIds.length);
    const bias = both.parts.bias;
    const p = predictItems(both, empty, {}, items);
    for (let i = 0; i < items.length; i++) {
      const expected = Math.min(5, Math.max(1, bias.globalMean + bias.itemBias[i]));
      expect(p.expected[i]).toBeCloseTo(expected, 5);
    }
    const [alone] = both.scoreUsers([{ ratings: empty }]);
    for (let i = 0; i < items.length; i++) expect(alone.score[i]).toBeCloseTo(p.expected[i], 5);
  });

  it('an item with no training ratings gets the bias baseline, not an untrained RBM row', async () => {
    // Add an item nobody rated (it exists in the catalog, e.g. from a published split's other part).
    const triples: RatingTriple[] = [];
    for (let r = 0; r < fold.train.levels.length; r++) {
      triples.push({
        userId: fold.train.userIds[fold.train.users[r]],
        itemId: fold.train.itemIds[fold.train.items[r]],
        value: ds.ratingLevels[fold.train.levels[r]],
      });
    }
    const itemIds = [...fold.train.itemIds, 10_000];
    const train = datasetFromTriples(triples, { ratingLevels: ds.ratingLevels, userIds: fold.train.userIds, itemIds });
    const model = await fit(train, { orientation: 'both' });
    // The RBMs carry weight in the mixture, so an RBM answer for the unrated item would show.
    expect(model.parts.mixture.bias).toBeLessThan(0.5);
    const unrated = itemIds.length - 1;
    expect(model.parts.itemTrainCount[unrated]).toBe(0);
    const rows = compressRows(train, 'user');
    for (const u of [0, 9, 100]) {
      const ratings = userRatings(rows, u);
      const p = predictItems(model, ratings, { userIndex: u }, Int32Array.of(unrated));
      const b = predictItems(model.parts.bias, ratings, { userIndex: u }, Int32Array.of(unrated));
      expect(p.expected[0]).toBe(b.expected[0]);
    }
  });
});

describe('degenerate and half-star scales', () => {
  it('a data set with one rating level trains without error and predicts that level (the bias fallback)', async () => {
    const triples: RatingTriple[] = [];
    const rng = new Rng(4);
    for (let u = 1; u <= 30; u++) for (let i = 1; i <= 20; i++) if (rng.next() < 0.4) triples.push({ userId: u, itemId: i, value: 4 });
    const one = datasetFromTriples(triples);
    expect(one.ratingLevels).toEqual([4]);
    const { model } = await fitRbmBlend(one, { hidden: 8, epochs: 3 });
    const notes = (model.parts.training as { notes: string[] }).notes;
    expect(notes.join(' ')).toMatch(/single rating level/);
    const rows = compressRows(one, 'user');
    for (const [ratings, options] of [
      [userRatings(rows, 0), { userIndex: 0 }],
      [userRatings(rows, 3), {}],
      [{ items: new Int32Array(0), levels: new Uint8Array(0) }, {}],
    ] as const) {
      const p = predictItems(model, ratings, options, allItems(one.itemIds.length));
      expect(Array.from(p.expected).every((x) => x === 4)).toBe(true);
      expect(Array.from(p.distribution).every((x) => x === 1)).toBe(true);
    }
    // And it survives persistence.
    const restored = modelFromState(roundTrip(model.toState()));
    expect(Array.from(predictItems(restored, userRatings(rows, 1), { userIndex: 1 }, Int32Array.of(0, 1, 2)).expected)).toEqual([4, 4, 4]);
  });

  it('half-star data (K = 10) trains and predicts within [0.5, 5] with 10-level distributions summing to 1', async () => {
    const half = generateSyntheticRatings({ seed: 2, users: 120, items: 80, ratings: 5000, halfStars: true });
    expect(half.ratingLevels).toHaveLength(10);
    const [f] = holdout(half, 0.2, 1);
    const model = await fit(f.train, { orientation: 'both', hidden: 8, epochs: 5 });
    expect(model.parts.user!.levels).toBe(10);
    expect(model.parts.item!.params.levels).toBe(10);
    const rows = compressRows(f.train, 'user');
    const items = allItems(model.itemIds.length);
    for (const u of [0, 7, 50, 119]) {
      const p = predictItems(model, userRatings(rows, u), { userIndex: u }, items);
      expect(p.distribution).toHaveLength(items.length * 10);
      for (let n = 0; n < items.length; n++) {
        expect(p.expected[n]).toBeGreaterThanOrEqual(0.5);
        expect(p.expected[n]).toBeLessThanOrEqual(5);
        let sum = 0;
        for (let k = 0; k < 10; k++) sum += p.distribution[n * 10 + k];
        expect(sum).toBeCloseTo(1, 5);
      }
    }
    const test = predictTest(model, f.train, f.test);
    expect(errorMetrics(test.predicted, test.actual).rmse).toBeLessThan(rmseOfMean(f.train, f.test));
  });
});
