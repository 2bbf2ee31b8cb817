/**
 * The catalog held whole in memory, for a serving replica over a database server (PostgreSQL): every
 * request reads memory, never the network, and the store's change feed (LISTEN/NOTIFY) says what to
 * refresh. It implements the same `Catalog` port as CatalogCache (the SQLite server's, which reads its
 * local file on a miss), so the one serving path runs unchanged on either.
 *
 * What is held: the items (with their search keys: searches run in memory, with CatalogStore's rules),
 * every user's ratings as one CSR snapshot (typed arrays: 20 bytes a rating) loaded at start and after
 * each import, and an overlay of the users written since, each read back whole from the database.
 *
 * Freshness:
 * - A rating written through this replica: committed, then the user is read back before the answer, so
 *   the next request of that client (on this replica) reads its own write.
 * - A rating written through another replica: its NOTIFY user:<id>:<updated_at> makes this replica read
 *   the user back (milliseconds); `refreshUser` (called before a stored user's request is answered) also
 *   compares the user's `updated_at` with the database, so a client whose next request reaches another
 *   replica reads its write even before the notification lands. When the database cannot be reached, the
 *   request is answered from memory (reads stay up while writes answer 503).
 * - An import (NOTIFY catalog:<g>): everything is reloaded in the background, then swapped in at once.
 * - A lost feed connection (`resync`): the generation and the users written since the last look are compared.
 */
import type { ItemRatingStats } from '../data/catalog.js';
import { itemSearchKey, searchKeyOf } from '../data/titles.js';
import type { CatalogRepository, RatingsByUser, StoreChange } from '../store/index.js';
import type { Catalog, ItemRecord, StoredRating, StoredUser } from './ports.js';

/** Rows re-examined behind the newest `updated_at` seen, against a wall clock stepped back meanwhile. */
const CLOCK_MARGIN_MS = 2000;

interface Snapshot {
  generation: number;
  items: Map<number, ItemRecord>;
  /** Items by ascending id, with their search keys. */
  itemList: { item: ItemRecord; key: string }[];
  genres: string[];
  base: RatingsByUser;
  baseIndex: Map<number, number>;
}

interface UserEntry {
  user: StoredUser;
  ratings: readonly StoredRating[];
}

export interface CatalogMirrorOptions {
  /** How long item statistics may be served after ratings changed (default 10 minutes, as CatalogCache). */
  statsMaxAgeMs?: number;
  /** Longest wait for the per-request freshness check before answering from memory (default 500 ms). */
  freshnessTimeoutMs?: number;
  log?: (line: string) => void;
}

export class CatalogMirror implements Catalog {
  private snapshot: Snapshot;
  /** Users written since the snapshot, read back whole. */
  private readonly overlay = new Map<number, UserEntry>();
  /** Built StoredRating arrays of snapshot users, so repeated requests share one frozen array. */
  private readonly built = new Map<number, UserEntry>();
  private builtRatings = 0;
  private ratingCount: number;
  private userCount: number;
  private watermark: number;
  private statsValue: readonly ItemRatingStats[] | null = null;
  private statsAt = 0;
  private statsDirty = false;
  private readonly refreshing = new Map<number, Promise<void>>();
  private reloading: Promise<void> | null = null;
  private readonly userListeners: ((userId: number) => void)[] = [];
  private readonly catalogListeners: (() => void)[] = [];
  private readonly statsMaxAgeMs: number;
  private readonly freshnessTimeoutMs: number;
  private readonly log: (line: string) => void;
  private unreachableSince: number | null = null;

  private constructor(
    private readonly store: CatalogRepository,
    snapshot: Snapshot,
    options: CatalogMirrorOptions,
    loadedAt: number,
  ) {
    this.snapshot = snapshot;
    this.ratingCount = snapshot.base.itemIds.length;
    this.userCount = snapshot.base.userIds.length;
    this.watermark = loadedAt;
    this.statsMaxAgeMs = options.statsMaxAgeMs ?? 600_000;
    this.freshnessTimeoutMs = options.freshnessTimeoutMs ?? 500;
    this.log = options.log ?? (() => {});
  }

