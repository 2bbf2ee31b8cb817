/**
 * Writing a whole catalog into the database in ONE transaction, at any size (MovieLens 25M and beyond).
 *
 * A data set is identified by what it is, not by the path it was read from: its fingerprint, a SHA-256 of
 * its layout and movie files (a catalog built in code: of its layout and source name; data/fingerprint.ts).
 * Semantics, chosen so that no import loses a rating written through the API without being told to:
 * - The same data set as the one stored (same fingerprint; read from any path, a symlink, a copy, a moved
 *   folder): merge. Items, users and ratings are inserted or replaced by id, so importing the same folder
 *   twice leaves every row as it was. Ratings written through the API (ratings.from_api) are kept; where
 *   the file has a rating for the same (user, item), the newer timestamp wins (ties: the API's).
 * - Another data set (another fingerprint): its ids name other movies and users, so mixing them would be
 *   wrong, and replacing the catalog deletes what it holds: refused (CatalogReplaceRefusedError, counting
 *   the ratings, and those written through the API) unless the import says `mode: 'replace'`. The one
 *   exception is the built-in demo catalog (layout 'demo', seeded on a first start), which a first real
 *   import replaces unless it holds ratings written through the API. A replacement deletes users, items,
 *   ratings and data set rows first, and no model version stays current: a model trained on the old
 *   catalog indexes items that no longer exist (old versions stay listed for reference). Ratings written
 *   through the API are first exported to `exportPath` (CSV).
 * - `mode: 'merge'` merges whatever the fingerprint (a newer export of the same catalog whose movie file
 *   changed); `mode: 'replace'` replaces even the same data set.
 * - A data set imported before fingerprints were recorded (fingerprint NULL) is the same data set when the
 *   import comes from its recorded path (the old rule) or brings exactly its items (ids and titles); its
 *   fingerprint is recorded then.
 * Any error, even at the last row, rolls the whole transaction back: the database is then exactly as before.
 * The scale is checked too (data/scaleCheck.ts): an import that would leave the catalog without ratings,
 * with more than 20 levels or with outlier levels is refused (and so rolled back).
 *
 * Concurrency: the transaction is IMMEDIATE (takes the write lock at BEGIN). A deferred transaction would
 * start as a read and upgrade at its first write; under WAL that upgrade fails at once with SQLITE_BUSY
 * when another connection wrote meanwhile, and no busy timeout helps.
 *
 * Every import that changes a row bumps the catalog generation (catalog_state), which model versions
 * record: a model trained on generation g is stale once the generation moves past g. Upserts leave rows
 * that are already equal untouched (their WHERE), so re-importing the same folder changes nothing and
 * keeps the generation.
 *
 * The bulk path. Ratings arrive as a stream of rows (a file scanned in chunks, or an array for small
 * catalogs) and go into SQLite in bounded batches through one multi-row prepared INSERT; nothing is kept
 * per rating, so memory follows the catalog (item, user and rating-value sets), not the ratings:
 * - into an empty ratings table (a first import or a replaced catalog) rows go straight into `ratings`,
 *   with its secondary index dropped during the load and rebuilt once after it (one sort instead of 25M
 *   random index insertions);
 * - into a non-empty one (a refresh of the same source) they go first into a temporary staging table, so
 *   duplicate rows of the file can be counted apart from rows that replace stored ones, then are merged.
 * Duplicate (user, item) rows keep the last one (the upsert's "last write wins" in file order), and
 *   duplicates = rows kept − distinct (user, item) pairs written.
 * Foreign-key checks are switched off for the load (two B-tree lookups per rating) because the importer
 * guarantees them itself: every item is checked against the known item ids, and every user gets a row.
 */
import { unlinkSync } from 'node:fs';
import type { Database, Statement } from 'better-sqlite3';
import type { CatalogData, SkipCount, TimedRating } from '../data/catalog.js';
import { namedFingerprint } from '../data/fingerprint.js';
import { itemSearchKey } from '../data/titles.js';
import {
  missingExportPath,
  RatingRowChecks,
  datasetRow,
  importSummary,
  refuseImplicitReplace,
  replaceReason,
  sameItems,
  validateLevels,
  validateRecords,
  writeApiRatingsCsv,
  type ImportHeader as Header,
  type ImportMode,
  type RatingRowSink,
  type RatingSource,
  type StoredDataset,
} from './importRules.js';

