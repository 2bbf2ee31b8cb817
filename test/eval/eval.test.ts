/**
 * The offline evaluation: splits (k-fold, holdout, published folds), error metrics, the bias baseline
 * against a hand computation, and crossValidate's report (shape, baselines, fallback counting, and that
 * test ratings are never fed to a model as input).
 */
import { describe, expect, it } from 'vitest';
import { predictItems } from '../helpers/predict.js';
import { compressRows, datasetFromTriples, subsetRatings, type Dataset, type RatingTriple } from '../../src/data/dataset.js';
import { generateSyntheticRatings } from '../../src/data/synthetic.js';
import { crossValidate, predictTest } from '../../src/eval/crossValidate.js';
import { errorMetrics } from '../../src/eval/metrics.js';
import { holdout, kFold, publishedFolds, type Fold } from '../../src/eval/splits.js';
import { DEFAULT_BIAS_OPTIONS, fitBiasModel, globalMean } from '../../src/model/bias.js';
import type { KnownRatings, ModelState, TrainedModel, UserInput, UserScores } from '../../src/model/index.js';
import { fitRbmBlend } from '../../src/model/rbmFit.js';

/** External (userId, itemId) of every rating: unique per rating in the synthetic data. */
function keys(d: Dataset): string[] {
  return Array.from(d.levels, (_, r) => `${d.userIds[d.users[r]]}:${d.itemIds[d.items[r]]}:${d.ratingLevels[d.levels[r]]}`);
}

const ds = generateSyntheticRatings({ seed: 5, users: 80, items: 60, ratings: 2500 });
const allKeys = keys(ds).sort();

describe('kFold', () => {
  it('partitions every rating into exactly one test part, each fold training on the rest', () => {
    const folds = kFold(ds, 5, 0);
    expect(folds.map((f) => f.name)).toEqual(['fold1', 'fold2', 'fold3', 'fold4', 'fold5']);
    const tested = folds.flatMap((f) => keys(f.test));
    expect(tested.sort()).toEqual(allKeys);
    expect(new Set(tested).size).toBe(ds.levels.length);
    for (const f of folds) {
      expect(f.test.levels.length).toBe(500);
      const test = new Set(keys(f.test));
      const train = keys(f.train);
      expect(train.some((k) => test.has(k))).toBe(false);
      expect([...train, ...test].sort()).toEqual(allKeys);
      // One index space for every fold and model.
      expect(f.train.userIds).toEqual(ds.userIds);
      expect(f.test.itemIds).toEqual(ds.itemIds);
      expect(f.train.ratingLevels).toEqual(ds.ratingLevels);
    }
  });

  it('uneven sizes differ by at most one', () => {
    const sizes = kFold(ds, 7, 3).map((f) => f.test.levels.length);
    expect(sizes.reduce((s, x) => s + x, 0)).toBe(2500);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
  });

  it('is seeded: the same seed gives the same folds, another seed different ones', () => {
    const a = kFold(ds, 5, 0).map((f) => keys(f.test));
    const b = kFold(ds, 5, 0).map((f) => keys(f.test));
    const c = kFold(ds, 5, 1).map((f) => keys(f.test));
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
    // Different, not merely reordered: the first test part changes.
    const first = new Set(a[0]);
    expect(c[0].filter((k) => first.has(k)).length).toBeLessThan(0.5 * a[0].length);
  });

  it('rejects k < 2 or non-integer k', () => {
    expect(() => kFold(ds, 1, 0)).toThrow(/kfold/);
    expect(() => kFold(ds, 2.5, 0)).toThrow(/kfold/);
  });
});

describe('holdout', () => {
  it('holds out round(fraction · n) ratings, disjoint from training, seeded', () => {
    const [f] = holdout(ds, 0.1, 0);
    expect(f.name).toBe('holdout');
    expect(f.test.levels.length).toBe(250);
    expect(f.train.levels.length).toBe(2250);
    const test = new Set(keys(f.test));
    expect(keys(f.train).some((k) => test.has(k))).toBe(false);
    expect([...keys(f.train), ...test].sort()).toEqual(allKeys);
    expect(keys(holdout(ds, 0.1, 0)[0].test)).toEqual(keys(f.test));
    expect(keys(holdout(ds, 0.1, 1)[0].test)).not.toEqual(keys(f.test));
    expect(holdout(ds, 0.333, 2)[0].test.levels.length).toBe(Math.round(0.333 * 2500));
  });

  it('rejects fractions outside (0, 1)', () => {
    for (const x of [0, 1, -0.1, 1.5, Number.NaN]) expect(() => holdout(ds, x, 0)).toThrow(/holdout/);
  });
});

