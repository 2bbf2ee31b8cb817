/**
 * Checkpoints of a long training: trainRbm hands out the best-so-far parameters on a clock (injected here,
 * so nothing waits), and a run resumed from one continues where it stood, in-thread or in a worker.
 */
import { describe, expect, it } from 'vitest';
import { compressRows, subsetRatings } from '../../src/data/dataset.js';
import { generateSyntheticRatings } from '../../src/data/synthetic.js';
import { validateTrainOptions, type RbmOptions } from '../../src/rbm/config.js';
import { validationSplit } from '../../src/model/rbmFit.js';
import { trainRbmInWorker } from '../../src/rbm/parallel.js';
import { trainRbm, validationRmse, type RbmCheckpoint } from '../../src/rbm/train.js';

const ds = generateSyntheticRatings({ seed: 3, users: 200, items: 150, ratings: 12_000 });
const split = validationSplit(ds.levels.length, 0.1, 0);
const train = compressRows(subsetRatings(ds, split.fit), 'user');
const validation = compressRows(subsetRatings(ds, split.validation), 'user');
const options = (epochs: number): RbmOptions => ({ ...validateTrainOptions({ hidden: 8, epochs, lr: 0.2 }).user, patience: 100 });

/** A clock that moves one minute every time it is read. */
function minuteClock(): () => number {
  let t = 0;
  return () => (t += 60_000);
}

describe('trainRbm checkpoints', () => {
  it('hands out the best-so-far parameters once the interval has passed, as copies', () => {
    const checkpoints: RbmCheckpoint[] = [];
    const result = trainRbm(
      { phase: 'user', train, validation, ratingLevels: ds.ratingLevels, options: options(6), seed: 5 },
      { onCheckpoint: (c) => checkpoints.push(c), checkpointEveryMs: 90_000, now: minuteClock() },
    );
    // The clock is read at the start, after each epoch and after each checkpoint, so 1.5 minutes pass
    // every second epoch; none after the last epoch (the finished model is saved instead).
    expect(checkpoints.map((c) => c.epoch)).toEqual([2, 4]);
    for (const c of checkpoints) {
      expect(c.phase).toBe('user');
      expect(c.curve).toHaveLength(c.epoch);
      expect(c.bestValidationRmse).toBe(Math.min(...c.curve.map((r) => r.validationRmse as number)));
      // The parameters are the best epoch's: they reproduce its validation RMSE exactly.
      expect(validationRmse(c.params, train, validation, ds.ratingLevels)).toBe(c.bestValidationRmse);
    }
    checkpoints[0].params.W.fill(0);
    expect(result.params.W.some((w) => w !== 0)).toBe(true);
  });

  it('resumes from a checkpoint: keeps its curve, continues the epochs, never ends worse than its best', () => {
    let saved: RbmCheckpoint | null = null;
    trainRbm(
      { phase: 'user', train, validation, ratingLevels: ds.ratingLevels, options: options(8), seed: 5 },
      { onCheckpoint: (c) => (saved ??= c), checkpointEveryMs: 150_000, now: minuteClock() },
    );
    const checkpoint = saved as RbmCheckpoint | null;
    if (!checkpoint) throw new Error('no checkpoint was taken');
    expect(checkpoint.epoch).toBe(3);
    const resumed = trainRbm(
      { phase: 'user', train, validation, ratingLevels: ds.ratingLevels, options: options(8), seed: 5 },
      { resumeFrom: checkpoint },
    );
    expect(resumed.curve).toHaveLength(8);
    expect(resumed.curve.slice(0, 3)).toEqual(checkpoint.curve);
    expect(resumed.curve.slice(3).map((r) => r.epoch)).toEqual([4, 5, 6, 7, 8]);
    expect(resumed.bestValidationRmse).toBeLessThanOrEqual(checkpoint.bestValidationRmse as number);
    expect(validationRmse(resumed.params, train, validation, ds.ratingLevels)).toBe(resumed.bestValidationRmse);
  });

  it('refuses a checkpoint of another shape, saying what differs', () => {
    let saved: RbmCheckpoint | null = null;
    trainRbm(
      { phase: 'user', train, validation, ratingLevels: ds.ratingLevels, options: options(3), seed: 5 },
      { onCheckpoint: (c) => (saved ??= c), checkpointEveryMs: 0 },
    );
    const bigger = { ...options(3), hidden: 9 };
    expect(() =>
      trainRbm(
        { phase: 'user', train, validation, ratingLevels: ds.ratingLevels, options: bigger, seed: 5 },
        { resumeFrom: saved as unknown as RbmCheckpoint },
      ),
    ).toThrow(`cannot resume the user RBM (150 visible units × 5 levels × 9 hidden) from a checkpoint of the user RBM (150 × 5 × 8)`);
  });
});

describe('trainRbmInWorker checkpoints', () => {
  it('posts checkpoints back from the worker and resumes there, as trainRbm does in-thread', async () => {
    const inWorker: RbmCheckpoint[] = [];
    await trainRbmInWorker(
      { phase: 'user', train, validation, ratingLevels: ds.ratingLevels, options: options(3), seed: 5 },
      { onCheckpoint: (c) => inWorker.push(c), checkpointEveryMs: 0 },
    );
    const inThread: RbmCheckpoint[] = [];
    trainRbm(
      { phase: 'user', train, validation, ratingLevels: ds.ratingLevels, options: options(3), seed: 5 },
      { onCheckpoint: (c) => inThread.push(c), checkpointEveryMs: 0 },
    );
    expect(inWorker.map((c) => c.epoch)).toEqual([1, 2]);
    expect(inWorker.map((c) => c.bestValidationRmse)).toEqual(inThread.map((c) => c.bestValidationRmse));
    expect(Array.from(inWorker[1].params.W)).toEqual(Array.from(inThread[1].params.W));

    const resumedInWorker = await trainRbmInWorker(
      { phase: 'user', train, validation, ratingLevels: ds.ratingLevels, options: options(4), seed: 5 },
      { resumeFrom: inThread[1] },
    );
    const resumedInThread = trainRbm(
      { phase: 'user', train, validation, ratingLevels: ds.ratingLevels, options: options(4), seed: 5 },
      { resumeFrom: inThread[1] },
    );
    expect(resumedInWorker.curve.map((r) => r.epoch)).toEqual([1, 2, 3, 4]);
    expect(Array.from(resumedInWorker.params.W)).toEqual(Array.from(resumedInThread.params.W));
  });
});
