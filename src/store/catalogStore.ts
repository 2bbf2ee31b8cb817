/**
 * The catalog in SQLite: users, items, ratings and the data set they came from. Every query is a prepared
 * statement created once, in the constructor.
 */
import type { Database, Statement } from 'better-sqlite3';
import type { ItemRatingStats, ItemRecord } from '../data/catalog.js';
import { assertStorableLevels, levelIndexOf, type Dataset } from '../data/dataset.js';
import { searchKeyOf } from '../data/titles.js';
import {
  CatalogImporter,
  type CatalogImport,
  type ImportOptions,
  type ImportSummary,
  type StreamedCatalogImport,
} from './catalogImport.js';
import { InvalidRatingError, UnknownItemError } from './errors.js';

export interface DatasetInfo {
  source: string;
  layout: string;
  ratingLevels: number[];
  /** ms since epoch. */
  importedAt: number;
}

export interface StoredUser {
  userId: number;
  /** ms since epoch of the last rating posted through the API; null for users only imported. */
  updatedAt: number | null;
}

/** Every rating of the catalog, by user (CSR): user u's ratings are rows start[u] … start[u + 1] − 1. */
export interface RatingsByUser {
  /** Ascending. */
  userIds: number[];
  /** The users' `updated_at` (null: never written through the API), aligned with userIds. */
  updatedAt: (number | null)[];
  start: Int32Array;
  itemIds: Int32Array;
  values: Float64Array;
  timestamps: Float64Array;
}

export interface StoredRating {
  itemId: number;
  value: number;
  /** Seconds since epoch. */
  timestamp: number;
}

export interface ItemRow {
  item_id: number;
  title: string;
  year: number | null;
  genres: string;
}

interface SearchParams {
  pattern: string;
  prefix: string;
  genre: string | null;
  limit: number;
  offset: number;
}

const ITEM_COLUMNS = 'item_id, title, year, genres';
// One WHERE for the page and its total. The genre test reads the JSON array with json_each.
const SEARCH_WHERE = `search_key LIKE @pattern ESCAPE '\\'
  AND (@genre IS NULL OR EXISTS (SELECT 1 FROM json_each(items.genres) WHERE lower(json_each.value) = lower(@genre)))`;

export class CatalogStore {
  private readonly countAll: Statement<[], { users: number; items: number; ratings: number }>;
  private readonly latestDataset: Statement<[], { source: string; layout: string; rating_levels: string; imported_at: number }>;
  private readonly distinctValues: Statement<[], number>;
  private readonly userIds: Statement<[], number>;
  private readonly userIdsAfter: Statement<[number, number], number>;
  private readonly itemIds: Statement<[], number>;
  private readonly allRatings: Statement<[], [number, number, number]>;
  private readonly itemById: Statement<[number], ItemRow>;
  private readonly itemsByIds: Statement<[string], ItemRow>;
  private readonly searchPage: Statement<[SearchParams], ItemRow>;
  private readonly searchTotal: Statement<[Omit<SearchParams, 'limit' | 'offset' | 'prefix'>], number>;
  private readonly searchIds: Statement<[Omit<SearchParams, 'limit' | 'offset' | 'prefix'>], number>;
  private readonly statsOfItems: Statement<[], ItemRow & { n: number; total: number }>;
  private readonly allGenres: Statement<[], string>;
  private readonly userById: Statement<[number], { user_id: number; updated_at: number | null }>;
  private readonly ratingsOfUser: Statement<[number], { item_id: number; value: number; timestamp: number }>;
  private readonly itemExists: Statement<[number], number>;
  private readonly touchUser: Statement<[number, number]>;
  private readonly putRating: Statement<[number, number, number, number]>;
  private readonly readGeneration: Statement<[], number>;
  private readonly updatedAtOf: Statement<[number], number | null>;
  private readonly allUsers: Statement<[], { user_id: number; updated_at: number | null }>;
  private readonly allUserRatings: Statement<[], [number, number, number, number]>;
  private readonly allItemRows: Statement<[], ItemRow>;
  private readonly upsertRatingTransaction: (userId: number, itemId: number, value: number, seconds: number) => number;
  private readonly ratingsByUserTransaction: () => { ratings: RatingsByUser; generation: number };
  private readonly loadDatasetTransaction: () => { dataset: Dataset; generation: number };
  private readonly importer: CatalogImporter;

