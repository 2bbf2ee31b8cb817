/**
 * Serving: the one path from a stored user or a visitor's posted ratings to scores, ranked lists and
 * predictions. The API routes and the batch scorer (`npm run score --top` / `--pairs`) both go through
 * here, so they give the same items and the same values for the same user.
 *
 * What it is made of, a file each: the model's input for a user (inputs.ts), ranked lists (ranking.ts),
 * a list as the API shows it (answers.ts), many stored users at a time for the batch scorer and the top
 * lists (batches.ts); this file holds the request service itself.
 *
 * - Id mapping: external ids ↔ the served model's indices come from the model snapshot.
 * - "A stored user": their current ratings, their training index (per-user parameters), and `refit`
 *   when their ratings changed after the model was trained (so a posted rating shows in the very next
 *   answer).
 * - Scoring: `model.scoreUsers` for a block of users (one user for an API request, a block for the batch
 *   scorer), cached per stored user by a fingerprint of their ratings.
 * - Precomputed lists (the server's TopLists): a stored user's recommendations without a genre come from
 *   the list computed when the model was loaded, with the same items and numbers as scoring them here.
 * - Lists (ranking.ts): exclusion of already-rated items, the optional genre filter, top-k selection —
 *   the exact pruned top-k when ranking by score with a model that bounds its scores (scoreBounds), which
 *   scores only the candidates the bound cannot rule out, else every item scored and topK.
 *
 * Items added to the catalog after the model was trained have no parameters in it: they are skipped in
 * lists and fold-in, and predicted as null.
 */
import type { BecauseItem, Prediction, RatingInput, ScoredItem, UserRating, VisitorPoolStats } from '../api/types.js';
import type { UserInput, UserScores } from '../model/index.js';
import { becauseLists, distributionRow, rankedItem, roundScore, visitorRecommendations } from './answers.js';
import { retryWhileBusy } from '../store/busy.js';
import { UnknownItemError, UnknownUserError, VisitorPoolBusyError } from './errors.js';
import { storedUserInput } from './inputs.js';
import type { ModelSnapshot } from './modelHolder.js';
import { getItemsChunked, type Catalog, type StoredRating } from './ports.js';
import { firstOf, prunes, rankScored, rankUsers, type ListRequest, type RankBy, type RankedItems } from './ranking.js';
import { ratingsFingerprint, ScoreCache } from './scoreCache.js';

export type { ListRequest, RankBy, RankedItems } from './ranking.js';

/** How many stored users warmUp serves (spread over the ids), and the time it may take at most. */
export const WARM_UP_USERS = 200;
export const WARM_UP_MS = 3000;

/**
 * Serves a sample of stored users under a snapshot just loaded, before it takes requests: each user's
 * recommendations through the very path a GET takes (catalog read, fold-in, the pruned top-k,
 * `because`, the answer's JSON) and a visitor's list from the user's first ratings. What the first
 * requests of a process would otherwise pay falls here instead: the lazily built parts of a model (dense
 * tensors uploaded to the backend, e^W tables of `because`: about a second at MovieLens-25M's size) and
 * the compilation of the serving code, which V8 optimises only after it has run many times (one user
 * warmed it up too little: the first hundreds of requests ran unoptimised code, several times slower,
 * and queued behind each other). Users are spread evenly over `userIds`; it stops after `users` of them
 * or `budgetMs` counted from the end of the first user, and yields to the event loop between users, so a
 * hot swap's warm-up leaves the served version answering. (The budget used to run from the start: at
 * MovieLens-25M's size on a busy machine the first user's lazily built parts took 10 s, the budget was
 * spent, and the process served its first requests after warming up on that one user alone.) Nothing is kept: the lists go to a service of its own with no score cache (the
 * catalog cache keeps the users' ratings, as any read would). Resolves with the number of users served.
 *
 * With `pool` (the server's VisitorPool, which answers stored users with many ratings), its workers warm
 * up too, on the same users' inputs as they go by (one job a worker at a time, beside the main thread's
 * work; the last ones awaited): a worker builds its copy of the version but had never run the serving code,
 * so its first lists took 100–200 ms at MovieLens-25M's size (e^W tables of `because`, unoptimised code).
 */
