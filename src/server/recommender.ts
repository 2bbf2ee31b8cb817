/**
 * The serving logic behind the routes: fold a user in, score, pick the top N, shape the JSON.
 *
 * Fold-in is where the RBM earns its keep: a user's ratings (stored, or a visitor's posted list) are
 * mapped from external ids to the served model's indices and handed to `model.foldIn`, which scores
 * every item in one pass without retraining. A stored user whose ratings changed after the model was
 * trained (`updatedAt > createdAt`) is refitted from their current ratings rather than using the
 * per-user parameters learned in training, so a rating posted through the API shows in the very next
 * request.
 *
 * Items added to the catalog after the model was trained have no parameters in it: they are skipped in
 * recommendations and fold-in, and predicted as null (with a null distribution) in predictions.
 */
import type { KnownRatings, Predictions, UserScorer } from '../model/types.js';
import { levelIndexOf } from '../data/dataset.js';
import { topK } from '../eval/ranking.js';
import { InvalidRatingError, UnknownItemError } from '../store/errors.js';
import { badRequest, unknownItem, unknownUser } from './errors.js';
import type { ModelSnapshot } from './model-holder.js';
import { PredictionCache, ratingsFingerprint } from './prediction-cache.js';
import { getItemsChunked, type Catalog, type ItemRecord, type StoredRating } from './ports.js';

export interface RatedItem {
  itemId: number;
  /** The rating value (on the model's scale). */
  rating: number;
}

export interface ScoredItem extends ItemRecord {
  /** Expected rating Σ_k p(k)·level_k. */
  predicted: number;
  /** p(rating = level_k) for each of the K levels, in ascending level order. */
  distribution: number[];
}

export interface Prediction {
  itemId: number;
  predicted: number | null;
  distribution: number[] | null;
  actual: number | null;
}

/** JSON needs no more than 4 decimals of a probability or a predicted rating; it keeps payloads small. */
const round4 = (x: number): number => Math.round(x * 1e4) / 1e4;

function distributionRow(distribution: Float32Array, row: number, K: number): number[] {
  const out = new Array<number>(K);
  for (let k = 0; k < K; k++) out[k] = round4(distribution[row * K + k]);
  return out;
}

/**
 * Ratings by external id → the model's KnownRatings. Items the model does not know, and values off its
 * scale (possible only if the catalog's scale changed since training), carry no information it can use.
 */