describe('publishedFolds', () => {
  it('indexes all folds over the union of their users, items and levels', () => {
    const t = (userId: number, itemId: number, value: number): RatingTriple => ({ userId, itemId, value });
    const folds = publishedFolds([
      { name: 'u1', base: [t(1, 10, 5), t(2, 10, 3), t(2, 20, 4)], test: [t(3, 20, 1)] },
      { name: 'u2', base: [t(1, 10, 5), t(3, 20, 1), t(2, 30, 2)], test: [t(2, 20, 4)] },
    ]);
    expect(folds.map((f) => f.name)).toEqual(['u1', 'u2']);
    for (const f of folds) {
      for (const d of [f.train, f.test]) {
        expect(d.userIds).toEqual([1, 2, 3]);
        expect(d.itemIds).toEqual([10, 20, 30]);
        expect(d.ratingLevels).toEqual([1, 2, 3, 4, 5]);
      }
    }
    // User 3 has no rating in u1's base, yet an index there: its test rating points at the same user.
    expect(folds[0].test.users[0]).toBe(2);
    expect(folds[0].train.users.includes(2)).toBe(false);
    expect(keys(folds[1].test)).toEqual(['2:20:4']);
  });
});

describe('errorMetrics', () => {
  it('computes RMSE and MAE', () => {
    // Errors −1, 0, −2, 3: squares 1 + 0 + 4 + 9 = 14, absolutes 6.
    const m = errorMetrics([1, 2, 3, 4], [2, 2, 5, 1]);
    expect(m.rmse).toBeCloseTo(Math.sqrt(14 / 4), 12);
    expect(m.mae).toBeCloseTo(6 / 4, 12);
    expect(errorMetrics(Float64Array.of(3.5), Float64Array.of(3.5))).toEqual({ rmse: 0, mae: 0 });
  });

  it('rejects arrays of different lengths', () => {
    expect(() => errorMetrics([1, 2], [1])).toThrow(/as many predictions as ratings/);
  });
});

