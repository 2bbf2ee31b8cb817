import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataFolderError, MalformedLineError } from '../../src/data/errors.js';
import {
  detectLayout,
  readMovieLensFolder,
  readRatingsFile,
  SKIP_DUPLICATE,
  SKIP_MISSING_ITEM,
  type TimedRating,
} from '../../src/data/movielens.js';
import { copyFolder, FIXTURES, replaceLine, tempFolderEachTest } from '../helpers/dataFiles.js';

const fixture = (layout: string): string => join(FIXTURES, layout);
const skippedCount = (skipped: { reason: string; count: number }[], reason: string): number | undefined =>
  skipped.find((s) => s.reason === reason)?.count;

const temp = tempFolderEachTest();

describe('detectLayout', () => {
  it('recognises the three MovieLens layouts from their files', () => {
    expect(detectLayout(fixture('100k'))).toBe('100k');
    expect(detectLayout(fixture('dat'))).toBe('dat');
    expect(detectLayout(fixture('csv'))).toBe('csv');
  });

  it('names the missing folder and the files it looks for', () => {
    const missing = join(temp.dir, 'no-such-folder');
    expect(() => detectLayout(missing)).toThrow(DataFolderError);
    expect(() => detectLayout(missing)).toThrow(
      `data folder not found: ${missing} (expected a MovieLens folder holding u.data + u.item (MovieLens 100K), ` +
        'ratings.dat + movies.dat (MovieLens 1M/10M), ratings.csv + movies.csv (MovieLens latest/20M/25M))',
    );
  });

  it('refuses a folder in no known layout, listing what it looked for and what it found', () => {
    // u.data alone is not a layout: the items are needed too.
    writeFileSync(join(temp.dir, 'u.data'), '1\t1\t5\t1\n');
    writeFileSync(join(temp.dir, 'notes.txt'), 'hello');
    const message = (() => {
      try {
        detectLayout(temp.dir);
      } catch (error) {
        return (error as Error).message;
      }
      return 'no error';
    })();
    expect(message).toContain(`no MovieLens layout found in ${temp.dir}`);
    expect(message).toContain('u.data + u.item (MovieLens 100K)');
    expect(message).toContain('ratings.dat + movies.dat');
    expect(message).toContain('ratings.csv + movies.csv');
    expect(message).toContain('the folder holds notes.txt, u.data');
  });

  it('refuses a file given as the folder', () => {
    const file = join(temp.dir, 'ratings.csv');
    writeFileSync(file, '');
    expect(() => detectLayout(file)).toThrow(`not a folder: ${file}`);
  });
});