  constructor(db: Database) {
    this.countAll = db.prepare(
      'SELECT (SELECT COUNT(*) FROM users) AS users, (SELECT COUNT(*) FROM items) AS items, (SELECT COUNT(*) FROM ratings) AS ratings',
    );
    this.latestDataset = db.prepare(
      'SELECT source, layout, rating_levels, imported_at FROM datasets ORDER BY imported_at DESC, id DESC LIMIT 1',
    );
    this.distinctValues = db.prepare<[], number>('SELECT DISTINCT value FROM ratings ORDER BY value').pluck();
    this.userIds = db.prepare<[], number>('SELECT user_id FROM users ORDER BY user_id').pluck();
    this.userIdsAfter = db
      .prepare<[number, number], number>('SELECT user_id FROM users WHERE user_id > ? ORDER BY user_id LIMIT ?')
      .pluck();
    this.itemIds = db.prepare<[], number>('SELECT item_id FROM items ORDER BY item_id').pluck();
    this.allRatings = db
      .prepare<[], [number, number, number]>('SELECT user_id, item_id, value FROM ratings ORDER BY user_id, item_id')
      .raw();
    this.itemById = db.prepare(`SELECT ${ITEM_COLUMNS} FROM items WHERE item_id = ?`);
    // A JSON array parameter instead of "IN (?, ?, …)": one statement for any number of ids.
    this.itemsByIds = db.prepare(`SELECT ${ITEM_COLUMNS} FROM items WHERE item_id IN (SELECT value FROM json_each(?))`);
    // Titles starting with the query first, then alphabetical (by search form, so accents do not reorder).
    this.searchPage = db.prepare(
      `SELECT ${ITEM_COLUMNS} FROM items WHERE ${SEARCH_WHERE}
       ORDER BY (search_key LIKE @prefix ESCAPE '\\') DESC, search_key, item_id
       LIMIT @limit OFFSET @offset`,
    );
    this.searchTotal = db
      .prepare<[Omit<SearchParams, 'limit' | 'offset' | 'prefix'>], number>(`SELECT COUNT(*) FROM items WHERE ${SEARCH_WHERE}`)
      .pluck();
    this.searchIds = db
      .prepare<[Omit<SearchParams, 'limit' | 'offset' | 'prefix'>], number>(`SELECT item_id FROM items WHERE ${SEARCH_WHERE}`)
      .pluck();
    // One pass over ratings_by_item; items nobody rated are kept (0 ratings).
    this.statsOfItems = db.prepare(
      `SELECT ${ITEM_COLUMNS}, COALESCE(s.n, 0) AS n, COALESCE(s.total, 0) AS total
       FROM items LEFT JOIN (SELECT item_id AS rated_id, COUNT(*) AS n, SUM(value) AS total FROM ratings GROUP BY item_id) s
         ON s.rated_id = items.item_id
       ORDER BY item_id`,
    );
    this.allGenres = db
      .prepare<[], string>('SELECT DISTINCT json_each.value FROM items, json_each(items.genres) ORDER BY json_each.value')
      .pluck();
    this.userById = db.prepare('SELECT user_id, updated_at FROM users WHERE user_id = ?');
    this.ratingsOfUser = db.prepare('SELECT item_id, value, timestamp FROM ratings WHERE user_id = ? ORDER BY item_id');
    this.itemExists = db.prepare<[number], number>('SELECT 1 FROM items WHERE item_id = ?').pluck();
    // updated_at moves forward on every write, even two in the same millisecond or under a clock stepped
    // back: a server process tells that a user changed by comparing it (CatalogCache.syncUser).
    this.touchUser = db.prepare(
      `INSERT INTO users (user_id, updated_at) VALUES (?, ?)
       ON CONFLICT(user_id) DO UPDATE SET updated_at = MAX(excluded.updated_at, COALESCE(users.updated_at, 0) + 1)`,
    );
    // Marked as written through the API (from_api): an import of another data set must not delete it
    // unasked, and a merge keeps it unless the file holds a newer rating (catalogImport.ts).
    this.putRating = db.prepare(
      `INSERT INTO ratings (user_id, item_id, value, timestamp, from_api) VALUES (?, ?, ?, ?, 1)
       ON CONFLICT(user_id, item_id) DO UPDATE SET value = excluded.value, timestamp = excluded.timestamp, from_api = 1`,
    );
    this.readGeneration = db.prepare<[], number>('SELECT generation FROM catalog_state WHERE id = 1').pluck();
    this.updatedAtOf = db.prepare<[number], number | null>('SELECT updated_at FROM users WHERE user_id = ?').pluck();
    this.allUsers = db.prepare('SELECT user_id, updated_at FROM users ORDER BY user_id');
    this.allUserRatings = db
      .prepare<[], [number, number, number, number]>('SELECT user_id, item_id, value, timestamp FROM ratings ORDER BY user_id, item_id')
      .raw();
    this.allItemRows = db.prepare(`SELECT ${ITEM_COLUMNS} FROM items ORDER BY item_id`);
    this.ratingsByUserTransaction = db.transaction(() => ({
      ratings: this.buildRatingsByUser(),
      generation: this.generation(),
    }));
    // Read-then-write (the item and the scale are checked against what the write will see), so IMMEDIATE:
    // the write lock is taken at BEGIN, and an import cannot slip in between the checks and the write.
    const upsert = db.transaction((userId: number, itemId: number, value: number, seconds: number) => {
      if (this.itemExists.get(itemId) === undefined) throw new UnknownItemError(itemId);
      // The scale is the imported data set's. Without one (no import yet) any finite value is accepted, and
      // ratingLevels() then discovers the scale from the values present.
      const levels = this.datasetInfo()?.ratingLevels ?? null;
      const k = levels === null ? -1 : levelIndexOf(levels, value);
      const onScale = levels === null ? Number.isFinite(value) : k >= 0;
      if (!onScale) throw new InvalidRatingError(value, levels ?? []);
      this.touchUser.run(userId, Date.now());
      // The level itself, not the value as given: 4.0000000001 must not become a distinct value.
      this.putRating.run(userId, itemId, levels === null ? value : levels[k], seconds);
      return this.updatedAtOf.get(userId) as number;
    });
    this.upsertRatingTransaction = (userId, itemId, value, seconds) => upsert.immediate(userId, itemId, value, seconds);
    // One read transaction, so the id lists, the ratings and the generation come from the same snapshot
    // even while another connection writes.
    this.loadDatasetTransaction = db.transaction(() => ({ dataset: this.readDataset(), generation: this.generation() }));
    this.importer = new CatalogImporter(db);
  }

