/**
 * Paired differences between algorithms: the per-user figures the accumulator keeps, the mean and standard
 * error of the per-user differences against hand computations, the fold combination, the refusal of
 * comparisons over different users, and the evaluate command's paired tables on real ML-100K.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatEvaluation, parseEvaluateArgs, runEvaluate } from '../../src/cli/evaluateCommand.js';
import { meanOverRuns, meanWithError, pairedDifference } from '../../src/eval/paired.js';
import { RankingAccumulator, type UserFigures } from '../../src/eval/ranking.js';
import { formatPairedTable } from '../../src/eval/report.js';
import { ML100K } from '../helpers/dataFiles.js';

const popularity = { counts: new Int32Array(20).fill(1), users: 5 };

/** One user's figures per entry: [user, precision, recall, ndcg, map]. */
function figures(rows: readonly (readonly number[])[]): UserFigures {
  return {
    users: Int32Array.from(rows, (r) => r[0]),
    precision: Float64Array.from(rows, (r) => r[1]),
    recall: Float64Array.from(rows, (r) => r[2]),
    ndcg: Float64Array.from(rows, (r) => r[3]),
    map: Float64Array.from(rows, (r) => r[4]),
  };
}

describe('RankingAccumulator.perUser', () => {
  it('keeps each measured user under the key given, and skips users without a relevant item', () => {
    const acc = new RankingAccumulator({ k: 2, catalogSize: 20, popularity });
    acc.add([1, 2], new Set([2]), 7); // one hit at rank 2: P 1/2, R 1, nDCG (1/log2 3)/1, AP (1/2)/1
    acc.add([3, 4], new Set(), 8); // no relevant item: not measured
    acc.add([5, 6], new Set([5, 9]), 4); // hit at rank 1: P 1/2, R 1/2, nDCG 1/(1 + 1/log2 3), AP 1/2
    const u = acc.perUser();
    expect(Array.from(u.users)).toEqual([7, 4]);
    expect(Array.from(u.precision)).toEqual([0.5, 0.5]);
    expect(Array.from(u.recall)).toEqual([1, 0.5]);
    expect(u.ndcg[0]).toBeCloseTo(1 / Math.log2(3), 12);
    expect(u.ndcg[1]).toBeCloseTo(1 / (1 + 1 / Math.log2(3)), 12);
    expect(Array.from(u.map)).toEqual([0.5, 0.5]);
  });

  it('keys users by the order added when no key is given', () => {
    const acc = new RankingAccumulator({ k: 1, catalogSize: 20, popularity });
    acc.add([1], new Set([1]));
    acc.add([2], new Set());
    acc.add([3], new Set([4]));
    expect(Array.from(acc.perUser().users)).toEqual([0, 2]);
  });
});

describe('meanWithError', () => {
  it('gives the mean and sd/√n with the n − 1 variance', () => {
    // d = 1, 2, 3, 6: mean 3, Σ (d − 3)² = 4 + 1 + 0 + 9 = 14, sd² = 14/3, SE = √(14/3 / 4).
    const r = meanWithError([1, 2, 3, 6]);
    expect(r.mean).toBe(3);
    expect(r.standardError).toBeCloseTo(Math.sqrt(14 / 3 / 4), 12);
  });

  it('has no standard error below two users, and no mean for none', () => {
    expect(meanWithError([0.25])).toEqual({ mean: 0.25, standardError: NaN });
    expect(meanWithError([])).toEqual({ mean: NaN, standardError: NaN });
  });
});

