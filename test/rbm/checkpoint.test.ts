/**
 * Checkpoints of a long training: trainRbm hands out the best-so-far parameters on a clock (injected here,
 * so nothing waits), a run resumed from one continues where it stood, and the checkpoint file beside the
 * database round-trips bit for bit and refuses to resume other data or options.
 */
import { existsSync, readdirSync, truncateSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkpointPlan } from '../../src/cli/trainCommand.js';
import { checkpointPath, readCheckpoint, removeCheckpoint, trainingFingerprint, writeCheckpoint } from '../../src/cli/checkpoints.js';
import { compressRows, subsetRatings } from '../../src/data/dataset.js';
import { generateSyntheticRatings } from '../../src/data/synthetic.js';
import { validateTrainOptions, type RbmOptions } from '../../src/rbm/config.js';
import { validationSplit } from '../../src/rbm/fit.js';
import { trainRbmInWorker } from '../../src/rbm/parallel.js';
import { trainRbm, validationRmse, type RbmCheckpoint } from '../../src/rbm/train.js';
import { tempFolder } from '../helpers/dataFiles.js';

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
    const result = trainRbm('user', train, validation, ds.ratingLevels, options(6), 5, undefined, {
      onCheckpoint: (c) => checkpoints.push(c),
      checkpointEveryMs: 90_000,
      now: minuteClock(),
    });
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
    trainRbm('user', train, validation, ds.ratingLevels, options(8), 5, undefined, {
      onCheckpoint: (c) => (saved ??= c),
      checkpointEveryMs: 150_000,
      now: minuteClock(),
    });
    const checkpoint = saved as RbmCheckpoint | null;
    if (!checkpoint) throw new Error('no checkpoint was taken');
    expect(checkpoint.epoch).toBe(3);
    const resumed = trainRbm('user', train, validation, ds.ratingLevels, options(8), 5, undefined, { resumeFrom: checkpoint });
    expect(resumed.curve).toHaveLength(8);
    expect(resumed.curve.slice(0, 3)).toEqual(checkpoint.curve);
    expect(resumed.curve.slice(3).map((r) => r.epoch)).toEqual([4, 5, 6, 7, 8]);
    expect(resumed.bestValidationRmse).toBeLessThanOrEqual(checkpoint.bestValidationRmse as number);
    expect(validationRmse(resumed.params, train, validation, ds.ratingLevels)).toBe(resumed.bestValidationRmse);
  });

  it('refuses a checkpoint of another shape, saying what differs', () => {
    let saved: RbmCheckpoint | null = null;
    trainRbm('user', train, validation, ds.ratingLevels, options(3), 5, undefined, {
      onCheckpoint: (c) => (saved ??= c),
      checkpointEveryMs: 0,
    });
    const bigger = { ...options(3), hidden: 9 };
    expect(() => trainRbm('user', train, validation, ds.ratingLevels, bigger, 5, undefined, { resumeFrom: saved as unknown as RbmCheckpoint })).toThrow(
      `cannot resume the user RBM (150 visible units × 5 levels × 9 hidden) from a checkpoint of the user RBM (150 × 5 × 8)`,
    );
  });
});

describe('trainRbmInWorker checkpoints', () => {
  it('posts checkpoints back from the worker and resumes there, as trainRbm does in-thread', async () => {
    const inWorker: RbmCheckpoint[] = [];
    await trainRbmInWorker('user', train, validation, ds.ratingLevels, options(3), 5, undefined, {
      onCheckpoint: (c) => inWorker.push(c),
      checkpointEveryMs: 0,
    });
    const inThread: RbmCheckpoint[] = [];
    trainRbm('user', train, validation, ds.ratingLevels, options(3), 5, undefined, { onCheckpoint: (c) => inThread.push(c), checkpointEveryMs: 0 });
    expect(inWorker.map((c) => c.epoch)).toEqual([1, 2]);
    expect(inWorker.map((c) => c.bestValidationRmse)).toEqual(inThread.map((c) => c.bestValidationRmse));
    expect(Array.from(inWorker[1].params.W)).toEqual(Array.from(inThread[1].params.W));

    const resumedInWorker = await trainRbmInWorker('user', train, validation, ds.ratingLevels, options(4), 5, undefined, { resumeFrom: inThread[1] });
    const resumedInThread = trainRbm('user', train, validation, ds.ratingLevels, options(4), 5, undefined, { resumeFrom: inThread[1] });
    expect(resumedInWorker.curve.map((r) => r.epoch)).toEqual([1, 2, 3, 4]);
    expect(Array.from(resumedInWorker.params.W)).toEqual(Array.from(resumedInThread.params.W));
  });
});

