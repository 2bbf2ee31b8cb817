import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CatalogData } from '../../src/data/catalog.js';
import { datasetFromTriples } from '../../src/data/dataset.js';
import { readMovieLensFolder } from '../../src/data/movielens.js';
import {
  CatalogStore,
  InvalidRatingError,
  LATEST_SCHEMA_VERSION,
  MIGRATIONS,
  ModelStore,
  openDatabase,
  UnknownItemError,
  type Database,
} from '../../src/store/index.js';
import { dumpDatabase, FIXTURES, tempFolder } from '../helpers/dataFiles.js';

let db: Database;
let store: CatalogStore;
let fixture100k: CatalogData;
let fixtureCsv: CatalogData;

beforeEach(async () => {
  db = openDatabase(':memory:');
  store = new CatalogStore(db);
  fixture100k = await readMovieLensFolder(join(FIXTURES, '100k'));
  fixtureCsv = await readMovieLensFolder(join(FIXTURES, 'csv'));
});
afterEach(() => db.close());

/** A dump without the import time, which a re-import legitimately refreshes. */
const dumpWithoutImportTime = (): Record<string, string> => dumpDatabase(db, ['datasets.imported_at']);

describe('openDatabase', () => {
  it("answers the change feed's question from an index, not a scan of every user", () => {
    const plan = db
      .prepare('EXPLAIN QUERY PLAN SELECT user_id, updated_at FROM users WHERE updated_at >= ?')
      .all(0)
      .map((row) => (row as { detail: string }).detail)
      .join('; ');
    expect(plan).toContain('USING COVERING INDEX users_by_updated_at');
  });

  it('creates parent folders, uses WAL and foreign keys, and records the schema version once', () => {
    const temp = tempFolder();
    try {
      const path = join(temp.dir, 'nested', 'deeper', 'recommender.db');
      const fileDb = openDatabase(path);
      expect(fileDb.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(fileDb.pragma('foreign_keys', { simple: true })).toBe(1);
      fileDb.close();
      const reopened = openDatabase(path);
      expect(reopened.prepare('SELECT version FROM schema_version').pluck().all()).toEqual(MIGRATIONS.map((m) => m.version));
      expect(MIGRATIONS[MIGRATIONS.length - 1].version).toBe(LATEST_SCHEMA_VERSION);
      reopened.close();
    } finally {
      temp.cleanup();
    }
  });

  it('refuses a database written by a newer schema', () => {
    const temp = tempFolder();
    try {
      const path = join(temp.dir, 'future.db');
      const fileDb = openDatabase(path);
      fileDb.prepare("INSERT INTO schema_version VALUES (99, 'from the future', 0)").run();
      fileDb.close();
      expect(() => openDatabase(path)).toThrow(`schema version 99 is newer than this program knows (up to ${LATEST_SCHEMA_VERSION})`);
    } finally {
      temp.cleanup();
    }
  });

  it('enforces foreign keys: a rating of an unknown item cannot be inserted behind the store', () => {
    expect(() => db.prepare('INSERT INTO ratings (user_id, item_id, value, timestamp) VALUES (1, 999, 3, 0)').run()).toThrow(/FOREIGN KEY/);
  });
});

describe('CatalogStore.importCatalog', () => {
  it('imports items, users (with and without demographics), ratings and the data set record', () => {
    const summary = store.importCatalog(fixture100k);
    // 5 users in u.user (user 5 rated nothing), 6 items, 8 ratings after the policy.
    expect(summary).toMatchObject({ users: 5, items: 6, ratings: 8, ratingLevels: [1, 2, 3, 4, 5], replacedSource: null });
    expect(store.counts()).toEqual({ users: 5, items: 6, ratings: 8 });
    expect(store.datasetInfo()).toMatchObject({ source: fixture100k.source, layout: '100k', ratingLevels: [1, 2, 3, 4, 5] });
    expect(store.getItem(2)).toEqual({ itemId: 2, title: 'Naïve Garçon, Le (1997)', year: 1997, genres: ['Comedy'] });
    expect(store.getUser(5)).toEqual({ userId: 5, updatedAt: null });
    expect(store.getUserRatings(1)).toEqual([
      { itemId: 1, value: 5, timestamp: 880000001 },
      { itemId: 2, value: 4, timestamp: 880000005 },
    ]);
    expect(store.isEmpty()).toBe(false);
  });

  it('changes nothing when the same catalog is imported twice', () => {
    store.importCatalog(fixture100k);
    const first = dumpWithoutImportTime();
    const again = store.importCatalog(fixture100k);
    expect(dumpWithoutImportTime()).toEqual(first);
    expect(again).toMatchObject({ users: 5, items: 6, ratings: 8 });
  });

  it('keeps ratings posted through the API when the same source is imported again', () => {
    store.importCatalog(fixture100k);
    store.upsertRating(77, 3, 5, 1_700_000_000);
    store.importCatalog(fixture100k);
    expect(store.getUserRatings(77)).toEqual([{ itemId: 3, value: 5, timestamp: 1_700_000_000 }]);
    expect(store.getUser(77)?.updatedAt).not.toBeNull();
  });

  it('replaces the catalog of another source and retires the current model', () => {
    store.importCatalog(fixture100k);
    const models = new ModelStore(db);
    const versionId = models.saveVersion({ trainedOn: '100k' }, { W: new Float32Array([1, 2]) });
    const before = dumpDatabase(db);
    // Never implicitly: without mode 'replace' it is refused, naming what would be lost.
    expect(() => store.importCatalog(fixtureCsv)).toThrow(
      `importing it would replace that catalog and its ${fixture100k.ratings.length} ratings. Nothing was changed.`,
    );
    expect(dumpDatabase(db)).toEqual(before);
    const summary = store.importCatalog(fixtureCsv, { mode: 'replace' });
    expect(summary.replacedSource).toBe(fixture100k.source);
    expect(store.counts()).toEqual({ users: 3, items: 5, ratings: 6 });
    expect(store.getItem(6)).toBeNull();
    expect(store.ratingLevels()).toEqual([0.5, 2.5, 3, 3.5, 4.5, 5]);
    expect(models.currentId()).toBeNull();
    expect(models.list()).toEqual([expect.objectContaining({ id: versionId, isCurrent: false })]);
  });

  it('writes nothing when a rating is off the scale, and says which rating', () => {
    store.importCatalog(fixture100k);
    const before = dumpDatabase(db);
    const bad = { ...fixtureCsv, ratings: [...fixtureCsv.ratings, { userId: 1, itemId: 1, value: 7, timestamp: 0 }] };
    expect(() => store.importCatalog(bad, { mode: 'replace' })).toThrow(
      `rating #7 (user 1, item 1) has value 7, expected one of the rating levels [0.5, 2.5, 3, 3.5, 4.5, 5]`,
    );
    expect(dumpDatabase(db)).toEqual(before);
  });

  it('writes nothing when a rating names an item that exists nowhere', () => {
    const before = dumpDatabase(db);
    const bad = { ...fixtureCsv, ratings: [{ userId: 1, itemId: 404, value: 3, timestamp: 0 }] };
    expect(() => store.importCatalog(bad)).toThrow(/rating #1 \(user 1, item 404\) names an item that is neither/);
    expect(dumpDatabase(db)).toEqual(before);
  });

  it('rolls back everything when SQLite fails half-way through the writes', () => {
    store.importCatalog(fixture100k);
    const before = dumpDatabase(db);
    // The 3rd item's genres cannot be serialised: the failure comes after the old catalog was deleted
    // (replaced) and two new items were written.
    const items = fixture100k.items.map((item, i) => (i === 2 ? { ...item, genres: [1n] as unknown as string[] } : item));
    expect(() => store.importCatalog({ ...fixture100k, source: 'elsewhere', items }, { mode: 'replace' })).toThrow(/BigInt/);
    expect(dumpDatabase(db)).toEqual(before);
  });
});

describe('CatalogStore queries', () => {
  beforeEach(() => {
    store.importCatalog(fixture100k);
  });

  it('searches titles ignoring accents and case, with the article in either place', () => {
    const titles = (query: string): string[] => store.searchItems(query, 10, 0).items.map((item) => item.title);
    expect(titles('cafe lumiere')).toEqual(['Café Lumière Redux (1999)']);
    expect(titles('CAFÉ')).toEqual(['Café Lumière Redux (1999)']);
    expect(titles('garcon')).toEqual(['Naïve Garçon, Le (1997)']);
    expect(titles('le naive')).toEqual(['Naïve Garçon, Le (1997)']);
    expect(titles('the quiet valley')).toEqual(['Quiet Valley, The (1985)']);
    expect(titles('no such film')).toEqual([]);
  });

  it('treats % and _ in a query literally', () => {
    expect(store.searchItems('%', 10, 0).total).toBe(0);
    expect(store.searchItems('_', 10, 0).total).toBe(0);
  });

  it('pages results with a total, titles starting with the query first', () => {
    const all = store.searchItems('', 100, 0);
    expect(all.total).toBe(6);
    const page = store.searchItems('', 2, 2);
    expect(page.total).toBe(6);
    expect(page.items).toEqual(all.items.slice(2, 4));
    // "n" starts "Naïve…" and "Night…", and occurs inside other titles.
    const n = store.searchItems('n', 10, 0).items.map((item) => item.itemId);
    expect(n.slice(0, 2).sort()).toEqual([2, 5]);
    expect(n.length).toBeGreaterThan(2);
  });

  it('filters by genre, and lists the genres', () => {
    expect(store.genres()).toEqual(['Action', 'Comedy', 'Drama', 'unknown']);
    const comedies = store.searchItems('', 10, 0, 'Comedy');
    expect(comedies.items.map((item) => item.itemId).sort()).toEqual([2, 5]);
    expect(comedies.total).toBe(2);
    expect(store.searchItems('night', 10, 0, 'drama').total).toBe(0);
  });

  it('rejects a negative or fractional limit or offset', () => {
    expect(() => store.searchItems('', -1, 0)).toThrow(RangeError);
    expect(() => store.searchItems('', 10, 0.5)).toThrow(RangeError);
  });

  it('gets items in the order asked, leaving unknown ids out', () => {
    expect(store.getItems([5, 404, 1]).map((item) => item.itemId)).toEqual([5, 1]);
    expect(store.getItems([])).toEqual([]);
    expect(store.getItem(404)).toBeNull();
  });

  it('records an API rating: creates the user, stamps updated_at, replaces an earlier value', () => {
    const before = Date.now();
    store.upsertRating(500, 3, 4, 1_700_000_000);
    const user = store.getUser(500);
    expect(user?.updatedAt).toBeGreaterThanOrEqual(before);
    expect(user?.updatedAt).toBeLessThanOrEqual(Date.now());
    store.upsertRating(500, 3, 2, 1_700_000_100);
    expect(store.getUserRatings(500)).toEqual([{ itemId: 3, value: 2, timestamp: 1_700_000_100 }]);
    // An imported user gets updated_at too.
    store.upsertRating(1, 6, 3, 1_700_000_200);
    expect(store.getUser(1)?.updatedAt).not.toBeNull();
  });

  it('refuses a rating of an unknown item or off the scale, writing nothing', () => {
    const before = dumpDatabase(db);
    expect(() => store.upsertRating(500, 404, 4, 0)).toThrow(UnknownItemError);
    expect(() => store.upsertRating(500, 3, 4.5, 0)).toThrow(InvalidRatingError);
    expect(() => store.upsertRating(500, 3, 4.5, 0)).toThrow("rating 4.5 is not on the data set's scale: expected one of 1, 2, 3, 4, 5");
    expect(dumpDatabase(db)).toEqual(before);
  });

  it('loads a Dataset over all users and items, rated or not, in ascending id order', () => {
    const dataset = store.loadDataset();
    expect(dataset.userIds).toEqual([1, 2, 3, 4, 5]);
    expect(dataset.itemIds).toEqual([1, 2, 3, 4, 5, 6]);
    const triples = db.prepare('SELECT user_id AS userId, item_id AS itemId, value FROM ratings ORDER BY user_id, item_id').all() as {
      userId: number;
      itemId: number;
      value: number;
    }[];
    expect(dataset).toEqual(
      datasetFromTriples(triples, { ratingLevels: [1, 2, 3, 4, 5], userIds: [1, 2, 3, 4, 5], itemIds: [1, 2, 3, 4, 5, 6] }),
    );
  });

  it('iterates user ids lazily in pages, letting the caller write meanwhile', () => {
    const seen: number[] = [];
    for (const userId of store.iterateUserIds(2)) {
      seen.push(userId);
      if (userId === 2) store.upsertRating(900, 1, 5, 0);
    }
    expect(seen).toEqual([1, 2, 3, 4, 5, 900]);
  });
});

describe('CatalogStore without an imported data set', () => {
  it('is empty, and takes the rating levels from the ratings present', () => {
    expect(store.isEmpty()).toBe(true);
    expect(store.datasetInfo()).toBeNull();
    expect(store.ratingLevels()).toEqual([]);
    db.prepare("INSERT INTO items (item_id, title, year, genres, search_key) VALUES (1, 'A (2000)', 2000, '[]', 'a (2000)')").run();
    store.upsertRating(1, 1, 4, 0);
    store.upsertRating(2, 1, 2, 0);
    expect(store.ratingLevels()).toEqual([2, 4]);
    expect(store.loadDataset().ratingLevels).toEqual([2, 4]);
  });
});

describe('CatalogStore.importStream (the bulk path)', () => {
  const items = [1, 2, 3].map((itemId) => ({ itemId, title: `Movie ${itemId} (2001)`, year: 2001, genres: ['Drama'] }));
  /** Rows as a file would give them: (user, item, value, timestamp). */
  const streamOf = (rows: number[][], source = '/data/stream') => ({
    source,
    layout: 'csv' as const,
    items,
    forEachRating: (emit: (u: number, i: number, v: number, t: number) => void, progress: (done: number, total: number) => void) => {
      rows.forEach(([u, i, v, t], n) => {
        emit(u, i, v, t);
        progress(n + 1, rows.length);
      });
    },
  });
  const skippedCounts = (summary: { skipped: { count: number }[] }): number[] => summary.skipped.map((s) => s.count);

  it('keeps the last of duplicate rows, skips unknown items, and takes the scale from the rows kept', () => {
    // User 1 rates item 1 at 0.5, then again at 4: 0.5 is on no kept row, so it is not a level.
    const summary = store.importStream(
      streamOf([
        [1, 1, 0.5, 10],
        [1, 2, 3, 11],
        [2, 9, 5, 12],
        [1, 1, 4, 13],
        [2, 3, 2.5, 14],
      ]),
    );
    expect(summary).toMatchObject({ users: 2, items: 3, ratings: 3, rowsRead: 5, ratingLevels: [2.5, 3, 4] });
    expect(skippedCounts(summary)).toEqual([1, 1]);
    expect(store.getUserRatings(1)).toEqual([
      { itemId: 1, value: 4, timestamp: 13 },
      { itemId: 2, value: 3, timestamp: 11 },
    ]);
    // The secondary index is back, foreign keys are on again for everyone else.
    expect(db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'ratings_by_item'").pluck().get()).toBe(
      'ratings_by_item',
    );
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.prepare('PRAGMA foreign_key_check').all()).toEqual([]);
  });

  it("refreshes the same source through staging: counts only the file's own duplicates, keeps API ratings", () => {
    store.importStream(
      streamOf([
        [1, 1, 4, 10],
        [1, 2, 3, 11],
      ]),
    );
    store.upsertRating(7, 3, 3, 500);
    const again = store.importStream(
      streamOf([
        [1, 1, 3, 20],
        [1, 1, 4, 21],
        [2, 2, 4, 22],
      ]),
    );
    expect(skippedCounts(again)).toEqual([0, 1]);
    expect(again).toMatchObject({ users: 3, ratings: 4, replacedSource: null, ratingLevels: [4] });
    expect(store.getUserRatings(1)).toEqual([
      { itemId: 1, value: 4, timestamp: 21 },
      { itemId: 2, value: 3, timestamp: 11 },
    ]);
    expect(store.getUserRatings(7)).toEqual([{ itemId: 3, value: 3, timestamp: 500 }]);
    expect(db.prepare("SELECT COUNT(*) FROM temp.sqlite_master WHERE name = 'import_ratings'").pluck().get()).toBe(0);
  });

  it('rolls everything back when the stream fails late, and restores the connection', () => {
    store.importStream(streamOf([[1, 1, 4, 10]]));
    const before = dumpWithoutImportTime();
    const failing = {
      ...streamOf([], '/data/other'),
      forEachRating: (emit: (u: number, i: number, v: number, t: number) => void) => {
        for (let n = 0; n < 2000; n++) emit(n + 1, 1 + (n % 3), 3, n);
        throw new Error('ratings.csv:2001: expected 4 comma-separated fields');
      },
    };
    expect(() => store.importStream(failing, { mode: 'replace' })).toThrow('ratings.csv:2001: expected 4 comma-separated fields');
    expect(dumpWithoutImportTime()).toEqual(before);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.inTransaction).toBe(false);
  });
});
