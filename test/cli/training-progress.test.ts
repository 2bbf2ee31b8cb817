/**
 * The training's status line (src/cli/progress.ts TrainingProgress): each model's epoch out of its maximum
 * and its last epoch's time, and the run's ETA as an upper bound from the lanes' mean epoch times.
 */
import { describe, expect, it } from 'vitest';
import { formatDuration, TrainingProgress, type EpochProgressReport } from '../../src/cli/progress.js';
import { modelLanes } from '../../src/cli/trainCommand.js';
import { formatStages } from '../../src/rbm/stages.js';

const report = (phase: string, epoch: number, seconds: number): EpochProgressReport => ({
  phase,
  epoch,
  cdSteps: 1,
  trainRmse: 0.9,
  validationRmse: 0.95,
  seconds,
});

describe('TrainingProgress', () => {
  const maxEpochs = (phase: string): number => (phase === 'implicit' ? 20 : 10);

  it('names the estimator of a report that is not CD-T (the pseudo-likelihood member of the implicit RBM)', () => {
    const progress = new TrainingProgress({ lanes: [['implicit', 'implicit-pl']], maxEpochs });
    progress.line(report('implicit', 20, 1));
    const line = progress.line({ ...report('implicit-pl', 1, 1), estimator: 'pseudo-likelihood' });
    expect(line).toContain('| implicit-pl pseudo-likelihood train RMSE 0.9000');
    expect(line).not.toContain('CD-1');
  });

  it('shows every model under way and estimates the run from the slowest lane, later phases costed like the running one', () => {
    const progress = new TrainingProgress({ lanes: [['user', 'item'], ['implicit']], maxEpochs });
    const first = progress.line(report('user', 1, 4));
    // user: 9 epochs left at 4 s, then item's 10 at the same 4 s: 76 s; implicit has not reported.
    expect(first).toBe('user 1/10 4.0 s · item -/10 | user CD-1 train RMSE 0.9000 validation 0.9500 | ETA ≤ 1 min 16 s');
    progress.line(report('implicit', 1, 30));
    // implicit: 19 × 30 s = 570 s is now the longest lane.
    expect(progress.secondsLeft()).toBe(570);
    progress.line(report('user', 2, 6));
    // The user RBM's mean is 5 s: 8 × 5 + 10 × 5 = 90 s, still below the implicit lane.
    expect(progress.secondsLeft()).toBe(570);
    // Early stopping ended the user RBM at epoch 2: once item reports, user is over.
    const line = progress.line(report('item', 1, 3));
    expect(line.startsWith('user 2/10 6.0 s · item 1/10 3.0 s · implicit 1/20 30.0 s | item CD-1')).toBe(true);
    for (let e = 2; e <= 20; e++) progress.line(report('implicit', e, 30));
    expect(progress.secondsLeft()).toBe(9 * 3);
  });

  it('takes a resumed phase from its epoch, timing only this run, and gives a lane to a phase not in the plan', () => {
    const progress = new TrainingProgress({ lanes: [['user']], maxEpochs });
    progress.line(report('user', 7, 10));
    expect(progress.secondsLeft()).toBe(30);
    expect(progress.line(report('other', 1, 2))).toContain('user 7/10 10.0 s · other 1/10 2.0 s');
    expect(new TrainingProgress({ lanes: [['user']], maxEpochs }).secondsLeft()).toBeNull();
  });

  it('formats durations', () => {
    expect(formatDuration(42.4)).toBe('42 s');
    expect(formatDuration(185)).toBe('3 min 5 s');
    expect(formatDuration(7620)).toBe('2 h 7 min');
  });
});

describe('the plan of a watch-like training', () => {
  it('puts the implicit RBM after the rating RBMs in turn, or in a lane of its own beside them', () => {
    const both = { members: 2, plMembers: 2 };
    expect(modelLanes([['user', 'item']], 'inTurn', both)).toEqual([['user', 'item', 'implicit', 'implicit-pl']]);
    expect(modelLanes([['user'], ['item']], 'beside', both)).toEqual([['user'], ['item'], ['implicit', 'implicit-pl']]);
  });

  it('shows only the implicit members the catalog trains (a sampled catalog: one CD member, no PL)', () => {
    expect(modelLanes([['user'], ['item']], 'beside', { members: 1, plMembers: 0 })).toEqual([['user'], ['item'], ['implicit']]);
    expect(modelLanes([['user', 'item']], 'inTurn', { members: 0, plMembers: 1 })).toEqual([['user', 'item', 'implicit-pl']]);
  });

  it("takes each model's epoch budget from its reports once it trains", () => {
    const progress = new TrainingProgress({ lanes: [['user', 'item']], maxEpochs: () => 60 });
    expect(progress.line(report('user', 1, 10))).toContain('user 1/60');
    const line = progress.line({ ...report('user', 2, 10), maxEpochs: 15 });
    expect(line).toContain('user 2/15');
    // 13 epochs of the user RBM left, then the item RBM's 60 (its budget not reported yet), at 10 s each.
    expect(progress.secondsLeft()).toBe((13 + 60) * 10);
  });

  it('prints the stage seconds in the order they ran', () => {
    expect(formatStages({ split: 1.23, user: 50, mixture: 0.04 })).toBe('split 1.2 s, user 50.0 s, mixture 0.0 s');
  });
});
