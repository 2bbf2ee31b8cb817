/**
 * The per-user stratified split and the Given-N cold-user split: determinism, partition (disjoint parts
 * whose union is every rating), every user on both sides, rounding for small users, skip counts, time
 * order; and the Dataset's opt-in timestamps they rely on.
 */
import { describe, expect, it } from 'vitest';
import { datasetFromTriples, subsetRatings, type Dataset } from '../../src/data/dataset.js';
import { generateSyntheticRatings } from '../../src/data/synthetic.js';
import { givenNColdUsers, sampleUsers, userStratified } from '../../src/eval/splits.js';
import { parseEvaluateArgs } from '../../src/cli/evaluateCommand.js';

/** One key per rating (user:item is unique in these data sets). */
const keys = (d: Dataset): string[] =>
  Array.from(d.levels, (_, r) => `${d.userIds[d.users[r]]}:${d.itemIds[d.items[r]]}:${d.ratingLevels[d.levels[r]]}`);
const countBy = (d: Dataset): Map<number, number> => {
  const m = new Map<number, number>();
  for (const u of d.users) m.set(u, (m.get(u) ?? 0) + 1);
  return m;
};

const ds = generateSyntheticRatings({ seed: 5, users: 80, items: 60, ratings: 2500 });
const allKeys = keys(ds).sort();

describe('userStratified', () => {
  it('partitions the ratings; every user with ≥ 2 ratings is in both parts', () => {
    const [fold] = userStratified(ds, 0.25, 0);
    expect(fold.name).toBe('user-stratified');
    const train = keys(fold.train);
    const test = new Set(keys(fold.test));
    expect(train.some((k) => test.has(k))).toBe(false);
    expect([...train, ...test].sort()).toEqual(allKeys);
    const total = countBy(ds);
    const inTrain = countBy(fold.train);
    const inTest = countBy(fold.test);
    for (const [u, n] of total) {
      if (n < 2) continue;
      expect(inTrain.get(u) ?? 0).toBeGreaterThan(0);
      // nTest = min(n − 1, max(1, round(0.25 n))).
      expect(inTest.get(u)).toBe(Math.min(n - 1, Math.max(1, Math.round(0.25 * n))));
    }
    expect(fold.train.userIds).toEqual(ds.userIds);
  });

  it('rounds small users as documented; a single rating stays in training', () => {
    // Users 1…5 with 1, 2, 3, 6, 10 ratings. With 0.25: n=1 → 0 (train only); n=2 → round(0.5) = 1;
    // n=3 → round(0.75) = 1; n=6 → round(1.5) = 2; n=10 → round(2.5) = 3.
    const sizes = [1, 2, 3, 6, 10];
    const triples = sizes.flatMap((n, u) => Array.from({ length: n }, (_, i) => ({ userId: u + 1, itemId: i + 1, value: 1 + (i % 5) })));
    const small = datasetFromTriples(triples);
    const [fold] = userStratified(small, 0.25, 7);
    const inTest = countBy(fold.test);
    expect(sizes.map((_, u) => inTest.get(u) ?? 0)).toEqual([0, 1, 1, 2, 3]);
    // A fraction near 1 still leaves each user one training rating: n=2 → min(1, round(1.9)) = 1.
    const [high] = userStratified(small, 0.95, 7);
    expect(sizes.map((_, u) => countBy(high.train).get(u) ?? 0)).toEqual([1, 1, 1, 1, 1]);
  });

  it('is seeded: same seed, same split; another seed, another one', () => {
    const a = keys(userStratified(ds, 0.25, 0)[0].test);
    expect(keys(userStratified(ds, 0.25, 0)[0].test)).toEqual(a);
    const c = keys(userStratified(ds, 0.25, 1)[0].test);
    expect(c.length).toBe(a.length); // same sizes per user
    expect(c).not.toEqual(a);
  });

  it('rejects a bad fraction, and data where nobody can be in both parts', () => {
    expect(() => userStratified(ds, 0, 0)).toThrow(/--test-fraction must be a fraction in \(0, 1\), got 0/);
    expect(() => userStratified(ds, 1.5, 0)).toThrow(/got 1.5/);
    const singles = datasetFromTriples([
      { userId: 1, itemId: 1, value: 3 },
      { userId: 2, itemId: 1, value: 4 },
    ]);
    expect(() => userStratified(singles, 0.25, 0)).toThrow(/needs a user with at least 2 ratings/);
  });
});

