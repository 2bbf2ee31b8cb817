/**
 * The bulk import's byte-level ratings reader must accept and reject exactly what the streamed papaparse
 * reader (readRatingsFile) does, with the same rows and the same error messages, whatever the chunk size.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { MovieLensLayout, TimedRating } from '../../src/data/catalog.js';
import { readRatingsFile } from '../../src/data/ratingsFile.js';
import { scanRatingsFile } from '../../src/data/ratingsScan.js';
import { FIXTURES, ML100K, tempFolder } from '../helpers/dataFiles.js';

function scanAll(path: string, layout: MovieLensLayout, chunkBytes?: number): TimedRating[] {
  const rows: TimedRating[] = [];
  scanRatingsFile(path, layout, (userId, itemId, value, timestamp) => rows.push({ userId, itemId, value, timestamp }), { chunkBytes });
  return rows;
}

const temp = tempFolder('rbm-scan-');
afterAll(() => temp.cleanup());

describe('scanRatingsFile', () => {
  const fixtures: [MovieLensLayout, string][] = [
    ['100k', join(FIXTURES, '100k', 'u.data')],
    ['dat', join(FIXTURES, 'dat', 'ratings.dat')],
    ['csv', join(FIXTURES, 'csv', 'ratings.csv')],
  ];
  for (const [layout, path] of fixtures) {
    it(`reads the ${layout} fixture as readRatingsFile does, with any chunk size`, async () => {
      const expected = await readRatingsFile(path, layout);
      expect(expected.length).toBeGreaterThan(0);
      for (const chunkBytes of [undefined, 1, 7, 64]) expect(scanAll(path, layout, chunkBytes)).toEqual(expected);
    });
  }

  it.runIf(existsSync(join(ML100K, 'u.data')))('reads the real MovieLens 100K u.data as readRatingsFile does', async () => {
    const path = join(ML100K, 'u.data');
    const expected = await readRatingsFile(path, '100k');
    const rows = scanAll(path, '100k', 4096);
    expect(rows).toHaveLength(100_000);
    expect(rows).toEqual(expected);
  });

  it('parses decimals exactly as Number() does, and fields with spaces or quotes as the CSV reader does', async () => {
    const path = join(temp.dir, 'ratings.csv');
    const values = ['0.1', '0.3', '2.675', '4.999999', '3.000001', '5', '1.0', '123456.654321'];
    const lines = values.map((v, n) => `${n + 1},${n + 2},${v},${1000 + n}`);
    lines.push(' 7 , 8 ,3.5, 99 ', '"9","10","4.5","77"', '');
    writeFileSync(path, `userId,movieId,rating,timestamp\n${lines.join('\n')}\n\n`);
    const rows = scanAll(path, 'csv', 16);
    expect(rows.slice(0, values.length).map((r) => r.value)).toEqual(values.map(Number));
    expect(rows).toEqual(await readRatingsFile(path, 'csv'));
    expect(rows.at(-1)).toEqual({ userId: 9, itemId: 10, value: 4.5, timestamp: 77 });
  });

  const bad: { name: string; layout: MovieLensLayout; text: string }[] = [
    { name: 'too few fields', layout: 'csv', text: 'userId,movieId,rating,timestamp\n1,2,3,4\n2,3,4.5\n' },
    { name: 'a letter in an id', layout: 'dat', text: '1::2::3::4\n1x::2::3::4\n' },
    { name: 'an empty rating', layout: '100k', text: '1\t2\t3\t4\n1\t2\t\t4\n' },
    { name: 'a negative timestamp', layout: '100k', text: '1\t2\t3\t-4\n' },
    { name: 'an exponent', layout: 'csv', text: 'userId,movieId,rating,timestamp\n1,2,4e0,4\n' },
    { name: 'a blank line before data', layout: 'dat', text: '1::2::3::4\n\n1::3::3::4\n' },
    { name: 'a wrong header', layout: 'csv', text: 'user,movie,rating,time\n1,2,3,4\n' },
    { name: 'a single colon', layout: 'dat', text: '1::2:3::4\n' },
    { name: 'a 16-digit id', layout: '100k', text: '1234567890123456\t2\t3\t4\n' },
  ];
  for (const c of bad) {
    it(`rejects ${c.name} with readRatingsFile's message`, async () => {
      const path = join(temp.dir, `bad-${c.name.replace(/\W+/g, '-')}`);
      writeFileSync(path, c.text);
      const expected = await readRatingsFile(path, c.layout).then(
        () => null,
        (error: Error) => error.message,
      );
      expect(expected).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+: expected `));
      expect(() => scanAll(path, c.layout, 5)).toThrow(expected as string);
    });
  }
});
