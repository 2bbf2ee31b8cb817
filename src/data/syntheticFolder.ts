/**
 * Writes a synthetic MovieLens folder in the latest/20M/25M layout (movies.csv, ratings.csv) from the
 * seeded latent world of synthetic.ts, for benchmarks of the whole path at MovieLens 25M's size without
 * any licensed file. The ratings file is written in chunks from the world's typed arrays: nothing per
 * rating is kept as an object or string beyond one chunk.
 *
 * The world rates items 1…items as movie ids and users 1…users; each user's ratings are contiguous, as in
 * the real ratings.csv (sorted by user).
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { MOVIELENS_GENRES } from './catalog.js';
import { generateSyntheticWorld, type SyntheticOptions } from './synthetic.js';

/** MovieLens 25M's shape: 162,541 users × 59,047 movies × 25,000,095 half-star ratings. */
export const ML25M_SHAPE = { users: 162_541, items: 59_047, ratings: 25_000_095, halfStars: true } as const;

const CHUNK_CHARS = 1 << 20;
const FIRST_TIMESTAMP = 946_684_800; // 2000-01-01
const SECONDS_BETWEEN_RATINGS = 37;

export interface SyntheticFolderSummary {
  folder: string;
  users: number;
  items: number;
  ratings: number;
  /** Bytes of ratings.csv. */
  ratingsBytes: number;
}

/** Creates `folder` (if needed) and writes movies.csv and ratings.csv into it. */
export function writeSyntheticMovieLensFolder(folder: string, options: SyntheticOptions): SyntheticFolderSummary {
  mkdirSync(folder, { recursive: true });
  const world = generateSyntheticWorld(options);

  const movies: string[] = ['movieId,title,genres'];
  world.itemGenres.forEach((genres, i) => {
    const names = genres.map((g) => MOVIELENS_GENRES[g]).join('|');
    // Quoted, as MovieLens quotes titles holding commas; the year as the real titles carry it.
    movies.push(`${i + 1},"Synthetic Movie ${i + 1}, The (${1950 + (i % 70)})",${names === '' ? '(no genres listed)' : names}`);
  });
  writeText(join(folder, 'movies.csv'), [movies.join('\n') + '\n']);

  const levelText = world.ratingLevels.map((v) => (Number.isInteger(v) ? v.toFixed(1) : String(v)));
  const fd = openSync(join(folder, 'ratings.csv'), 'w');
  let ratingsBytes = 0;
  try {
    let chunk = 'userId,movieId,rating,timestamp\n';
    const n = world.users.length;
    for (let r = 0; r < n; r++) {
      chunk += `${world.users[r] + 1},${world.items[r] + 1},${levelText[world.levels[r]]},${FIRST_TIMESTAMP + r * SECONDS_BETWEEN_RATINGS}\n`;
      if (chunk.length >= CHUNK_CHARS) {
        ratingsBytes += writeSync(fd, chunk);
        chunk = '';
      }
    }
    ratingsBytes += writeSync(fd, chunk);
  } finally {
    closeSync(fd);
  }
  return { folder, users: options.users, items: options.items, ratings: world.users.length, ratingsBytes };
}

function writeText(path: string, parts: string[]): void {
  const fd = openSync(path, 'w');
  try {
    for (const part of parts) writeSync(fd, part);
  } finally {
    closeSync(fd);
  }
}
