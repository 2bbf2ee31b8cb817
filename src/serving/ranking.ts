/**
 * Ranked lists, the one way serving turns a model's scores into a user's best items: which items are
 * eligible (not rated, known to the catalog, of the genre), the order (the ranking score or the predicted
 * rating; ties by lower index), and the numbers each listed item carries.
 *
 * Two ways to the same list:
 * - full scoring: `scoreUsers` scores every item, then topK picks the best (rankItems);
 * - exact pruned top-k, when the list is ordered by score and the model has `scoreBounds`: the bound of
 *   every item from one cheap product, then the exact numbers of only the candidates the bound cannot rule
 *   out (model/prunedTopK.ts). Same items, same float32 numbers (test/serving/pruned-serving.test.ts);
 *   at MovieLens-25M's 59,047 items a watch-like list costs the implicit RBM's product instead of the
 *   blend's two K×F products per item.
 */
import { prunedTopK, topK, type ItemScores, type UserInput, type UserScores } from '../model/index.js';
import { BadRequestError } from './errors.js';
import type { ModelSnapshot } from './modelHolder.js';

/**
 * What a list is ordered by: the served algorithm's ranking score (for the default model, the chance the
 * user would watch and like the item), or the predicted rating (the order before ranking models).
 */
export type RankBy = 'score' | 'predicted';

/** Which list: its length, the genre it keeps to (any when absent), its order (by score when absent). */
export interface ListRequest {
  readonly limit: number;
  readonly genre?: string;
  readonly rankBy?: RankBy;
}

/** A user's best items, best first, each with exactly the numbers full scoring gives it. */
export interface RankedItems {
  /** Model item indices. */
  readonly items: Int32Array;
  readonly score: Float32Array;
  readonly expected: Float32Array | null;
  /** items.length × K, row-major. */
  readonly distribution: Float32Array | null;
  /** True when fewer items than asked were eligible: the list holds every eligible item. */
  readonly complete: boolean;
}

/**
 * The rated-items mask of withExcluded, kept between calls (all zero when free): a catalog-sized array a
 * request was one of the allocations that set off the server's full garbage collections.
 */
let sharedMask: Uint8Array = new Uint8Array(0);
let maskLent = false;

/**
 * Calls `use` with the predicate of items a list leaves out: rated (model item indices), unknown to the
 * catalog, or off the genre; returns what `use` returns. The predicate is valid during the call only (its
 * mask is reused, and cleared after).
 */
function withExcluded<T>(
  snapshot: ModelSnapshot,
  rated: ArrayLike<number>,
  genre: string | undefined,
  use: (exclude: (index: number) => boolean) => T,
): T {
  const size = snapshot.itemIndex.size;
  // A call inside another's `use` (none today) gets a mask of its own.
  const own = maskLent;
  let excluded = own ? new Uint8Array(size) : sharedMask;
  if (!own && excluded.length < size) excluded = sharedMask = new Uint8Array(size);
  for (let n = 0; n < rated.length; n++) excluded[rated[n]] = 1;
  const records = snapshot.itemRecords;
  if (!own) maskLent = true;
  try {
    return use((i) => {
      const record = records[i];
      return excluded[i] === 1 || record === null || (genre !== undefined && !record.genres.includes(genre));
    });
  } finally {
    if (!own) {
      for (let n = 0; n < rated.length; n++) excluded[rated[n]] = 0;
      maskLent = false;
    }
  }
}

/**
 * The `limit` best item indices for a user by `rankBy` from every item's scores: not among `rated` (model
 * item indices), known to the catalog, and of `genre` when given. Best first; ties by lower index.
 */
export function rankItems(
  snapshot: ModelSnapshot,
  scores: UserScores,
  rated: ArrayLike<number>,
  { limit, genre, rankBy = 'score' }: ListRequest,
): number[] {
  const order = rankBy === 'score' ? scores.score : scores.expected;
  if (!order)
    throw new BadRequestError(
      `the served model (${snapshot.model.algorithm}) predicts no ratings, so it cannot rank by predicted rating; use rankBy=score`,
    );
  return withExcluded(snapshot, rated, genre, (exclude) => Array.from(topK(order, limit, exclude)));
}

