/**
 * A small world with two tastes: even users mostly rate the first 20 items, odd users the other 20 (with a
 * little noise either way), so an RBM has one clear structure to learn. Seeded and written by hand.
 */
import { datasetFromTriples, type Dataset, type RatingTriple } from '../../src/data/dataset.js';
import { Rng } from '../../src/rng.js';

export interface TwoTastesOptions {
  users: number;
  /** Items; the first 20 are group A's. */
  items?: number;
  /** p(rated) of an item of the user's own group, and of the other group. */
  pIn: number;
  pOut: number;
  /** The rating value of a rated item (default: uniform on 1–5). */
  value?: (rng: Rng, inGroup: boolean) => number;
}

export function twoTastes(seed: number, options: TwoTastesOptions): Dataset {
  const { users, items = 40, pIn, pOut } = options;
  const value = options.value ?? ((rng: Rng) => 1 + rng.int(5));
  const rng = new Rng(seed);
  const triples: RatingTriple[] = [];
  for (let u = 0; u < users; u++) {
    const groupA = u % 2 === 0;
    for (let i = 0; i < items; i++) {
      const inGroup = groupA === i < 20;
      if (rng.next() < (inGroup ? pIn : pOut)) triples.push({ userId: u + 1, itemId: i + 1, value: value(rng, inGroup) });
    }
  }
  return datasetFromTriples(triples, {
    ratingLevels: [1, 2, 3, 4, 5],
    userIds: Array.from({ length: users }, (_, u) => u + 1),
    itemIds: Array.from({ length: items }, (_, i) => i + 1),
  });
}
