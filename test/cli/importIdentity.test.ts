/**
 * A data set is identified by what it is (its fingerprint), not by the path it was read from: the same
 * folder through a symlink, copied or moved is merged and keeps every rating written through the API;
 * another data set is refused unless --replace (which first exports the ratings written through the API) or
 * --merge; only the built-in demo catalog is replaced by a first real import, and only while nobody rated
 * it through the API. Databases from before the fingerprint keep working.
 */
import { existsSync, readdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatImportReport, parseImportArgs, runImport, UsageError, type ImportReport } from '../../src/cli/importCommand.js';
import { CatalogReplaceRefusedError, CatalogStore, ModelStore, openDatabase, type Database } from '../../src/store/index.js';
import { seedDemoCatalogIfEmpty } from '../../src/store/seed.js';
import { copyFolder, dumpDatabase, FIXTURES, tempFolder } from '../helpers/dataFiles.js';

const quiet = { write: () => true, isTTY: false };

let temp: ReturnType<typeof tempFolder>;
let dbPath: string;
beforeEach(() => {
  temp = tempFolder();
  dbPath = join(temp.dir, 'db', 'recommender.db');
});
afterEach(() => temp.cleanup());

const importFolder = (dataFolder: string, extra: Partial<Parameters<typeof runImport>[0]> = {}): Promise<ImportReport> =>
  runImport({ dataFolder, dbPath, ...extra }, quiet);

function withDb<T>(use: (db: Database, store: CatalogStore) => T): T {
  const db = openDatabase(dbPath);
  try {
    return use(db, new CatalogStore(db));
  } finally {
    db.close();
  }
}

/** Ratings posted through the API as the server stores them: a new user 42, and file user 1 on a new item. */
function postApiRatings(): void {
  withDb((_db, store) => {
    store.upsertRating(42, 1, 5, 1_700_000_000);
    store.upsertRating(42, 3, 2, 1_700_000_001);
    store.upsertRating(1, 3, 4, 1_700_000_002);
  });
}

const apiRatingsNow = (): unknown[] =>
  withDb((_db, store) => [store.getUserRatings(42), store.getUserRatings(1).find((r) => r.itemId === 3)]);

const EXPECTED_API_RATINGS = [
  [
    { itemId: 1, value: 5, timestamp: 1_700_000_000 },
    { itemId: 3, value: 2, timestamp: 1_700_000_001 },
  ],
  { itemId: 3, value: 4, timestamp: 1_700_000_002 },
];