/** rankItems with the listed items' numbers copied out of the full scores. */
export function rankScored(snapshot: ModelSnapshot, scores: UserScores, rated: ArrayLike<number>, list: ListRequest): RankedItems {
  const items = Int32Array.from(rankItems(snapshot, scores, rated, list));
  return { ...rowsOf(snapshot, scores, items), items, complete: items.length < list.limit };
}

/** True when lists by `rankBy` can take the pruned path for the served model. */
export const prunes = (snapshot: ModelSnapshot, rankBy: RankBy): boolean => rankBy === 'score' && snapshot.model.scoreBounds !== undefined;

/**
 * Each user's `limit` best items (ranked by `rankBy`, not rated, known, of `genre`): the pruned top-k when
 * the model has `scoreBounds` and the list is ordered by score, else full scoring and topK. The same list
 * and numbers either way; one block of dense products for all the users.
 */
export function rankUsers(snapshot: ModelSnapshot, users: readonly UserInput[], list: ListRequest): RankedItems[] {
  const { model } = snapshot;
  const { limit, genre, rankBy = 'score' } = list;
  if (users.length === 0) return [];
  if (!prunes(snapshot, rankBy) || !model.scoreBounds) {
    return model.scoreUsers(users).map((scores, n) => rankScored(snapshot, scores, users[n].ratings.items, list));
  }
  const K = snapshot.ratingLevels.length;
  return model.scoreBounds(users).map((user, n) => {
    const evaluated: { items: Int32Array; scores: ItemScores }[] = [];
    const { items } = user.withBound((bound) =>
      withExcluded(snapshot, users[n].ratings.items, genre, (exclude) =>
        prunedTopK(bound, limit, exclude, (chunk) => {
          const scores = user.scoreItems(chunk);
          evaluated.push({ items: chunk, scores });
          return scores.score;
        }),
      ),
    );
    // The listed items' rows, from the chunks they were evaluated in.
    const where = new Map<number, { scores: ItemScores; row: number }>();
    for (const part of evaluated) for (let q = 0; q < part.items.length; q++) where.set(part.items[q], { scores: part.scores, row: q });
    const first = evaluated[0]?.scores;
    const score = new Float32Array(items.length);
    const expected = first?.expected ? new Float32Array(items.length) : null;
    const distribution = first?.distribution ? new Float32Array(items.length * K) : null;
    for (let j = 0; j < items.length; j++) {
      const { scores, row } = where.get(items[j])!;
      score[j] = scores.score[row];
      if (expected) expected[j] = scores.expected![row];
      if (distribution) distribution.set(scores.distribution!.subarray(row * K, (row + 1) * K), j * K);
    }
    return { items, score, expected, distribution, complete: items.length < limit };
  });
}

/** The first `n` items of a ranked list (a shorter list is returned as it is). */
export function firstOf(ranked: RankedItems, n: number): RankedItems {
  if (ranked.items.length <= n) return ranked;
  const K = ranked.distribution ? ranked.distribution.length / ranked.items.length : 0;
  return {
    items: ranked.items.slice(0, n),
    score: ranked.score.slice(0, n),
    expected: ranked.expected?.slice(0, n) ?? null,
    distribution: ranked.distribution?.slice(0, n * K) ?? null,
    complete: false,
  };
}

/** Rows of `items` out of every item's scores. */
function rowsOf(snapshot: ModelSnapshot, scores: UserScores, items: Int32Array): Omit<RankedItems, 'items' | 'complete'> {
  const K = snapshot.ratingLevels.length;
  const score = new Float32Array(items.length);
  const expected = scores.expected ? new Float32Array(items.length) : null;
  const distribution = scores.distribution ? new Float32Array(items.length * K) : null;
  for (let j = 0; j < items.length; j++) {
    const i = items[j];
    score[j] = scores.score[i];
    if (expected) expected[j] = scores.expected![i];
    if (distribution) distribution.set(scores.distribution!.subarray(i * K, (i + 1) * K), j * K);
  }
  return { score, expected, distribution };
}
