/**
 * Encodings decided per file (a mixed file is refused with file:line) and the size limits on lines and
 * titles (refused with file:line, without reading an overlong line whole).
 */
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { MalformedLineError } from '../../src/data/errors.js';
import { DEFAULT_INPUT_LIMITS } from '../../src/data/inputLimits.js';
import { readItemsFile, readMovieLensCatalog, readMovieLensFolder, scanRatingsFile } from '../../src/data/movielens.js';
import { copyFolder, FIXTURES, ML100K, tempFolderEachTest } from '../helpers/dataFiles.js';

const temp = tempFolderEachTest();

/** Counts the bytes a reader fed its digest: how far it read. */
function byteCounter(): { update: (bytes: Uint8Array) => void; bytes: number } {
  const counter = {
    bytes: 0,
    update(bytes: Uint8Array) {
      counter.bytes += bytes.length;
    },
  };
  return counter;
}

/** Writes `head`, then `lineBytes` bytes of `fill` without a line break (streamed from a generator), then `tail`. */
async function writeWithLongLine(path: string, head: string, lineBytes: number, tail: string, fill = 'x'): Promise<void> {
  const piece = Buffer.from(fill.repeat(64 * 1024));
  function* parts(): Generator<Buffer> {
    yield Buffer.from(head);
    for (let left = lineBytes; left > 0; left -= piece.length) yield left >= piece.length ? piece : piece.subarray(0, left);
    yield Buffer.from(tail);
  }
  await pipeline(Readable.from(parts()), createWriteStream(path));
}

async function rejection(promise: Promise<unknown>): Promise<MalformedLineError> {
  const error: unknown = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MalformedLineError);
  return error as MalformedLineError;
}

describe('text encodings, decided per file', () => {
  it('refuses a UTF-8 movies.csv holding one latin-1 byte, naming that line and a UTF-8 one', async () => {
    const path = join(temp.dir, 'movies.csv');
    const text = 'movieId,title,genres\n1,Café Society (2016),Comedy\n2,Plain (1999),Drama\n3,AmXlie (2001),Romance\n';
    const bytes = Buffer.from(text, 'utf8');
    bytes[bytes.indexOf('X')] = 0xe9; // "é" in latin-1
    writeFileSync(path, bytes);
    const error = await rejection(readItemsFile(path, 'csv'));
    expect(error.line).toBe(4);
    expect(error.message).toBe(
      `${path}:4: expected UTF-8 throughout, as the rest of the file is (line 2 is UTF-8: "1,Café Society (2016),Comedy"), ` +
        'found byte 0xE9, which is not UTF-8 (as latin-1 the line reads "3,Amélie (2001),Romance"): the file mixes encodings; save it all as UTF-8',
    );
  });

  it('refuses it too when the latin-1 byte comes first and the UTF-8 character chunks later, split across a read', async () => {
    const path = join(temp.dir, 'movies.csv');
    const head = Buffer.from('movieId,title,genres\n1,AmXlie (2001),Romance\n', 'latin1');
    head[head.indexOf('X')] = 0xe9;
    const filler = Buffer.from(Array.from({ length: 4000 }, (_, n) => `${n + 2},Plain ${n} (1999),Drama\n`).join(''));
    // "é" in UTF-8 (0xC3 0xA9) split by the 64 KiB read boundary.
    const before = Buffer.concat([head, filler]).subarray(0, 64 * 1024 - 8);
    const lineOfSplit = before.toString('latin1').split('\n').length;
    const bytes = Buffer.concat([before, Buffer.from('\n99,Caf'), Buffer.from('é (1950),Drama\n')]);
    expect(bytes.indexOf(Buffer.from([0xc3, 0xa9]))).toBe(64 * 1024 - 1);
    writeFileSync(path, bytes);
    const error = await rejection(readItemsFile(path, 'csv'));
    expect(error.message).toContain(`${path}:2: expected UTF-8 throughout, as the rest of the file is (line ${lineOfSplit + 1} is UTF-8: `);
  });

  it('refuses a byte that is not UTF-8 in a file whose byte-order mark says UTF-8', async () => {
    const path = join(temp.dir, 'movies.csv');
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('movieId,title,genres\n1,AmXlie (2001),Romance\n', 'latin1')]);
    bytes[bytes.indexOf('X')] = 0xe9;
    writeFileSync(path, bytes);
    const error = await rejection(readItemsFile(path, 'csv'));
    expect(error.message).toContain(`${path}:2: expected UTF-8, as the byte-order mark at the start of the file says, found byte 0xE9`);
  });

  it('reads a file that is latin-1 throughout as latin-1, and one that is UTF-8 throughout as UTF-8', async () => {
    const latin1 = join(temp.dir, 'movies.dat');
    writeFileSync(latin1, Buffer.from('1::Misérables, Les (1995)::Drama\n2::Garçon (1997)::Comedy\n', 'latin1'));
    expect((await readItemsFile(latin1, 'dat')).map((item) => item.title)).toEqual(['Misérables, Les (1995)', 'Garçon (1997)']);
    const utf8 = join(temp.dir, 'movies.csv');
    writeFileSync(utf8, 'movieId,title,genres\n1,Misérables (1995),Drama\n2,東京物語 (1953),Drama\n');
    expect((await readItemsFile(utf8, 'csv')).map((item) => item.title)).toEqual(['Misérables (1995)', '東京物語 (1953)']);
  });

  it('keeps a UTF-8 character that straddles two read chunks UTF-8', async () => {
    // The reader takes 64 KiB at a time: put a 3-byte "…" across the first boundary, and "é" later.
    const path = join(temp.dir, 'movies.csv');
    const head = 'movieId,title,genres\n1,';
    const pad = 64 * 1024 - Buffer.byteLength(head) - 1;
    writeFileSync(path, `${head}${'a'.repeat(pad)}… (2000),Drama\n2,Amélie (2001),Romance\n`);
    const items = await readItemsFile(path, 'csv', undefined, undefined, { limits: { maxTitleChars: 100_000 } });
    expect(items[0].title.endsWith('a… (2000)')).toBe(true);
    expect(items[1].title).toBe('Amélie (2001)');
  });

  it('still reads the real ML-100K u.item, which is latin-1', async () => {
    const catalog = await readMovieLensCatalog(ML100K);
    const titles = new Map(catalog.items.map((item) => [item.itemId, item.title]));
    expect(titles.get(543)).toBe('Misérables, Les (1995)');
    expect(titles.get(1104)).toBe("C'est arrivé près de chez vous (1992)");
    expect(catalog.items).toHaveLength(1682);
  });
});

