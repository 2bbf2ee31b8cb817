/**
 * What the served model takes for a user: their ratings mapped to its indices (items it does not know and
 * values off its scale dropped), their training index when they are a stored user, and `refit` when their
 * ratings changed after the model was trained (so a posted rating shows in the very next answer).
 */
import type { RatingInput } from '../api/types.js';
import { levelIndexOf, type KnownRatings } from '../data/dataset.js';
import type { UserInput } from '../model/index.js';
import type { ModelSnapshot } from './modelHolder.js';
import type { StoredRating, StoredUser } from './ports.js';

/**
 * Ratings by external id → the model's KnownRatings. Items the model does not know, and values off its
 * scale (possible only if the catalog's scale changed since training), carry no information it can use.
 */
export function toKnownRatings(snapshot: ModelSnapshot, ratings: readonly RatingInput[]): KnownRatings {
  const items: number[] = [];
  const levels: number[] = [];
  for (const r of ratings) {
    const i = snapshot.itemIndex.get(r.itemId);
    const k = levelIndexOf(snapshot.ratingLevels, r.rating);
    if (i === undefined || k < 0) continue;
    items.push(i);
    levels.push(k);
  }
  return { items: Int32Array.from(items), levels: Uint8Array.from(levels) };
}

/** A stored user as the model's input: trained parameters when they have some, refitted if their ratings changed since. */
export function storedUserInput(snapshot: ModelSnapshot, user: StoredUser, ratings: readonly StoredRating[]): UserInput {
  return {
    ratings: toKnownRatings(
      snapshot,
      ratings.map((r) => ({ itemId: r.itemId, rating: r.value })),
    ),
    userIndex: snapshot.userIndex.get(user.userId),
    refit: user.updatedAt !== null && user.updatedAt > snapshot.createdAt,
  };
}

/** Posted ratings (a visitor, or anyone not stored) as the model's input: no per-user parameters. */
export const visitorInput = (snapshot: ModelSnapshot, ratings: readonly RatingInput[]): UserInput => ({
  ratings: toKnownRatings(snapshot, ratings),
});