describe('checkpoint files', () => {
  const temp = tempFolder('rbm-checkpoint-');
  afterEach(() => {
    for (const name of readdirSync(temp.dir)) removeCheckpoint(join(temp.dir, name));
  });

  const sample = (): RbmCheckpoint => {
    let saved: RbmCheckpoint | null = null;
    trainRbm('item', compressRows(ds, 'item'), null, ds.ratingLevels, options(2), 1, undefined, {
      onCheckpoint: (c) => (saved ??= c),
      checkpointEveryMs: 0,
    });
    return saved as unknown as RbmCheckpoint;
  };
  const fingerprint = trainingFingerprint({ users: 200, items: 150, ratings: 12_000 }, { hidden: 8 });

  it('round-trip bit for bit, beside the database, leaving no temporary file', () => {
    const checkpoint = sample();
    const path = checkpointPath(join(temp.dir, 'recommender.db'), 'item');
    expect(path).toBe(join(temp.dir, 'recommender.db.checkpoint-item'));
    writeCheckpoint(path, checkpoint, fingerprint);
    expect(readdirSync(temp.dir)).toEqual(['recommender.db.checkpoint-item']);
    const back = readCheckpoint(path, fingerprint) as RbmCheckpoint;
    expect(back.epoch).toBe(checkpoint.epoch);
    expect(back.curve).toEqual(checkpoint.curve);
    expect(back.bestValidationRmse).toBeNull();
    for (const t of ['W', 'b', 'c'] as const) {
      expect(new Uint32Array(back.params[t].buffer)).toEqual(new Uint32Array(checkpoint.params[t].buffer));
    }
  });

  it('a plan writes each orientation beside the database, resumes only when asked, and clears after the save', () => {
    const dbPath = join(temp.dir, 'plan.db');
    const checkpoint = sample();
    const first = checkpointPlan(dbPath, fingerprint, ['user', 'item'], true);
    expect(first.resumeFrom).toEqual({});
    first.onCheckpoint(checkpoint);
    expect(readdirSync(temp.dir)).toEqual(['plan.db.checkpoint-item']);
    const resumed = checkpointPlan(dbPath, fingerprint, ['user', 'item'], true);
    expect(Object.keys(resumed.resumeFrom)).toEqual(['item']);
    expect(resumed.resumeFrom.item?.epoch).toBe(checkpoint.epoch);
    expect(checkpointPlan(dbPath, fingerprint, ['user', 'item'], false).resumeFrom).toEqual({});
    resumed.clear();
    expect(readdirSync(temp.dir)).toEqual([]);
  });

  it('is absent before the first checkpoint, and refuses another training or a damaged file', () => {
    const path = join(temp.dir, 'db.checkpoint-item');
    expect(readCheckpoint(path, fingerprint)).toBeNull();
    writeCheckpoint(path, sample(), fingerprint);
    const other = trainingFingerprint({ users: 200, items: 150, ratings: 12_001 }, { hidden: 8 });
    expect(() => readCheckpoint(path, other)).toThrow(/was written for other data or options .*ratings=12000.*run without --resume to start over/);
    truncateSync(path, statSync(path).size - 4);
    expect(() => readCheckpoint(path, fingerprint)).toThrow(/is truncated: expected 32 bytes of parameters at byte \d+, found 28/);
    removeCheckpoint(path);
    expect(existsSync(path)).toBe(false);
  });
});