/** What `importCatalog` needs; `users` and `skipped` are optional. */
export type CatalogImport = Pick<CatalogData, 'source' | 'layout' | 'items' | 'ratingLevels'> & {
  ratings: readonly TimedRating[];
} & Partial<Pick<CatalogData, 'users' | 'skipped' | 'fingerprint'>>;

/**
 * A catalog whose ratings are streamed: `forEachRating` calls `emit` for every row, in file order,
 * synchronously (it runs inside the write transaction), and `progress(done, total)` now and then in its
 * own units (bytes of a file). Rows naming an unknown item are skipped and counted; duplicate (user, item)
 * rows keep the last; the rating levels are the distinct values found.
 */
export interface StreamedCatalogImport extends Pick<CatalogData, 'source' | 'layout' | 'items'> {
  users?: CatalogData['users'];
  /** What identifies the data set (data/fingerprint.ts); derived from the source name when absent. */
  fingerprint?: string;
  /** The ratings file, named with line numbers in scale errors. */
  ratingsFile?: string;
  forEachRating(emit: RatingRowSink, progress: (done: number, total: number) => void): void;
}

export interface ImportSummary {
  source: string;
  layout: string;
  /** Rows in the database after the import. */
  users: number;
  items: number;
  ratings: number;
  ratingLevels: number[];
  skipped: SkipCount[];
  /** The source whose catalog this import replaced, or null when it merged (same data set, or `merge`). */
  replacedSource: string | null;
  /** What the replacement deleted that was written through the API, and where it was exported. */
  replaced: ReplacedCatalog | null;
  /** When merging into a data set first read from another path: that path; else null. */
  mergedFrom: string | null;
  /** The imported data set's fingerprint, now recorded. */
  fingerprint: string;
  importedAt: number;
  /** Rating rows read from the source (before skipping). */
  rowsRead: number;
  /** The catalog generation after the import; it moved iff `changed`. */
  catalogGeneration: number;
  /** Whether any row was added, changed or deleted (a re-import of identical data changes nothing). */
  changed: boolean;
}

export interface ImportOptions {
  /**
   * Called every few thousand rows and once at the end: `done` of `total` in the source's units (bytes for
   * a streamed file, rows for an array), and the rating rows read so far.
   */
  onProgress?: (done: number, total: number, rowsRead: number) => void;
  /** Accept rare (outlier) rating levels as they are (`--allow-scale`). */
  allowScale?: boolean;
  /** 'auto' (default): merge the same data set, replace another one unless that loses API ratings. */
  mode?: ImportMode;
  /**
   * Where a replacement writes the ratings written through the API before deleting them (CSV: userId,
   * movieId, rating, timestamp). Required when a replacement would delete any.
   */
  exportPath?: string;
}

export interface ReplacedCatalog {
  source: string;
  /** Ratings written through the API that were deleted, and their users. */
  apiRatings: number;
  apiUsers: number;
  /** The CSV they were exported to, or null when there were none. */
  exportPath: string | null;
}

/** Rows per multi-row INSERT: 4 parameters each, far below SQLite's 32,766-parameter limit. */
const BATCH_ROWS = 512;
export const PROGRESS_EVERY_ROWS = 65_536;
/** Page cache for the load (KiB, as a negative cache_size): the ratings B-tree's pages stay in memory. */
const BULK_CACHE_KIB = 256 * 1024;
const RATINGS_BY_ITEM_INDEX = 'CREATE INDEX ratings_by_item ON ratings(item_id)';

/** A catalog held in memory as a rating source: every rating must be on `ratingLevels`. */
export function inMemoryRatingSource(data: CatalogImport): RatingSource {
  const ratings = data.ratings;
  return {
    declaredLevels: data.ratingLevels,
    skipUnknownItems: false,
    skipped: data.skipped ?? [],
    forEachRating(emit, progress) {
      for (let r = 0; r < ratings.length; r++) {
        const rating = ratings[r];
        emit(rating.userId, rating.itemId, rating.value, rating.timestamp);
        if ((r + 1) % PROGRESS_EVERY_ROWS === 0) progress(r + 1, ratings.length);
      }
      progress(ratings.length, ratings.length);
    },
  };
}