  counts(): { users: number; items: number; ratings: number } {
    return this.countAll.get() as { users: number; items: number; ratings: number };
  }

  /** The data set most recently imported, or null for a database never imported into. */
  datasetInfo(): DatasetInfo | null {
    const row = this.latestDataset.get();
    if (!row) return null;
    return {
      source: row.source,
      layout: row.layout,
      ratingLevels: JSON.parse(row.rating_levels) as number[],
      importedAt: row.imported_at,
    };
  }

  /** The rating scale: as recorded at import, else the distinct values present. */
  ratingLevels(): number[] {
    return this.datasetInfo()?.ratingLevels ?? this.distinctValues.all();
  }

  isEmpty(): boolean {
    const { users, items, ratings } = this.counts();
    return users === 0 && items === 0 && ratings === 0;
  }

  /**
   * Every rating as a Dataset over ALL users and items of the tables (ascending id), so the model also
   * covers items nobody has rated yet. Equivalent to datasetFromTriples(ratings, {ratingLevels, userIds,
   * itemIds}) but built straight into typed arrays, without one object per rating.
   */
  loadDataset(): Dataset {
    return this.loadDatasetTransaction().dataset;
  }

  /**
   * The Dataset with the catalog generation it was read at (same read transaction): training passes the
   * generation to ModelStore.saveVersion, which refuses the model if an import changed the catalog since.
   */
  loadDatasetWithGeneration(): { dataset: Dataset; generation: number } {
    return this.loadDatasetTransaction();
  }

  /** The catalog generation: bumped by every import that changes the catalog (catalogImport.ts). */
  generation(): number {
    return this.readGeneration.get() as number;
  }

  getItem(itemId: number): ItemRecord | null {
    const row = this.itemById.get(itemId);
    return row ? toItem(row) : null;
  }

  /** The items among `itemIds`, in the order asked (unknown ids are left out). */
  getItems(itemIds: number[]): ItemRecord[] {
    if (itemIds.length === 0) return [];
    const found = new Map<number, ItemRecord>();
    for (const row of this.itemsByIds.iterate(JSON.stringify(itemIds))) found.set(row.item_id, toItem(row));
    const out: ItemRecord[] = [];
    for (const id of itemIds) {
      const item = found.get(id);
      if (item) out.push(item);
    }
    return out;
  }

  /**
   * Titles containing the query's words in order, accent- and case-insensitively ("miserables" finds
   * "Misérables, Les (1995)", "the matrix" finds "Matrix, The (1999)"), optionally within a genre.
   * An empty query lists everything. `total` counts all matches, for paging.
   */
  searchItems(query: string, limit: number, offset: number, genre?: string): { items: ItemRecord[]; total: number } {
    expectCount(limit, 'limit');
    expectCount(offset, 'offset');
    const { pattern, prefix } = searchPattern(query);
    const genreParam = genre === undefined || genre === '' ? null : genre;
    const items = this.searchPage.all({ pattern, prefix, genre: genreParam, limit, offset }).map(toItem);
    const total = this.searchTotal.get({ pattern, genre: genreParam }) as number;
    return { items, total };
  }