export async function warmUp(
  snapshot: ModelSnapshot,
  catalog: Catalog,
  userIds: readonly number[],
  { users = WARM_UP_USERS, budgetMs = WARM_UP_MS, pool }: { users?: number; budgetMs?: number; pool?: VisitorScorer } = {},
): Promise<number> {
  const service = new ServingService(catalog, new ScoreCache(0));
  // The pool's jobs in flight (one a worker), settled or not.
  let pooled: Promise<unknown> | null = null;
  let poolIdle = true;
  // Set when the first user is served: what it costs beyond the others is built once, whatever the budget.
  let started = Number.POSITIVE_INFINITY;
  const count = Math.min(users, userIds.length);
  let served = 0;
  for (let n = 0; n < count && performance.now() - started < budgetMs; n++) {
    const userId = userIds[Math.floor((n * userIds.length) / count)];
    const ratings = catalog.getUserRatings(userId);
    if (ratings.length === 0) continue;
    JSON.stringify(service.recommendForUser(snapshot, userId, 10));
    const user = catalog.getUser(userId);
    if (pool && poolIdle && user && pool.serves(snapshot.versionId)) {
      const input = storedUserInput(snapshot, user, ratings);
      poolIdle = false;
      const jobs = Array.from({ length: pool.stats().workers }, () => pool.recommendStored(snapshot, input, { limit: 10 }));
      pooled = Promise.allSettled(jobs).then(() => (poolIdle = true));
    }
    const visitor = ratings.slice(0, 10).map((r) => ({ itemId: r.itemId, rating: r.value }));
    JSON.stringify(service.recommendForVisitor(snapshot, visitor, { limit: 10 }));
    served++;
    if (served === 1) started = performance.now();
    await new Promise((resolve) => setImmediate(resolve));
  }
  await pooled;
  return served;
}

/** Precomputed top-N lists as the service uses them (TopLists, src/serving/topLists.ts). */
export interface TopListSource {
  /** The list, and how many of its first items already carry their `because`. */
  recommend(snapshot: ModelSnapshot, userId: number, limit: number): { items: ScoredItem[]; explained: number } | undefined;
  /** Items a list keeps under `snapshot` (0: none are kept). */
  listSize(snapshot: ModelSnapshot): number;
  /** Keeps a list just computed on demand (by score, no genre, at least listSize long unless complete). */
  remember(snapshot: ModelSnapshot, userId: number, ranked: RankedItems): void;
}

/**
 * Where costly visitor fold-ins run off the event loop (the server's VisitorPool, visitorPool.ts): the
 * same visitorRecommendations, in a worker, on the same model version.
 */
export interface VisitorScorer {
  /** Requests with fewer ratings are answered inline. */
  readonly minRatings: number;
  /** Stored users with fewer ratings are answered inline. */
  readonly minStoredRatings: number;
  serves(versionId: number): boolean;
  stats(): VisitorPoolStats;
  recommend(snapshot: ModelSnapshot, ratings: readonly RatingInput[], list: ListRequest): Promise<ScoredItem[]>;
  /** The list inputRecommendations gives for a stored user's model input. */
  recommendStored(snapshot: ModelSnapshot, input: UserInput, list: ListRequest): Promise<ScoredItem[]>;
}

/** Users whose precomputed lists' explanations are remembered. */
const LISTED_BECAUSE_USERS = 10_000;

export class ServingService {
  private readonly becauseMemo = new WeakMap<object, { userId: number; byItem: Map<number, BecauseItem[]> }>();
  /** `because` of precomputed lists, per user (see explainListed). */
  private readonly listedBecause = new Map<number, { snapshot: ModelSnapshot; fingerprint: string; byItem: Map<number, BecauseItem[]> }>();

