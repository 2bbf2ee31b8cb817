/**
 * What an import does with ratings that cannot go into the catalog as they are. One documented policy,
 * counted in the import summary:
 *
 * - a rating naming an item missing from the item file is skipped (the model needs the item's row, and a
 *   title to show);
 * - when a (user, item) pair is rated more than once, the LAST row in file order is kept (files are
 *   appended chronologically, so the last row is the user's latest opinion) and the earlier rows dropped.
 */
import type { SkipCount, TimedRating } from './catalog.js';

export const SKIP_MISSING_ITEM = 'rating names an item missing from the item file (row skipped)';
export const SKIP_DUPLICATE = 'duplicate (user, item) rating (earlier row dropped, last row kept)';

export function applyRatingPolicy(
  ratings: readonly TimedRating[],
  knownItemIds: ReadonlySet<number>,
): { ratings: TimedRating[]; skipped: SkipCount[] } {
  const withKnownItems = ratings.filter((r) => knownItemIds.has(r.itemId));
  const missingItems = ratings.length - withKnownItems.length;
  const drop = markEarlierDuplicates(withKnownItems);
  const kept = withKnownItems.filter((_, r) => drop[r] === 0);
  return {
    ratings: kept,
    skipped: [
      { reason: SKIP_MISSING_ITEM, count: missingItems },
      { reason: SKIP_DUPLICATE, count: withKnownItems.length - kept.length },
    ],
  };
}

/**
 * Flags (1) every row that a later row with the same (user, item) replaces. O(n): rows are grouped by
 * user with a stable counting sort, then each user's rows are walked from last to first, so the first
 * occurrence met of an item is the one kept. Grouping keeps every Set small (one user's items) and avoids
 * a single Map over all pairs, which V8 caps at 2^24 entries (fewer than 25M's ratings).
 */
export function markEarlierDuplicates(ratings: readonly TimedRating[]): Uint8Array {
  const n = ratings.length;
  const slotOfUser = new Map<number, number>();
  const slot = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    let s = slotOfUser.get(ratings[r].userId);
    if (s === undefined) {
      s = slotOfUser.size;
      slotOfUser.set(ratings[r].userId, s);
    }
    slot[r] = s;
  }
  const start = new Int32Array(slotOfUser.size + 1);
  for (let r = 0; r < n; r++) start[slot[r] + 1]++;
  for (let s = 0; s < slotOfUser.size; s++) start[s + 1] += start[s];
  const fill = start.slice(0, slotOfUser.size);
  const rowsByUser = new Int32Array(n);
  for (let r = 0; r < n; r++) rowsByUser[fill[slot[r]]++] = r;

  const drop = new Uint8Array(n);
  const seenItems = new Set<number>();
  for (let s = 0; s < slotOfUser.size; s++) {
    seenItems.clear();
    for (let at = start[s + 1] - 1; at >= start[s]; at--) {
      const r = rowsByUser[at];
      const itemId = ratings[r].itemId;
      if (seenItems.has(itemId)) drop[r] = 1;
      else seenItems.add(itemId);
    }
  }
  return drop;
}
