/**
 * `npm run tune`'s argument checks and grid, and the users' subset of the 35 %-users shape. (The tuning
 * itself is measured by running it; see docs/ranking.md.)
 */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/common.js';
import { parseGrid, parseTuneArgs } from '../../src/cli/tuneCommand.js';
import { datasetFromTriples } from '../../src/data/dataset.js';
import { sampleUsers } from '../../src/eval/splits.js';
import { tuneRanking } from '../../src/eval/tuning.js';

const base = ['--data', 'somewhere', '--split', 'user-stratified'];

describe('tune arguments', () => {
  it('defaults: the served options alone, seed 0, test fraction 0.25, k 10, no cold tuning', () => {
    expect(parseTuneArgs(base)).toEqual({
      data: 'somewhere',
      testFraction: 0.25,
      validationFraction: null,
      seed: 0,
      seeds: [0],
      usersFraction: null,
      k: 10,
      baselines: [],
      grid: [{}],
      cold: null,
      json: undefined,
    });
  });

  it('a grid is every combination, the last key fastest; true/false are booleans', () => {
    expect(parseGrid('lr=0.02,0.05 activityScaling=true,false')).toEqual([
      { lr: 0.02, activityScaling: true },
      { lr: 0.02, activityScaling: false },
      { lr: 0.05, activityScaling: true },
      { lr: 0.05, activityScaling: false },
    ]);
    const cmd = parseTuneArgs([...base, '--given', '5,10', '--priors', '0,4', '--users-fraction', '0.35', '--seed', '3']);
    expect(cmd).not.toBe('help');
    if (cmd !== 'help') {
      expect(cmd.cold).toEqual({ ns: [5, 10], priors: [0, 4], coldFraction: 0.1 });
      expect(cmd.usersFraction).toBe(0.35);
      expect(cmd.seed).toBe(3);
      expect(cmd.seeds).toEqual([3]);
    }
    const seeded = parseTuneArgs([...base, '--seed', '3', '--seeds', '0,1,2']);
    expect(seeded !== 'help' && [seeded.seed, seeded.seeds]).toEqual([3, [0, 1, 2]]);
    const yardsticks = parseTuneArgs([...base, '--baselines', 'ease,ials']);
    expect(yardsticks !== 'help' && yardsticks.baselines).toEqual(['ease', 'ials']);
    const larger = parseTuneArgs([...base, '--validation-fraction', '0.1']);
    expect(larger !== 'help' && [larger.testFraction, larger.validationFraction]).toEqual([0.25, 0.1]);
  });

  it('refuses bad arguments with what was wrong and what was expected', () => {
    const cases: [string[], string][] = [
      [['--split', 'user-stratified'], '--data <MovieLens folder> is required'],
      [['--data', 'x'], '--split user-stratified is required'],
      [['--data', 'x', '--split', 'kfold'], 'got "kfold"'],
      [[...base, '--grid', 'lr'], '--grid: "lr" must look like key=value,value'],
      [[...base, '--grid', 'lr=0.1 lr=0.2'], '--grid names lr twice'],
      [[...base, '--grid', 'lr=fast!'], '--grid: lr value "fast!" must be a number, true/false or a word'],
      [[...base, '--grid', 'colour=1'], '--grid: grid: "colour" is not an implicit RBM option'],
      [[...base, '--grid', 'lr=-1'], 'implicit RBM option lr must be a positive number, got -1'],
      [[...base, '--grid', 'members=0'], 'implicit RBM option members must be a positive integer, got 0'],
      [[...base, '--grid', 'activityScaling=1'], 'implicit RBM option activityScaling must be true or false, got 1'],
      [[...base, '--priors', '1,2'], '--priors and --cold-users go with --given N,…'],
      [[...base, '--given', '5,5'], '--given lists an N twice'],
      [[...base, '--given', '5', '--priors=-1'], '--priors must be a number from 0'],
      [[...base, '--users-fraction', '0'], '--users-fraction must be a number from'],
      [[...base, '--validation-fraction', '1'], '--validation-fraction must be a number from'],
      [[...base, '--test-fraction', '0.95'], '--test-fraction must be a number from'],
      [[...base, '--seed', '1.5'], '--seed must be an integer'],
      [[...base, '--seeds', '0,0'], '--seeds lists a seed twice (0,0)'],
      [[...base, '--seeds', '0,x'], '--seeds must be an integer'],
      [[...base, '--baselines', 'ease,knn'], '--baselines: unknown algorithm "knn"; expected one of watch-like,'],
      [[...base, '--baselines', 'ease,ease'], '--baselines lists an algorithm twice (ease,ease)'],
      [[...base, '--colour', 'red'], "Unknown option '--colour'"],
    ];
    for (const [argv, message] of cases) {
      expect(() => parseTuneArgs(argv), argv.join(' ')).toThrow(UsageError);
      expect(() => parseTuneArgs(argv), argv.join(' ')).toThrow(message);
    }
  });
});

