/**
 * The catalog as the server reads it on a hot path: items, genres, counts and each user's ratings kept in
 * memory, so a GET recommendation or prediction reads SQLite only for a user whose ratings changed.
 *
 * Invalidation, the part that has to be right:
 * - Writes this process makes (`upsertRating`) drop the user at once: the very next request reads them back.
 * - Writes from elsewhere (another worker process, an import, `npm run train`) are noticed through a change
 *   source polled at most every `checkEveryMs` on the request path (`ChangeFeed`: SQLite's
 *   `PRAGMA data_version`, which reads no table). When it moved: a new catalog generation (an import)
 *   drops everything; otherwise the users whose `updated_at` is new since the last look are dropped.
 *   `updated_at` is taken inside each rating write's IMMEDIATE transaction, so commit order is time order
 *   and "new" means at or after the newest value seen (less a margin for a clock stepped back).
 * - Read-your-writes across processes: a client whose rating POST was answered by one worker and whose
 *   next request reaches another must not wait for that look. So every read of a user first compares
 *   that user's `updated_at` (one primary-key read, `syncUser`) with what this process has accounted for,
 *   and drops the user (and the lists derived from them) when it moved. `updated_at` moves forward on
 *   every write (CatalogStore), so a changed value always means a new write. Once per user per
 *   synchronous run: the reads one request makes of one user cost one lookup.
 * - Listeners (`onUserChanged`, `onCatalogChanged`) let derived caches (the precomputed top-N lists) drop
 *   the same things at the same moment.
 *
 * Memory: users' ratings are an LRU bounded by the number of ratings held; items are held for the
 * catalog's generation (a few hundred bytes each), and so are their rating statistics once the catalog
 * is browsed by popularity (itemStats); searches are not cached (they go to SQLite).
 */
import type { Catalog, ItemRatingStats, ItemRecord, StoredRating, StoredUser } from './ports.js';

/** What the cache asks the database about changes made by other connections (ChangeFeed satisfies it). */
export interface ChangeSource {
  dataVersion(): number;
  generation(): number;
  usersUpdatedSince(ms: number): { userId: number; updatedAt: number }[];
  /** One user's `updated_at`: null if never written through the API, undefined for no such user. */
  userUpdatedAt(userId: number): number | null | undefined;
}

export interface CatalogCacheOptions {
  /** Longest time between two looks at the change source, in milliseconds (default 200; 0 = every read). */
  checkEveryMs?: number;
  /** Ratings held in memory over all cached users (default 1,000,000); least recently used users go first. */
  maxRatings?: number;
  /** How long a changed count may be served before it is recounted, in milliseconds (default 5000). */
  countsMaxAgeMs?: number;
  /**
   * How long the items' rating statistics (the catalog's popular and highly-rated orders) may be served
   * after ratings changed, in milliseconds (default 10 minutes): recounting reads every rating (one
   * grouped query, run on the request that finds the snapshot due), and a browse order gains nothing
   * from being fresher than that.
   */
  statsMaxAgeMs?: number;
  /** Injected for tests; default Date.now. */
  now?: () => number;
}

/** Rows re-examined behind the newest `updated_at` seen, against a wall clock stepped back meanwhile. */
const CLOCK_MARGIN_MS = 2000;

interface UserEntry {
  user: StoredUser | null;
  ratings: readonly StoredRating[];
}

type Store = Catalog & { iterateUserIds(pageSize?: number): Iterable<number> };

export class CatalogCache implements Catalog {
  private readonly checkEveryMs: number;
  private readonly maxRatings: number;
  private readonly countsMaxAgeMs: number;
  private readonly statsMaxAgeMs: number;
  private readonly now: () => number;
  private lastCheck = -Infinity;
  private dataVersion: number;
  private currentGeneration: number;
  /** The newest `updated_at` seen, and the (user → updated_at) pairs seen within the margin behind it. */
  private watermark: number;
  private readonly seen = new Map<number, number>();
  /** Map order is insertion order: re-inserting on a hit makes the first key the least recently used. */
  private readonly users = new Map<number, UserEntry>();
  private ratingsHeld = 0;
  private readonly items = new Map<number, ItemRecord>();
  private genreList: string[] | null = null;
  private countsValue: {
    users: number;
    items: number;
    ratings: number;
  } | null = null;
  private countsAt = 0;
  private countsDirty = false;
  /** Users whose freshness was checked in the current synchronous run (cleared at its end). */
  private readonly checkedThisRun = new Set<number>();
  private statsValue: readonly ItemRatingStats[] | null = null;
  private statsAt = 0;
  private statsDirty = false;
  private readonly userListeners: ((userId: number) => void)[] = [];
  private readonly catalogListeners: (() => void)[] = [];