describe('sampleUsers (--users-fraction)', () => {
  it('keeps round(fraction · users) seeded users with all their ratings, re-indexed over what remains', () => {
    const sample = sampleUsers(ds, 0.35, 3);
    expect(sample.userIds.length).toBe(Math.round(0.35 * ds.userIds.length));
    const kept = new Set(sample.userIds);
    const expected = keys(ds).filter((k) => kept.has(Number(k.split(':')[0])));
    expect(keys(sample).sort()).toEqual(expected.sort());
    expect(sample.itemIds).toEqual([...new Set(sample.items)].map((i) => sample.itemIds[i]).sort((a, b) => a - b));
    expect(sampleUsers(ds, 0.35, 3)).toEqual(sample);
    expect(sampleUsers(ds, 0.35, 4).userIds).not.toEqual(sample.userIds);
    expect(sampleUsers(ds, 1, 0).users.length).toBe(ds.users.length);
  });

  it('rejects a bad fraction, in the function and on the command line', () => {
    expect(() => sampleUsers(ds, 0, 0)).toThrow('--users-fraction must be a fraction in (0, 1], got 0');
    const base = ['--data', 'x', '--split', 'user-stratified'];
    expect(() => parseEvaluateArgs([...base, '--users-fraction', '1.5'])).toThrow(
      /--users-fraction must be a number from .* to 1, got "1.5"/,
    );
    expect(() => parseEvaluateArgs(['--data', 'x', '--folds', 'u1', '--users-fraction', '0.3'])).toThrow(
      '--users-fraction cannot restrict the published split files (--folds)',
    );
    const parsed = parseEvaluateArgs([...base, '--users-fraction', '0.35']);
    expect(parsed !== 'help' && parsed.usersFraction).toBe(0.35);
  });
});