describe('readMovieLensFolder: 100K layout', () => {
  it('reads latin-1 titles, genre flags named by u.genre, years, users and ratings', async () => {
    const data = await readMovieLensFolder(fixture('100k'));
    expect(data.layout).toBe('100k');
    expect(data.source).toBe(fixture('100k'));
    expect(data.items).toEqual([
      { itemId: 1, title: 'Café Lumière Redux (1999)', year: 1999, genres: ['Action', 'Drama'] },
      { itemId: 2, title: 'Naïve Garçon, Le (1997)', year: 1997, genres: ['Comedy'] },
      { itemId: 3, title: 'Quiet Valley, The (1985)', year: 1985, genres: ['Drama'] },
      { itemId: 4, title: 'unknown', year: null, genres: ['unknown'] },
      { itemId: 5, title: 'Night Train to Oslo (2001) (V)', year: 2001, genres: ['Action', 'Comedy'] },
      // Trailing space trimmed; no year in the title, so the release date's year.
      { itemId: 6, title: 'Harbor Lights', year: 1962, genres: ['Drama'] },
    ]);
    expect(data.users).toHaveLength(5);
    expect(data.users?.[1]).toEqual({ userId: 2, age: 53, gender: 'F', occupation: 'other', zipCode: '00002' });
  });

  it('skips ratings of unknown items and keeps the last of duplicate rows, counting both', async () => {
    const data = await readMovieLensFolder(fixture('100k'));
    expect(data.ratings).toEqual<TimedRating[]>([
      { userId: 1, itemId: 1, value: 5, timestamp: 880000001 },
      { userId: 2, itemId: 1, value: 4, timestamp: 880000003 },
      { userId: 2, itemId: 3, value: 2, timestamp: 880000004 },
      { userId: 1, itemId: 2, value: 4, timestamp: 880000005 },
      { userId: 3, itemId: 5, value: 1, timestamp: 880000006 },
      { userId: 3, itemId: 1, value: 3, timestamp: 880000008 },
      { userId: 2, itemId: 5, value: 5, timestamp: 880000009 },
      { userId: 4, itemId: 6, value: 4, timestamp: 880000010 },
    ]);
    expect(skippedCount(data.skipped, SKIP_MISSING_ITEM)).toBe(1);
    expect(skippedCount(data.skipped, SKIP_DUPLICATE)).toBe(1);
    expect(data.ratingLevels).toEqual([1, 2, 3, 4, 5]);
  });

  it('reads u.item the same whether it is latin-1 or UTF-8 (with or without a BOM)', async () => {
    const latin1 = await readMovieLensFolder(fixture('100k'));
    const copy = copyFolder(fixture('100k'), temp.dir);
    const text = readFileSync(join(copy, 'u.item'), 'latin1');
    writeFileSync(join(copy, 'u.item'), text, 'utf8');
    expect((await readMovieLensFolder(copy)).items).toEqual(latin1.items);
    writeFileSync(join(copy, 'u.item'), '\ufeff' + text, 'utf8');
    expect((await readMovieLensFolder(copy)).items).toEqual(latin1.items);
  });

  it('accepts CRLF line endings and a byte-order mark in u.data', async () => {
    const expected = await readMovieLensFolder(fixture('100k'));
    const copy = copyFolder(fixture('100k'), temp.dir);
    const lines = readFileSync(join(copy, 'u.data'), 'utf8');
    writeFileSync(join(copy, 'u.data'), '\ufeff' + lines.replace(/\n/g, '\r\n'));
    const data = await readMovieLensFolder(copy);
    expect(data.ratings).toEqual(expected.ratings);
    expect(data.skipped).toEqual(expected.skipped);
  });

  it('works without the optional u.user', async () => {
    const copy = copyFolder(fixture('100k'), temp.dir);
    rmSync(join(copy, 'u.user'));
    const data = await readMovieLensFolder(copy);
    expect(data.users).toBeUndefined();
    expect(data.ratings).toHaveLength(8);
  });

  it("falls back to 100K's 19 genre names without u.genre, so u.item must then have 19 flags", async () => {
    const copy = copyFolder(fixture('100k'), temp.dir);
    rmSync(join(copy, 'u.genre'));
    await expect(readMovieLensFolder(copy)).rejects.toThrow(
      `${join(copy, 'u.item')}:1: expected 24 '|'-separated fields (movie id, title, release date, video release date, IMDb URL, then 19 genre flags), found 9 fields`,
    );
  });

  it('reports progress over all files, ending at the total', async () => {
    const seen: [number, number][] = [];
    await readMovieLensFolder(fixture('100k'), { onProgress: (done, total) => seen.push([done, total]) });
    const total = ['u.genre', 'u.item', 'u.user', 'u.data'].reduce(
      (sum, f) => sum + readFileSync(join(fixture('100k'), f)).length,
      0,
    );
    expect(seen.at(-1)).toEqual([total, total]);
    for (let i = 1; i < seen.length; i++) expect(seen[i][0]).toBeGreaterThanOrEqual(seen[i - 1][0]);
  });
});

describe('readMovieLensFolder: 1M/10M layout', () => {
  it("parses '::' lines with CRLF endings, latin-1 titles, quotes and colons in titles, 1M demographics", async () => {
    const data = await readMovieLensFolder(fixture('dat'));
    expect(data.layout).toBe('dat');
    expect(data.items).toEqual([
      { itemId: 10, title: 'Crème Brûlée Affair, The (1993)', year: 1993, genres: ['Comedy', 'Romance'] },
      { itemId: 20, title: '"Quoted" Beginning (1988)', year: 1988, genres: ['Drama'] },
      { itemId: 30, title: 'Untitled Project', year: null, genres: [] },
      { itemId: 40, title: 'Voyage Home: Part Two (2010)', year: 2010, genres: ['Sci-Fi', 'Adventure'] },
    ]);
    expect(data.users?.[0]).toEqual({ userId: 7, age: 25, gender: 'M', occupation: 'programmer', zipCode: '02139' });
    expect(data.ratings).toEqual<TimedRating[]>([
      { userId: 7, itemId: 10, value: 5, timestamp: 978300001 },
      { userId: 7, itemId: 20, value: 3, timestamp: 978300002 },
      { userId: 8, itemId: 10, value: 1, timestamp: 978300003 },
      { userId: 8, itemId: 30, value: 2, timestamp: 978300004 },
      { userId: 9, itemId: 20, value: 2, timestamp: 978300007 },
    ]);
    expect(skippedCount(data.skipped, SKIP_MISSING_ITEM)).toBe(1);
    expect(skippedCount(data.skipped, SKIP_DUPLICATE)).toBe(1);
    expect(data.ratingLevels).toEqual([1, 2, 3, 5]);
  });
});

