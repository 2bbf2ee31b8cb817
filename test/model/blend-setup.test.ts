/**
 * The rating blend's setup and finishing work, made cheap at large catalogs (issue 21) without changing
 * a number: the validation split, the mixture fit, the item hidden features, the validation predictions
 * taken from the trainer, and the stage seconds of the training summary.
 */
import { describe, expect, it } from 'vitest';
import { compressRows, subsetRatings } from '../../src/data/dataset.js';
import { generateSyntheticRatings } from '../../src/data/synthetic.js';
import { fitMixture, mixExpectations, type MixtureWeights } from '../../src/model/mixture.js';
import { fitRbmBlend, itemHiddenFeatures, validationSplit } from '../../src/model/rbmFit.js';
import { validateTrainOptions } from '../../src/rbm/config.js';
import { hiddenProbabilities, initParams } from '../../src/rbm/params.js';
import { earlyStoppingSample, rbmExpectations, trainRbm, visibleLevelCounts } from '../../src/rbm/train.js';
import { Rng } from '../../src/rng.js';

const data = generateSyntheticRatings({ seed: 7, users: 120, items: 80, ratings: 4_000 });

describe('validationSplit', () => {
  it('is the seeded shuffle’s first round(f·n) ratings, both parts in increasing order', () => {
    const { fit, validation } = validationSplit(1_000, 0.1, 3);
    const order = new Rng(3).shuffle(Int32Array.from({ length: 1_000 }, (_, r) => r));
    expect(Array.from(validation)).toEqual(Array.from(order.slice(0, 100)).sort((a, b) => a - b));
    expect(Array.from(fit)).toEqual(Array.from(order.slice(100)).sort((a, b) => a - b));
  });
});

describe('fitMixture from six sums', () => {
  /** The grid search it replaced: one pass over the pairs per grid point. */
  function bruteForce(
    p: { user: Float64Array | null; item: Float64Array | null; bias: Float64Array },
    actual: Float64Array,
  ): MixtureWeights {
    let best: MixtureWeights = { user: 0, item: 0, bias: 1 };
    let bestSse = Infinity;
    for (let a = 0; a <= 50; a++) {
      const wu = p.user ? a * 0.02 : 0;
      if (!p.user && a > 0) break;
      for (let c = 0; a + c <= 50; c++) {
        const wi = p.item ? c * 0.02 : 0;
        if (!p.item && c > 0) break;
        const w = { user: wu, item: wi, bias: 1 - wu - wi };
        if (w.bias < -1e-9) continue;
        let sse = 0;
        for (let t = 0; t < actual.length; t++) sse += (mixExpectations(w, p.user?.[t], p.item?.[t], p.bias[t]) - actual[t]) ** 2;
        if (sse < bestSse - 1e-12) {
          bestSse = sse;
          best = { user: Math.round(wu * 100) / 100, item: Math.round(wi * 100) / 100, bias: Math.round(Math.max(0, w.bias) * 100) / 100 };
        }
      }
    }
    return best;
  }

  it('picks the grid point the per-point passes pick, with one or both RBMs', () => {
    const rng = new Rng(1);
    for (let trial = 0; trial < 20; trial++) {
      const n = 500;
      const actual = Float64Array.from({ length: n }, () => 1 + rng.int(5));
      const noisy = (s: number): Float64Array => Float64Array.from(actual, (a) => a + s * (rng.next() - 0.5));
      const p = { user: noisy(1 + trial * 0.1), item: trial % 3 === 0 ? null : noisy(1.5), bias: noisy(3) };
      const got = fitMixture(p, actual);
      const want = bruteForce(p, actual);
      expect(got.user).toBeCloseTo(want.user, 10);
      expect(got.item).toBeCloseTo(want.item, 10);
      expect(got.bias).toBeCloseTo(want.bias, 10);
    }
  });
});

describe('itemHiddenFeatures', () => {
  it('equals hiddenProbabilities over each item’s rows, bit for bit', () => {
    const params = initParams(
      data.userIds.length,
      data.ratingLevels.length,
      8,
      visibleLevelCounts(compressRows(data, 'item'), 5),
      new Rng(2),
      0.5,
    );
    const byItem = compressRows(data, 'item');
    const got = itemHiddenFeatures(params, data, data.itemIds.length);
    const h = new Float32Array(8);
    for (let i = 0; i < byItem.rows; i++) {
      hiddenProbabilities(params, byItem.colIndex, byItem.levels, byItem.rowStart[i], byItem.rowStart[i + 1], h);
      expect(Array.from(got.subarray(i * 8, (i + 1) * 8))).toEqual(Array.from(h));
    }
  });
});

