/**
 * Ranking metrics against hand computations (written out beside each expectation), the streaming
 * accumulator, relevance sets, and properties checked with fast-check over random lists.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { datasetFromTriples } from '../../src/data/dataset.js';
import {
  averagePrecisionAtK,
  hitAtK,
  listMetrics,
  ndcgAtK,
  popularityOf,
  precisionAtK,
  RankingAccumulator,
  recallAtK,
  relevantByUser,
  selfInformation,
  topK,
} from '../../src/eval/ranking.js';
import { Rng } from '../../src/rng.js';

const none = (): boolean => false;

describe('topK', () => {
  it('matches a full sort on random scores with many ties, for every k, with exclusions', () => {
    const rng = new Rng(3);
    const scores = Float32Array.from({ length: 200 }, () => Math.round(rng.next() * 50) / 10);
    const exclude = (i: number): boolean => i % 3 === 0;
    const sorted = [...scores.keys()].filter((i) => !exclude(i)).sort((a, b) => scores[b] - scores[a] || a - b);
    for (const k of [1, 2, 10, 100, 133, 500]) expect(Array.from(topK(scores, k, exclude))).toEqual(sorted.slice(0, k));
  });

  it('breaks ties by the lower index and ranks NaN last', () => {
    // scores: 0→1, 1→NaN, 2→3, 3→1, 4→3, 5→NaN; by score: 2, 4 (tie 3: lower index first), 0, 3 (tie 1), then NaNs 1, 5.
    const scores = Float64Array.of(1, NaN, 3, 1, 3, NaN);
    expect(Array.from(topK(scores, 6, none))).toEqual([2, 4, 0, 3, 1, 5]);
    expect(Array.from(topK(scores, 3, none))).toEqual([2, 4, 0]);
  });

  it('returns nothing when nothing qualifies or k = 0, and rejects a bad k', () => {
    expect(Array.from(topK(Float32Array.of(1, 2, 3), 5, () => true))).toEqual([]);
    expect(Array.from(topK(Float32Array.of(1, 2, 3), 0, none))).toEqual([]);
    expect(() => topK(Float32Array.of(1), -1, none)).toThrow(/whole number k ≥ 0, got -1/);
    expect(() => topK(Float32Array.of(1), 2.5, none)).toThrow(/got 2\.5/);
  });

  it('property: returns the k largest (ties by lower index), best first, never an excluded item', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -5, max: 5 }), { maxLength: 60 }),
        fc.integer({ min: 0, max: 70 }),
        fc.integer({ min: 1, max: 4 }),
        (values, k, modulus) => {
          const scores = Float32Array.from(values);
          const exclude = (i: number): boolean => i % modulus === 1;
          const expected = [...scores.keys()]
            .filter((i) => !exclude(i))
            .sort((a, b) => scores[b] - scores[a] || a - b)
            .slice(0, k);
          expect(Array.from(topK(scores, k, exclude))).toEqual(expected);
        },
      ),
    );
  });
});

describe('per-list metrics (hand-computed)', () => {
  const log2 = Math.log2;

  it('a list of k = 5 with 2 hits among 3 relevant items', () => {
    // list [3, 7, 1, 9, 4], R = {7, 9, 2}: rel = [0, 1, 0, 1, 0], hits = 2.
    const list = [3, 7, 1, 9, 4];
    const R = new Set([7, 9, 2]);
    // precision = 2 / 5; recall = 2 / |R| = 2 / 3.
    expect(precisionAtK(list, R, 5)).toBeCloseTo(0.4, 12);
    expect(recallAtK(list, R, 5)).toBeCloseTo(2 / 3, 12);
    // DCG = 1/log2(3) + 1/log2(5); IDCG over min(5, 3) = 3 ranks = 1/log2(2) + 1/log2(3) + 1/log2(4) = 1 + 0.6309 + 0.5.
    const dcg = 1 / log2(3) + 1 / log2(5);
    const idcg = 1 + 1 / log2(3) + 0.5;
    expect(ndcgAtK(list, R, 5)).toBeCloseTo(dcg / idcg, 12);
    expect(ndcgAtK(list, R, 5)).toBeCloseTo(0.49819, 4);
    // AP = (P@2 + P@4) / min(5, 3) = (1/2 + 2/4) / 3 = 1/3.
    expect(averagePrecisionAtK(list, R, 5)).toBeCloseTo(1 / 3, 12);
    expect(hitAtK(list, R, 5)).toBe(1);
  });

  it('a list shorter than k: precision still divides by k', () => {
    // k = 3, list [5, 6], R = {6}: hit at rank 2.
    const m = listMetrics([5, 6], new Set([6]), 3);
    // precision = 1/3; recall = 1/1; nDCG = (1/log2(3)) / (1/log2(2)) = 0.6309; AP = (P@2 = 1/2) / min(3, 1) = 0.5.
    expect(m).not.toBeNull();
    expect(m?.precision).toBeCloseTo(1 / 3, 12);
    expect(m?.recall).toBe(1);
    expect(m?.ndcg).toBeCloseTo(1 / log2(3), 12);
    expect(m?.averagePrecision).toBeCloseTo(0.5, 12);
    expect(m?.hit).toBe(1);
  });

  it('entries after the k-th do not count', () => {
    // k = 2, list [1, 2, 3], R = {3}: the only relevant item is at rank 3 > k, so every metric is 0.
    expect(listMetrics([1, 2, 3], new Set([3]), 2)).toEqual({ precision: 0, recall: 0, ndcg: 0, averagePrecision: 0, hit: 0 });
  });

  it('more relevant items than k: the ideal is k hits', () => {
    // k = 2, list [1, 2], R = {1, 2, 3, 4}: precision 2/2 = 1; recall 2/4 = 0.5;
    // DCG = 1 + 1/log2(3) = IDCG over min(2, 4) = 2 ranks → nDCG 1; AP = (1/1 + 2/2) / min(2, 4) = 1.
    const m = listMetrics([1, 2], new Set([1, 2, 3, 4]), 2);
    expect(m?.precision).toBe(1);
    expect(m?.recall).toBe(0.5);
    expect(m?.ndcg).toBeCloseTo(1, 12);
    expect(m?.averagePrecision).toBeCloseTo(1, 12);
  });

  it('a hit at rank 1 only, among 2 relevant', () => {
    // k = 3, list [8, 0, 1], R = {8, 5}: DCG = 1; IDCG = 1 + 1/log2(3); AP = (1/1) / min(3, 2) = 0.5.
    expect(ndcgAtK([8, 0, 1], new Set([8, 5]), 3)).toBeCloseTo(1 / (1 + 1 / log2(3)), 12);
    expect(averagePrecisionAtK([8, 0, 1], new Set([8, 5]), 3)).toBeCloseTo(0.5, 12);
  });

  it('no relevant item: not measurable (NaN), and bad input is rejected', () => {
    expect(listMetrics([1, 2], new Set(), 2)).toBeNull();
    for (const f of [precisionAtK, recallAtK, ndcgAtK, averagePrecisionAtK, hitAtK]) expect(f([1, 2], new Set(), 2)).toBeNaN();
    expect(() => listMetrics([1, 2, 1], new Set([1]), 3)).toThrow(/repeats item 1 \(at rank 3\)/);
    expect(() => listMetrics([1], new Set([1]), 0)).toThrow(/k ≥ 1, got 0/);
  });
});

describe('RankingAccumulator (hand-computed)', () => {
  // Catalogue of 6 items; training counts n = [4, 2, 1, 0, 1, 0] over U = 4 users; k = 2.
  const popularity = { counts: Int32Array.of(4, 2, 1, 0, 1, 0), users: 4 };
  const make = (): RankingAccumulator => new RankingAccumulator({ k: 2, catalogSize: 6, popularity });

  it('means over measured users, list-level metrics over every list', () => {
    const acc = make();
    acc.add([0, 1], new Set([1])); // u1: rel [0, 1]
    acc.add([0, 2], new Set()); //    u2: no relevant item → skipped for per-list metrics
    acc.add([3, 0], new Set([0, 5])); // u3: rel [0, 1]
    const s = acc.summary();
    expect(s.k).toBe(2);
    expect(s.users).toBe(2);
    expect(s.usersWithoutRelevant).toBe(1);
    expect(s.lists).toBe(3);
    // precision: u1 1/2, u3 1/2 → 0.5. recall: u1 1/1, u3 1/2 → 0.75.
    expect(s.precision).toBeCloseTo(0.5, 12);
    expect(s.recall).toBeCloseTo(0.75, 12);
    // nDCG: u1 (1/log2 3) / 1; u3 (1/log2 3) / (1 + 1/log2 3) → mean of the two.
    const g = 1 / Math.log2(3);
    expect(s.ndcg).toBeCloseTo((g + g / (1 + g)) / 2, 12);
    // AP: u1 (1/2) / min(2, 1) = 0.5; u3 (1/2) / min(2, 2) = 0.25 → MAP 0.375. Hit rate: both hit → 1.
    expect(s.map).toBeCloseTo(0.375, 12);
    expect(s.hitRate).toBe(1);
    // Coverage: items {0, 1, 2, 3} of 6 → 4/6.
    expect(s.coverage).toBeCloseTo(4 / 6, 12);
    // Novelty over 6 slots 0,1,0,2,3,0: I(0) = −log2(4/4) = 0 (×3), I(1) = −log2(2/4) = 1, I(2) = −log2(1/4) = 2,
    // I(3) = −log2(max(0, 1)/4) = 2 → (0 + 1 + 0 + 2 + 2 + 0) / 6.
    expect(s.novelty).toBeCloseTo(5 / 6, 12);
    // Item 0 is in all 3 lists.
    expect(s.mostRecommended).toEqual({ item: 0, share: 1 });
  });

  it('ties for the most recommended item go to the lower index', () => {
    const acc = make();
    acc.add([4, 2], new Set([2]));
    acc.add([2, 4], new Set([1]));
    acc.add([5], new Set([1]));
    expect(acc.summary().mostRecommended).toEqual({ item: 2, share: 2 / 3 });
  });

  it('with no user gives NaN means, not zeros', () => {
    const s = make().summary();
    expect([s.precision, s.recall, s.ndcg, s.map, s.hitRate, s.novelty].every(Number.isNaN)).toBe(true);
    expect(s.coverage).toBe(0);
    expect(s.mostRecommended).toBeNull();
  });

  it('rejects a bad list without counting any of it', () => {
    const acc = make();
    acc.add([0, 1], new Set([1]));
    const before = acc.summary();
    expect(() => acc.add([1, 1], new Set([1]))).toThrow(/repeats item 1/);
    expect(() => acc.add([0, 6], new Set([1]))).toThrow(/item 6 at rank 2 is not an item index of the catalogue \(expected 0 … 5\)/);
    expect(() => acc.add([0.5], new Set([1]))).toThrow(/item 0.5 at rank 1/);
    expect(acc.summary()).toEqual(before);
  });

  it('rejects inconsistent options with a clear message', () => {
    expect(() => new RankingAccumulator({ k: 2, catalogSize: 5, popularity })).toThrow(/cover 6 items, the catalogue has 5/);
    expect(() => new RankingAccumulator({ k: 2, catalogSize: 6, popularity: { counts: popularity.counts, users: 0 } })).toThrow(
      /at least one training user/,
    );
    expect(() => new RankingAccumulator({ k: 0, catalogSize: 6, popularity })).toThrow(/k ≥ 1/);
  });
});

describe('popularity, self-information and relevance', () => {
  const t = (userId: number, itemId: number, value: number): { userId: number; itemId: number; value: number } => ({
    userId,
    itemId,
    value,
  });
  const ds = datasetFromTriples([t(1, 10, 5), t(1, 20, 3), t(2, 10, 4), t(3, 30, 2), t(3, 10, 1)], {
    ratingLevels: [1, 2, 3, 4, 5],
    userIds: [1, 2, 3, 4],
  });

  it('counts training ratings per item and users with a rating', () => {
    const p = popularityOf(ds);
    expect(Array.from(p.counts)).toEqual([3, 1, 1]);
    expect(p.users).toBe(3); // user 4 has no rating
    // Item 10 rated by 3 of 3 users → 0 bits; item 20 by 1 of 3 → log2 3 bits.
    expect(selfInformation(p, 0)).toBe(0);
    expect(selfInformation(p, 1)).toBeCloseTo(Math.log2(3), 12);
  });

  it('relevant sets per user: all held-out items, or those rated at least the threshold', () => {
    expect(relevantByUser(ds, 'all').map((s) => [...s].sort())).toEqual([[0, 1], [0], [0, 2], []]);
    expect(relevantByUser(ds, 4).map((s) => [...s])).toEqual([[0], [0], [], []]);
    expect(() => relevantByUser(ds, 6)).toThrow(/--relevant 6: no rating level is ≥ 6 \(levels 1, 2, 3, 4, 5\)/);
  });
});

describe('metric properties (fast-check)', () => {
  // A random catalogue of up to 30 items, a list of distinct items and a relevant set drawn from it.
  const listAndRelevant = fc.record({
    list: fc.uniqueArray(fc.integer({ min: 0, max: 29 }), { maxLength: 15 }),
    relevant: fc.uniqueArray(fc.integer({ min: 0, max: 29 }), { minLength: 1, maxLength: 15 }),
    k: fc.integer({ min: 1, max: 15 }),
  });

  it('every metric lies in [0, 1] and precision ≤ hit', () => {
    fc.assert(
      fc.property(listAndRelevant, ({ list, relevant, k }) => {
        const m = listMetrics(list, new Set(relevant), k);
        expect(m).not.toBeNull();
        for (const v of Object.values(m ?? {})) {
          expect(v).toBeGreaterThanOrEqual(0);
          expect(v).toBeLessThanOrEqual(1 + 1e-12);
        }
        expect(m?.precision ?? 2).toBeLessThanOrEqual(m?.hit ?? -1);
        expect(m?.averagePrecision ?? 2).toBeLessThanOrEqual((m?.hit ?? -1) + 1e-12);
      }),
    );
  });

  it('the relevant items in any order, |R| ≤ k: nDCG = AP = recall = 1', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 99 }), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 0, max: 8 }),
        (relevant, extra) => {
          const k = relevant.length + extra;
          const m = listMetrics(relevant, new Set(relevant), k);
          expect(m?.ndcg).toBeCloseTo(1, 12);
          expect(m?.averagePrecision).toBeCloseTo(1, 12);
          expect(m?.recall).toBe(1);
          expect(m?.precision).toBeCloseTo(relevant.length / k, 12);
        },
      ),
    );
  });

  it('the accumulator means equal the means of the single-list metrics', () => {
    fc.assert(
      fc.property(
        fc.array(
          listAndRelevant.map(({ list, relevant }) => ({ list, relevant })),
          { minLength: 1, maxLength: 20 },
        ),
        fc.integer({ min: 1, max: 15 }),
        (users, k) => {
          const acc = new RankingAccumulator({ k, catalogSize: 30, popularity: { counts: new Int32Array(30).fill(1), users: 2 } });
          for (const u of users) acc.add(u.list, new Set(u.relevant));
          const each = users.map((u) => listMetrics(u.list, new Set(u.relevant), k));
          const mean = (pick: (m: NonNullable<(typeof each)[number]>) => number): number =>
            each.reduce((s, m) => s + (m ? pick(m) : 0), 0) / users.length;
          const s = acc.summary();
          expect(s.users).toBe(users.length);
          const pairs = [
            [s.precision, (m) => m.precision],
            [s.recall, (m) => m.recall],
            [s.ndcg, (m) => m.ndcg],
            [s.map, (m) => m.averagePrecision],
            [s.hitRate, (m) => m.hit],
          ] satisfies [number, (m: NonNullable<(typeof each)[number]>) => number][];
          for (const [got, pick] of pairs) expect(got).toBeCloseTo(mean(pick), 12);
          // Every item has n = 1 of U = 2 users: each slot carries exactly 1 bit.
          if (users.some((u) => u.list.slice(0, k).length > 0)) expect(s.novelty).toBeCloseTo(1, 12);
          expect(s.coverage).toBeGreaterThanOrEqual(0);
          expect(s.coverage).toBeLessThanOrEqual(1);
        },
      ),
    );
  });
});