/** A streamed catalog (a MovieLens folder) as a rating source: the scale is discovered, unknown items skipped. */
export function streamedRatingSource(data: StreamedCatalogImport): RatingSource {
  return {
    declaredLevels: null,
    skipUnknownItems: true,
    skipped: null,
    forEachRating: (emit, progress) => data.forEachRating(emit, progress),
  };
}

export class CatalogImporter {
  private readonly currentDataset: Statement<[], StoredDataset>;
  private readonly storedItemTitles: Statement<[], { item_id: number; title: string }>;
  private readonly countApiRatings: Statement<[], { ratings: number; users: number }>;
  private readonly apiRatings: Statement<[], [number, number, number, number]>;
  private readonly updateDataset: Statement<[string, string, string | null, string, number, number, number, string, number, number]>;
  private readonly storedItemIds: Statement<[], number>;
  private readonly countRatings: Statement<[], number>;
  private readonly deleteRatings: Statement<[]>;
  private readonly deleteUsers: Statement<[]>;
  private readonly deleteItems: Statement<[]>;
  private readonly deleteDatasets: Statement<[]>;
  private readonly retireCurrentModel: Statement<[]>;
  private readonly upsertItem: Statement<[number, string, number | null, string, string]>;
  private readonly upsertUser: Statement<[number, number | null, string | null, string | null, string | null]>;
  private readonly insertUserIfMissing: Statement<[number]>;
  private readonly insertDataset: Statement<[string, string, string, string, number, number, number, string, number]>;
  private readonly countAll: Statement<[], { users: number; items: number; ratings: number }>;
  private readonly readGeneration: Statement<[], number>;
  private readonly bumpGeneration: Statement<[]>;
  private readonly run: (header: Header, source: RatingSource, options: ImportOptions) => ImportSummary;
  /** The connection's own page cache size, restored for the index build and after the import. */
  private normalCacheSize = -2000;