describe('bias baseline (Surprise BaselineOnly, ALS)', () => {
  /*
   * Users A, B, C (ids 1–3), items x, y, z (ids 10, 20, 30):
   *   A: x=5 y=3     B: x=4 z=2     C: y=1 z=3          μ = 18/6 = 3
   * Epoch 1 (b_u = 0 to start), λ_i = 10, λ_u = 15:
   *   b_x = (2 + 1)/(10 + 2) = 1/4      b_y = (0 − 2)/12 = −1/6     b_z = (−1 + 0)/12 = −1/12
   *   b_A = ((5−3−1/4) + (3−3+1/6))/(15 + 2) = (23/12)/17 = 23/204
   *   b_B = ((4−3−1/4) + (2−3+1/12))/17 = (−1/6)/17 = −1/102
   *   b_C = ((1−3+1/6) + (3−3+1/12))/17 = (−7/4)/17 = −7/68
   * Epoch 2: b_x = ((5−3−23/204) + (4−3+1/102))/12 = (591/204)/12 = 197/816
   */
  const t = (userId: number, itemId: number, value: number): RatingTriple => ({ userId, itemId, value });
  const toy = datasetFromTriples([t(1, 10, 5), t(1, 20, 3), t(2, 10, 4), t(2, 30, 2), t(3, 20, 1), t(3, 30, 3)], {
    ratingLevels: [1, 2, 3, 4, 5],
  });

  it("uses Surprise's defaults", () => {
    expect(DEFAULT_BIAS_OPTIONS).toEqual({ regItem: 10, regUser: 15, epochs: 10 });
  });

  it('one ALS epoch matches the hand computation (b_i first, then b_u)', () => {
    const m = fitBiasModel(toy, { epochs: 1 });
    expect(m.globalMean).toBe(3);
    expect(Array.from(m.itemBias)).toEqual([1 / 4, -1 / 6, -1 / 12].map(Math.fround));
    expect(m.userBias[0]).toBeCloseTo(23 / 204, 7);
    expect(m.userBias[1]).toBeCloseTo(-1 / 102, 7);
    expect(m.userBias[2]).toBeCloseTo(-7 / 68, 7);
    // r̂(A, z) = 3 + 23/204 − 1/12 = 3 + 1/34.
    expect(
      predictItems(m, { items: new Int32Array(0), levels: new Uint8Array(0) }, { userIndex: 0 }, Int32Array.of(2)).expected[0],
    ).toBeCloseTo(3 + 1 / 34, 6);
  });

  it("the second epoch uses the first epoch's user biases", () => {
    expect(fitBiasModel(toy, { epochs: 2 }).itemBias[0]).toBeCloseTo(197 / 816, 7);
  });

  it("ten epochs match a direct transcription of Surprise's baseline_als", () => {
    const ratings = [
      [0, 0, 5],
      [0, 1, 3],
      [1, 0, 4],
      [1, 2, 2],
      [2, 1, 1],
      [2, 2, 3],
    ];
    const mu = 3;
    const bu = [0, 0, 0];
    const bi = [0, 0, 0];
    for (let epoch = 0; epoch < 10; epoch++) {
      for (let i = 0; i < 3; i++) {
        const ir = ratings.filter((r) => r[1] === i);
        bi[i] = ir.reduce((s, [u, , r]) => s + r - mu - bu[u], 0) / (10 + ir.length);
      }
      for (let u = 0; u < 3; u++) {
        const ur = ratings.filter((r) => r[0] === u);
        bu[u] = ur.reduce((s, [, i, r]) => s + r - mu - bi[i], 0) / (15 + ur.length);
      }
    }
    const m = fitBiasModel(toy);
    for (let n = 0; n < 3; n++) {
      expect(m.itemBias[n]).toBeCloseTo(bi[n], 6);
      expect(m.userBias[n]).toBeCloseTo(bu[n], 6);
    }
    // A user folded in with the item biases fixed: one b_u half-step, then μ + b_u + b_i clipped to [1, 5].
    const newUser = predictItems(m, { items: Int32Array.of(0, 2), levels: Uint8Array.of(4, 4) }, {}, Int32Array.of(1));
    const b = (2 * 5 - 2 * mu - bi[0] - bi[2]) / (15 + 2);
    expect(newUser.expected[0]).toBeCloseTo(mu + b + bi[1], 6);
  });

  it('clips predictions to the rating scale', () => {
    const high = datasetFromTriples(Array.from({ length: 40 }, (_, n) => t(1 + (n % 4), 10 + Math.floor(n / 4), 5)).concat([t(9, 99, 1)]));
    const m = fitBiasModel(high, { regItem: 0, regUser: 0 });
    const p = predictItems(
      m,
      { items: new Int32Array(0), levels: new Uint8Array(0) },
      { userIndex: 0 },
      Int32Array.from({ length: high.itemIds.length }, (_, i) => i),
    );
    for (const x of p.expected) {
      expect(x).toBeGreaterThanOrEqual(1);
      expect(x).toBeLessThanOrEqual(5);
    }
    expect(globalMean(high)).toBeCloseTo((40 * 5 + 1) / 41, 12);
  });
});

/** A model that remembers what it was given: a bias model's scores, through the protocol only. */
class RecordingModel implements TrainedModel {
  readonly algorithm = 'recording';
  readonly predictsRatings = true;
  readonly calls: { ratings: KnownRatings; userIndex: number | undefined }[] = [];
  constructor(private readonly inner: TrainedModel) {}
  get ratingLevels() {
    return this.inner.ratingLevels;
  }
  get userIds() {
    return this.inner.userIds;
  }
  get itemIds() {
    return this.inner.itemIds;
  }
  scoreUsers(users: readonly UserInput[]): UserScores[] {
    for (const u of users)
      this.calls.push({ ratings: { items: u.ratings.items.slice(), levels: u.ratings.levels.slice() }, userIndex: u.userIndex });
    return this.inner.scoreUsers(users);
  }
  toState(): ModelState {
    return this.inner.toState();
  }
  dispose(): void {}
}