describe('readMovieLensFolder: latest/20M/25M layout', () => {
  it('parses quoted titles with commas and doubled quotes, a BOM, CRLF and half stars', async () => {
    const data = await readMovieLensFolder(fixture('csv'));
    expect(data.layout).toBe('csv');
    expect(data.users).toBeUndefined();
    expect(data.items).toEqual([
      { itemId: 1, title: 'Dog, the Cat and the Ball, The (2004)', year: 2004, genres: ['Comedy', 'Children'] },
      { itemId: 2, title: 'Say "Cheese" (2010)', year: 2010, genres: ['Comedy'] },
      { itemId: 3, title: 'Amélie’s Neighbour (2001)', year: 2001, genres: ['Romance'] },
      { itemId: 4, title: `Untitled, "Director's Cut"`, year: null, genres: [] },
      { itemId: 5, title: 'Plain Title (1999)', year: 1999, genres: ['Drama', 'Thriller'] },
    ]);
    expect(data.ratings.map((r) => r.value)).toEqual([4.5, 0.5, 3, 5, 2.5, 3.5]);
    expect(data.ratingLevels).toEqual([0.5, 2.5, 3, 3.5, 4.5, 5]);
    expect(data.skipped.every((s) => s.count === 0)).toBe(true);
  });

  it('keeps counting lines right after a quoted title spanning two lines', async () => {
    const copy = copyFolder(fixture('csv'), temp.dir);
    writeFileSync(
      join(copy, 'movies.csv'),
      'movieId,title,genres\n1,"Two\nLines (1990)",Drama\n2,Fine (1991),Drama\nnot-a-number,Bad (1992),Drama\n',
    );
    await expect(readMovieLensFolder(copy)).rejects.toThrow(`${join(copy, 'movies.csv')}:5: expected movie id (field 1) to be a whole number, found "not-a-number"`);
  });
});

describe('readRatingsFile', () => {
  it('returns every row as written, duplicates and unknown items included, with line numbers', async () => {
    const lines: number[] = [];
    const ratings = await readRatingsFile(join(fixture('100k'), 'u.data'), '100k', (_, line) => lines.push(line));
    expect(ratings).toHaveLength(10);
    expect(lines).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(ratings[6]).toEqual({ userId: 3, itemId: 9, value: 5, timestamp: 880000007 });
  });

  it('reads the csv and dat formats (header skipped, last line without newline)', async () => {
    const csv = await readRatingsFile(join(fixture('csv'), 'ratings.csv'), 'csv');
    expect(csv[0]).toEqual({ userId: 1, itemId: 1, value: 4.5, timestamp: 1260759144 });
    expect(csv).toHaveLength(6);
    const dat = await readRatingsFile(join(fixture('dat'), 'ratings.dat'), 'dat');
    expect(dat.at(-1)).toEqual({ userId: 9, itemId: 20, value: 2, timestamp: 978300007 });
  });

  it('accepts blank lines at the very end of a file', async () => {
    const file = join(temp.dir, 'u1.test');
    writeFileSync(file, '1\t2\t3\t4\n5\t6\t4\t8\n\n\n');
    expect(await readRatingsFile(file, '100k')).toHaveLength(2);
  });

  it('rejects a file that does not exist, naming it', async () => {
    const file = join(temp.dir, 'u9.base');
    await expect(readRatingsFile(file, '100k')).rejects.toThrow(file);
  });
});

