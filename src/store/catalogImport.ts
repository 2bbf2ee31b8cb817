/**
 * Writing a whole catalog (CatalogData) into the database in ONE transaction.
 *
 * Semantics, chosen so that re-running an import is always safe:
 * - Same source as the data set already stored: upsert. Items, users and ratings are inserted or
 *   replaced by id, so importing the same folder twice leaves every row as it was. Ratings posted through
 *   the API in between are kept (a file row for the same (user, item) wins, being the import's truth).
 * - Another source (e.g. the demo catalog, then real MovieLens): the catalog is replaced. Ids from two
 *   sources name different movies, so mixing them would be wrong. Users, items, ratings and data set rows
 *   are deleted first, and no model version stays current: a model trained on the old catalog indexes
 *   items that no longer exist. Old versions stay listed for reference.
 * Everything is validated before the first write, and any error (even mid-way) rolls back: the database is
 * then exactly as before. The scale is checked too (data/scaleCheck.ts): an import that would leave the
 * catalog without ratings, with more than 20 levels or with outlier levels is refused.
 *
 * Concurrency: the transaction is IMMEDIATE (takes the write lock at BEGIN). A deferred transaction would
 * start as a read and upgrade at its first write; under WAL that upgrade fails at once with SQLITE_BUSY
 * when another connection wrote meanwhile, and no busy timeout helps.
 *
 * Every import that changes a row bumps the catalog generation (catalog_state), which model versions
 * record: a model trained on generation g is stale once the generation moves past g. Upserts leave rows
 * that are already equal untouched (their WHERE), so re-importing the same folder changes nothing and
 * keeps the generation.
 */
import type { Database, Statement } from 'better-sqlite3';
import type { CatalogData, SkipCount } from '../data/catalog.js';
import { levelIndexOf } from '../data/dataset.js';
import { checkRatingScale, MAX_RATING_LEVELS, RatingScaleError } from '../data/scaleCheck.js';
import { itemSearchKey } from '../data/titles.js';

/** What `importCatalog` needs; `users` and `skipped` are optional. */
export type CatalogImport = Pick<CatalogData, 'source' | 'layout' | 'items' | 'ratings' | 'ratingLevels'> &
  Partial<Pick<CatalogData, 'users' | 'skipped'>>;

export interface ImportSummary {
  source: string;
  layout: string;
  /** Rows in the database after the import. */
  users: number;
  items: number;
  ratings: number;
  ratingLevels: number[];
  skipped: SkipCount[];
  /** The source whose catalog this import replaced, or null when it added to / refreshed the same one. */
  replacedSource: string | null;
  /** The catalog generation after the import; it moved iff `changed`. */
  catalogGeneration: number;
  /** Whether any row was added, changed or deleted (a re-import of identical data changes nothing). */
  changed: boolean;
  importedAt: number;
}

export interface ImportOptions {
  /** Called every few thousand rows written, and once at the end. */
  onProgress?: (rowsWritten: number, totalRows: number) => void;
  /** Accept rare (outlier) rating levels as they are (`--allow-scale`). */
  allowScale?: boolean;
  /** file:line places of a rating value, for error messages (the reader's RatingValueLines). */
  locateValue?: (value: number) => string[];
}

const PROGRESS_EVERY_ROWS = 10_000;

export class CatalogImporter {
  private readonly currentSource: Statement<[], { source: string }>;
  private readonly itemExists: Statement<[number], number>;
  private readonly deleteRatings: Statement<[]>;
  private readonly deleteUsers: Statement<[]>;
  private readonly deleteItems: Statement<[]>;
  private readonly deleteDatasets: Statement<[]>;
  private readonly retireCurrentModel: Statement<[]>;
  private readonly upsertItem: Statement<[number, string, number | null, string, string]>;
  private readonly upsertUser: Statement<[number, number | null, string | null, string | null, string | null]>;
  private readonly insertUserIfMissing: Statement<[number]>;
  private readonly upsertRating: Statement<[number, number, number, number]>;
  private readonly upsertDataset: Statement<[string, string, string, number, number, number, string, number]>;
  private readonly countAll: Statement<[], { users: number; items: number; ratings: number }>;
  private readonly readGeneration: Statement<[], number>;
  private readonly bumpGeneration: Statement<[]>;
  private readonly run: (data: CatalogImport, options: ImportOptions) => ImportSummary;

  constructor(db: Database) {
    this.currentSource = db.prepare('SELECT source FROM datasets ORDER BY imported_at DESC, id DESC LIMIT 1');
    this.itemExists = db.prepare<[number], number>('SELECT 1 FROM items WHERE item_id = ?').pluck();
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
    this.upsertRating = db.prepare(
      `INSERT INTO ratings (user_id, item_id, value, timestamp) VALUES (?, ?, ?, ?)
       ON CONFLICT(user_id, item_id) DO UPDATE SET value = excluded.value, timestamp = excluded.timestamp
       WHERE ratings.value IS NOT excluded.value OR ratings.timestamp IS NOT excluded.timestamp`,
    );
    this.upsertDataset = db.prepare(
      `INSERT INTO datasets (source, layout, rating_levels, users, items, ratings, skipped, imported_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(source) DO UPDATE SET
         layout = excluded.layout, rating_levels = excluded.rating_levels, users = excluded.users,
         items = excluded.items, ratings = excluded.ratings, skipped = excluded.skipped,
         imported_at = excluded.imported_at`,
    );
    this.countAll = db.prepare(
      'SELECT (SELECT COUNT(*) FROM users) AS users, (SELECT COUNT(*) FROM items) AS items, (SELECT COUNT(*) FROM ratings) AS ratings',
    );
    this.readGeneration = db.prepare<[], number>('SELECT generation FROM catalog_state WHERE id = 1').pluck();
    this.bumpGeneration = db.prepare('UPDATE catalog_state SET generation = generation + 1 WHERE id = 1');
    const transaction = db.transaction((data: CatalogImport, options: ImportOptions) => this.write(data, options));
    this.run = (data, options) => transaction.immediate(data, options);
  }