/** A fold where user `u0` and item `i0` have no training ratings (all of theirs are in the test part). */
function foldWithColdUserAndItem(d: Dataset, u0: number, i0: number): { fold: Fold; cold: number } {
  const [base] = holdout(d, 0.1, 4);
  const testKeys = new Set(keys(base.test));
  const all = keys(d);
  const trainIdx: number[] = [];
  const testIdx: number[] = [];
  let cold = 0;
  all.forEach((k, r) => {
    const isCold = d.users[r] === u0 || d.items[r] === i0;
    if (isCold) cold++;
    (isCold || testKeys.has(k) ? testIdx : trainIdx).push(r);
  });
  return { fold: { name: 'cold', train: subsetRatings(d, trainIdx), test: subsetRatings(d, testIdx) }, cold };
}

describe('predictTest', () => {
  it('folds each test user in from their training ratings only, and counts cold users and items as fallbacks', () => {
    const { fold, cold } = foldWithColdUserAndItem(ds, 7, 3);
    expect(cold).toBeGreaterThan(20);
    const model = new RecordingModel(fitBiasModel(fold.train));
    const { predicted, actual, fallback } = predictTest(model, fold.train, fold.test);
    expect(fallback).toBe(cold);
    expect(predicted).toHaveLength(fold.test.levels.length);
    expect(Array.from(actual).sort()).toEqual(Array.from(fold.test.levels, (l) => ds.ratingLevels[l]).sort());

    const trainRows = compressRows(fold.train, 'user');
    const testRows = compressRows(fold.test, 'user');
    const usersWithTests = Array.from({ length: testRows.rows }, (_, u) => u).filter(
      (u) => testRows.rowStart[u + 1] > testRows.rowStart[u],
    );
    expect(model.calls.map((c) => c.userIndex)).toEqual(usersWithTests);
    for (const { ratings, userIndex } of model.calls) {
      const u = userIndex!;
      const s = trainRows.rowStart[u];
      const e = trainRows.rowStart[u + 1];
      expect(Array.from(ratings.items)).toEqual(Array.from(trainRows.colIndex.subarray(s, e)));
      expect(Array.from(ratings.levels)).toEqual(Array.from(trainRows.levels.subarray(s, e)));
      const tested = new Set(testRows.colIndex.subarray(testRows.rowStart[u], testRows.rowStart[u + 1]));
      expect(Array.from(ratings.items).some((i) => tested.has(i))).toBe(false);
    }
    // The cold user: no training ratings, so its fold-in input is empty.
    expect(model.calls.find((c) => c.userIndex === 7)!.ratings.items).toHaveLength(0);
  });

  it('an RBM recommender answers cold users and items with the bias baseline', async () => {
    const { fold } = foldWithColdUserAndItem(ds, 7, 3);
    const { model } = await fitRbmBlend(fold.train, { orientation: 'both', hidden: 8, epochs: 3, seed: 0 }, { parallel: false });
    const rbm = predictTest(model, fold.train, fold.test);
    const bias = predictTest(model.parts.bias, fold.train, fold.test);
    const testRows = compressRows(fold.test, 'user');
    let checked = 0;
    let differ = 0;
    for (let u = 0; u < testRows.rows; u++) {
      for (let t = testRows.rowStart[u]; t < testRows.rowStart[u + 1]; t++) {
        if (u === 7 || testRows.colIndex[t] === 3) {
          expect(rbm.predicted[t]).toBe(bias.predicted[t]);
          checked++;
        } else if (Math.abs(rbm.predicted[t] - bias.predicted[t]) > 1e-6) differ++;
      }
    }
    expect(checked).toBeGreaterThan(20);
    expect(differ).toBeGreaterThan(0);
  });
});