  /** The ids of every item `searchItems` would list for the query and genre, in no particular order. */
  searchItemIds(query: string, genre?: string): number[] {
    return this.searchIds.all({ pattern: searchPattern(query).pattern, genre: genre === undefined || genre === '' ? null : genre });
  }

  /** Every item with its number of ratings and their sum, by ascending item id. */
  itemStats(): ItemRatingStats[] {
    return this.statsOfItems.all().map((row) => ({ item: toItem(row), ratings: row.n, ratingSum: row.total }));
  }

  /** Distinct genre names over all items, sorted. */
  genres(): string[] {
    return this.allGenres.all();
  }

  /**
   * Every user id, ascending, read lazily in pages of `pageSize` (keyset paging, so no statement stays open
   * between pages: the caller may read and write the database while iterating). Users added during the
   * iteration with a higher id are included.
   */
  *iterateUserIds(pageSize = 1000): Generator<number> {
    if (!Number.isSafeInteger(pageSize) || pageSize < 1) throw new RangeError(`pageSize must be a whole number ≥ 1, got ${pageSize}`);
    let after = -1;
    while (true) {
      const page = this.userIdsAfter.all(after, pageSize);
      yield* page;
      if (page.length < pageSize) return;
      after = page[page.length - 1];
    }
  }

  getUser(userId: number): StoredUser | null {
    const row = this.userById.get(userId);
    return row ? { userId: row.user_id, updatedAt: row.updated_at } : null;
  }

  /** A user's ratings by ascending item id (empty for an unknown user). */
  getUserRatings(userId: number): StoredRating[] {
    return this.ratingsOfUser.all(userId).map((row) => ({ itemId: row.item_id, value: row.value, timestamp: row.timestamp }));
  }

  /**
   * Records a rating given through the API: creates the user if new, sets users.updated_at to now (the
   * server uses it to tell a user's ratings changed), replaces an earlier rating of the same item.
   * Throws UnknownItemError for an item not in the catalog and InvalidRatingError for a value off the
   * imported data set's scale (the model has no softmax unit for it).
   */
  upsertRating(userId: number, itemId: number, value: number, timestampSeconds: number): number {
    checkRatingArguments(userId, timestampSeconds);
    return this.upsertRatingTransaction(userId, itemId, value, timestampSeconds);
  }

  /** Every item, by ascending id. */
  allItems(): ItemRecord[] {
    return this.allItemRows.all().map(toItem);
  }

  private buildRatingsByUser(): RatingsByUser {
    const builder = new RatingsByUserBuilder(this.allUsers.all(), this.counts().ratings);
    for (const [userId, itemId, value, timestamp] of this.allUserRatings.iterate()) builder.add(userId, itemId, value, timestamp);
    return builder.finish();
  }

  /** Every user with their ratings (CSR), and the generation, in one read transaction. */
  ratingsByUser(): { ratings: RatingsByUser; generation: number } {
    return this.ratingsByUserTransaction();
  }

  /** Imports a whole catalog in one transaction; see catalogImport.ts for the semantics. */
  importCatalog(data: CatalogImport, options: ImportOptions = {}): ImportSummary {
    return this.importer.importCatalog(data, options);
  }

  /** Imports a catalog whose ratings are streamed (a MovieLens folder of any size), in one transaction. */
  importStream(data: StreamedCatalogImport, options: ImportOptions = {}): ImportSummary {
    return this.importer.importStream(data, options);
  }

