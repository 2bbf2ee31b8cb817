/**
 * Checkpoint files beside the database: they round-trip bit for bit, are written atomically, refuse to
 * resume other data or options or a damaged file, and a plan resumes only when asked.
 */
import { existsSync, readdirSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { checkpointPath, readCheckpoint, removeCheckpoint, trainingFingerprint, writeCheckpoint } from '../../src/cli/checkpoints.js';
import { checkpointFingerprint, checkpointPlan } from '../../src/cli/trainCommand.js';
import { compressRows } from '../../src/data/dataset.js';
import { generateSyntheticRatings } from '../../src/data/synthetic.js';
import { validateTrainOptions, type RbmOptions } from '../../src/rbm/config.js';
import { trainRbm, type RbmCheckpoint } from '../../src/rbm/train.js';
import { tempFolder } from '../helpers/dataFiles.js';

const ds = generateSyntheticRatings({ seed: 3, users: 200, items: 150, ratings: 12_000 });
const options = (epochs: number): RbmOptions => ({ ...validateTrainOptions({ hidden: 8, epochs, lr: 0.2 }).user, patience: 100 });

describe('checkpoint files', () => {
  const temp = tempFolder('rbm-checkpoint-');
  afterAll(() => temp.cleanup());
  afterEach(() => {
    for (const name of readdirSync(temp.dir)) removeCheckpoint(join(temp.dir, name));
  });

  const sample = (): RbmCheckpoint => {
    let saved: RbmCheckpoint | null = null;
    trainRbm(
      { phase: 'item', train: compressRows(ds, 'item'), validation: null, ratingLevels: ds.ratingLevels, options: options(2), seed: 1 },
      { onCheckpoint: (c) => (saved ??= c), checkpointEveryMs: 0 },
    );
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

  it('a training resumes on another thread count, not with other options', () => {
    const counts = { users: 200, items: 150, ratings: 12_000 };
    const fingerprint = (options: { threads: number; hidden?: number }) => checkpointFingerprint(counts, 'watch-like', options);
    expect(fingerprint({ threads: 2 })).toBe(fingerprint({ threads: 1 }));
    expect(fingerprint({ threads: 2, hidden: 50 })).not.toBe(fingerprint({ threads: 2 }));
  });

  it('is absent before the first checkpoint, and refuses another training or a damaged file', () => {
    const path = join(temp.dir, 'db.checkpoint-item');
    expect(readCheckpoint(path, fingerprint)).toBeNull();
    writeCheckpoint(path, sample(), fingerprint);
    const other = trainingFingerprint({ users: 200, items: 150, ratings: 12_001 }, { hidden: 8 });
    expect(() => readCheckpoint(path, other)).toThrow(
      /was written for other data or options .*ratings=12000.*run without --resume to start over/,
    );
    truncateSync(path, statSync(path).size - 4);
    expect(() => readCheckpoint(path, fingerprint)).toThrow(/is truncated: expected 32 bytes of parameters at byte \d+, found 28/);
    removeCheckpoint(path);
    expect(existsSync(path)).toBe(false);
  });
});