describe('meanOverRuns', () => {
  it('averages each user over the runs, so the pairing sees one figure per user', () => {
    const runs = [
      figures([
        [4, 0.2, 0.1, 0.3, 0.0],
        [7, 0.6, 0.5, 0.9, 0.4],
      ]),
      figures([
        [4, 0.4, 0.3, 0.1, 0.2],
        [7, 0.0, 0.1, 0.5, 0.0],
      ]),
    ];
    const m = meanOverRuns(runs);
    expect(Array.from(m.users)).toEqual([4, 7]);
    expect(m.precision[0]).toBeCloseTo(0.3, 12);
    expect(m.precision[1]).toBeCloseTo(0.3, 12);
    expect(m.ndcg[0]).toBeCloseTo(0.2, 12);
    expect(m.ndcg[1]).toBeCloseTo(0.7, 12);
    expect(m.map[1]).toBeCloseTo(0.2, 12);
    // One run is itself.
    expect(meanOverRuns([runs[0]])).toEqual(runs[0]);
  });

  it('refuses runs measured on other users, or none', () => {
    const a = figures([[1, 0, 0, 0, 0]]);
    const b = figures([[2, 0, 0, 0, 0]]);
    expect(() => meanOverRuns([a, b])).toThrow('run 2 was measured on other users than run 1');
    expect(() => meanOverRuns([])).toThrow('meanOverRuns needs at least one run');
  });
});

describe('pairedDifference', () => {
  it('differences users matched by key, whatever order each side measured them in', () => {
    const a = figures([
      [1, 0.5, 0.5, 0.6, 0.4],
      [2, 0.3, 0.2, 0.4, 0.1],
      [3, 0.1, 0.1, 0.2, 0.0],
    ]);
    const b = figures([
      [3, 0.2, 0.1, 0.1, 0.1],
      [1, 0.2, 0.5, 0.4, 0.4],
      [2, 0.3, 0.1, 0.4, 0.2],
    ]);
    const r = pairedDifference([a], [b]);
    expect(r.users).toBe(3);
    // precision: d = 0.3, 0, −0.1.
    const d = [0.5 - 0.2, 0.3 - 0.3, 0.1 - 0.2];
    expect(r.difference.precision.mean).toBeCloseTo((0.3 + 0 - 0.1) / 3, 12);
    expect(r.difference.precision.standardError).toBeCloseTo(meanWithError(d).standardError, 12);
    // map: d = 0, −0.1, −0.1.
    expect(r.difference.map.mean).toBeCloseTo(-0.2 / 3, 12);
  });

  it('averages fold means and combines their standard errors as independent ones', () => {
    const fold1a = figures([
      [0, 1, 1, 1, 1],
      [1, 0, 0, 0, 0],
    ]);
    const fold1b = figures([
      [0, 0.5, 1, 1, 1],
      [1, 0, 0, 0, 0],
    ]);
    const fold2a = figures([
      [0, 0.2, 0, 0, 0],
      [1, 0.4, 0, 0, 0],
      [2, 0.9, 0, 0, 0],
    ]);
    const fold2b = figures([
      [0, 0, 0, 0, 0],
      [1, 0, 0, 0, 0],
      [2, 0, 0, 0, 0],
    ]);
    const r = pairedDifference([fold1a, fold2a], [fold1b, fold2b]);
    const f1 = meanWithError([0.5, 0]);
    const f2 = meanWithError([0.2, 0.4, 0.9]);
    expect(r.users).toBe(5);
    expect(r.difference.precision.mean).toBeCloseTo((f1.mean + f2.mean) / 2, 12);
    expect(r.difference.precision.standardError).toBeCloseTo(Math.sqrt(f1.standardError ** 2 + f2.standardError ** 2) / 2, 12);
    expect(r.difference.recall).toEqual({ mean: 0, standardError: 0 });
  });

  it('equals the difference of the two accumulators’ means on the same users (random lists)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.uniqueArray(fc.nat(19), { minLength: 1, maxLength: 5 }),
            fc.uniqueArray(fc.nat(19), { minLength: 1, maxLength: 5 }),
            fc.uniqueArray(fc.nat(19), { maxLength: 4 }),
          ),
          {
            minLength: 2,
            maxLength: 30,
          },
        ),
        (users) => {
          const a = new RankingAccumulator({ k: 5, catalogSize: 20, popularity });
          const b = new RankingAccumulator({ k: 5, catalogSize: 20, popularity });
          users.forEach(([listA, listB, relevant], u) => {
            a.add(listA, new Set(relevant), u);
            b.add(listB, new Set(relevant), u);
          });
          if (a.summary().users === 0) return;
          const r = pairedDifference([a.perUser()], [b.perUser()]);
          expect(r.users).toBe(a.summary().users);
          expect(r.difference.ndcg.mean).toBeCloseTo(a.summary().ndcg - b.summary().ndcg, 10);
          expect(r.difference.precision.mean).toBeCloseTo(a.summary().precision - b.summary().precision, 10);
          expect(r.difference.map.mean).toBeCloseTo(a.summary().map - b.summary().map, 10);
        },
      ),
    );
  });

  it('refuses sides measured on different users or folds, by name', () => {
    const a = figures([
      [1, 0, 0, 0, 0],
      [2, 0, 0, 0, 0],
    ]);
    const b = figures([
      [1, 0, 0, 0, 0],
      [3, 0, 0, 0, 0],
    ]);
    expect(() => pairedDifference([a], [b])).toThrow(/fold 1: the two algorithms were measured on different users/);
    expect(() => pairedDifference([a], [a, a])).toThrow(/needs the same folds on both sides, got 1 and 2/);
  });
});

