/**
 * Import validation before anything is replaced: an empty ratings file, a "rating" column with hundreds
 * of distinct values, and a stray outlier value are refused with the values and file:line named, and the
 * database is left exactly as it was. The Dataset's 8-bit level storage refuses scales that would wrap,
 * and `launch()` refuses to train on a catalog without ratings.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runImport } from '../../src/cli/importCommand.js';
import { trainAndSave } from '../../src/cli/trainCommand.js';
import { datasetFromTriples, MAX_STORABLE_LEVELS } from '../../src/data/dataset.js';
import { checkRatingScale, MAX_RATING_LEVELS, RatingScaleError } from '../../src/data/scaleCheck.js';
import { launch } from '../../src/server/main.js';
import { CatalogStore, openDatabase } from '../../src/store/index.js';
import { copyFolder, dumpDatabase, FIXTURES, tempFolder } from '../helpers/dataFiles.js';

const quiet = { write: () => true, isTTY: false };

let temp: ReturnType<typeof tempFolder>;
let dbPath: string;
beforeEach(async () => {
  temp = tempFolder();
  dbPath = join(temp.dir, 'app.db');
  // A catalog to protect: every refused import must leave it exactly as it is.
  await runImport({ dataFolder: join(FIXTURES, 'dat'), dbPath }, quiet);
});
afterEach(() => temp.cleanup());

/** The 100K fixture folder (items 1–6) with u.data replaced by `lines` (tab-separated rows). */
function folderWithRatings(lines: string[]): string {
  const folder = copyFolder(join(FIXTURES, '100k'), temp.dir, `ml-${Math.random().toString(36).slice(2)}`);
  writeFileSync(join(folder, 'u.data'), lines.length === 0 ? '' : lines.join('\n') + '\n');
  return folder;
}

function dump(): Record<string, string> {
  const db = openDatabase(dbPath);
  try {
    return dumpDatabase(db);
  } finally {
    db.close();
  }
}

/** `n` ratings of users 1…, items 1–6, values cycling through 1–5. */
function ordinaryRatings(n: number): string[] {
  return Array.from({ length: n }, (_, r) => `${Math.floor(r / 6) + 1}\t${(r % 6) + 1}\t${(r % 5) + 1}\t${880000000 + r}`);
}

describe('import scale validation', () => {
  it('refuses an empty ratings file and keeps the catalog', async () => {
    const before = dump();
    const folder = folderWithRatings([]);
    await expect(runImport({ dataFolder: folder, dbPath, mode: 'replace' }, quiet)).rejects.toThrow(
      /holds no ratings.*database was not changed/,
    );
    expect(dump()).toEqual(before);
  });

  it('refuses a rating column with more than 20 distinct values, naming the values and their lines', async () => {
    const before = dump();
    // 336 distinct values, as a timestamp-like column would give.
    const lines = Array.from({ length: 336 }, (_, r) => `${r + 1}\t${(r % 6) + 1}\t${r + 1}\t${880000000 + r}`);
    const folder = folderWithRatings(lines);
    const error = await runImport({ dataFolder: folder, dbPath, mode: 'replace' }, quiet).then(
      () => null,
      (err: unknown) => err as Error,
    );
    expect(error).toBeInstanceOf(RatingScaleError);
    expect(error?.message).toContain(`336 distinct values, more than the ${MAX_RATING_LEVELS} levels`);
    // Rarest first (all used once, so by value): value 1 is on line 1, value 2 on line 2.
    expect(error?.message).toContain(`1 (1×, ${join(folder, 'u.data')}:1)`);
    expect(error?.message).toContain(`2 (1×, ${join(folder, 'u.data')}:2)`);
    expect(dump()).toEqual(before);
  });

  it('refuses one stray value among 10,000 ratings with file:line, and imports it with --allow-scale', async () => {
    const before = dump();
    const lines = ordinaryRatings(10_000);
    lines.push(`9999\t3\t44\t880099999`); // line 10,001
    const folder = folderWithRatings(lines);
    await expect(runImport({ dataFolder: folder, dbPath, mode: 'replace' }, quiet)).rejects.toThrow(
      `rating value 44 (used by 1 of 10,001 ratings, at ${join(folder, 'u.data')}:10001)`,
    );
    expect(dump()).toEqual(before);

    const report = await runImport({ dataFolder: folder, dbPath, allowScale: true, mode: 'replace' }, quiet);
    expect(report.ratingLevels).toEqual([1, 2, 3, 4, 5, 44]);
  });

  it('accepts a rare level when there are too few ratings to call it an outlier', () => {
    // 0.01 % of 1,000 ratings is 0.1: a level used once is 0.1 % of them, not an outlier.
    const values = Array.from({ length: 999 }, (_, r) => (r % 5) + 1).concat([0]);
    expect(() => checkRatingScale(values, { source: 'small' })).not.toThrow();
  });

  it('refuses an import that leaves no ratings only when nothing is stored', () => {
    expect(() => checkRatingScale([], { source: 'x', storedRatings: 5 })).not.toThrow();
    expect(() => checkRatingScale([], { source: 'x' })).toThrow(RatingScaleError);
  });
});

describe('the Dataset level storage', () => {
  it('refuses more levels than a Uint8Array index can hold instead of wrapping', () => {
    const triples = Array.from({ length: MAX_STORABLE_LEVELS + 80 }, (_, r) => ({ userId: 1, itemId: r, value: r }));
    expect(() => datasetFromTriples(triples)).toThrow(/336 rating levels, more than the 256 a Dataset can store/);
    const fits = datasetFromTriples(triples.slice(0, MAX_STORABLE_LEVELS));
    expect(fits.levels[MAX_STORABLE_LEVELS - 1]).toBe(MAX_STORABLE_LEVELS - 1);
  });

  it('refuses to load a stored catalog whose recorded scale would wrap', () => {
    const db = openDatabase(dbPath);
    try {
      // As an older version of the program could have stored it.
      const levels = Array.from({ length: 300 }, (_, k) => k + 1);
      db.prepare('UPDATE datasets SET rating_levels = ?').run(JSON.stringify(levels));
      expect(() => new CatalogStore(db).loadDataset()).toThrow(/300 rating levels/);
    } finally {
      db.close();
    }
  });
});

describe('training on an unusable catalog', () => {
  function emptyCatalogDb(): string {
    const path = join(temp.dir, 'no-ratings.db');
    const db = openDatabase(path);
    // Items but no ratings, as an older version left a database after importing an empty u.data.
    db.prepare("INSERT INTO items (item_id, title, search_key) VALUES (1, 'Only (2000)', 'only 2000')").run();
    db.close();
    return path;
  }

  it('npm run train refuses and says what to import', async () => {
    const db = openDatabase(emptyCatalogDb());
    try {
      await expect(trainAndSave(db, {})).rejects.toThrow(
        /no ratings to train on: import a MovieLens folder with npm run import -- --data <folder>/,
      );
    } finally {
      db.close();
    }
  });

  it('npm start refuses and says what to import', async () => {
    const path = emptyCatalogDb();
    await expect(
      launch({
        dbPath: path,
        port: 0,
        log: () => {},
        pollMs: 0,
        staticDir: null,
      }),
    ).rejects.toThrow(
      `the catalog has no ratings to train on: import a MovieLens folder first (npm run import -- --data <folder> --db ${path})`,
    );
  });
});