  constructor(
    private readonly store: Store,
    private readonly changes: ChangeSource,
    options: CatalogCacheOptions = {},
  ) {
    this.checkEveryMs = options.checkEveryMs ?? 200;
    this.maxRatings = options.maxRatings ?? 1_000_000;
    this.countsMaxAgeMs = options.countsMaxAgeMs ?? 5000;
    this.statsMaxAgeMs = options.statsMaxAgeMs ?? 600_000;
    this.now = options.now ?? Date.now;
    this.dataVersion = changes.dataVersion();
    this.currentGeneration = changes.generation();
    this.watermark = this.now();
    for (const { userId, updatedAt } of changes.usersUpdatedSince(this.watermark - CLOCK_MARGIN_MS)) this.remember(userId, updatedAt);
  }

  /** Called with a user id whenever that user's ratings may have changed. */
  onUserChanged(listener: (userId: number) => void): void {
    this.userListeners.push(listener);
  }

  /** Called when the whole catalog may have changed (an import moved the generation). */
  onCatalogChanged(listener: () => void): void {
    this.catalogListeners.push(listener);
  }

  /**
   * Looks at the change source if `checkEveryMs` has passed (or `force`), dropping what changed. Every read
   * calls it first, so a write from elsewhere is reflected within `checkEveryMs` of it being committed.
   */
  sync(force = false): void {
    const now = this.now();
    if (!force && now - this.lastCheck < this.checkEveryMs) return;
    this.lastCheck = now;
    // data_version first: a commit that lands after this read moves it again, so the next look sees it.
    const version = this.changes.dataVersion();
    if (version === this.dataVersion) return;
    this.dataVersion = version;
    const generation = this.changes.generation();
    if (generation !== this.currentGeneration) {
      this.currentGeneration = generation;
      this.clear();
      return;
    }
    this.countsDirty = true;
    this.statsDirty = true;
    for (const { userId, updatedAt } of this.changes.usersUpdatedSince(this.watermark - CLOCK_MARGIN_MS)) {
      // Already accounted for (by an earlier look, or by syncUser): only the watermark moves.
      const known = this.seen.get(userId) === updatedAt;
      this.remember(userId, updatedAt);
      if (!known) this.forgetUser(userId);
    }
  }

  /**
   * Brings one user up to date with the database, whatever `checkEveryMs` says: one primary-key read of
   * their `updated_at`; when it is newer than what this process has accounted for (a write by another
   * process since the last look), the user and what is derived from them are dropped. At most once per
   * user per synchronous run (a request's handler), since nothing else runs in this process meanwhile and
   * a write committed later is not "before" the request.
   */
  syncUser(userId: number): void {
    this.sync();
    if (this.checkedThisRun.has(userId)) return;
    if (this.checkedThisRun.size === 0) queueMicrotask(() => this.checkedThisRun.clear());
    this.checkedThisRun.add(userId);
    const updatedAt = this.changes.userUpdatedAt(userId);
    // Never written through the API (imports move the generation instead), or too old to be new: every
    // write older than the watermark's margin was seen by a look at the change feed, or predates this cache.
    if (updatedAt === null || updatedAt === undefined || updatedAt < this.watermark - CLOCK_MARGIN_MS) return;
    if (this.seen.get(userId) === updatedAt) return;
    // Recorded without moving the watermark: only sync(), which sees every user, may move it.
    this.seen.set(userId, updatedAt);
    this.forgetUser(userId);
  }

  /** The catalog generation as of the last look (no query). */
  generation(): number {
    this.sync();
    return this.currentGeneration;
  }

  counts(): { users: number; items: number; ratings: number } {
    this.sync();
    const now = this.now();
    if (this.countsValue === null || (this.countsDirty && now - this.countsAt >= this.countsMaxAgeMs)) {
      this.countsValue = this.store.counts();
      this.countsAt = now;
      this.countsDirty = false;
    }
    return { ...this.countsValue };
  }