  constructor(
    private readonly catalog: Catalog,
    private readonly cache: ScoreCache = new ScoreCache(),
    /** Precomputed top-N lists (the server's); without them every list is ranked from full scores. */
    private readonly lists: TopListSource | null = null,
    /** Runs visitors' costly fold-ins off the event loop; without it every one is answered inline. */
    private readonly visitors: VisitorScorer | null = null,
  ) {}

  /** Every item scored for a stored user, from the cache when their ratings and the model are unchanged. */
  scoresForUser(snapshot: ModelSnapshot, userId: number): { scores: UserScores; input: UserInput; ratings: StoredRating[] } {
    const user = this.catalog.getUser(userId);
    if (!user) throw new UnknownUserError(userId);
    const ratings = this.catalog.getUserRatings(userId);
    const input = storedUserInput(snapshot, user, ratings);
    const fingerprint = ratingsFingerprint(ratings, user.updatedAt);
    let scores = this.cache.get(snapshot, userId, fingerprint);
    if (!scores) {
      scores = snapshot.model.scoreUsers([input])[0];
      this.cache.set(snapshot, userId, fingerprint, scores);
    }
    return { scores, input, ratings };
  }

  /**
   * A stored user's best items by score (not rated, of `genre`), at least `limit` long unless complete:
   * the pruned top-k (rankUsers), cached per user with their ratings' fingerprint when there is no genre.
   * Without a genre the list is made as long as a precomputed one, so it can be kept there too.
   */
  rankedForUser(snapshot: ModelSnapshot, userId: number, limit: number, genre?: string): { ranked: RankedItems; input: UserInput } {
    const user = this.catalog.getUser(userId);
    if (!user) throw new UnknownUserError(userId);
    const ratings = this.catalog.getUserRatings(userId);
    const input = storedUserInput(snapshot, user, ratings);
    const fingerprint = genre === undefined ? ratingsFingerprint(ratings, user.updatedAt) : '';
    if (genre === undefined) {
      const cached = this.cache.getRanked(snapshot, userId, fingerprint);
      if (cached && (cached.complete || cached.items.length >= limit)) return { ranked: cached, input };
    }
    const length = genre === undefined ? Math.max(limit, this.lists?.listSize(snapshot) ?? 0) : limit;
    const [ranked] = rankUsers(snapshot, [input], { limit: length, genre });
    if (genre === undefined) {
      this.cache.setRanked(snapshot, userId, fingerprint, ranked);
      this.lists?.remember(snapshot, userId, ranked);
    }
    return { ranked, input };
  }

  recommendForUser(snapshot: ModelSnapshot, userId: number, limit: number, genre?: string, rankBy: RankBy = 'score'): ScoredItem[] {
    // The precomputed list when it answers the request (default ranking, no genre, long enough): the same
    // items and numbers as the path below, without scoring every item. The catalog first drops what other
    // processes changed (their lists go with it), this user at once (read-your-writes on any process).
    this.catalog.sync?.();
    this.catalog.syncUser?.(userId);
    const listed = genre === undefined && rankBy === 'score' ? this.lists?.recommend(snapshot, userId, limit) : undefined;
    if (listed)
      return listed.explained === listed.items.length ? listed.items : this.explainListed(snapshot, userId, listed.items, listed.explained);
    let ranked: RankedItems;
    let input: UserInput;
    let memoKey: object;
    if (prunes(snapshot, rankBy)) {
      // Pruned: only the candidates the model's bound cannot rule out are scored.
      ({ ranked, input } = this.rankedForUser(snapshot, userId, limit, genre));
      memoKey = ranked;
      ranked = firstOf(ranked, limit);
    } else {
      const scored = this.scoresForUser(snapshot, userId);
      input = scored.input;
      const size = this.lists?.listSize(snapshot) ?? 0;
      if (size > 0) this.lists?.remember(snapshot, userId, rankScored(snapshot, scored.scores, input.ratings.items, { limit: size }));
      ranked = rankScored(snapshot, scored.scores, input.ratings.items, { limit, genre, rankBy });
      memoKey = scored.scores;
    }
    const best = Array.from(ranked.items);
    const because = this.becauseOfStoredUser(snapshot, memoKey, userId, input, best);
    return best.map((_, j) => rankedItem(snapshot, ranked, j, because[j]));
  }