describe('crossValidate', () => {
  const small = { orientation: 'user' as const, hidden: 8, epochs: 3, seed: 0 };

  it('returns the documented JSON shape with per-fold baselines and means over folds', async () => {
    const folds = kFold(ds, 3, 0);
    const seen: string[] = [];
    const epochsSeen: string[] = [];
    const report = await crossValidate(folds, small, {
      onFold: (f) => seen.push(f.name),
      onEpoch: (fold, r) => epochsSeen.push(`${fold}/${r.phase}/${r.epoch}`),
    });
    const json = JSON.parse(JSON.stringify(report)) as typeof report;
    expect(seen).toEqual(['fold1', 'fold2', 'fold3']);
    expect(epochsSeen.slice(0, 3)).toEqual(['fold1/user/1', 'fold1/user/2', 'fold1/user/3']);
    expect(json.folds).toHaveLength(3);
    for (const [n, f] of json.folds.entries()) {
      expect(f.name).toBe(`fold${n + 1}`);
      for (const x of [
        f.rmse,
        f.mae,
        f.baselines.globalMean.rmse,
        f.baselines.globalMean.mae,
        f.baselines.bias.rmse,
        f.baselines.bias.mae,
      ]) {
        expect(typeof x).toBe('number');
        expect(x).toBeGreaterThan(0);
        expect(x).toBeLessThan(2);
      }
      expect(f.mae).toBeLessThanOrEqual(f.rmse);
      expect(typeof f.trainSeconds).toBe('number');
      expect(f.trainSeconds).toBeGreaterThanOrEqual(0);
      expect(Number.isInteger(f.epochs) && f.epochs >= 1 && f.epochs <= 3).toBe(true);
      expect(f.testRatings).toBe(folds[n].test.levels.length);
      expect(f.fallbackRatings).toBe(0);

      // The global-mean baseline, computed here: the training mean for every test rating.
      const mu = globalMean(folds[n].train);
      const actual = Array.from(folds[n].test.levels, (l) => ds.ratingLevels[l]);
      expect(f.baselines.globalMean.rmse).toBeCloseTo(Math.sqrt(actual.reduce((s, a) => s + (a - mu) ** 2, 0) / actual.length), 10);
      expect(f.baselines.globalMean.mae).toBeCloseTo(actual.reduce((s, a) => s + Math.abs(a - mu), 0) / actual.length, 10);
      // The bias baseline beats the global mean on this data.
      expect(f.baselines.bias.rmse).toBeLessThan(f.baselines.globalMean.rmse);
    }
    const avg = (pick: (f: (typeof json.folds)[number]) => number) => json.folds.reduce((s, f) => s + pick(f), 0) / 3;
    expect(json.mean.rmse).toBeCloseTo(
      avg((f) => f.rmse),
      12,
    );
    expect(json.mean.mae).toBeCloseTo(
      avg((f) => f.mae),
      12,
    );
    expect(json.baselines.globalMean.rmse).toBeCloseTo(
      avg((f) => f.baselines.globalMean.rmse),
      12,
    );
    expect(json.baselines.bias.rmse).toBeCloseTo(
      avg((f) => f.baselines.bias.rmse),
      12,
    );
    expect(json.baselines.bias.mae).toBeCloseTo(
      avg((f) => f.baselines.bias.mae),
      12,
    );
    expect(json.fallbackRatings).toBe(0);
    // The resolved hyperparameters of the run.
    expect(json.model).toMatchObject({ orientation: 'user', seed: 0, user: { hidden: 8, epochs: 3 } });
  });

  it('is reproducible: the same folds and seed give the same RMSE to the last digit', async () => {
    const folds = kFold(ds, 3, 0).slice(0, 1);
    const a = await crossValidate(folds, small);
    const b = await crossValidate(folds, small);
    expect(b.folds[0].rmse).toBe(a.folds[0].rmse);
    expect(b.folds[0].mae).toBe(a.folds[0].mae);
    expect(b.mean).toEqual(a.mean);
  });

  it('counts the test ratings that fell back to the bias baseline (a user and an item with no training ratings)', async () => {
    const { fold, cold } = foldWithColdUserAndItem(ds, 7, 3);
    const report = await crossValidate([fold], small);
    expect(report.folds[0].name).toBe('cold');
    expect(report.folds[0].fallbackRatings).toBe(cold);
    expect(report.fallbackRatings).toBe(cold);
    expect(report.folds[0].testRatings).toBe(fold.test.levels.length);
    expect(Number.isFinite(report.folds[0].rmse)).toBe(true);
  });
});

describe('empty evaluation parts', () => {
  it('refuses splits that leave an empty part, and never scores no ratings as perfect', () => {
    const ds = generateSyntheticRatings({ seed: 5, users: 30, items: 40, ratings: 700 });
    expect(() => holdout(ds, 0.0005, 0)).toThrow(/empty/);
    expect(() => kFold(ds, 701, 0)).toThrow(/at least 701 ratings/);
    expect(Number.isNaN(errorMetrics([], []).rmse)).toBe(true);
  });
});
