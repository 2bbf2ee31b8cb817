import { describe, expect, it } from 'vitest';
import { MOVIELENS_GENRES } from '../../src/data/catalog.js';
import type { Dataset } from '../../src/data/dataset.js';
import { generateDemoCatalog, generateSyntheticRatings } from '../../src/data/demo.js';

/** Ratings per user index. */
function activity(ds: Dataset): number[] {
  const counts = new Array<number>(ds.userIds.length).fill(0);
  for (const u of ds.users) counts[u]++;
  return counts;
}

function distinctPairs(users: ArrayLike<number>, items: ArrayLike<number>, itemCount: number): number {
  const pairs = new Set<number>();
  for (let r = 0; r < users.length; r++) pairs.add(users[r] * itemCount + items[r]);
  return pairs.size;
}

/**
 * Holdout RMSE of the global mean and of a damped item + user bias baseline (every 5th rating held out).
 * If the baseline does clearly better, the ratings carry structure a model can learn.
 */
function baselineRmse(ds: Dataset): { globalMean: number; biases: number } {
  const value = (r: number): number => ds.ratingLevels[ds.levels[r]];
  const heldOut = (r: number): boolean => r % 5 === 0;
  const n = ds.levels.length;
  let sum = 0;
  let count = 0;
  for (let r = 0; r < n; r++) {
    if (heldOut(r)) continue;
    sum += value(r);
    count++;
  }
  const mu = sum / count;
  const itemSum = new Float64Array(ds.itemIds.length);
  const itemCount = new Float64Array(ds.itemIds.length);
  for (let r = 0; r < n; r++) {
    if (heldOut(r)) continue;
    itemSum[ds.items[r]] += value(r) - mu;
    itemCount[ds.items[r]]++;
  }
  const itemBias = (i: number): number => itemSum[i] / (itemCount[i] + 10);
  const userSum = new Float64Array(ds.userIds.length);
  const userCount = new Float64Array(ds.userIds.length);
  for (let r = 0; r < n; r++) {
    if (heldOut(r)) continue;
    userSum[ds.users[r]] += value(r) - mu - itemBias(ds.items[r]);
    userCount[ds.users[r]]++;
  }
  const userBias = (u: number): number => userSum[u] / (userCount[u] + 10);
  let globalError = 0;
  let biasError = 0;
  let tested = 0;
  for (let r = 0; r < n; r++) {
    if (!heldOut(r)) continue;
    globalError += (value(r) - mu) ** 2;
    biasError += (value(r) - mu - itemBias(ds.items[r]) - userBias(ds.users[r])) ** 2;
    tested++;
  }
  return { globalMean: Math.sqrt(globalError / tested), biases: Math.sqrt(biasError / tested) };
}

describe('generateDemoCatalog', () => {
  const demo = generateDemoCatalog();

  it('has the stated default size: 1,000 users × 1,500 items × 100,000 ratings on 1–5', () => {
    expect(demo.layout).toBe('demo');
    expect(demo.items).toHaveLength(1500);
    expect(demo.ratings).toHaveLength(100_000);
    expect(new Set(demo.ratings.map((r) => r.userId)).size).toBe(1000);
    expect(demo.ratingLevels).toEqual([1, 2, 3, 4, 5]);
    expect(demo.skipped).toEqual([]);
  });

  it('gives every user at least 20 ratings, never the same item twice, only known items', () => {
    const perUser = new Map<number, Set<number>>();
    let pairs = 0;
    for (const r of demo.ratings) {
      const items = perUser.get(r.userId) ?? new Set<number>();
      items.add(r.itemId);
      perUser.set(r.userId, items);
      pairs++;
    }
    expect([...perUser.values()].reduce((sum, items) => sum + items.size, 0)).toBe(pairs);
    expect(Math.min(...[...perUser.values()].map((items) => items.size))).toBeGreaterThanOrEqual(20);
    const itemIds = new Set(demo.items.map((item) => item.itemId));
    expect(demo.ratings.every((r) => itemIds.has(r.itemId) && [1, 2, 3, 4, 5].includes(r.value))).toBe(true);
  });

  it('has unique MovieLens-style titles with their year, MovieLens genres, and "Toy" titles to search', () => {
    expect(new Set(demo.items.map((item) => item.title)).size).toBe(1500);
    for (const item of demo.items) {
      expect(item.title.endsWith(` (${item.year})`)).toBe(true);
      expect(item.year).toBeGreaterThanOrEqual(1920);
      expect(item.year).toBeLessThanOrEqual(2015);
      expect(item.genres.length).toBeGreaterThanOrEqual(1);
      for (const genre of item.genres) expect(MOVIELENS_GENRES).toContain(genre);
    }
    expect(demo.items.filter((item) => /\btoy\b/i.test(item.title)).length).toBeGreaterThanOrEqual(2);
    expect(demo.items.filter((item) => item.title.normalize('NFD') !== item.title).length).toBeGreaterThan(0);
  });

  it('never dates a rating before its film was released', () => {
    const yearOf = new Map(demo.items.map((item) => [item.itemId, item.year as number]));
    const early = demo.ratings.filter((r) => new Date(r.timestamp * 1000).getUTCFullYear() < (yearOf.get(r.itemId) as number));
    expect(early).toEqual([]);
  });

  it('is the same for the same seed and differs for another', () => {
    const a = generateDemoCatalog({ seed: 7, users: 60, items: 90, ratings: 2000 });
    const b = generateDemoCatalog({ seed: 7, users: 60, items: 90, ratings: 2000 });
    const c = generateDemoCatalog({ seed: 8, users: 60, items: 90, ratings: 2000 });
    expect(b).toEqual(a);
    expect(c.ratings).not.toEqual(a.ratings);
    expect(c.items.map((item) => item.title)).not.toEqual(a.items.map((item) => item.title));
    expect(a.source).toBe('demo:seed=7,users=60,items=90,ratings=2000');
  });

  it('offers half stars (K = 10)', () => {
    const half = generateDemoCatalog({ seed: 1, users: 50, items: 200, ratings: 3000, halfStars: true });
    expect(half.ratingLevels).toEqual([0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5]);
    expect(half.ratings.some((r) => !Number.isInteger(r.value))).toBe(true);
  });
});

