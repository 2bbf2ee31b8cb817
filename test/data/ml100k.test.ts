/**
 * The real MovieLens 100K, read from beside the repository (../shared/datasets/ml-100k). Corrupted copies
 * are made in the system's temporary folder, never in the repository.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runImport } from '../../src/cli/importCommand.js';
import type { CatalogData } from '../../src/data/catalog.js';
import { readMovieLensFolder, readRatingsFile } from '../../src/data/movielens.js';
import { CatalogStore, openDatabase } from '../../src/store/index.js';
import { copyFolder, dumpDatabase, ML100K, replaceLine, tempFolderEachTest } from '../helpers/dataFiles.js';

const quiet = { write: () => true, isTTY: false };

const temp = tempFolderEachTest();

describe('MovieLens 100K', () => {
  let data: CatalogData;
  beforeAll(async () => {
    data = await readMovieLensFolder(ML100K);
  });

  it('reads 943 users, 1,682 items and 100,000 ratings on a 1–5 scale, nothing skipped', () => {
    expect(data.layout).toBe('100k');
    expect(data.users).toHaveLength(943);
    expect(data.items).toHaveLength(1682);
    expect(data.ratings).toHaveLength(100_000);
    expect(data.ratingLevels).toEqual([1, 2, 3, 4, 5]);
    expect(data.skipped.map((s) => s.count)).toEqual([0, 0]);
    expect(new Set(data.ratings.map((r) => r.userId)).size).toBe(943);
  });

  it('decodes u.item as ISO-8859-1 and splits the year', () => {
    const item543 = data.items.find((item) => item.itemId === 543);
    expect(item543).toMatchObject({ title: 'Misérables, Les (1995)', year: 1995 });
    // Every item but "unknown" (267) has a year; genres come from u.genre's names.
    expect(data.items.filter((item) => item.year === null).map((item) => item.itemId)).toEqual([267]);
    const genreNames = new Set(data.items.flatMap((item) => item.genres));
    expect(genreNames.size).toBe(19);
    expect(genreNames.has("Children's")).toBe(true);
  });

  it('reads the published splits as they are', async () => {
    const base = await readRatingsFile(join(ML100K, 'u1.base'), '100k');
    const test = await readRatingsFile(join(ML100K, 'u1.test'), '100k');
    expect(base).toHaveLength(80_000);
    expect(test).toHaveLength(20_000);
    expect(await readRatingsFile(join(ML100K, 'ua.test'), '100k')).toHaveLength(9_430);
    const pairs = new Set(base.map((r) => `${r.userId}:${r.itemId}`));
    expect(test.some((r) => pairs.has(`${r.userId}:${r.itemId}`))).toBe(false);
  });

  it('imports into SQLite; importing again changes nothing', async () => {
    const dbPath = join(temp.dir, 'ml100k.db');
    const report = await runImport({ dataFolder: ML100K, dbPath }, quiet);
    expect(report).toMatchObject({ users: 943, items: 1682, ratings: 100_000, ratingLevels: [1, 2, 3, 4, 5] });

    const db = openDatabase(dbPath);
    const store = new CatalogStore(db);
    expect(store.getItem(543)?.title).toBe('Misérables, Les (1995)');
    expect(store.searchItems('miserables', 10, 0).items.map((item) => item.itemId)).toContain(543);
    const dataset = store.loadDataset();
    expect(dataset.levels).toHaveLength(100_000);
    expect(dataset.itemIds).toHaveLength(1682);
    const before = dumpDatabase(db, ['datasets.imported_at']);
    db.close();

    const again = await runImport({ dataFolder: ML100K, dbPath }, quiet);
    expect(again).toMatchObject({ users: 943, items: 1682, ratings: 100_000, replacedSource: null });
    const reopened = openDatabase(dbPath);
    const after = dumpDatabase(reopened, ['datasets.imported_at']);
    reopened.close();
    expect(after).toEqual(before);
  });

  it('refuses a copy whose u.data line 501 is corrupt, naming line 501, and leaves the database as it was', async () => {
    const copy = copyFolder(ML100K, temp.dir, 'ml-100k-corrupt');
    const uData = join(copy, 'u.data');
    const original = readFileSync(uData, 'latin1').split('\n')[500];
    replaceLine(uData, 501, original.split('\t').slice(0, 2).join('\t'));

    // The database already holds a catalog (the demo-sized fixture would do; the real one is at hand).
    const dbPath = join(temp.dir, 'existing.db');
    await runImport({ dataFolder: ML100K, dbPath }, quiet);
    const db = openDatabase(dbPath);
    const before = dumpDatabase(db);
    db.close();

    await expect(runImport({ dataFolder: copy, dbPath }, quiet)).rejects.toThrow(
      `${uData}:501: expected 4 tab-separated fields (user id, item id, rating, timestamp), found 2 fields`,
    );
    const reopened = openDatabase(dbPath);
    expect(dumpDatabase(reopened)).toEqual(before);
    reopened.close();
  });
});