  getItem(itemId: number): ItemRecord | null {
    this.sync();
    const cached = this.items.get(itemId);
    if (cached) return cached;
    // Unknown ids are not remembered: a client could fill memory with them.
    const record = this.store.getItem(itemId);
    if (record) this.items.set(itemId, Object.freeze(record));
    return record;
  }

  getItems(itemIds: number[]): ItemRecord[] {
    this.sync();
    const missing = itemIds.filter((id) => !this.items.has(id));
    if (missing.length > 0) for (const record of this.store.getItems(missing)) this.items.set(record.itemId, Object.freeze(record));
    const out: ItemRecord[] = [];
    for (const id of itemIds) {
      const record = this.items.get(id);
      if (record) out.push(record);
    }
    return out;
  }

  searchItems(query: string, limit: number, offset: number, genre?: string): { items: ItemRecord[]; total: number } {
    return this.store.searchItems(query, limit, offset, genre);
  }

  searchItemIds(query: string, genre?: string): number[] {
    return this.store.searchItemIds(query, genre);
  }

  /** One frozen snapshot per catalog generation, recounted at most every `statsMaxAgeMs` while ratings change. */
  itemStats(): readonly ItemRatingStats[] {
    this.sync();
    const now = this.now();
    if (this.statsValue === null || (this.statsDirty && now - this.statsAt >= this.statsMaxAgeMs)) {
      this.statsValue = Object.freeze(this.store.itemStats().map((s) => Object.freeze({ ...s, item: Object.freeze(s.item) })));
      this.statsAt = now;
      this.statsDirty = false;
    }
    return this.statsValue;
  }

  genres(): string[] {
    this.sync();
    this.genreList ??= Object.freeze(this.store.genres()) as string[];
    return this.genreList;
  }

  getUser(userId: number): StoredUser | null {
    return this.userEntry(userId).user;
  }

  /** The user's ratings by ascending item id (a frozen array shared with other callers). */
  getUserRatings(userId: number): StoredRating[] {
    return this.userEntry(userId).ratings as StoredRating[];
  }

  /** Every stored user id, ascending (read from SQLite: for the background precompute, not for requests). */
  userIds(): number[] {
    return [...this.store.iterateUserIds()];
  }

  upsertRating(userId: number, itemId: number, value: number, timestampSeconds: number): void {
    try {
      this.store.upsertRating(userId, itemId, value, timestampSeconds);
    } finally {
      // Even after a failure: the write may have committed before the error surfaced.
      this.countsDirty = true;
      this.statsDirty = true;
      this.forgetUser(userId);
    }
  }

  /** Users whose ratings are held in memory (for tests and the health of the cache). */
  get cachedUsers(): number {
    return this.users.size;
  }

  private userEntry(userId: number): UserEntry {
    this.syncUser(userId);
    const cached = this.users.get(userId);
    if (cached) {
      this.users.delete(userId);
      this.users.set(userId, cached);
      return cached;
    }
    // The user row and the ratings in one go; a write between the two reads is a change the feed reports.
    const user = this.store.getUser(userId);
    const entry: UserEntry = {
      user,
      ratings: Object.freeze(user ? this.store.getUserRatings(userId) : []),
    };
    this.users.set(userId, entry);
    this.ratingsHeld += Math.max(1, entry.ratings.length);
    for (const [oldest, old] of this.users) {
      if (this.ratingsHeld <= this.maxRatings || oldest === userId) break;
      this.users.delete(oldest);
      this.ratingsHeld -= Math.max(1, old.ratings.length);
    }
    return entry;
  }

  private forgetUser(userId: number): void {
    const entry = this.users.get(userId);
    if (entry) {
      this.users.delete(userId);
      this.ratingsHeld -= Math.max(1, entry.ratings.length);
    }
    for (const listener of this.userListeners) listener(userId);
  }

  private remember(userId: number, updatedAt: number): void {
    this.seen.set(userId, updatedAt);
    if (updatedAt > this.watermark) {
      this.watermark = updatedAt;
      for (const [id, at] of this.seen) if (at < this.watermark - CLOCK_MARGIN_MS) this.seen.delete(id);
    }
  }

  private clear(): void {
    this.users.clear();
    this.ratingsHeld = 0;
    this.items.clear();
    this.genreList = null;
    this.countsValue = null;
    this.statsValue = null;
    this.seen.clear();
    for (const listener of this.catalogListeners) listener();
  }
}