describe('givenNColdUsers', () => {
  const options = { coldFraction: 0.2, given: [5, 10, 40], seed: 3 };

  it('holds out round(0.2 · users) users entirely and trains on everyone else', () => {
    const split = givenNColdUsers(ds, options);
    const rated = new Set(ds.users).size;
    expect(split.coldUsers.length).toBe(Math.round(0.2 * rated));
    const cold = new Set(split.coldUsers);
    expect(split.train.users.some((u) => cold.has(u))).toBe(false);
    expect(split.train.levels.length).toBe(ds.users.filter((u) => !cold.has(u)).length);
    expect([...split.coldUsers]).toEqual([...split.coldUsers].sort((a, b) => a - b));
  });

  it('for each N: measured users reveal exactly N, the rest is their test part; the parts partition all ratings', () => {
    const split = givenNColdUsers(ds, options);
    const total = countBy(ds);
    expect(split.given.map((g) => g.n)).toEqual([5, 10, 40]);
    for (const g of split.given) {
      const revealed = countBy(g.revealed);
      const test = countBy(g.test);
      // Skipped users are exactly the cold users with fewer than N + 5 ratings, counted by hand here.
      const expectedSkipped = [...split.coldUsers].filter((u) => (total.get(u) ?? 0) < g.n + 5);
      expect([...g.skipped]).toEqual(expectedSkipped);
      expect(g.users.length + g.skipped.length).toBe(split.coldUsers.length);
      for (const u of g.users) {
        expect(revealed.get(u)).toBe(g.n);
        expect(test.get(u)).toBe((total.get(u) ?? 0) - g.n);
      }
      for (const u of g.skipped) expect(revealed.has(u) || test.has(u)).toBe(false);
      // train ∪ revealed ∪ test ∪ (skipped users' ratings) = all ratings, pairwise disjoint.
      const skipped = new Set(g.skipped);
      const skippedRatings = subsetRatings(
        ds,
        Int32Array.from(ds.users.keys()).filter((r) => skipped.has(ds.users[r])),
      );
      const union = [...keys(split.train), ...keys(g.revealed), ...keys(g.test), ...keys(skippedRatings)];
      expect(new Set(union).size).toBe(union.length);
      expect(union.sort()).toEqual(allKeys);
    }
    // With N = 40 some users are too small in this data: the skip count is exercised.
    expect(split.given[2].skipped.length).toBeGreaterThan(0);
  });

  it('reveals nested sets (Given-5 ⊂ Given-10) and is deterministic', () => {
    const a = givenNColdUsers(ds, options);
    const b = givenNColdUsers(ds, options);
    expect(keys(b.given[1].test)).toEqual(keys(a.given[1].test));
    expect(Array.from(b.coldUsers)).toEqual(Array.from(a.coldUsers));
    const ten = new Set(keys(a.given[1].revealed));
    const measuredAtTen = new Set(a.given[1].users);
    const fiveOfThose = keys(a.given[0].revealed).filter((_, r) => measuredAtTen.has(a.given[0].revealed.users[r]));
    expect(fiveOfThose.every((k) => ten.has(k))).toBe(true);
    // The cold users depend on the data and seed only, not on the Ns asked for.
    expect(Array.from(givenNColdUsers(ds, { ...options, given: [2] }).coldUsers)).toEqual(Array.from(a.coldUsers));
    expect(Array.from(givenNColdUsers(ds, { ...options, seed: 4 }).coldUsers)).not.toEqual(Array.from(a.coldUsers));
  });

  it("order 'time' reveals each cold user's earliest N (ties: lower item first)", () => {
    // 4 users × 8 ratings; timestamps decrease with the item id, with a tie between items 3 and 4.
    const time = (item: number): number => (item === 4 ? 1000 - 3 * 10 : 1000 - item * 10);
    const triples = [1, 2, 3, 4].flatMap((userId) =>
      Array.from({ length: 8 }, (_, i) => ({ userId, itemId: i + 1, value: 1 + (i % 5), timestamp: time(i + 1) })),
    );
    const timed = datasetFromTriples(triples, { withTimestamps: true });
    const split = givenNColdUsers(timed, { coldFraction: 0.5, given: [3], seed: 0, order: 'time', minTest: 5 });
    expect(split.coldUsers.length).toBe(2);
    const g = split.given[0];
    expect([...g.users]).toEqual([...split.coldUsers]);
    for (const u of g.users) {
      // Earliest: item 8 (920), 7 (930), 6 (940); then 5 (950), then 3 and 4 (970, tie) …
      const revealedItems = Array.from(
        g.revealed.items.filter((_, r) => g.revealed.users[r] === u),
        (i) => timed.itemIds[i],
      ).sort();
      expect(revealedItems).toEqual([6, 7, 8]);
    }
    const four = givenNColdUsers(timed, { coldFraction: 0.5, given: [3], seed: 0, order: 'time', minTest: 1 });
    expect(four.given[0].users.length).toBe(2);
    // N = 5 with the tie: items 8, 7, 6, 5 and then 3 (lower item of the tie 3/4 at 970).
    const five = givenNColdUsers(timed, { coldFraction: 0.5, given: [5], seed: 0, order: 'time', minTest: 1 }).given[0];
    const u0 = five.users[0];
    expect(
      Array.from(
        five.revealed.items.filter((_, r) => five.revealed.users[r] === u0),
        (i) => timed.itemIds[i],
      ).sort(),
    ).toEqual([3, 5, 6, 7, 8]);
  });

  it('rejects bad options with a clear message', () => {
    expect(() => givenNColdUsers(ds, { ...options, order: 'time' })).toThrow(/--given-order time needs rating timestamps/);
    expect(() => givenNColdUsers(ds, { ...options, coldFraction: 1 })).toThrow(/--cold-users must be a fraction in \(0, 1\), got 1/);
    expect(() => givenNColdUsers(ds, { ...options, coldFraction: 0.001 })).toThrow(
      /--cold-users 0.001 of 80 users with ratings holds out 0/,
    );
    expect(() => givenNColdUsers(ds, { ...options, given: [] })).toThrow(/at least one N/);
    expect(() => givenNColdUsers(ds, { ...options, given: [5, 0] })).toThrow(/whole number ≥ 1, got 0/);
    expect(() => givenNColdUsers(ds, { ...options, given: [5, 5] })).toThrow(/lists an N twice/);
  });
});

describe('Dataset timestamps (opt-in)', () => {
  const triples = [
    { userId: 2, itemId: 1, value: 3, timestamp: 50 },
    { userId: 1, itemId: 2, value: 4, timestamp: 10 },
    { userId: 1, itemId: 1, value: 5, timestamp: 30 },
  ];

  it('are kept only when asked for, and follow subsetRatings', () => {
    expect(datasetFromTriples(triples).timestamps).toBeUndefined();
    const d = datasetFromTriples(triples, { withTimestamps: true });
    expect(Array.from(d.timestamps ?? [])).toEqual([50, 10, 30]);
    expect(Array.from(subsetRatings(d, [2, 0]).timestamps ?? [])).toEqual([30, 50]);
    expect(subsetRatings(datasetFromTriples(triples), [0]).timestamps).toBeUndefined();
  });

  it('a rating without a timestamp is rejected, naming it', () => {
    const missing = [...triples, { userId: 3, itemId: 2, value: 1 }];
    expect(() => datasetFromTriples(missing, { withTimestamps: true })).toThrow(
      /rating #4 \(user 3, item 2\) has no usable timestamp \(got undefined\)/,
    );
  });
});
