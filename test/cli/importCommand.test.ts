import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEFAULT_DB_PATH, formatImportReport, parseImportArgs, runImport, UsageError } from '../../src/cli/importCommand.js';
import { CatalogStore, openDatabase } from '../../src/store/index.js';
import { copyFolder, dumpDatabase, FIXTURES, replaceLine, tempFolderEachTest } from '../helpers/dataFiles.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** A stderr stand-in that records what was written. */
function fakeStderr(isTTY: boolean): { write: (text: string) => boolean; isTTY: boolean; text: () => string } {
  const chunks: string[] = [];
  return { write: (text) => chunks.push(text) > 0, isTTY, text: () => chunks.join('') };
}

const temp = tempFolderEachTest();

describe('parseImportArgs', () => {
  it('takes --data and --db, else DB_PATH, else the default database', () => {
    expect(parseImportArgs(['--data', 'ml', '--db', 'x.db'], { DB_PATH: 'env.db' })).toEqual({ dataFolder: 'ml', dbPath: 'x.db' });
    expect(parseImportArgs(['--data', 'ml'], { DB_PATH: 'env.db' })).toEqual({ dataFolder: 'ml', dbPath: 'env.db' });
    expect(parseImportArgs(['--data=ml'], {})).toEqual({ dataFolder: 'ml', dbPath: DEFAULT_DB_PATH });
    expect(parseImportArgs(['--help'], {})).toBe('help');
  });

  it('refuses unknown flags, stray arguments and a missing --data', () => {
    expect(() => parseImportArgs(['--data', 'ml', '--bogus'], {})).toThrow(UsageError);
    expect(() => parseImportArgs(['--data', 'ml', '--bogus'], {})).toThrow(/--bogus/);
    expect(() => parseImportArgs(['ml'], {})).toThrow(UsageError);
    expect(() => parseImportArgs([], {})).toThrow('--data <folder> is required');
  });
});