export function toKnownRatings(snapshot: ModelSnapshot, ratings: readonly RatedItem[]): KnownRatings {
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

/**
 * The `limit` best-scored item indices among those `accept` lets through, best first (ties: lower index
 * first). Delegates to the one top-k selection, `topK` in src/eval/ranking.ts.
 */
export function selectTop(expected: Float32Array, limit: number, accept: (index: number) => boolean): number[] {
  return Array.from(topK(expected, limit, (i) => !accept(i)));
}

export interface UserRating {
  itemId: number;
  title: string | null;
  year: number | null;
  genres: string[];
  rating: number;
  /** Seconds since the epoch. */
  timestamp: number;
}

export class RecommendationService {
  constructor(
    private readonly catalog: Catalog,
    private readonly cache: PredictionCache = new PredictionCache(),
  ) {}

  /**
   * A stored user's current ratings, and their fold-in (built only when needed): their trained parameters,
   * unless their ratings changed after the model was trained, in which case they are refitted.
   */
  private storedUser(snapshot: ModelSnapshot, userId: number): { ratings: StoredRating[]; fingerprint: string; foldIn: () => UserScorer } {
    const user = this.catalog.getUser(userId);
    if (!user) throw unknownUser(userId);
    const ratings = this.catalog.getUserRatings(userId);
    const foldIn = (): UserScorer =>
      snapshot.model.foldIn(toKnownRatings(snapshot, ratings.map((r) => ({ itemId: r.itemId, rating: r.value }))), {
        userIndex: snapshot.userIndex.get(userId),
        refit: user.updatedAt !== null && user.updatedAt > snapshot.createdAt,
      });
    return { ratings, fingerprint: ratingsFingerprint(ratings, user.updatedAt), foldIn };
  }

  /** Every item scored for a stored user, from the cache when their ratings and the model are unchanged. */
  private allPredictions(snapshot: ModelSnapshot, userId: number): { predictions: Predictions; ratings: StoredRating[] } {
    const { ratings, fingerprint, foldIn } = this.storedUser(snapshot, userId);
    let predictions = this.cache.get(snapshot, userId, fingerprint);
    if (!predictions) {
      predictions = foldIn().predict(snapshot.allItems);
      this.cache.set(snapshot, userId, fingerprint, predictions);
    }
    return { predictions, ratings };
  }

  /** Top-N unrated items from predictions for every item, optionally of one genre. */
  private topItems(snapshot: ModelSnapshot, predictions: Predictions, ratedItemIds: Iterable<number>, limit: number, genre?: string): ScoredItem[] {
    const { expected, distribution } = predictions;
    const excluded = new Uint8Array(snapshot.model.itemCount);
    for (const itemId of ratedItemIds) {
      const i = snapshot.itemIndex.get(itemId);
      if (i !== undefined) excluded[i] = 1;
    }
    const records = snapshot.itemRecords;
    const top = selectTop(expected, limit, (i) => {
      const record = records[i];
      return excluded[i] === 0 && record !== null && (genre === undefined || record.genres.includes(genre));
    });
    const K = snapshot.ratingLevels.length;
    return top.map((i) => ({
      ...(records[i] as ItemRecord),
      predicted: round4(expected[i]),
      distribution: distributionRow(distribution, i, K),
    }));
  }

  recommendForUser(snapshot: ModelSnapshot, userId: number, limit: number, genre?: string): ScoredItem[] {
    const { predictions, ratings } = this.allPredictions(snapshot, userId);
    return this.topItems(snapshot, predictions, ratings.map((r) => r.itemId), limit, genre);
  }

  /** A visitor who is not stored: fold in the posted ratings, recommend among the items they did not rate. */
  recommendForVisitor(snapshot: ModelSnapshot, ratings: readonly RatedItem[], limit: number, genre?: string): ScoredItem[] {
    this.requireKnownItems(snapshot, ratings.map((r) => r.itemId));
    const predictions = snapshot.model.foldIn(toKnownRatings(snapshot, ratings)).predict(snapshot.allItems);
    return this.topItems(snapshot, predictions, ratings.map((r) => r.itemId), limit, genre);
  }

  predictForUser(snapshot: ModelSnapshot, userId: number, itemIds: readonly number[]): Prediction[] {
    const { ratings, fingerprint, foldIn } = this.storedUser(snapshot, userId);
    this.requireKnownItems(snapshot, itemIds);
    const actualByItem = new Map(ratings.map((r) => [r.itemId, r.value]));
    const scorable = itemIds.filter((id) => snapshot.itemIndex.has(id));
    const indices = Int32Array.from(scorable, (id) => snapshot.itemIndex.get(id) as number);
    // Rows of the cached all-items predictions if there are some; else only the asked items are scored.
    const cached = this.cache.get(snapshot, userId, fingerprint);
    const { expected, distribution } = cached ?? foldIn().predict(indices);
    const rowOf = new Map(scorable.map((id, n) => [id, cached ? indices[n] : n]));
    const K = snapshot.ratingLevels.length;
    return itemIds.map((itemId) => {
      const row = rowOf.get(itemId);
      return {
        itemId,
        predicted: row === undefined ? null : round4(expected[row]),
        distribution: row === undefined ? null : distributionRow(distribution, row, K),
        actual: actualByItem.get(itemId) ?? null,
      };
    });
  }

  /** Stores (or replaces) a rating; creates the user if new. The next fold-in reads it back. */
  rate(userId: number, itemId: number, rating: number): { userId: number; itemId: number; rating: number; timestamp: number } {
    if (!this.catalog.getItem(itemId)) throw unknownItem(itemId);
    const timestamp = Math.floor(Date.now() / 1000);
    try {
      this.catalog.upsertRating(userId, itemId, rating, timestamp);
    } catch (err) {
      // The store re-checks inside its write: an item deleted meanwhile, or a catalog whose scale differs
      // from the served model's (a re-import not yet trained on). Both are the client's answer, not a 500.
      if (err instanceof UnknownItemError) throw unknownItem(itemId);
      if (err instanceof InvalidRatingError) throw badRequest(err.message);
      throw err;
    }
    return { userId, itemId, rating, timestamp };
  }

  /**
   * A stored user's ratings with the rated items' records, best rated first, then most recent first.
   * (A rating of an item since removed from the catalog keeps its id, with a null title.)
   */
  userRatings(userId: number): UserRating[] {
    if (!this.catalog.getUser(userId)) throw unknownUser(userId);
    const ratings = this.catalog.getUserRatings(userId);
    const records = new Map(getItemsChunked(this.catalog, ratings.map((r) => r.itemId)).map((r) => [r.itemId, r]));
    return ratings
      .map((r) => ({
        itemId: r.itemId,
        title: records.get(r.itemId)?.title ?? null,
        year: records.get(r.itemId)?.year ?? null,
        genres: records.get(r.itemId)?.genres ?? [],
        rating: r.value,
        timestamp: r.timestamp,
      }))
      .sort((a, b) => b.rating - a.rating || b.timestamp - a.timestamp || a.itemId - b.itemId);
  }

  /** 404 for the first id that is neither in the model nor in the catalog. */
  private requireKnownItems(snapshot: ModelSnapshot, itemIds: readonly number[]): void {
    const outsideModel = itemIds.filter((id) => !snapshot.itemIndex.has(id));
    if (outsideModel.length === 0) return;
    const inCatalog = new Set(getItemsChunked(this.catalog, outsideModel).map((r) => r.itemId));
    const missing = outsideModel.find((id) => !inCatalog.has(id));
    if (missing !== undefined) throw unknownItem(missing);
  }
}