  /**
   * recommendForUser for a server: the same list, computed by the pool (a worker thread) for a stored user
   * with many ratings whose list is neither precomputed nor cached, else inline. Such a user's `because`
   * leaves out each of their thousands of ratings in turn (tens of milliseconds): in a worker, the event
   * loop keeps answering the requests that arrive meanwhile instead of queueing them behind it. The worker
   * runs inputRecommendations on the input built here (storedUserInput), the code the inline path runs,
   * on its copy of the same version: the same items and numbers. When the pool is full the list is
   * computed inline (a stored user's GET is never refused for it). The pool's answer is not cached here.
   */
  recommendForUserOffLoop(
    snapshot: ModelSnapshot,
    userId: number,
    limit: number,
    genre?: string,
    rankBy: RankBy = 'score',
  ): Promise<ScoredItem[]> {
    const pool = this.visitors;
    const input =
      pool && prunes(snapshot, rankBy) && pool.serves(snapshot.versionId)
        ? this.costlyInput(snapshot, userId, limit, genre, pool.minStoredRatings)
        : null;
    if (!pool || !input) return Promise.resolve(this.recommendForUser(snapshot, userId, limit, genre, rankBy));
    return pool.recommendStored(snapshot, input, { limit, genre, rankBy }).catch((error: unknown) => {
      if (error instanceof VisitorPoolBusyError) return this.recommendForUser(snapshot, userId, limit, genre, rankBy);
      throw error;
    });
  }

  /**
   * The model input of a stored user whose list by score would be computed now and who has at least
   * `minRatings` ratings; null when the list is precomputed or cached, or the user has fewer ratings.
   */
  private costlyInput(
    snapshot: ModelSnapshot,
    userId: number,
    limit: number,
    genre: string | undefined,
    minRatings: number,
  ): UserInput | null {
    this.catalog.sync?.();
    this.catalog.syncUser?.(userId);
    const user = this.catalog.getUser(userId);
    if (!user) throw new UnknownUserError(userId);
    const ratings = this.catalog.getUserRatings(userId);
    if (ratings.length < minRatings) return null;
    if (genre === undefined) {
      if (this.lists?.recommend(snapshot, userId, limit)) return null;
      const cached = this.cache.getRanked(snapshot, userId, ratingsFingerprint(ratings, user.updatedAt));
      if (cached && (cached.complete || cached.items.length >= limit)) return null;
    }
    return storedUserInput(snapshot, user, ratings);
  }

  /**
   * `because` for a precomputed list: explained from the user's ratings (in memory), remembered per user
   * while their ratings and the model stay the same, so a repeated request adds no leave-one-out work.
   */
  private explainListed(snapshot: ModelSnapshot, userId: number, listed: ScoredItem[], explained = 0): ScoredItem[] {
    if (!snapshot.model.explain || listed.length === explained) return listed;
    const user = this.catalog.getUser(userId);
    if (!user) throw new UnknownUserError(userId);
    const ratings = this.catalog.getUserRatings(userId);
    const fingerprint = ratingsFingerprint(ratings, user.updatedAt);
    let memo = this.listedBecause.get(userId);
    if (!memo || memo.snapshot !== snapshot || memo.fingerprint !== fingerprint) {
      memo = { snapshot, fingerprint, byItem: new Map() };
      this.listedBecause.delete(userId);
      if (this.listedBecause.size >= LISTED_BECAUSE_USERS) this.listedBecause.delete(this.listedBecause.keys().next().value as number);
      this.listedBecause.set(userId, memo);
    }
    const byItem = memo.byItem;
    const indices = listed.map((item) => snapshot.itemIndex.get(item.itemId) as number);
    const missing = indices.filter((i, n) => n >= explained && !byItem.has(i));
    if (missing.length > 0) {
      const input = storedUserInput(snapshot, user, ratings);
      becauseLists(snapshot, input, missing).forEach((list, n) => byItem.set(missing[n], list));
    }
    return listed.map((item, n) => (n < explained ? item : { ...item, because: byItem.get(indices[n]) ?? [] }));
  }