  /** Reads the whole catalog (one snapshot) into memory. */
  static async load(store: CatalogRepository, options: CatalogMirrorOptions = {}): Promise<CatalogMirror> {
    const loadedAt = Date.now();
    return new CatalogMirror(store, await readSnapshot(store), options, loadedAt);
  }

  onUserChanged(listener: (userId: number) => void): void {
    this.userListeners.push(listener);
  }

  onCatalogChanged(listener: () => void): void {
    this.catalogListeners.push(listener);
  }

  /** What the store's change feed reported (Store.watch). */
  apply(change: StoreChange): void {
    if (change.kind === 'user') {
      if (this.knownUpdatedAt(change.userId) !== change.updatedAt) void this.reloadUser(change.userId);
      this.watermark = Math.max(this.watermark, change.updatedAt);
    } else if (change.kind === 'catalog') {
      if (change.generation !== this.snapshot.generation) void this.reloadAll();
    } else if (change.kind === 'resync') void this.resync();
  }

  /** Compares the generation and the users written since the last look with the database. */
  async resync(): Promise<void> {
    try {
      const generation = await this.store.generation();
      if (generation !== this.snapshot.generation) return await this.reloadAll();
      for (const { userId, updatedAt } of await this.store.usersUpdatedSince(this.watermark - CLOCK_MARGIN_MS)) {
        if (this.knownUpdatedAt(userId) !== updatedAt) await this.reloadUser(userId);
        this.watermark = Math.max(this.watermark, updatedAt);
      }
    } catch (error) {
      this.log(`catalog resync failed (${(error as Error).message}); it runs again when the change feed reconnects`);
    }
  }