describe('formatPairedTable', () => {
  it('prints Δ ± SE per metric with its sign, and nothing without a second algorithm', () => {
    const d = { mean: -0.00125, standardError: 0.0034 };
    const up = { mean: 0.0182, standardError: 0.0039 };
    const text = formatPairedTable(
      'watch-like',
      [{ name: 'ials', users: 943, difference: { precision: d, recall: up, ndcg: d, map: up } }],
      {
        k: 10,
      },
    );
    expect(text).toMatch(/^watch-like minus each algorithm, paired over the same users/);
    expect(text).toMatch(/ΔP@10 +ΔR@10 +ΔnDCG@10 +ΔMAP@10 +users/);
    expect(text).toMatch(/ials +−0\.0013 ± 0\.0034 +\+0\.0182 ± 0\.0039 +−0\.0013 ± 0\.0034 +\+0\.0182 ± 0\.0039 +943/);
    expect(formatPairedTable('watch-like', [], { k: 10 })).toBe('');
  });
});

describe('evaluate: paired tables', () => {
  it('compares the first algorithm with each other one on the split and on every Given-N, on ML-100K', async () => {
    const command = parseEvaluateArgs([
      '--data',
      ML100K,
      '--split',
      'user-stratified',
      '--test-fraction',
      '0.25',
      '--seed',
      '0',
      '--users-fraction',
      '0.3',
      '--algorithms',
      'popular,bias',
      '--given',
      '5',
    ]);
    if (command === 'help') throw new Error('unexpected help');
    const report = await runEvaluate(command, () => {});
    const [popular, bias] = report.algorithms;
    expect(report.paired.reference).toBe('popular');
    expect(report.paired.split.map((r) => r.name)).toEqual(['bias']);
    const split = report.paired.split[0];
    expect(split.users).toBe(popular.folds[0].ranking.users);
    expect(split.difference.ndcg.mean).toBeCloseTo((popular.mean.ndcg ?? NaN) - (bias.mean.ndcg ?? NaN), 10);
    expect(split.difference.ndcg.standardError).toBeGreaterThan(0);
    const given = report.paired.given[0];
    expect(given.n).toBe(5);
    expect(given.algorithms[0].difference.precision.mean).toBeCloseTo(
      (report.given[0].algorithms[0].precision ?? NaN) - (report.given[0].algorithms[1].precision ?? NaN),
      10,
    );
    // The report keeps the per-user figures out (their differences are in `paired`).
    expect(JSON.stringify(report)).not.toContain('perUser');
    const text = formatEvaluation(report);
    expect(text.match(/popular minus each algorithm/g)).toHaveLength(2);
  }, 120_000);
});