describe('malformed lines: the error names the file, the line and what was expected', () => {
  const cases: {
    name: string;
    layout: '100k' | 'dat' | 'csv';
    file: string;
    line: number;
    text: string;
    message: (path: string) => string;
  }[] = [
    {
      name: 'wrong field count',
      layout: '100k',
      file: 'u.data',
      line: 3,
      text: '2\t1\t4',
      message: (p) => `${p}:3: expected 4 tab-separated fields (user id, item id, rating, timestamp), found 3 fields: "2\\t1\\t4"`,
    },
    {
      name: 'non-numeric user id',
      layout: '100k',
      file: 'u.data',
      line: 2,
      text: 'x1\t2\t3\t880000002',
      message: (p) => `${p}:2: expected user id (field 1) to be a whole number, found "x1"`,
    },
    {
      name: 'non-numeric item id',
      layout: 'dat',
      file: 'ratings.dat',
      line: 4,
      text: '8::thirty::2::978300004\r',
      message: (p) => `${p}:4: expected item id (field 2) to be a whole number, found "thirty"`,
    },
    {
      name: 'rating not a number',
      layout: 'csv',
      file: 'ratings.csv',
      line: 3,
      text: '1,2,good,1260759145\r',
      message: (p) => `${p}:3: expected rating to be a number such as 4 or 3.5, found "good"`,
    },
    {
      name: 'empty line in the middle',
      layout: '100k',
      file: 'u.data',
      line: 4,
      text: '',
      message: (p) => `${p}:4: expected a data line (blank lines are allowed only at the end of the file), found an empty line`,
    },
    {
      name: 'bad timestamp',
      layout: 'dat',
      file: 'ratings.dat',
      line: 1,
      text: '7::10::5::yesterday\r',
      message: (p) => `${p}:1: expected timestamp to be whole seconds since 1970, found "yesterday"`,
    },
    {
      name: 'wrong csv header',
      layout: 'csv',
      file: 'ratings.csv',
      line: 1,
      text: '\ufeffuser,movie,rating,time\r',
      message: (p) => `${p}:1: expected the header row "userId,movieId,rating,timestamp", found "user,movie,rating,time"`,
    },
    {
      name: 'unterminated quote',
      layout: 'csv',
      file: 'movies.csv',
      line: 3,
      text: '2,"Say Cheese (2010),Comedy',
      message: (p) => `${p}:3: expected a well-formed CSV row`,
    },
    {
      name: 'genre flag not 0 or 1',
      layout: '100k',
      file: 'u.item',
      line: 2,
      text: '2|Naive (1997)|05-Mar-1997||http://example.org/2|0|0|2|0',
      message: (p) => `${p}:2: expected Comedy flag (field 8) to be 0 or 1, found "2"`,
    },
    {
      name: 'movie id defined twice',
      layout: 'dat',
      file: 'movies.dat',
      line: 3,
      text: '10::Again (1990)::Drama\r',
      message: (p) => `${p}:3: expected a movie id not used before, found movie 10, already defined on line 1`,
    },
  ];

  for (const c of cases) {
    it(`${c.name} (${c.layout} ${c.file})`, async () => {
      const copy = copyFolder(fixture(c.layout), temp.dir);
      const path = join(copy, c.file);
      replaceLine(path, c.line, c.text, c.file === 'movies.csv' || c.file === 'ratings.csv' ? 'utf8' : 'latin1');
      const error = await readMovieLensFolder(copy).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(MalformedLineError);
      expect((error as MalformedLineError).message).toContain(c.message(path));
      expect((error as MalformedLineError).line).toBe(c.line);
      expect((error as MalformedLineError).file).toBe(path);
    });
  }

  it('reports the first bad line of a long file, read in several chunks', async () => {
    const file = join(temp.dir, 'big.data');
    const lines = Array.from({ length: 30_000 }, (_, i) => `${1 + (i % 900)}\t${1 + (i % 1600)}\t${1 + (i % 5)}\t${880000000 + i}`);
    lines[24_999] = '1\t2\t3\t4\t5';
    mkdirSync(temp.dir, { recursive: true });
    writeFileSync(file, lines.join('\n') + '\n');
    await expect(readRatingsFile(file, '100k')).rejects.toThrow(`${file}:25000: expected 4 tab-separated fields`);
  });
});