  /**
   * `because` of a stored user's listed items, remembered with the scores they explain: a scores object
   * from the cache stands for the same ratings and model, so are its explanations, and they go when the
   * cache drops it (weak keys). Only items not yet explained for it are computed.
   */
  private becauseOfStoredUser(
    snapshot: ModelSnapshot,
    memoKey: object,
    userId: number,
    input: UserInput,
    best: readonly number[],
  ): BecauseItem[][] {
    let memo = this.becauseMemo.get(memoKey);
    if (!memo || memo.userId !== userId) {
      memo = { userId, byItem: new Map() };
      this.becauseMemo.set(memoKey, memo);
    }
    const byItem = memo.byItem;
    const missing = best.filter((i) => !byItem.has(i));
    if (missing.length > 0) becauseLists(snapshot, input, missing).forEach((list, n) => byItem.set(missing[n], list));
    return best.map((i) => byItem.get(i)!);
  }

  /** A visitor who is not stored: fold in the posted ratings, recommend among the items they did not rate. */
  recommendForVisitor(snapshot: ModelSnapshot, ratings: readonly RatingInput[], list: ListRequest): ScoredItem[] {
    this.requireKnownItems(
      snapshot,
      ratings.map((r) => r.itemId),
    );
    return visitorRecommendations(snapshot, ratings, list);
  }

  /**
   * recommendForVisitor for a server: the same list, computed by the visitor pool when the request has
   * enough ratings to be costly (and the pool holds its version), else inline. The item ids are checked
   * here first, so an unknown item is a 404 either way. Rejects with VisitorPoolBusyError when the pool
   * is full.
   */
  recommendForVisitorOffLoop(snapshot: ModelSnapshot, ratings: readonly RatingInput[], list: ListRequest): Promise<ScoredItem[]> {
    const pool = this.visitors;
    if (!pool || ratings.length < pool.minRatings || !pool.serves(snapshot.versionId))
      return Promise.resolve(this.recommendForVisitor(snapshot, ratings, list));
    this.requireKnownItems(
      snapshot,
      ratings.map((r) => r.itemId),
    );
    return pool.recommend(snapshot, ratings, list);
  }