describe('runImport', () => {
  it('imports a folder and summarises users, items, ratings, levels and skipped rows', async () => {
    const dbPath = join(temp.dir, 'db', 'fixture.db');
    const stderr = fakeStderr(false);
    const report = await runImport({ dataFolder: join(FIXTURES, 'dat'), dbPath }, stderr);
    expect(report).toMatchObject({ layout: 'dat', users: 3, items: 4, ratings: 5, ratingLevels: [1, 2, 3, 5] });
    const text = formatImportReport(report);
    expect(text).toContain(`imported ${join(FIXTURES, 'dat')} (layout dat) into ${dbPath}`);
    expect(text).toMatch(/ratings +5\n/);
    expect(text).toContain('rating levels  1, 2, 3, 5 (K = 4)');
    expect(text).toMatch(/rows skipped +2\n/);
    expect(text).toMatch(/ +1 {2}rating names an item missing from the item file \(row skipped\)/);
    expect(text).toMatch(/ +1 {2}duplicate \(user, item\) rating \(earlier row dropped, last row kept\)/);
    // Not a terminal: one line per phase, no carriage returns.
    expect(stderr.text()).not.toContain('\r');
    expect(stderr.text()).toMatch(/^reading MovieLens 1M\/10M: .*\nwriting to the database: .*\n$/);
  });

  it('draws a redrawn progress bar on a terminal', async () => {
    const stderr = fakeStderr(true);
    await runImport({ dataFolder: join(FIXTURES, 'csv'), dbPath: join(temp.dir, 'tty.db') }, stderr);
    expect(stderr.text()).toMatch(/\rreading MovieLens latest\/20M\/25M \[#+\] 100% /);
  });

  const malformed = [
    {
      name: 'wrong field count',
      line: 3,
      text: '2,3,4.5\r',
      expected: 'expected 4 comma-separated fields (user id, item id, rating, timestamp), found 3 fields',
    },
    {
      name: 'non-numeric id',
      line: 2,
      text: 'one,1,4.5,1260759144\r',
      expected: 'expected user id (field 1) to be a whole number, found "one"',
    },
    {
      name: 'rating not a number',
      line: 4,
      text: '2,3,,1260759146\r',
      expected: 'expected rating to be a number such as 4 or 3.5, found ""',
    },
    {
      name: 'empty line in the middle',
      line: 5,
      text: '\r',
      expected: 'expected a data line (blank lines are allowed only at the end of the file), found an empty line',
    },
  ];
  for (const c of malformed) {
    it(`leaves an existing database exactly as it was on a malformed line: ${c.name}`, async () => {
      const dbPath = join(temp.dir, 'existing.db');
      await runImport({ dataFolder: join(FIXTURES, '100k'), dbPath }, fakeStderr(false));
      const db = openDatabase(dbPath);
      new CatalogStore(db).upsertRating(42, 1, 3, 1_700_000_000);
      const before = dumpDatabase(db);
      db.close();

      const copy = copyFolder(join(FIXTURES, 'csv'), temp.dir);
      replaceLine(join(copy, 'ratings.csv'), c.line, c.text, 'utf8');
      // Another data set over an API rating takes --replace, which exports it first; the failure removes
      // the export again (nothing was deleted).
      await expect(runImport({ dataFolder: copy, dbPath, mode: 'replace' }, fakeStderr(false))).rejects.toThrow(
        `${join(copy, 'ratings.csv')}:${c.line}: ${c.expected}`,
      );
      const reopened = openDatabase(dbPath);
      expect(dumpDatabase(reopened)).toEqual(before);
      reopened.close();
      expect(readdirSync(temp.dir).filter((name) => name.endsWith('.csv'))).toEqual([]);
    });
  }

  it('refuses an overlong ratings line at file:line without reading it whole, leaving the database as it was', async () => {
    const dbPath = join(temp.dir, 'limits.db');
    const folder = copyFolder(join(FIXTURES, 'csv'), temp.dir);
    await runImport({ dataFolder: folder, dbPath }, fakeStderr(false));
    const db = openDatabase(dbPath);
    const before = dumpDatabase(db, ['datasets.imported_at']);
    db.close();
    // A 1 MB line at line 3 against a 4 KiB limit (the default is 1 MiB; see test/data/inputLimits.test.ts).
    replaceLine(join(folder, 'ratings.csv'), 3, `1,2,${'4'.repeat(1_000_000)},1260759145`, 'utf8');
    await expect(runImport({ dataFolder: folder, dbPath, limits: { maxLineBytes: 4096 } }, fakeStderr(false))).rejects.toThrow(
      `${join(folder, 'ratings.csv')}:3: expected lines of at most 4 KiB (4,096 bytes), found a line longer than that; reading stopped there`,
    );
    const reopened = openDatabase(dbPath);
    expect(dumpDatabase(reopened, ['datasets.imported_at'])).toEqual(before);
    reopened.close();
  });

  it('does not create a database for a folder it cannot read', async () => {
    const dbPath = join(temp.dir, 'never.db');
    await expect(runImport({ dataFolder: join(temp.dir, 'missing'), dbPath }, fakeStderr(false))).rejects.toThrow(/data folder not found/);
    expect(existsSync(dbPath)).toBe(false);
  });
});

describe('scripts/import.ts', () => {
  const tsx = join(REPO, 'node_modules', '.bin', 'tsx');
  const run = (args: string[]): { status: number | null; stdout: string; stderr: string } => {
    const result = spawnSync(tsx, ['scripts/import.ts', ...args], { cwd: REPO, encoding: 'utf8', env: { ...process.env, DB_PATH: '' } });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  };

  it('exits 2 with the usage on an unknown flag', () => {
    const result = run(['--data', 'x', '--frobnicate']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("import: Unknown option '--frobnicate'");
    expect(result.stderr).toContain('usage: npm run import -- --data <folder> [--db <path>]');
  });

  it('imports and prints the summary on stdout, exits 1 with the reason on failure', () => {
    const dbPath = join(temp.dir, 'script.db');
    const ok = run(['--data', join(FIXTURES, 'csv'), '--db', dbPath]);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/ratings +6\n/);
    expect(ok.stdout).toContain('rating levels  0.5, 2.5, 3, 3.5, 4.5, 5 (K = 6)');
    const failed = run(['--data', join(temp.dir, 'nowhere'), '--db', dbPath]);
    expect(failed.status).toBe(1);
    expect(failed.stderr).toContain('import failed, the database was not changed: data folder not found');
  });
});