describe('the same data set from any path', () => {
  it('is merged through a symlink, from a copy and after a move, keeping every rating written through the API', async () => {
    const original = copyFolder(join(FIXTURES, '100k'), temp.dir, 'ml-100k');
    const first = await importFolder(original);
    expect(first.fingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
    withDb((db) => new ModelStore(db).saveVersion({ trainedOn: 'fixture' }, { W: new Float32Array([1]) }));
    postApiRatings();
    const counts = withDb((_db, store) => store.counts());

    const link = join(temp.dir, 'linked');
    symlinkSync(original, link);
    const copy = copyFolder(original, temp.dir, 'copied');
    const moved = join(temp.dir, 'moved');
    for (const [folder, before] of [
      [link, original],
      [copy, link],
      [moved, copy],
    ]) {
      if (folder === moved) renameSync(original, moved);
      const report = await importFolder(folder);
      expect(report).toMatchObject({
        replacedSource: null,
        replaced: null,
        mergedFrom: before,
        fingerprint: first.fingerprint,
        changed: false,
      });
      const text = formatImportReport(report);
      expect(text).not.toContain('replaced the catalog');
      expect(text).toContain(`merged into the same data set, imported before from ${before}; ratings written through the API kept`);
      expect(apiRatingsNow()).toEqual(EXPECTED_API_RATINGS);
      expect(withDb((_db, store) => store.counts())).toEqual(counts);
      // The model stays current: nothing changed.
      expect(withDb((db) => new ModelStore(db).currentId())).not.toBeNull();
    }
    expect(withDb((_db, store) => store.datasetInfo()?.source)).toBe(moved);
  });

  it('keeps an API rating over an older file row for the same (user, item), and takes a newer file row', async () => {
    const folder = copyFolder(join(FIXTURES, 'csv'), temp.dir);
    await importFolder(folder);
    // The file has user 1 → item 1 at 4.5 (timestamp 1260759144).
    withDb((_db, store) => store.upsertRating(1, 1, 2.5, 1_700_000_000));
    await importFolder(folder);
    const rating = (): unknown => withDb((_db, store) => store.getUserRatings(1).find((r) => r.itemId === 1));
    expect(rating()).toEqual({ itemId: 1, value: 2.5, timestamp: 1_700_000_000 });
    // A newer export with a later rating of that pair: the file's is newer, so it wins.
    const ratings = join(folder, 'ratings.csv');
    writeFileSync(ratings, readFileSync(ratings, 'utf8').replace('1,1,4.5,1260759144', '1,1,3,1800000000'));
    await importFolder(folder);
    expect(rating()).toEqual({ itemId: 1, value: 3, timestamp: 1_800_000_000 });
    expect(withDb((db) => db.prepare('SELECT COUNT(*) FROM ratings WHERE from_api = 1').pluck().get())).toBe(0);
  });
});

describe('another data set', () => {
  it('is refused while the database holds ratings written through the API, naming how many, and changes nothing', async () => {
    await importFolder(join(FIXTURES, '100k'));
    postApiRatings();
    const before = withDb((db) => dumpDatabase(db));
    const refusal = importFolder(join(FIXTURES, 'csv'));
    await expect(refusal).rejects.toBeInstanceOf(CatalogReplaceRefusedError);
    await expect(refusal).rejects.toThrow(
      `${join(FIXTURES, 'csv')} is another data set than the one in the database (imported from ${join(FIXTURES, '100k')}: ` +
        'layout 100k, not csv); replacing that catalog would delete 3 ratings written through the API by 2 users. Nothing was changed. ' +
        'Import with --replace',
    );
    expect(withDb((db) => dumpDatabase(db))).toEqual(before);
    expect(readdirSync(join(temp.dir, 'db')).filter((name) => name.endsWith('.csv'))).toEqual([]);
  });

  it('with --replace: exports those ratings to a CSV beside the database, says where, then replaces the catalog', async () => {
    await importFolder(join(FIXTURES, '100k'));
    postApiRatings();
    const report = await importFolder(join(FIXTURES, 'csv'), { mode: 'replace' });
    const exportPath = report.replaced?.exportPath ?? '';
    expect(report.replaced).toMatchObject({ source: join(FIXTURES, '100k'), apiRatings: 3, apiUsers: 2 });
    expect(exportPath.startsWith(join(temp.dir, 'db', 'recommender.replaced-api-ratings-'))).toBe(true);
    expect(readFileSync(exportPath, 'utf8')).toBe(
      'userId,movieId,rating,timestamp\n1,3,4,1700000002\n42,1,5,1700000000\n42,3,2,1700000001\n',
    );
    expect(formatImportReport(report)).toContain(`deleted 3 ratings written through the API by 2 users; exported first to ${exportPath}`);
    expect(withDb((_db, store) => [store.getUser(42), store.counts()])).toEqual([null, { users: 3, items: 5, ratings: 6 }]);
  });

  it('with --merge: merged whatever its fingerprint, keeping them', async () => {
    await importFolder(join(FIXTURES, '100k'));
    postApiRatings();
    const edited = copyFolder(join(FIXTURES, '100k'), temp.dir);
    // A newer export: the movie file gained a movie, so the fingerprint changed.
    writeFileSync(
      join(edited, 'u.item'),
      Buffer.concat([readFileSync(join(edited, 'u.item')), Buffer.from('7|New Film (2020)|01-Jan-2020||x|0|1|0|0\n')]),
    );
    await expect(importFolder(edited)).rejects.toThrow('its movie files differ');
    const report = await importFolder(edited, { mode: 'merge' });
    expect(report).toMatchObject({ replaced: null, items: 7 });
    expect(apiRatingsNow()).toEqual(EXPECTED_API_RATINGS);
    // The new fingerprint is recorded: the next import of that folder merges without --merge.
    await expect(importFolder(edited)).resolves.toMatchObject({ changed: false });
  });

  it('never replaces another data set implicitly, even when nothing was written through the API', async () => {
    await importFolder(join(FIXTURES, '100k'));
    const before = withDb((db) => db.prepare('SELECT COUNT(*) FROM ratings').pluck().get());
    await expect(importFolder(join(FIXTURES, 'csv'))).rejects.toThrow(
      `importing it would replace that catalog and its ${String(before)} ratings. Nothing was changed. Import with --replace`,
    );
    expect(withDb((db) => db.prepare('SELECT COUNT(*) FROM ratings').pluck().get())).toBe(before);
    const report = await importFolder(join(FIXTURES, 'csv'), { mode: 'replace' });
    expect(report).toMatchObject({ replacedSource: join(FIXTURES, '100k'), replaced: { apiRatings: 0, exportPath: null } });
    expect(formatImportReport(report)).toContain(`replaced the catalog of ${join(FIXTURES, '100k')}`);
  });

  it('replaces the built-in demo catalog on a first real import, unless it was rated through the API', async () => {
    withDb((_db, store) => seedDemoCatalogIfEmpty(store, { users: 30, items: 40, ratings: 300 }));
    withDb((_db, store) => store.upsertRating(7, 3, 4, 1_700_000_000));
    await expect(importFolder(join(FIXTURES, '100k'))).rejects.toThrow('would delete 1 rating written through the API by 1 user');
    withDb((db) => db.prepare('UPDATE ratings SET from_api = 0').run());
    const report = await importFolder(join(FIXTURES, '100k'));
    expect(report.replacedSource).toMatch(/^demo:/);
    expect(withDb((_db, store) => store.counts().items)).toBe(report.items);
  });

  it('takes --replace or --merge, not both', () => {
    expect(parseImportArgs(['--data', 'd', '--replace'], {})).toMatchObject({ mode: 'replace' });
    expect(parseImportArgs(['--data', 'd', '--merge'], {})).toMatchObject({ mode: 'merge' });
    expect(() => parseImportArgs(['--data', 'd', '--merge', '--replace'], {})).toThrow(UsageError);
  });
});

describe('a database from before fingerprints (schema 4)', () => {
  /** Turns the database back into what schema 4 wrote: no fingerprint, no from_api mark. */
  function downgradeToSchema4(): void {
    withDb((db) => {
      db.exec(`DROP INDEX ratings_from_api; ALTER TABLE ratings DROP COLUMN from_api;
               ALTER TABLE datasets DROP COLUMN fingerprint; DROP TABLE rate_limit_hits;
               DELETE FROM schema_version WHERE version >= 5`);
    });
  }

  it('migrates: merges the same data set from another path (same items), keeping API ratings, and records its fingerprint', async () => {
    await importFolder(copyFolder(join(FIXTURES, '100k'), temp.dir, 'old-path'));
    postApiRatings();
    downgradeToSchema4();
    // Opening migrates: every rating of a user who rated through the API is marked (user 1: 3 ratings, 42: 2).
    expect(withDb((db) => db.prepare('SELECT COUNT(*) FROM ratings WHERE from_api = 1').pluck().get())).toBe(5);
    expect(withDb((db) => db.prepare('SELECT fingerprint FROM datasets').pluck().get())).toBeNull();

    const report = await importFolder(join(FIXTURES, '100k'));
    expect(report).toMatchObject({ replaced: null, mergedFrom: join(temp.dir, 'old-path'), changed: false });
    expect(apiRatingsNow()).toEqual(EXPECTED_API_RATINGS);
    // The merge unmarked user 1's ratings that the file holds unchanged; the three API ones stay marked.
    expect(withDb((db) => db.prepare('SELECT COUNT(*) FROM ratings WHERE from_api = 1').pluck().get())).toBe(3);
    expect(withDb((db) => db.prepare('SELECT fingerprint FROM datasets').pluck().get())).toBe(report.fingerprint);
  });

  it('refuses another data set while API ratings exist (counting every rating of their users)', async () => {
    await importFolder(join(FIXTURES, '100k'));
    postApiRatings();
    downgradeToSchema4();
    await expect(importFolder(join(FIXTURES, 'csv'))).rejects.toThrow(
      'another path, and other movies); replacing that catalog would delete 5 ratings written through the API by 2 users',
    );
    expect(existsSync(dbPath)).toBe(true);
  });
});
