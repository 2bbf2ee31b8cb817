/**
 * The catalog's browse orders (serving/itemBrowse.ts) on hand-made statistics: the damped mean keeps a
 * movie with one 5★ rating off the top, and a popular page mixes genres where counts alone would not.
 */
import { describe, expect, it } from 'vitest';
import type { ItemRatingStats } from '../../src/data/catalog.js';
import { dampingOf, popularOrder, POPULAR_PAGE, ratingOrder } from '../../src/serving/itemBrowse.js';

const stat = (itemId: number, ratings: number, mean: number, genres: string[], year: number | null = 1995): ItemRatingStats => ({
  item: { itemId, title: `Movie ${itemId}`, year, genres },
  ratings,
  ratingSum: ratings * mean,
});

describe('ratingOrder', () => {
  it('a single 5★ rating does not top movies with many high ratings; unrated movies come last', () => {
    const stats = [
      stat(1, 1, 5, ['Drama']),
      stat(2, 200, 4.4, ['Drama']),
      stat(3, 100, 4.1, ['Comedy']),
      stat(4, 0, 0, []),
      stat(5, 40, 2, []),
    ];
    const { order, damping } = ratingOrder(stats);
    expect(damping).toBe(40); // median of 1, 40, 100, 200 (the lower middle) is 40, within [5, 50]
    expect(Array.from(order).map((n) => stats[n].item.itemId)).toEqual([2, 3, 5, 1, 4]);
  });

  it('m is the median count of rated movies, clamped to [5, 50]', () => {
    expect(dampingOf([stat(1, 1, 3, []), stat(2, 2, 3, [])])).toBe(5);
    expect(dampingOf([stat(1, 900, 3, []), stat(2, 800, 3, [])])).toBe(50);
    expect(dampingOf([])).toBe(5);
  });
});

describe('popularOrder', () => {
  it('the most-rated movie first, then a page that mixes genres although the next most-rated are all dramas', () => {
    // 40 dramas with 1000 … 961 ratings, 20 comedies with 900 … 881: by count alone, page one is all drama.
    const stats = [
      ...Array.from({ length: 40 }, (_, n) => stat(n + 1, 1000 - n, 4, ['Drama'], 1990 + (n % 10))),
      ...Array.from({ length: 20 }, (_, n) => stat(100 + n, 900 - n, 4, ['Comedy'], 1990 + (n % 10))),
    ];
    const order = Array.from(popularOrder(stats)).map((n) => stats[n]);
    expect(order[0].item.itemId).toBe(1);
    const firstPage = order.slice(0, POPULAR_PAGE);
    const comedies = firstPage.filter((s) => s.item.genres[0] === 'Comedy').length;
    expect(comedies).toBeGreaterThanOrEqual(5);
    expect(comedies).toBeLessThanOrEqual(15);
    // A permutation: every movie exactly once.
    expect(new Set(order.map((s) => s.item.itemId)).size).toBe(stats.length);
    // Within a genre, the more-rated movie still comes first.
    const dramas = order.filter((s) => s.item.genres[0] === 'Drama').map((s) => s.ratings);
    expect(dramas).toEqual([...dramas].sort((a, b) => b - a));
  });
});