  importCatalog(data: CatalogImport, options: ImportOptions = {}): ImportSummary {
    return this.run(data, options);
  }

  private write(data: CatalogImport, options: ImportOptions): ImportSummary {
    const previousSource = this.currentSource.get()?.source ?? null;
    const replacing = previousSource !== null && previousSource !== data.source;
    // The scale first: its messages name values and file:line, which beats "not on ratingLevels".
    checkRatingScale(
      data.ratings.map((r) => r.value),
      {
        source: data.source,
        allowScale: options.allowScale,
        locate: options.locateValue,
        storedRatings: replacing ? 0 : (this.countAll.get()?.ratings ?? 0),
      },
    );
    validate(data, replacing ? () => false : (itemId) => this.itemExists.get(itemId) !== undefined);

    let changedRows = 0;
    if (replacing) {
      changedRows++;
      this.deleteRatings.run();
      this.deleteUsers.run();
      this.deleteItems.run();
      this.deleteDatasets.run();
      this.retireCurrentModel.run();
    }

    // Users known only from their ratings get a bare row (the ratings' foreign key needs one).
    const ratingUsers = new Set<number>();
    for (const rating of data.ratings) ratingUsers.add(rating.userId);
    const totalRows = data.items.length + (data.users?.length ?? 0) + ratingUsers.size + data.ratings.length;
    let written = 0;
    const tick = (): void => {
      written++;
      if (options.onProgress && written % PROGRESS_EVERY_ROWS === 0) options.onProgress(written, totalRows);
    };

    for (const item of data.items) {
      changedRows += this.upsertItem.run(item.itemId, item.title, item.year, JSON.stringify(item.genres), itemSearchKey(item.title)).changes;
      tick();
    }
    for (const user of data.users ?? []) {
      changedRows += this.upsertUser.run(user.userId, user.age, user.gender, user.occupation, user.zipCode).changes;
      tick();
    }
    for (const userId of ratingUsers) {
      changedRows += this.insertUserIfMissing.run(userId).changes;
      tick();
    }
    for (const rating of data.ratings) {
      changedRows += this.upsertRating.run(rating.userId, rating.itemId, rating.value, rating.timestamp).changes;
      tick();
    }
    options.onProgress?.(totalRows, totalRows);

    const counts = this.countAll.get() as { users: number; items: number; ratings: number };
    const skipped = data.skipped ?? [];
    const importedAt = Date.now();
    const changed = changedRows > 0;
    if (changed) this.bumpGeneration.run();
    this.upsertDataset.run(
      data.source,
      data.layout,
      JSON.stringify(data.ratingLevels),
      counts.users,
      counts.items,
      counts.ratings,
      JSON.stringify(skipped),
      importedAt,
    );
    return {
      source: data.source,
      layout: data.layout,
      ...counts,
      ratingLevels: [...data.ratingLevels],
      skipped,
      replacedSource: replacing ? previousSource : null,
      importedAt,
      catalogGeneration: this.readGeneration.get() as number,
      changed,
    };
  }
}

/**
 * Checks the whole catalog before anything is written, so errors name the offending record instead of
 * surfacing as "FOREIGN KEY constraint failed" from SQLite.
 */
function validate(data: CatalogImport, storedItemExists: (itemId: number) => boolean): void {
  const levels = data.ratingLevels;
  if (levels.length > MAX_RATING_LEVELS) {
    throw new RatingScaleError(
      `cannot import ${data.source}: ratingLevels lists ${levels.length} levels, more than the ${MAX_RATING_LEVELS} a rating scale may have`,
    );
  }
  if (levels.length === 0 && data.ratings.length > 0) {
    throw new Error(`cannot import ${data.source}: ratingLevels is empty but there are ${data.ratings.length} ratings`);
  }
  for (let k = 1; k < levels.length; k++) {
    if (!(levels[k] > levels[k - 1])) {
      throw new Error(`cannot import ${data.source}: ratingLevels must ascend strictly, got [${levels.join(', ')}]`);
    }
  }
  const isId = (id: number): boolean => Number.isSafeInteger(id) && id >= 0;
  const itemIds = new Set<number>();
  data.items.forEach((item, i) => {
    if (!isId(item.itemId)) throw new Error(`cannot import ${data.source}: item #${i + 1} has an invalid id ${item.itemId}`);
    itemIds.add(item.itemId);
  });
  data.users?.forEach((user, i) => {
    if (!isId(user.userId)) throw new Error(`cannot import ${data.source}: user #${i + 1} has an invalid id ${user.userId}`);
  });
  data.ratings.forEach((rating, r) => {
    const where = `cannot import ${data.source}: rating #${r + 1} (user ${rating.userId}, item ${rating.itemId})`;
    if (!isId(rating.userId)) throw new Error(`${where} has an invalid user id`);
    if (!itemIds.has(rating.itemId) && !storedItemExists(rating.itemId)) {
      throw new Error(`${where} names an item that is neither in the imported items nor in the database`);
    }
    if (levelIndexOf(levels, rating.value) < 0) {
      throw new Error(`${where} has value ${rating.value}, expected one of the rating levels [${levels.join(', ')}]`);
    }
    if (!Number.isSafeInteger(rating.timestamp)) throw new Error(`${where} has an invalid timestamp ${rating.timestamp}`);
  });
}