describe('line and title limits', () => {
  it('has sensible defaults: 1 MiB lines, 1,000-character titles', () => {
    expect(DEFAULT_INPUT_LIMITS).toEqual({ maxLineBytes: 1024 * 1024, maxTitleChars: 1000 });
  });

  it('refuses a movies.csv line over the default limit at file:line, reading little more than the limit', async () => {
    const path = join(temp.dir, 'movies.csv');
    await writeWithLongLine(path, 'movieId,title,genres\n1,Plain (1999),Drama\n2,', 3 * 1024 * 1024, ' (2001),Drama\n3,After (2002),Drama\n');
    const read = byteCounter();
    const error = await rejection(readItemsFile(path, 'csv', undefined, undefined, { digest: read }));
    expect(error.message).toBe(`${path}:3: expected rows of at most 1 MiB (1,048,576 bytes), found a row longer than that; reading stopped there`);
    // Read chunk by chunk (64 KiB) up to the limit, never the 3 MiB line whole.
    expect(read.bytes).toBeLessThanOrEqual(1024 * 1024 + 2 * 64 * 1024);
  });

  it('counts a quoted CSV field running over line breaks as one row', async () => {
    const path = join(temp.dir, 'movies.csv');
    const title = Array.from({ length: 50 }, () => 'y'.repeat(99)).join('\n'); // 50 lines, 4,999 bytes
    writeFileSync(path, `movieId,title,genres\n1,"${title}",Drama\n`);
    const error = await rejection(readItemsFile(path, 'csv', undefined, undefined, { limits: { maxLineBytes: 4096 } }));
    expect(error.message).toBe(
      `${path}:2: expected rows of at most 4 KiB (4,096 bytes), found a row longer than that (a quoted field running on to line 42); reading stopped there`,
    );
  });

  it('refuses a title over the limit at file:line, in every layout', async () => {
    const long = `${'T'.repeat(DEFAULT_INPUT_LIMITS.maxTitleChars + 1)} (1999)`;
    const folder = copyFolder(join(FIXTURES, '100k'), temp.dir);
    const lines = readFileSync(join(folder, 'u.item'), 'latin1').split('\n');
    lines[2] = lines[2].replace(/^(\d+)\|[^|]*\|/, `$1|${long}|`);
    writeFileSync(join(folder, 'u.item'), lines.join('\n'), 'latin1');
    const error = await rejection(readMovieLensCatalog(folder));
    expect(error.message).toBe(
      `${join(folder, 'u.item')}:3: expected a title (field 2) of at most 1,000 characters, found 1,008 characters: "${'T'.repeat(80)}…"`,
    );
    const csv = join(temp.dir, 'movies.csv');
    writeFileSync(csv, 'movieId,title,genres\n1,A fine title (2000),Drama\n');
    await expect(readItemsFile(csv, 'csv', undefined, undefined, { limits: { maxTitleChars: 12 } })).rejects.toThrow(
      `${csv}:2: expected a title (field 2) of at most 12 characters, found 19 characters: "A fine title (2000)"`,
    );
  });

  it('refuses an overlong ratings line at file:line while streaming, before reading it whole', async () => {
    const path = join(temp.dir, 'ratings.csv');
    await writeWithLongLine(path, 'userId,movieId,rating,timestamp\n1,1,4,10\n2,2,', 4 * 1024 * 1024, '5,11\n3,3,4,12\n', '9');
    const read = byteCounter();
    const rows: number[] = [];
    const scan = (): unknown =>
      scanRatingsFile(path, 'csv', (userId) => rows.push(userId), { maxLineBytes: 64 * 1024, chunkBytes: 16 * 1024, digest: read });
    expect(scan).toThrow(`${path}:3: expected lines of at most 64 KiB (65,536 bytes), found a line longer than that; reading stopped there`);
    expect(rows).toEqual([1]);
    expect(read.bytes).toBeLessThanOrEqual(2 * 64 * 1024 + 16 * 1024);
    // The default limit too, with the default 4 MiB chunks.
    const byDefault = byteCounter();
    expect(() => scanRatingsFile(path, 'csv', () => undefined, { digest: byDefault })).toThrow(`${path}:3: expected lines of at most 1 MiB`);
    expect(byDefault.bytes).toBeLessThan(4 * 1024 * 1024 + 1024 * 1024);
  });

  it('applies the limits to the evaluation reader of a whole folder too', async () => {
    const folder = copyFolder(join(FIXTURES, 'csv'), temp.dir);
    await writeWithLongLine(join(folder, 'ratings.csv'), 'userId,movieId,rating,timestamp\n1,1,', 200_000, '4,10\n');
    await expect(readMovieLensFolder(folder, { limits: { maxLineBytes: 100_000 } })).rejects.toThrow(
      `${join(folder, 'ratings.csv')}:2: expected rows of at most 100,000 bytes`,
    );
  });
});