  /**
   * Read-your-writes on any replica: compares the user's `updated_at` with the database (one primary-key
   * read) and reads them back if another replica wrote since. Never fails: when the database does not
   * answer within `freshnessTimeoutMs`, the request is answered from memory.
   */
  async refreshUser(userId: number): Promise<void> {
    // While the database is known down, do not make every read wait for the timeout.
    if (this.unreachableSince !== null && Date.now() - this.unreachableSince < 1000) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      const updatedAt = await Promise.race([
        this.store.userUpdatedAt(userId),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('the database did not answer in time')), this.freshnessTimeoutMs);
        }),
      ]);
      this.unreachableSince = null;
      if (updatedAt !== undefined && updatedAt !== null && updatedAt !== this.knownUpdatedAt(userId)) await this.reloadUser(userId);
    } catch {
      this.unreachableSince = Date.now();
    } finally {
      clearTimeout(timer);
    }
  }

  generation(): number {
    return this.snapshot.generation;
  }

  counts(): { users: number; items: number; ratings: number } {
    return { users: this.userCount, items: this.snapshot.items.size, ratings: this.ratingCount };
  }

  getItem(itemId: number): ItemRecord | null {
    return this.snapshot.items.get(itemId) ?? null;
  }

  getItems(itemIds: number[]): ItemRecord[] {
    const out: ItemRecord[] = [];
    for (const id of itemIds) {
      const item = this.snapshot.items.get(id);
      if (item) out.push(item);
    }
    return out;
  }

  /** CatalogStore.searchItems's answer, from memory: titles containing the words in order; starting with them first. */
  searchItems(query: string, limit: number, offset: number, genre?: string): { items: ItemRecord[]; total: number } {
    for (const [value, name] of [
      [limit, 'limit'],
      [offset, 'offset'],
    ] as const) {
      if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a whole number ≥ 0, got ${value}`);
    }
    const words = queryWords(query);
    const matches = this.matching(words, genre).map((entry) => ({ ...entry, prefix: startsWithWords(entry.key, words) }));
    matches.sort((a, b) => Number(b.prefix) - Number(a.prefix) || compareBinary(a.key, b.key) || a.item.itemId - b.item.itemId);
    return { items: matches.slice(offset, offset + limit).map((m) => m.item), total: matches.length };
  }

  searchItemIds(query: string, genre?: string): number[] {
    return this.matching(queryWords(query), genre).map((m) => m.item.itemId);
  }

  itemStats(): readonly ItemRatingStats[] {
    const now = Date.now();
    if (this.statsValue === null || (this.statsDirty && now - this.statsAt >= this.statsMaxAgeMs)) {
      const counts = new Map<number, { n: number; sum: number }>();
      const add = (itemId: number, value: number): void => {
        const c = counts.get(itemId);
        if (c) {
          c.n++;
          c.sum += value;
        } else counts.set(itemId, { n: 1, sum: value });
      };
      const { base } = this.snapshot;
      for (let u = 0; u < base.userIds.length; u++) {
        if (this.overlay.has(base.userIds[u])) continue;
        for (let r = base.start[u]; r < base.start[u + 1]; r++) add(base.itemIds[r], base.values[r]);
      }
      for (const entry of this.overlay.values()) for (const r of entry.ratings) add(r.itemId, r.value);
      this.statsValue = Object.freeze(
        this.snapshot.itemList.map(({ item }) =>
          Object.freeze({ item, ratings: counts.get(item.itemId)?.n ?? 0, ratingSum: counts.get(item.itemId)?.sum ?? 0 }),
        ),
      );
      this.statsAt = now;
      this.statsDirty = false;
    }
    return this.statsValue;
  }

  genres(): string[] {
    return this.snapshot.genres;
  }

  getUser(userId: number): StoredUser | null {
    return this.entry(userId)?.user ?? null;
  }

  getUserRatings(userId: number): StoredRating[] {
    return (this.entry(userId)?.ratings ?? []) as StoredRating[];
  }

  /** Every user id, ascending. */
  userIds(): number[] {
    const ids = new Set(this.snapshot.base.userIds);
    for (const id of this.overlay.keys()) ids.add(id);
    return [...ids].sort((a, b) => a - b);
  }

  *iterateUserIds(): Generator<number> {
    yield* this.userIds();
  }

  /** Writes through to the database, then reads the user back: the answer that follows sees the write. */
  async upsertRating(userId: number, itemId: number, value: number, timestampSeconds: number): Promise<void> {
    try {
      await this.store.upsertRating(userId, itemId, value, timestampSeconds);
    } finally {
      // Even after a failure: the write may have committed before the error surfaced.
      await this.reloadUser(userId).catch(() => {});
    }
  }

  private entry(userId: number): UserEntry | null {
    const changed = this.overlay.get(userId);
    if (changed) return changed;
    const built = this.built.get(userId);
    if (built) return built;
    const { base, baseIndex } = this.snapshot;
    const u = baseIndex.get(userId);
    if (u === undefined) return null;
    const ratings: StoredRating[] = [];
    for (let r = base.start[u]; r < base.start[u + 1]; r++)
      ratings.push({ itemId: base.itemIds[r], value: base.values[r], timestamp: base.timestamps[r] });
    const entry: UserEntry = { user: { userId, updatedAt: base.updatedAt[u] }, ratings: Object.freeze(ratings) };
    // A bounded memo: past a million ratings built, start again (the arrays are cheap to rebuild).
    if (this.builtRatings > 1_000_000) {
      this.built.clear();
      this.builtRatings = 0;
    }
    this.built.set(userId, entry);
    this.builtRatings += Math.max(1, ratings.length);
    return entry;
  }

  private knownUpdatedAt(userId: number): number | null | undefined {
    return this.entry(userId)?.user.updatedAt;
  }

  /** Reads one user back from the database into the overlay (one read at a time per user). */
  private reloadUser(userId: number): Promise<void> {
    const running = this.refreshing.get(userId);
    const next = (running ?? Promise.resolve()).then(async () => {
      const generation = this.snapshot.generation;
      const user = await this.store.getUser(userId);
      const ratings = user ? await this.store.getUserRatings(userId) : [];
      if (!user || generation !== this.snapshot.generation) return;
      const before = this.entry(userId);
      // A slower read must not replace a newer one.
      if (before && (before.user.updatedAt ?? 0) > (user.updatedAt ?? 0)) return;
      if (!before) this.userCount++;
      this.ratingCount += ratings.length - (before?.ratings.length ?? 0);
      this.overlay.set(userId, { user, ratings: Object.freeze(ratings) });
      this.built.delete(userId);
      this.statsDirty = true;
      for (const listener of this.userListeners) listener(userId);
    });
    const settled = next.finally(() => {
      if (this.refreshing.get(userId) === settled) this.refreshing.delete(userId);
    });
    this.refreshing.set(userId, settled);
    return settled;
  }

  /** After an import: reads everything again, then swaps it in at once and tells the listeners. */
  private reloadAll(): Promise<void> {
    this.reloading ??= (async () => {
      try {
        const startedAt = Date.now();
        const next = await readSnapshot(this.store);
        this.snapshot = next;
        this.overlay.clear();
        this.built.clear();
        this.builtRatings = 0;
        this.ratingCount = next.base.itemIds.length;
        this.userCount = next.base.userIds.length;
        this.statsValue = null;
        this.log(
          `catalog generation ${next.generation} loaded: ${this.userCount} users, ${next.items.size} items, ${this.ratingCount} ratings`,
        );
        for (const listener of this.catalogListeners) listener();
        // Ratings written while the snapshot was read may have been applied to the old one: look again.
        this.watermark = Math.min(this.watermark, startedAt);
        await this.resync();
      } catch (error) {
        this.log(`could not reload the catalog (${(error as Error).message}); still serving generation ${this.snapshot.generation}`);
      } finally {
        this.reloading = null;
      }
    })();
    return this.reloading;
  }

  private matching(words: string[], genre: string | undefined): { item: ItemRecord; key: string }[] {
    const wanted = genre === undefined || genre === '' ? null : genre.toLowerCase();
    return this.snapshot.itemList.filter(
      ({ item, key }) => containsWords(key, words) && (wanted === null || item.genres.some((g) => g.toLowerCase() === wanted)),
    );
  }
}

async function readSnapshot(store: CatalogRepository): Promise<Snapshot> {
  const { ratings: base, generation } = await store.ratingsByUser();
  const itemList = (await store.allItems()).map((item) => ({ item: Object.freeze(item), key: itemSearchKey(item.title) }));
  return {
    generation,
    items: new Map(itemList.map(({ item }) => [item.itemId, item])),
    itemList,
    genres: Object.freeze([...new Set(itemList.flatMap(({ item }) => item.genres))].sort(compareBinary)) as string[],
    base,
    baseIndex: new Map(base.userIds.map((id, u) => [id, u])),
  };
}

const queryWords = (query: string): string[] =>
  searchKeyOf(query)
    .split(' ')
    .filter((w) => w !== '');

/** SQL's `LIKE '%w1%w2%…'`: the words in order, anywhere. */
function containsWords(key: string, words: readonly string[]): boolean {
  let at = 0;
  for (const word of words) {
    const found = key.indexOf(word, at);
    if (found < 0) return false;
    at = found + word.length;
  }
  return true;
}

/** `LIKE 'w1%w2%…'`: the first word at the start, the others after it in order. */
function startsWithWords(key: string, words: readonly string[]): boolean {
  return words.length === 0 || (key.startsWith(words[0]) && containsWords(key.slice(words[0].length), words.slice(1)));
}

/**
 * The databases' byte order of UTF-8 (SQLite's BINARY collation, PostgreSQL's "C") for sorting search keys.
 * JavaScript compares UTF-16 code units, which is the same order everywhere but between characters past
 * U+FFFF and those from U+E000 to U+FFFF, neither of which a search key (accent-stripped) holds in practice.
 */
function compareBinary(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