  /**
   * Predicted ratings of `itemIds` for a stored user. A model that can score chosen items (scoreBounds'
   * scoreItems, bit for bit what scoreUsers gives) scores just those: at MovieLens-25M size that is a few
   * ms instead of the 27–50 ms of all 59,047 items (the API asks for at most 1,000). Otherwise every item is
   * scored (and cached per user).
   */
  predictForUser(snapshot: ModelSnapshot, userId: number, itemIds: readonly number[]): Prediction[] {
    const { model } = snapshot;
    const user = this.catalog.getUser(userId);
    if (!user) throw new UnknownUserError(userId);
    this.requireKnownItems(snapshot, itemIds);
    const K = snapshot.ratingLevels.length;
    let ratings: readonly StoredRating[];
    let valueOf: (i: number) => { predicted: number; distribution: number[] } | null;
    if (model.scoreBounds && model.predictsRatings) {
      ratings = this.catalog.getUserRatings(userId);
      const indices = itemIds.map((itemId) => snapshot.itemIndex.get(itemId) ?? -1);
      const scored = model.scoreBounds([storedUserInput(snapshot, user, ratings)])[0].scoreItems(indices.filter((i) => i >= 0));
      const at = new Map<number, number>();
      indices.filter((i) => i >= 0).forEach((i, n) => at.set(i, n));
      valueOf = (i) => {
        const n = at.get(i)!;
        return { predicted: roundScore(scored.expected![n]), distribution: distributionRow(scored.distribution!, n, K) };
      };
    } else {
      const full = this.scoresForUser(snapshot, userId);
      ratings = full.ratings;
      const { expected, distribution } = full.scores;
      valueOf = (i) =>
        expected && distribution ? { predicted: roundScore(expected[i]), distribution: distributionRow(distribution, i, K) } : null;
    }
    const actualByItem = new Map(ratings.map((r) => [r.itemId, r.value]));
    return itemIds.map((itemId) => {
      const i = snapshot.itemIndex.get(itemId);
      const value = i === undefined ? null : valueOf(i);
      return {
        itemId,
        predicted: value?.predicted ?? null,
        distribution: value?.distribution ?? null,
        actual: actualByItem.get(itemId) ?? null,
      };
    });
  }

  /** Stores (or replaces) a rating; creates the user if new. The next fold-in reads it back. */
  async rate(
    userId: number,
    itemId: number,
    rating: number,
  ): Promise<{ userId: number; itemId: number; rating: number; timestamp: number }> {
    if (!this.catalog.getItem(itemId)) throw new UnknownItemError(itemId);
    const timestamp = Math.floor(Date.now() / 1000);
    // The store re-checks inside its write (an item deleted meanwhile, a scale that changed since the
    // served model was trained): its UnknownItemError / InvalidRatingError reach the caller as they are.
    await this.catalog.upsertRating(userId, itemId, rating, timestamp);
    return { userId, itemId, rating, timestamp };
  }

  /**
   * rate() for a server whose connection never waits inside SQLite (busy_timeout 0): while another
   * connection holds the write lock, the write is tried again after timers of 1, 2, 4, 8, 16, 16 … ms, so
   * the event loop answers other requests meanwhile, for up to `maxWaitMs` of waiting in all; then the
   * busy error goes to the caller (the API's 503).
   */
  rateWhenFree(
    userId: number,
    itemId: number,
    rating: number,
    maxWaitMs: number,
  ): Promise<{ userId: number; itemId: number; rating: number; timestamp: number }> {
    return retryWhileBusy(() => this.rate(userId, itemId, rating), {
      attempts: Infinity,
      initialDelayMs: 1,
      maxDelayMs: 16,
      maxTotalDelayMs: maxWaitMs,
    });
  }

  /**
   * A stored user's ratings with the rated items' records, best rated first, then most recent first.
   * (A rating of an item since removed from the catalog keeps its id, with a null title.)
   */
  userRatings(userId: number): UserRating[] {
    if (!this.catalog.getUser(userId)) throw new UnknownUserError(userId);
    const ratings = this.catalog.getUserRatings(userId);
    const records = new Map(
      getItemsChunked(
        this.catalog,
        ratings.map((r) => r.itemId),
      ).map((r) => [r.itemId, r]),
    );
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

  /** UnknownItemError for the first id that is neither in the model nor in the catalog. */
  private requireKnownItems(snapshot: ModelSnapshot, itemIds: readonly number[]): void {
    const outsideModel = itemIds.filter((id) => !snapshot.itemIndex.has(id));
    if (outsideModel.length === 0) return;
    const inCatalog = new Set(getItemsChunked(this.catalog, outsideModel).map((r) => r.itemId));
    const missing = outsideModel.find((id) => !inCatalog.has(id));
    if (missing !== undefined) throw new UnknownItemError(missing);
  }
}
