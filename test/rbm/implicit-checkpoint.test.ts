/**
 * Checkpoints of the implicit RBM (a long training at MovieLens-25M size): taken on the clock with the
 * best-so-far parameters, written and read back through the same files as the rating RBMs', and resumed
 * as a continuation (epoch numbers, curve and best so far carried on); a checkpoint of another shape is
 * refused with both shapes named; a long training leaves the event loop free now and then.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint, writeCheckpoint } from '../../src/cli/checkpoints.js';
import type { Dataset } from '../../src/data/dataset.js';
import { initBackend } from '../../src/rbm/backend.js';
import { fitImplicitRbm, type ImplicitRbmOptions } from '../../src/rbm/implicit.js';
import type { RbmCheckpoint } from '../../src/rbm/train.js';
import { tempFolder } from '../helpers/dataFiles.js';
import { twoTastes } from '../helpers/twoTastes.js';

const OPTIONS: Partial<ImplicitRbmOptions> = {
  hidden: 8,
  epochs: 6,
  lr: 0.1,
  batchSize: 10,
  patience: 100,
  validationFraction: 0.2,
  members: 1,
  plMembers: 0,
};

let data: Dataset;
const temp = tempFolder('rbm-implicit-checkpoint-');
beforeAll(async () => {
  await initBackend();
  data = twoTastes(5, { users: 80, items: 40, pIn: 0.6, pOut: 0.04 });
});
afterAll(() => temp.cleanup());

describe('implicit RBM checkpoints', () => {
  it('hands out the best so far on the clock, as a one-level RBM of phase "implicit"', async () => {
    const taken: RbmCheckpoint[] = [];
    let clock = 0;
    const model = await fitImplicitRbm(data, OPTIONS, undefined, {
      onCheckpoint: (c) => taken.push(c),
      checkpointEveryMs: 2,
      now: () => clock++,
    });
    // The clock advances once per epoch: every second epoch, and never after the last one.
    expect(taken.map((c) => c.epoch)).toEqual([2, 4]);
    const last = taken[taken.length - 1];
    expect(last).toMatchObject({ phase: 'implicit', params: { visibles: 40, levels: 1, hidden: 8 } });
    expect(last.curve.map((r) => r.epoch)).toEqual([1, 2, 3, 4]);
    // Its best so far is the epoch with the best validation nDCG (reported as 1 − nDCG) among those run.
    const bestSoFar = Math.min(...last.curve.map((r) => r.validationRmse!));
    expect(last.bestValidationRmse).toBeCloseTo(bestSoFar, 12);
    expect(last.curve[last.bestEpoch - 1].validationRmse).toBeCloseTo(bestSoFar, 12);
    expect(model.training?.epochs).toBe(6);
  });

  it('resumes from its file: epochs continue after the checkpoint, with its curve and best so far', async () => {
    let saved: RbmCheckpoint | null = null;
    await fitImplicitRbm(data, { ...OPTIONS, epochs: 3 }, undefined, { onCheckpoint: (c) => (saved ??= c), checkpointEveryMs: 0 });
    const path = join(temp.dir, 'db.checkpoint-implicit');
    writeCheckpoint(path, saved!, 'fingerprint');
    const back = readCheckpoint(path, 'fingerprint')!;
    expect(back.epoch).toBe(1);
    const epochs: number[] = [];
    const resumed = await fitImplicitRbm(data, OPTIONS, (r) => epochs.push(r.epoch), { resumeFrom: back });
    expect(epochs).toEqual([2, 3, 4, 5, 6]);
    const t = resumed.training!;
    expect(t.curve.map((r) => r.epoch)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(t.curve[0]).toEqual(back.curve[0]);
    const best = Math.min(...t.curve.map((r) => r.validationRmse!));
    expect(1 - t.bestValidationNdcg!).toBeCloseTo(best, 12);
  });

  it('serves the event loop while it trains (worker messages, checkpoints), without changing the result', async () => {
    let epochsDone = 0;
    let epochsWhenTimerRan = -1;
    setTimeout(() => (epochsWhenTimerRan = epochsDone), 0);
    const long = { ...OPTIONS, epochs: 600, patience: 10_000, seed: 7, scaleEpochs: false };
    // Yield after every mini-batch: on this tiny set all 600 epochs take less than the default interval.
    const model = await fitImplicitRbm(data, long, () => epochsDone++, { yieldEveryMs: 0 });
    expect(epochsDone).toBe(600);
    expect(epochsWhenTimerRan).toBeGreaterThanOrEqual(0);
    expect(epochsWhenTimerRan).toBeLessThan(600);
    const again = await fitImplicitRbm(data, long);
    expect(again.params.W).toEqual(model.params.W);
  }, 60_000);

  it('refuses a checkpoint of another shape, naming both', async () => {
    let saved: RbmCheckpoint | null = null;
    await fitImplicitRbm(data, { ...OPTIONS, epochs: 2 }, undefined, { onCheckpoint: (c) => (saved ??= c), checkpointEveryMs: 0 });
    await expect(fitImplicitRbm(data, { ...OPTIONS, hidden: 9 }, undefined, { resumeFrom: saved! })).rejects.toThrow(
      'cannot resume the implicit RBM (40 items × 9 hidden) from a checkpoint of the implicit RBM (40 × 1 levels × 8)',
    );
  });
});
