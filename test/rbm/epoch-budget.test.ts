import { describe, expect, it } from 'vitest';
import { compressRows, datasetFromTriples } from '../../src/data/dataset.js';
import { RATING_EPOCH_BUDGET, ratingEpochBudget, validateTrainOptions } from '../../src/rbm/config.js';
import { scaledEpochs } from '../../src/rbm/epochBudget.js';
import { carveValidation, epochBudget, IMPLICIT_EPOCH_BUDGET, ratedRows, validateImplicitOptions } from '../../src/rbm/implicit.js';
import { trainRbm } from '../../src/rbm/train.js';
import { Rng } from '../../src/rng.js';

describe('the epoch budget rule (rbm/epochBudget.ts)', () => {
  const rule = { updates: 600, minEpochs: 4 };
  it('is min(epochs, max(minEpochs, ⌈updates / ⌈cases / B⌉⌉))', () => {
    expect(scaledEpochs(60, 1_000, 100, rule)).toBe(60); // 10 batches: 60 epochs fit in 600 updates
    expect(scaledEpochs(60, 2_000, 100, rule)).toBe(30); // 20 batches
    expect(scaledEpochs(60, 2_001, 100, rule)).toBe(29); // 21 batches: ⌈600 / 21⌉
    expect(scaledEpochs(60, 1_000_000, 100, rule)).toBe(4); // the floor
    expect(scaledEpochs(3, 1_000_000, 100, rule)).toBe(3); // never more than asked
    expect(scaledEpochs(60, 0, 100, rule)).toBe(60); // no cases: one batch at most
  });

  it('gives the implicit RBM the budget it had before the rule was shared', () => {
    const o = validateImplicitOptions();
    expect(IMPLICIT_EPOCH_BUDGET).toEqual({ updates: 600, minEpochs: 10 });
    expect(epochBudget(o, 2_000)).toBe(scaledEpochs(60, 2_000, 100, IMPLICIT_EPOCH_BUDGET));
  });
});

describe("the rating RBMs' epoch budget", () => {
  const { user, item } = validateTrainOptions();
  it('does not bind on ML-100K (943 users, 1,682 items): 60 epochs and the CD-1→3→5 schedule, patience 8', () => {
    expect(ratingEpochBudget(user, 943, 'user')).toEqual({ epochs: 60, patience: 8 });
    expect(ratingEpochBudget(item, 1_682, 'item')).toEqual({ epochs: 60, patience: 8 });
  });

  it("gives ML-1M's shape (6,040 users, 3,706 items in batches of 20) 20 and 33 epochs: the updates rule, not the floors", () => {
    expect(ratingEpochBudget(user, 6_040, 'user').epochs).toBe(20);
    expect(ratingEpochBudget(item, 3_706, 'item').epochs).toBe(33);
  });

  it("caps MovieLens 25M's shape (162,541 users, 59,047 items) at each orientation's floor, patience with it", () => {
    expect(RATING_EPOCH_BUDGET).toEqual({ user: { updates: 6000, minEpochs: 15 }, item: { updates: 6000, minEpochs: 28 } });
    expect(ratingEpochBudget(user, 162_541, 'user')).toEqual({ epochs: 15, patience: 8 });
    // The item RBM's floor, past CD-3's start (epoch 20), where its validation curve at that size flattens.
    expect(ratingEpochBudget(item, 59_047, 'item')).toEqual({ epochs: 28, patience: 8 });
    expect(ratingEpochBudget({ ...user, scaleEpochs: false }, 162_541, 'user')).toEqual({ epochs: 60, patience: 8 });
  });

  it('rejects a scaleEpochs that is not a boolean', () => {
    expect(() => validateTrainOptions({ user: { scaleEpochs: 'yes' as unknown as boolean } })).toThrow(
      /user RBM option scaleEpochs must be true or false/,
    );
  });

  it.each(['user', 'item'] as const)('is what trainRbm trains (%s RBM): epochs past its budget are never run', (orientation) => {
    // 400 cases in batches of 1: 400 updates an epoch, so the budget is the orientation's floor.
    const rng = new Rng(3);
    const triples = Array.from({ length: 2_000 }, (_, n) => ({
      userId: 1 + (orientation === 'user' ? n % 400 : rng.int(30)),
      itemId: 1 + (orientation === 'item' ? n % 400 : rng.int(30)),
      value: 1 + rng.int(5),
    }));
    const ds = datasetFromTriples(triples);
    const rule = RATING_EPOCH_BUDGET[orientation];
    const options = { ...(orientation === 'user' ? user : item), hidden: 4, batchSize: 1, epochs: rule.minEpochs + 5 };
    const result = trainRbm({
      phase: orientation,
      train: compressRows(ds, orientation),
      validation: null,
      ratingLevels: ds.ratingLevels,
      options,
      seed: 1,
    });
    expect(result.epochs).toBe(ratingEpochBudget(options, 400, orientation).epochs);
    expect(result.epochs).toBe(Math.max(rule.minEpochs, Math.ceil(rule.updates / 400)));
    expect(result.curve.every((r) => r.maxEpochs === result.epochs)).toBe(true);
  });
});