  constructor(private readonly db: Database) {
    this.currentDataset = db.prepare('SELECT id, source, layout, fingerprint FROM datasets ORDER BY imported_at DESC, id DESC LIMIT 1');
    this.storedItemTitles = db.prepare('SELECT item_id, title FROM items ORDER BY item_id');
    // Both through the partial index ratings_from_api: a few rows, whatever the catalog's size.
    this.countApiRatings = db.prepare('SELECT COUNT(*) AS ratings, COUNT(DISTINCT user_id) AS users FROM ratings WHERE from_api = 1');
    this.apiRatings = db
      .prepare<[], [number, number, number, number]>(
        'SELECT user_id, item_id, value, timestamp FROM ratings WHERE from_api = 1 ORDER BY user_id, item_id',
      )
      .raw();
    this.updateDataset = db.prepare(
      `UPDATE datasets SET source = ?, layout = ?, fingerprint = ?, rating_levels = ?, users = ?, items = ?, ratings = ?,
         skipped = ?, imported_at = ? WHERE id = ?`,
    );
    this.storedItemIds = db.prepare<[], number>('SELECT item_id FROM items').pluck();
    this.countRatings = db.prepare<[], number>('SELECT COUNT(*) FROM ratings').pluck();
    this.deleteRatings = db.prepare('DELETE FROM ratings');
    this.deleteUsers = db.prepare('DELETE FROM users');
    this.deleteItems = db.prepare('DELETE FROM items');
    this.deleteDatasets = db.prepare('DELETE FROM datasets');
    this.retireCurrentModel = db.prepare('UPDATE model_versions SET is_current = 0 WHERE is_current = 1');
    this.upsertItem = db.prepare(
      `INSERT INTO items (item_id, title, year, genres, search_key) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(item_id) DO UPDATE SET
         title = excluded.title, year = excluded.year, genres = excluded.genres, search_key = excluded.search_key
       WHERE items.title IS NOT excluded.title OR items.year IS NOT excluded.year OR items.genres IS NOT excluded.genres`,
    );
    // Demographics are refreshed; updated_at (API activity) is left alone.
    this.upsertUser = db.prepare(
      `INSERT INTO users (user_id, age, gender, occupation, zip_code) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(user_id) DO UPDATE SET
         age = excluded.age, gender = excluded.gender, occupation = excluded.occupation, zip_code = excluded.zip_code
       WHERE users.age IS NOT excluded.age OR users.gender IS NOT excluded.gender
         OR users.occupation IS NOT excluded.occupation OR users.zip_code IS NOT excluded.zip_code`,
    );
    this.insertUserIfMissing = db.prepare('INSERT INTO users (user_id) VALUES (?) ON CONFLICT(user_id) DO NOTHING');
    this.insertDataset = db.prepare(
      `INSERT INTO datasets (source, layout, fingerprint, rating_levels, users, items, ratings, skipped, imported_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.countAll = db.prepare(
      'SELECT (SELECT COUNT(*) FROM users) AS users, (SELECT COUNT(*) FROM items) AS items, (SELECT COUNT(*) FROM ratings) AS ratings',
    );
    this.readGeneration = db.prepare<[], number>('SELECT generation FROM catalog_state WHERE id = 1').pluck();
    this.bumpGeneration = db.prepare('UPDATE catalog_state SET generation = generation + 1 WHERE id = 1');
    const transaction = db.transaction((header: Header, source: RatingSource, options: ImportOptions) =>
      this.write(header, source, options),
    );
    this.run = (header, source, options) => transaction.immediate(header, source, options);
  }

  /** A catalog held in memory (the demo generator, tests): every rating must be on `ratingLevels`. */
  importCatalog(data: CatalogImport, options: ImportOptions = {}): ImportSummary {
    return this.bulk(data, inMemoryRatingSource(data), options);
  }

  /** A catalog whose ratings are streamed (a MovieLens folder): see StreamedCatalogImport. */
  importStream(data: StreamedCatalogImport, options: ImportOptions = {}): ImportSummary {
    return this.bulk(data, streamedRatingSource(data), options);
  }

  /** Runs the write transaction with the connection set up for a bulk load, restoring it afterwards. */
  private bulk(header: Header, source: RatingSource, options: ImportOptions): ImportSummary {
    const db = this.db;
    // Both pragmas are no-ops inside an open transaction (then the load is merely slower); they are
    // restored whatever happens.
    const foreignKeys = db.pragma('foreign_keys', { simple: true }) as number;
    const cacheSize = db.pragma('cache_size', { simple: true }) as number;
    this.normalCacheSize = cacheSize;
    if (!db.inTransaction) db.pragma('foreign_keys = OFF');
    db.pragma(`cache_size = -${BULK_CACHE_KIB}`);
    try {
      return this.run(header, source, options);
    } finally {
      db.pragma(`cache_size = ${cacheSize}`);
      if (!db.inTransaction) db.pragma(`foreign_keys = ${foreignKeys}`);
    }
  }

  private write(header: Header, source: RatingSource, options: ImportOptions): ImportSummary {
    const where = `cannot import ${header.source}`;
    if (source.declaredLevels) validateLevels(source.declaredLevels, where);
    validateRecords(header, where);
    const fingerprint = header.fingerprint ?? namedFingerprint(header.layout, header.source);
    const stored = this.currentDataset.get() ?? null;
    const replacing = stored !== null && this.decideReplace(stored, header, fingerprint, options.mode ?? 'auto');
    const storedRatings = replacing ? 0 : (this.countRatings.get() as number);

    let replaced: ReplacedCatalog | null = null;
    if (replacing && stored) {
      replaced = this.exportApiRatings(stored.source, options.exportPath, where);
    }
    try {
      return this.load(header, source, options, { where, fingerprint, stored, replaced, storedRatings });
    } catch (error) {
      // The transaction rolls back: nothing was deleted, so the export would only mislead.
      if (replaced?.exportPath) unlinkSync(replaced.exportPath);
      throw error;
    }
  }

  /**
   * Whether this import replaces the stored catalog (see the head of the file). Throws
   * CatalogReplaceRefusedError when it would replace it implicitly.
   */
  private decideReplace(stored: StoredDataset, header: Header, fingerprint: string, mode: ImportMode): boolean {
    const why = replaceReason(stored, header, fingerprint, mode, () => sameItems(header.items, this.storedItemTitles.iterate()));
    if (why === null) return false;
    if (mode === 'replace') return true;
    refuseImplicitReplace(stored, header, why, this.countApiRatings.get()!, this.countRatings.get()!);
    return true;
  }

  /**
   * Before a replacement deletes them, writes the ratings written through the API to `exportPath` as CSV
   * (the header and columns of MovieLens' ratings.csv), inside the import's transaction: what is exported
   * is exactly what is deleted.
   */
  private exportApiRatings(source: string, exportPath: string | undefined, where: string): ReplacedCatalog {
    const api = this.countApiRatings.get() as { ratings: number; users: number };
    if (api.ratings === 0) return { source, apiRatings: 0, apiUsers: 0, exportPath: null };
    if (exportPath === undefined) {
      throw missingExportPath(where, api.ratings);
    }
    writeApiRatingsCsv(exportPath, this.apiRatings.iterate());
    return { source, apiRatings: api.ratings, apiUsers: api.users, exportPath };
  }

  private load(
    header: Header,
    source: RatingSource,
    options: ImportOptions,
    context: { where: string; fingerprint: string; stored: StoredDataset | null; replaced: ReplacedCatalog | null; storedRatings: number },
  ): ImportSummary {
    const { db } = this;
    const { where, fingerprint, stored, replaced, storedRatings } = context;
    const replacing = replaced !== null;
    // Rows added, changed or deleted: whether the catalog generation moves.
    let changedRows = 0;
    if (replacing) {
      changedRows++;
      this.deleteRatings.run();
      this.deleteUsers.run();
      this.deleteItems.run();
      this.deleteDatasets.run();
      this.retireCurrentModel.run();
    }
    // Items the ratings may name: the stored ones (a refresh may import ratings alone) and the new ones.
    const knownItems = new Set<number>(replacing ? [] : this.storedItemIds.all());
    for (const item of header.items) {
      changedRows += this.upsertItem.run(
        item.itemId,
        item.title,
        item.year,
        JSON.stringify(item.genres),
        itemSearchKey(item.title),
      ).changes;
      knownItems.add(item.itemId);
    }
    for (const user of header.users ?? []) {
      changedRows += this.upsertUser.run(user.userId, user.age, user.gender, user.occupation, user.zipCode).changes;
    }

    // Straight into an empty table, with its secondary index rebuilt once at the end; else via staging.
    const direct = this.countRatings.get() === 0;
    let table = 'ratings';
    if (direct) db.prepare('DROP INDEX IF EXISTS ratings_by_item').run();
    else {
      table = 'temp.import_ratings';
      db.prepare('DROP TABLE IF EXISTS temp.import_ratings').run();
      db.prepare(
        `CREATE TABLE temp.import_ratings (
          user_id INTEGER NOT NULL, item_id INTEGER NOT NULL, value REAL NOT NULL, timestamp INTEGER NOT NULL,
          PRIMARY KEY (user_id, item_id)
        ) WITHOUT ROWID`,
      ).run();
    }
    const upsertClause = 'ON CONFLICT(user_id, item_id) DO UPDATE SET value = excluded.value, timestamp = excluded.timestamp';
    // Into ratings: a row equal to the stored one is left alone, so it does not count as a change; a rating
    // written through the API gives way only to a newer one from the file (it is then the file's).
    const mergeClause = `ON CONFLICT(user_id, item_id) DO UPDATE SET value = excluded.value, timestamp = excluded.timestamp, from_api = 0
      WHERE CASE WHEN ratings.from_api = 0
        THEN ratings.value IS NOT excluded.value OR ratings.timestamp IS NOT excluded.timestamp
        ELSE excluded.timestamp > ratings.timestamp END`;
    const insertSql = (rows: number): string =>
      `INSERT INTO ${table} (user_id, item_id, value, timestamp) VALUES ${Array(rows).fill('(?, ?, ?, ?)').join(', ')} ${upsertClause}`;
    const insertBatch = db.prepare(insertSql(BATCH_ROWS));
    const params: number[] = new Array<number>(4 * BATCH_ROWS).fill(0);
    let pending = 0;

    const checks = new RatingRowChecks(where, header, source, knownItems);
    let lastDone = 0;
    let lastTotal = 0;
    const progress = (done: number, total: number): void => {
      lastDone = done;
      lastTotal = total;
      options.onProgress?.(done, total, checks.rowsRead);
    };

    source.forEachRating((userId, itemId, value, timestamp, line) => {
      if (!checks.accept(userId, itemId, value, timestamp, line)) return;
      const at = 4 * pending;
      params[at] = userId;
      params[at + 1] = itemId;
      params[at + 2] = value;
      params[at + 3] = timestamp;
      if (++pending === BATCH_ROWS) {
        insertBatch.run(params);
        pending = 0;
      }
    }, progress);
    if (pending > 0) db.prepare(insertSql(pending)).run(params.slice(0, 4 * pending));
    // The scale before anything else is written (a refusal rolls the whole import back).
    checks.checkScale({ allowScale: options.allowScale, storedRatings });

    // Users known only from their ratings get a bare row (what the ratings' foreign key refers to).
    for (const userId of [...checks.ratingUsers].sort((a, b) => a - b)) changedRows += this.insertUserIfMissing.run(userId).changes;

    let distinctPairs: number;
    if (direct) {
      distinctPairs = this.countRatings.get() as number;
      changedRows += distinctPairs;
      // The index sort runs in cache-sized runs merged from temporary files; with the bulk load's large
      // cache each run is one huge in-memory sort with poor locality, about three times the CPU.
      db.pragma(`cache_size = ${this.normalCacheSize}`);
      db.prepare(RATINGS_BY_ITEM_INDEX).run();
    } else {
      distinctPairs = db.prepare<[], number>('SELECT COUNT(*) FROM temp.import_ratings').pluck().get() as number;
      changedRows += db
        .prepare(
          `INSERT INTO ratings (user_id, item_id, value, timestamp)
           SELECT user_id, item_id, value, timestamp FROM temp.import_ratings WHERE true ${mergeClause}`,
        )
        .run().changes;
      // A rating marked as written through the API that the file holds unchanged is the file's (databases
      // migrated from before the mark over-mark, see migration 5). Not a change of the catalog.
      db.prepare(
        `UPDATE ratings SET from_api = 0 WHERE from_api = 1 AND EXISTS (SELECT 1 FROM temp.import_ratings AS file
           WHERE file.user_id = ratings.user_id AND file.item_id = ratings.item_id
             AND file.value = ratings.value AND file.timestamp = ratings.timestamp)`,
      ).run();
    }
    options.onProgress?.(lastTotal === 0 ? lastDone : lastTotal, lastTotal, checks.rowsRead);

    const ratingLevels = checks.ratingLevels(distinctPairs, () =>
      db
        .prepare<[], number>(`SELECT DISTINCT value FROM ${direct ? 'ratings' : 'temp.import_ratings'}`)
        .pluck()
        .all(),
    );
    const changed = changedRows > 0;
    if (changed) this.bumpGeneration.run();
    const skipped = checks.skipped(distinctPairs);
    if (!direct) db.prepare('DROP TABLE temp.import_ratings').run();
    const counts = this.countAll.get() as { users: number; items: number; ratings: number };
    const outcome = {
      header,
      fingerprint,
      counts,
      ratingLevels,
      skipped,
      importedAt: Date.now(),
      stored,
      replacing,
      replaced,
      rowsRead: checks.rowsRead,
      catalogGeneration: this.readGeneration.get() as number,
      changed,
    };
    // One row: the data set the catalog holds, now known by this path and fingerprint.
    if (stored && !replacing) this.updateDataset.run(...datasetRow(outcome), stored.id);
    else this.insertDataset.run(...datasetRow(outcome));
    return importSummary(outcome);
  }
}

export type { ImportMode, RatingRowSink };