  /**
   * Streams the ratings (in primary-key order: by user, then item) straight into typed arrays. Only the
   * id lists are arrays of numbers; per rating there is no object kept: the user index advances with the
   * ordered user ids, and item ids map to indices through a typed lookup table (or a Map for sparse ids).
   */
  private readDataset(): Dataset {
    const ratingLevels = this.ratingLevels();
    assertStorableLevels(ratingLevels, 'the catalog in the database');
    const userIds = this.userIds.all();
    const itemIds = this.itemIds.all();
    const itemIndexOf = itemIndexLookup(itemIds);
    const n = this.counts().ratings;
    const users = new Int32Array(n);
    const items = new Int32Array(n);
    const levels = new Uint8Array(n);
    // The scale is small: a value → level table avoids a scan per rating.
    const levelOf = new Map(ratingLevels.map((value, k) => [value, k]));
    let r = 0;
    let u = 0;
    for (const [userId, itemId, value] of this.allRatings.iterate()) {
      let k = levelOf.get(value);
      if (k === undefined) {
        k = levelIndexOf(ratingLevels, value);
        if (k < 0) {
          throw new Error(
            `rating of item ${itemId} by user ${userId} has value ${value}, off the data set's scale [${ratingLevels.join(', ')}]`,
          );
        }
      }
      // Foreign keys guarantee both ids are present; rows come by ascending user id, as userIds do.
      while (userIds[u] !== userId) u++;
      users[r] = u;
      items[r] = itemIndexOf(itemId);
      levels[r] = k;
      r++;
    }
    return { ratingLevels, userIds, itemIds, users, items, levels };
  }
}

/** The arguments of a rating write that no database check would catch: shared by both engines. */
export function checkRatingArguments(userId: number, timestampSeconds: number): void {
  if (!Number.isSafeInteger(userId) || userId < 0) throw new RangeError(`user id must be a whole number ≥ 0, got ${userId}`);
  if (!Number.isSafeInteger(timestampSeconds)) {
    throw new RangeError(`timestamp must be whole seconds since 1970, got ${timestampSeconds}`);
  }
}

/**
 * Users (ascending id) and their ratings, added in (user, item) order, as CSR arrays; `n` is the number
 * of ratings expected (the arrays grow past it if needed, and are trimmed at the end).
 */
export class RatingsByUserBuilder {
  private readonly start: Int32Array;
  private itemIds: Int32Array;
  private values: Float64Array;
  private timestamps: Float64Array;
  private r = 0;
  private u = 0;

  constructor(
    private readonly users: readonly { user_id: number; updated_at: number | null }[],
    n: number,
  ) {
    this.start = new Int32Array(users.length + 1);
    this.itemIds = new Int32Array(n);
    this.values = new Float64Array(n);
    this.timestamps = new Float64Array(n);
  }

  add(userId: number, itemId: number, value: number, timestamp: number): void {
    const { users, start } = this;
    while (this.u < users.length && users[this.u].user_id !== userId) start[++this.u] = this.r;
    if (this.r === this.itemIds.length) {
      const length = Math.max(16, 2 * this.r);
      this.itemIds = grown(this.itemIds, length);
      this.values = grown(this.values, length);
      this.timestamps = grown(this.timestamps, length);
    }
    this.itemIds[this.r] = itemId;
    this.values[this.r] = value;
    this.timestamps[this.r] = timestamp;
    this.r++;
  }

  finish(): RatingsByUser {
    const { users, start, r } = this;
    while (this.u < users.length) start[++this.u] = r;
    return {
      userIds: users.map((x) => x.user_id),
      updatedAt: users.map((x) => x.updated_at),
      start,
      itemIds: this.itemIds.subarray(0, r),
      values: this.values.subarray(0, r),
      timestamps: this.timestamps.subarray(0, r),
    };
  }
}

function grown<T extends Int32Array | Float64Array>(array: T, length: number): T {
  const out = new (array.constructor as new (n: number) => T)(length);
  out.set(array);
  return out;
}

/** id → index for ascending ids: a typed table when ids are dense enough (MovieLens's are), else a Map. */
function itemIndexLookup(ids: readonly number[]): (id: number) => number {
  const maxId = ids.length === 0 ? 0 : ids[ids.length - 1];
  if (maxId <= 8 * ids.length + 1024) {
    const table = new Int32Array(maxId + 1).fill(-1);
    ids.forEach((id, i) => (table[id] = i));
    return (id) => table[id];
  }
  const map = new Map(ids.map((id, i) => [id, i]));
  return (id) => map.get(id) as number;
}

export function toItem(row: ItemRow): ItemRecord {
  return { itemId: row.item_id, title: row.title, year: row.year, genres: JSON.parse(row.genres) as string[] };
}

/** The LIKE patterns of a title query: its words in order anywhere, and at the start. */
function searchPattern(query: string): { pattern: string; prefix: string } {
  const words = searchKeyOf(query)
    .split(' ')
    .filter((w) => w !== '')
    .map(escapeLike);
  return {
    pattern: words.length === 0 ? '%' : `%${words.join('%')}%`,
    prefix: words.length === 0 ? '%' : `${words.join('%')}%`,
  };
}

/** Makes a user's % and _ literal in a LIKE pattern (escape character: backslash). */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function expectCount(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a whole number ≥ 0, got ${value}`);
}