describe("the trainer's validation predictions", () => {
  it('are rbmExpectations of the returned (best) parameters, bit for bit', () => {
    const { fit, validation } = validationSplit(data.levels.length, 0.1, 0);
    const train = compressRows(subsetRatings(data, fit), 'user');
    const val = compressRows(subsetRatings(data, validation), 'user');
    const options = { ...validateTrainOptions({ hidden: 8, epochs: 6, lr: 0.1 }).user };
    const result = trainRbm({ phase: 'user', train, validation: val, ratingLevels: data.ratingLevels, options, seed: 4 });
    expect(result.validationPredictions).not.toBeNull();
    expect(Array.from(result.validationPredictions!)).toEqual(Array.from(rbmExpectations(result.params, train, val, data.ratingLevels)));
  });
});

describe('the trainer on threads', () => {
  it('returns the whole slice’s predictions and the item hidden features of its parameters, bit for bit, at 1 and 2 threads', () => {
    const { fit, validation } = validationSplit(data.levels.length, 0.1, 0);
    const train = compressRows(subsetRatings(data, fit), 'item');
    const val = compressRows(subsetRatings(data, validation), 'item');
    const features = compressRows(data, 'item');
    // One epoch: the last is the best, and its full pass gave the features too; five: it may not be.
    for (const [epochs, threads] of [
      [5, 1],
      [5, 2],
      [1, 1],
      [1, 2],
    ]) {
      const options = { ...validateTrainOptions({ hidden: 8, epochs, lr: 0.1 }).item, patience: 100 };
      const job = { phase: 'item' as const, train, validation: val, ratingLevels: data.ratingLevels, options, seed: 4, threads, features };
      // Early stopping on a sample (so the best epoch's full pass may come after training, with loaded parameters).
      const result = trainRbm({ ...job, earlyStoppingRatings: 50 });
      expect(Array.from(result.validationPredictions!)).toEqual(Array.from(rbmExpectations(result.params, train, val, data.ratingLevels)));
      expect(Array.from(result.hiddenFeatures!)).toEqual(Array.from(itemHiddenFeatures(result.params, data, data.itemIds.length)));
    }
  });
});

describe('the training summary', () => {
  it("records each stage's seconds (split, rows, each orientation, mixture, final)", async () => {
    const { model } = await fitRbmBlend(data, { hidden: 8, epochs: 2, seed: 0 }, { parallel: false });
    const stages = model.parts.training.stages!;
    expect(Object.keys(stages).sort()).toEqual(['final', 'item', 'item rows', 'mixture', 'split', 'user', 'user rows']);
    for (const s of Object.values(stages)) expect(s).toBeGreaterThanOrEqual(0);
  });
});

describe("early stopping's sample of a large validation slice", () => {
  const { fit, validation } = validationSplit(data.levels.length, 0.2, 0);
  const train = compressRows(subsetRatings(data, fit), 'user');
  const val = compressRows(subsetRatings(data, validation), 'user');

  it('uses the whole slice up to EARLY_STOPPING_RATINGS, else whole rows holding about that many ratings', () => {
    expect(earlyStoppingSample(val, 1)).toBeNull();
    const sample = earlyStoppingSample(val, 1, 100)!;
    expect(sample.rows).toBe(val.rows);
    expect(sample.colIndex.length).toBeGreaterThanOrEqual(100);
    let rows = 0;
    for (let r = 0; r < val.rows; r++) {
      const n = sample.rowStart[r + 1] - sample.rowStart[r];
      if (n === 0) continue;
      rows++;
      // A sampled row is the slice's row, whole.
      expect(n).toBe(val.rowStart[r + 1] - val.rowStart[r]);
      expect(Array.from(sample.colIndex.subarray(sample.rowStart[r], sample.rowStart[r + 1]))).toEqual(
        Array.from(val.colIndex.subarray(val.rowStart[r], val.rowStart[r + 1])),
      );
    }
    expect(rows).toBeLessThan(val.rows);
    expect(sample.colIndex.length - 100).toBeLessThan(val.colIndex.length / 10);
  });

  it("stops on the sample's RMSE and still returns the whole slice's predictions of the best parameters", () => {
    const options = { ...validateTrainOptions({ hidden: 8, epochs: 5, lr: 0.1 }).user, patience: 100 };
    const job = {
      phase: 'user' as const,
      train,
      validation: val,
      ratingLevels: data.ratingLevels,
      options,
      seed: 4,
      earlyStoppingRatings: 100,
    };
    const result = trainRbm(job);
    const full = rbmExpectations(result.params, train, val, data.ratingLevels);
    expect(Array.from(result.validationPredictions!)).toEqual(Array.from(full));
    // The best epoch's criterion is the RMSE over the sampled rows' ratings of those predictions.
    const sample = earlyStoppingSample(val, (4 + 0x2545f491) >>> 0, 100)!;
    let sq = 0;
    for (let r = 0; r < val.rows; r++) {
      if (sample.rowStart[r + 1] === sample.rowStart[r]) continue;
      for (let t = val.rowStart[r]; t < val.rowStart[r + 1]; t++) sq += (full[t] - data.ratingLevels[val.levels[t]]) ** 2;
    }
    expect(result.bestValidationRmse).toBeCloseTo(Math.sqrt(sq / sample.colIndex.length), 12);
  });
});