describe('generateSyntheticRatings', () => {
  const ds = generateSyntheticRatings({ seed: 11, users: 1000, items: 1500, ratings: 100_000 });

  it('builds a Dataset of exactly the requested size, without duplicate pairs', () => {
    expect(ds.users).toBeInstanceOf(Int32Array);
    expect(ds.levels).toBeInstanceOf(Uint8Array);
    expect(ds.levels).toHaveLength(100_000);
    expect(ds.userIds).toHaveLength(1000);
    expect(ds.itemIds).toHaveLength(1500);
    expect(ds.userIds[0]).toBe(1);
    expect(distinctPairs(ds.users, ds.items, 1500)).toBe(100_000);
    expect(Math.max(...ds.levels)).toBeLessThan(ds.ratingLevels.length);
  });

  it('has long-tailed popularity and activity, like MovieLens', () => {
    const popularity = new Array<number>(1500).fill(0);
    for (const i of ds.items) popularity[i]++;
    popularity.sort((a, b) => b - a);
    const topTenthShare = popularity.slice(0, 150).reduce((a, b) => a + b, 0) / 100_000;
    expect(topTenthShare).toBeGreaterThan(0.3);
    const perUser = activity(ds).sort((a, b) => a - b);
    expect(perUser[0]).toBeGreaterThanOrEqual(20);
    expect(perUser.at(-1)).toBeGreaterThan(5 * perUser[0]);
    expect(perUser.at(-1)).toBeLessThanOrEqual(0.45 * 1500);
  });

  it('carries structure: user and item biases predict held-out ratings much better than the mean', () => {
    const { globalMean, biases } = baselineRmse(ds);
    expect(globalMean).toBeGreaterThan(0.8);
    expect(biases).toBeLessThan(0.92 * globalMean);
  });

  it('uses every level of the half-star scale', () => {
    const half = generateSyntheticRatings({ seed: 2, users: 400, items: 700, ratings: 30_000, halfStars: true });
    expect(half.ratingLevels).toHaveLength(10);
    expect(new Set(half.levels).size).toBe(10);
    expect(distinctPairs(half.users, half.items, 700)).toBe(30_000);
  });

  it('fills dense requests exactly, with no pair twice', () => {
    const dense = generateSyntheticRatings({ seed: 3, users: 30, items: 40, ratings: 30 * 40 });
    expect(distinctPairs(dense.users, dense.items, 40)).toBe(1200);
  });

  it('is deterministic for a seed', () => {
    const again = generateSyntheticRatings({ seed: 11, users: 1000, items: 1500, ratings: 100_000 });
    expect(Buffer.from(again.levels.buffer).equals(Buffer.from(ds.levels.buffer))).toBe(true);
    expect(Buffer.from(again.items.buffer).equals(Buffer.from(ds.items.buffer))).toBe(true);
  });

  it('refuses impossible sizes', () => {
    expect(() => generateSyntheticRatings({ seed: 1, users: 10, items: 10, ratings: 101 })).toThrow(
      'cannot draw 101 distinct ratings from 10 users × 10 items (at most 100)',
    );
    expect(() => generateSyntheticRatings({ seed: 1, users: 0, items: 10, ratings: 5 })).toThrow(RangeError);
  });
});
