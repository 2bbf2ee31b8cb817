/**
 * The SQLite engine behind the Store interface: the synchronous classes (CatalogStore, ModelStore,
 * TokenStore, ChangeFeed) over one better-sqlite3 connection, answered at once through resolved
 * Promises. `sync` hands the classes themselves to the callers that stay synchronous (the server's
 * CatalogCache, the tests).
 */
import { CatalogStore } from './catalogStore.js';
import { ChangeFeed } from './changeFeed.js';
import { openDatabase, type Database, type OpenOptions } from './database.js';
import { ModelStore, type ModelStoreOptions } from './modelStore.js';
import type { RateLimitCounter, Store, StoreChange, StoreWatch } from './store.js';
import { TokenStore } from './tokenStore.js';

/** Rows re-examined behind the newest `updated_at` seen, against a wall clock stepped back meanwhile. */
const CLOCK_MARGIN_MS = 2000;

export class SqliteStore<Meta = unknown> implements Store<Meta> {
  readonly engine = 'sqlite' as const;
  readonly sync: { catalog: CatalogStore; models: ModelStore<Meta>; tokens: TokenStore; changes: ChangeFeed };
  readonly catalog: Store['catalog'];
  readonly models: Store<Meta>['models'];
  readonly tokens: Store['tokens'];
  readonly rateLimits: RateLimitCounter;
  private readonly watchers = new Set<NodeJS.Timeout>();

  constructor(
    readonly db: Database,
    readonly location: string,
    modelOptions: ModelStoreOptions = {},
  ) {
    const catalog = new CatalogStore(db);
    const models = new ModelStore<Meta>(db, modelOptions);
    const tokens = new TokenStore(db);
    this.sync = { catalog, models, tokens, changes: new ChangeFeed(db) };
    this.catalog = {
      counts: async () => catalog.counts(),
      datasetInfo: async () => catalog.datasetInfo(),
      ratingLevels: async () => catalog.ratingLevels(),
      isEmpty: async () => catalog.isEmpty(),
      loadDataset: async () => catalog.loadDataset(),
      loadDatasetWithGeneration: async () => catalog.loadDatasetWithGeneration(),
      generation: async () => catalog.generation(),
      getItem: async (itemId) => catalog.getItem(itemId),
      getItems: async (itemIds) => catalog.getItems(itemIds),
      allItems: async () => catalog.allItems(),
      searchItems: async (query, limit, offset, genre) => catalog.searchItems(query, limit, offset, genre),
      searchItemIds: async (query, genre) => catalog.searchItemIds(query, genre),
      itemStats: async () => catalog.itemStats(),
      genres: async () => catalog.genres(),
      userIds: async () => [...catalog.iterateUserIds()],
      getUser: async (userId) => catalog.getUser(userId),
      getUserRatings: async (userId) => catalog.getUserRatings(userId),
      ratingsByUser: async () => catalog.ratingsByUser(),
      upsertRating: async (userId, itemId, value, seconds) => catalog.upsertRating(userId, itemId, value, seconds),
      userUpdatedAt: async (userId) => this.sync.changes.userUpdatedAt(userId),
      usersUpdatedSince: async (ms) => this.sync.changes.usersUpdatedSince(ms),
      importCatalog: async (data, options) => catalog.importCatalog(data, options),
      importStream: async (data, options) => catalog.importStream(data, options),
    };
    this.models = {
      saveVersion: async (meta, tensors, options) => models.saveVersion(meta, tensors, options),
      current: async () => models.current(),
      currentId: async () => models.currentId(),
      load: async (id) => models.load(id),
      list: async () => models.list(),
    };
    this.tokens = {
      create: async (name) => tokens.create(name),
      list: async () => tokens.list(),
      revoke: async (id) => tokens.revoke(id),
      verify: async (presented) => tokens.verify(presented),
    };
    const hit = db.prepare<[{ key: string; resetAt: number; now: number }], { hits: number; reset_at: number }>(
      `INSERT INTO rate_limit_hits (key, hits, reset_at) VALUES (@key, 1, @resetAt)
       ON CONFLICT(key) DO UPDATE SET
         hits = CASE WHEN rate_limit_hits.reset_at <= @now THEN 1 ELSE rate_limit_hits.hits + 1 END,
         reset_at = CASE WHEN rate_limit_hits.reset_at <= @now THEN excluded.reset_at ELSE rate_limit_hits.reset_at END
       RETURNING hits, reset_at`,
    );
    const takeBack = db.prepare('UPDATE rate_limit_hits SET hits = MAX(0, hits - 1) WHERE key = ?');
    const reset = db.prepare('DELETE FROM rate_limit_hits WHERE key = ?');
    this.rateLimits = {
      hit: async (key, windowMs) => {
        const now = Date.now();
        const row = hit.get({ key, resetAt: now + windowMs, now }) as { hits: number; reset_at: number };
        return { hits: row.hits, resetAt: row.reset_at };
      },
      takeBack: async (key) => void takeBack.run(key),
      reset: async (key) => void reset.run(key),
    };
  }

  /**
   * Polls `PRAGMA data_version` (which moves when ANOTHER connection commits; see changeFeed.ts) and, when
   * it moved, reports the catalog generation, the current model version and the users written since.
   */
  watch(listener: (change: StoreChange) => void, options: { pollMs?: number } = {}): StoreWatch {
    const feed = this.sync.changes;
    let version = feed.dataVersion();
    let generation = feed.generation();
    let modelId = this.sync.models.currentId();
    let watermark = Date.now();
    const seen = new Map<number, number>();
    const timer = setInterval(() => {
      const now = feed.dataVersion();
      if (now === version) return;
      version = now;
      const g = feed.generation();
      if (g !== generation) listener({ kind: 'catalog', generation: (generation = g) });
      const m = this.sync.models.currentId();
      if (m !== null && m !== modelId) listener({ kind: 'model', versionId: (modelId = m) });
      for (const { userId, updatedAt } of feed.usersUpdatedSince(watermark - CLOCK_MARGIN_MS)) {
        if (seen.get(userId) === updatedAt) continue;
        seen.set(userId, updatedAt);
        watermark = Math.max(watermark, updatedAt);
        listener({ kind: 'user', userId, updatedAt });
      }
      for (const [id, at] of seen) if (at < watermark - CLOCK_MARGIN_MS) seen.delete(id);
      listener({ kind: 'tokens' });
    }, options.pollMs ?? 200);
    timer.unref();
    this.watchers.add(timer);
    return {
      ready: Promise.resolve(),
      stop: () => {
        clearInterval(timer);
        this.watchers.delete(timer);
      },
    };
  }

  async close(): Promise<void> {
    for (const timer of this.watchers) clearInterval(timer);
    this.watchers.clear();
    this.db.close();
  }
}

export function openSqliteStore<Meta = unknown>(path: string, options: OpenOptions & ModelStoreOptions = {}): SqliteStore<Meta> {
  return new SqliteStore<Meta>(openDatabase(path, options), path, options);
}