describe('sampleUsers', () => {
  const triples = Array.from({ length: 20 }, (_, u) =>
    Array.from({ length: 1 + (u % 4) }, (_, k) => ({ userId: 100 + u, itemId: 1 + ((u + k) % 7), value: 1 + (k % 5) })),
  ).flat();
  const ds = datasetFromTriples(triples, { itemIds: [1, 2, 3, 4, 5, 6, 7, 8] });

  it('keeps round(fraction · users) users with all their ratings, users and items re-indexed; seeded', () => {
    const sub = sampleUsers(ds, 0.35, 4);
    expect(sub.userIds).toHaveLength(7);
    expect(sub.itemIds).toEqual([...new Set(Array.from(sub.items, (i) => sub.itemIds[i]))].sort((a, b) => a - b));
    expect([...sub.userIds]).toEqual([...sub.userIds].sort((a, b) => a - b));
    const kept = new Set(sub.userIds);
    const expected = triples.filter((t) => kept.has(t.userId));
    const got = Array.from(sub.users, (u, r) => ({
      userId: sub.userIds[u],
      itemId: sub.itemIds[sub.items[r]],
      value: sub.ratingLevels[sub.levels[r]],
    }));
    expect(got).toEqual(expected);
    expect(sampleUsers(ds, 0.35, 4).userIds).toEqual(sub.userIds);
    expect(sampleUsers(ds, 0.35, 5).userIds).not.toEqual(sub.userIds);
    expect(sampleUsers(ds, 1, 4).users).toEqual(ds.users);
    expect(sampleUsers(ds, 1, 4).itemIds).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('refuses a fraction outside (0, 1] or one that keeps nobody', () => {
    expect(() => sampleUsers(ds, 0, 1)).toThrow('--users-fraction must be a fraction in (0, 1], got 0');
    expect(() => sampleUsers(ds, 0.01, 1)).toThrow('--users-fraction 0.01 of 20 users with ratings keeps none');
  });
});

describe('tuneRanking over several seeds', () => {
  // 40 users × 24 items, each user rating a seeded-looking but fixed pattern of 8–13 items.
  const triples = Array.from({ length: 40 }, (_, u) =>
    Array.from({ length: 8 + (u % 6) }, (_, k) => ({ userId: 1 + u, itemId: 1 + ((u * 7 + k * 5) % 24), value: 1 + ((u + k) % 5) })),
  ).flat();
  const data = datasetFromTriples(triples);
  const spec = {
    testFraction: 0.25,
    seed: 0,
    k: 5,
    grid: [{}],
    base: { hidden: 4, epochs: 2, patience: 2, batchSize: 10, members: 1, plMembers: 0 },
    cold: null,
  };

  it('trains each point once per seed: the figures are the means, each seed reproduces a run with that seed alone', async () => {
    const both = await tuneRanking(data, { ...spec, seeds: [1, 2], baselines: ['popular'] });
    // A baseline is fitted on the fit part and measured on the same validation part as the popular line.
    expect(both.baselines.map((b) => [b.name, b.ndcg, b.ndcgLiked])).toEqual([['popular', both.popular.ndcg, both.popular.ndcgLiked]]);
    // The chosen row minus each baseline, paired over the validation users: the mean of the per-user
    // differences is the difference of the means (the same users on both sides), with its standard error.
    expect(both.paired.map((p) => p.name)).toEqual(['popular']);
    expect(both.paired[0].users).toBe(both.validationUsers);
    expect(both.paired[0].difference.ndcg.mean).toBeCloseTo(both.rows[0].ndcg - both.popular.ndcg, 12);
    expect(both.paired[0].difference.precision.mean).toBeCloseTo(both.rows[0].precision - both.popular.precision, 12);
    expect(both.paired[0].difference.ndcg.standardError).toBeGreaterThan(0);
    const one = await tuneRanking(data, { ...spec, seeds: [2] });
    const row = both.rows[0];
    expect(row.perSeed.map((f) => f.seed)).toEqual([1, 2]);
    for (const key of ['precision', 'ndcg', 'ndcgLiked', 'watchPrecision', 'watchNdcg'] as const) {
      expect(row[key]).toBeCloseTo((row.perSeed[0][key] + row.perSeed[1][key]) / 2, 12);
      expect(row.perSeed[1][key]).toBe(one.rows[0][key]);
    }
    expect(row.epochs).toEqual([2, 2]);
    await expect(tuneRanking(data, { ...spec, seeds: [] })).rejects.toThrow('tuning needs at least one implicit RBM seed');
  }, 120_000);

  it('a smaller validation fraction moves ratings from the validation part to the fit part, the test part untouched', async () => {
    const same = await tuneRanking(data, { ...spec, validationFraction: spec.testFraction });
    const plain = await tuneRanking(data, spec);
    expect([same.fitRatings, same.validationRatings, same.rows[0].ndcg]).toEqual([
      plain.fitRatings,
      plain.validationRatings,
      plain.rows[0].ndcg,
    ]);
    const larger = await tuneRanking(data, { ...spec, validationFraction: 0.1 });
    // The training part (fit + validation) is the same size: only the test fraction sets it.
    expect(larger.fitRatings + larger.validationRatings).toBe(plain.fitRatings + plain.validationRatings);
    expect(larger.validationRatings).toBeLessThan(plain.validationRatings / 2);
  }, 120_000);
});