/** The list-based construction ratedRows and carveValidation replaced (distinct, sorted rows). */
function referenceRows(users: number, pairs: [number, number][]): { rowStart: number[]; colIndex: number[] } {
  const lists: number[][] = Array.from({ length: users }, () => []);
  for (const [u, i] of pairs) lists[u].push(i);
  const rowStart = [0];
  const colIndex: number[] = [];
  for (const l of lists) {
    colIndex.push(...[...new Set(l)].sort((a, b) => a - b));
    rowStart.push(colIndex.length);
  }
  return { rowStart, colIndex };
}

describe('ratedRows and carveValidation in typed arrays', () => {
  const rng = new Rng(11);
  const pairs: [number, number][] = Array.from({ length: 3_000 }, () => [rng.int(90), rng.int(200)]);
  const ds = datasetFromTriples(pairs.map(([u, i]) => ({ userId: u + 1, itemId: i + 1, value: 3 })));

  it('ratedRows gives each user its distinct items, sorted (repeated ratings once)', () => {
    const rows = ratedRows(ds);
    const indexed: [number, number][] = Array.from(ds.users, (u, r) => [u, ds.items[r]]);
    const ref = referenceRows(ds.userIds.length, indexed);
    expect(Array.from(rows.rowStart)).toEqual(ref.rowStart);
    expect(Array.from(rows.colIndex)).toEqual(ref.colIndex);
  });

  it('carveValidation draws the same slice as the per-user list version (same seed, same stream)', () => {
    const rows = ratedRows(ds);
    const drawn = new Rng(5);
    const { fit, validation } = carveValidation(rows, 0.2, drawn);
    // The list version: per user, shuffle positions, hold round(0.2 n) out (at most n − 1), sort both parts.
    const ref = new Rng(5);
    for (let u = 0; u < rows.rows; u++) {
      const items = Array.from(rows.colIndex.subarray(rows.rowStart[u], rows.rowStart[u + 1]));
      const order = ref.shuffle(Int32Array.from(items, (_, n) => n));
      const held = Math.min(Math.round(0.2 * items.length), Math.max(0, items.length - 1));
      const v = Array.from(order.subarray(0, held), (n) => items[n]).sort((a, b) => a - b);
      const f = Array.from(order.subarray(held), (n) => items[n]).sort((a, b) => a - b);
      expect(Array.from(validation.colIndex.subarray(validation.rowStart[u], validation.rowStart[u + 1]))).toEqual(v);
      expect(Array.from(fit.colIndex.subarray(fit.rowStart[u], fit.rowStart[u + 1]))).toEqual(f);
    }
    // Both consumed the same draws: training continues on the same stream.
    expect(drawn.next()).toBe(ref.next());
  });
});
