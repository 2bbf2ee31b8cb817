/**
 * MovieLens folders: layout detection and reading a whole folder into CatalogData, ready for
 * CatalogStore.importCatalog. Parsing is streamed (papaparse over read streams, see delimitedFile.ts).
 *
 *   100K              u.data (tab) + u.item ('|', latin-1, genre flags named by u.genre) [+ u.user]
 *   1M / 10M          ratings.dat + movies.dat ('::', genres joined by '|') [+ users.dat, 1M]
 *   latest/20M/25M    ratings.csv + movies.csv (comma, header row, quoted titles, half stars)
 */
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CatalogData, ItemRecord, MovieLensLayout, UserRecord } from './catalog.js';
import { discoverRatingLevels } from './dataset.js';
import { DataFolderError } from './errors.js';
import { addFile, fingerprintOf, movieFilesDigest } from './fingerprint.js';
import { DEFAULT_INPUT_LIMITS, type InputLimits } from './inputLimits.js';
import { ML100K_GENRES, readGenreNames, readItemsFile } from './itemsFile.js';
import { LAYOUT_FILES, LAYOUT_NAMES } from './layouts.js';
import { applyRatingPolicy } from './ratingPolicy.js';
import { readRatingsFile } from './ratingsFile.js';
import { readUsersFile } from './usersFile.js';

export { readRatingsFile, type ReadRatingsOptions } from './ratingsFile.js';
export { scanRatingsFile, type ScanRatingsOptions } from './ratingsScan.js';
import { scanRatingsFile } from './ratingsScan.js';
export { readItemsFile, readGenreNames } from './itemsFile.js';
export { readUsersFile } from './usersFile.js';
export { SKIP_DUPLICATE, SKIP_MISSING_ITEM } from './ratingPolicy.js';
export type { CatalogData, ItemRecord, MovieLensLayout, TimedRating, UserRecord, SkipCount } from './catalog.js';

const LAYOUT_ORDER: readonly MovieLensLayout[] = ['100k', 'dat', 'csv'];

/** "u.data + u.item (MovieLens 100K), ratings.dat + movies.dat (MovieLens 1M/10M), …" */
function filesLookedFor(): string {
  return LAYOUT_ORDER.map((layout) => {
    const files = LAYOUT_FILES[layout];
    return `${files.ratings} + ${files.items} (${LAYOUT_NAMES[layout]})`;
  }).join(', ');
}

function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
}

/**
 * Which MovieLens layout `folder` holds, from the files present: a layout needs both its ratings and its
 * movie file. Throws a DataFolderError listing the files looked for when the folder is missing or matches
 * none.
 */
export function detectLayout(folder: string): MovieLensLayout {
  const absolute = resolve(folder);
  const stat = statSync(absolute, { throwIfNoEntry: false });
  if (!stat) {
    throw new DataFolderError(
      absolute,
      `data folder not found: ${absolute} (expected a MovieLens folder holding ${filesLookedFor()})`,
    );
  }
  if (!stat.isDirectory()) {
    throw new DataFolderError(
      absolute,
      `not a folder: ${absolute} (expected a MovieLens folder holding ${filesLookedFor()})`,
    );
  }
  for (const layout of LAYOUT_ORDER) {
    const files = LAYOUT_FILES[layout];
    if (isFile(join(absolute, files.ratings)) && isFile(join(absolute, files.items))) return layout;
  }
  const present = readdirSync(absolute).sort();
  const shown = present.length === 0 ? 'nothing' : present.slice(0, 12).join(', ') + (present.length > 12 ? ', …' : '');
  throw new DataFolderError(
    absolute,
    `no MovieLens layout found in ${absolute}: looked for ${filesLookedFor()}; the folder holds ${shown}`,
  );
}

export interface ReadFolderOptions {
  /** Progress over all files of the folder, in bytes. */
  onProgress?: (bytesRead: number, totalBytes: number) => void;
  /** Line and title limits (defaults: DEFAULT_INPUT_LIMITS). */
  limits?: Partial<InputLimits>;
}

/**
 * Reads a MovieLens folder: items, optional users, ratings. Ratings naming unknown items are skipped and
 * duplicate (user, item) rows keep the last one (ratingPolicy.ts); both are counted in `skipped`.
 * Rejects on the first malformed line, naming file and line.
 */
export async function readMovieLensFolder(
  folder: string,
  options: ReadFolderOptions = {},
): Promise<CatalogData & { layout: MovieLensLayout }> {
  const catalog = await readMovieLensCatalog(folder, options);
  const bytesBefore = catalog.bytesRead;
  const allRatings = await readRatingsFile(catalog.ratingsPath, catalog.layout, undefined, {
    onBytes: options.onProgress ? (bytes) => options.onProgress?.(bytesBefore + bytes, catalog.totalBytes) : undefined,
    maxLineBytes: catalog.limits.maxLineBytes,
  });
  options.onProgress?.(catalog.totalBytes, catalog.totalBytes);
  const { ratings, skipped } = applyRatingPolicy(allRatings, new Set(catalog.items.map((item) => item.itemId)));
  const ratingLevels = discoverRatingLevels(ratings.map((r) => r.value));
  const { layout, source, items, users, fingerprint } = catalog;
  return { layout, source, fingerprint, items, ...(users ? { users } : {}), ratings, ratingLevels, skipped };
}

/** A MovieLens folder's items and users, read; its ratings file, located but not read. */
export interface MovieLensCatalog {
  layout: MovieLensLayout;
  source: string;
  items: ItemRecord[];
  users?: UserRecord[];
  ratingsPath: string;
  /** What identifies the data set whatever its path (fingerprint.ts). */
  fingerprint: string;
  /** The limits it was read with; the ratings file is streamed with the same. */
  limits: InputLimits;
  /** Bytes of the files read so far (genres, items, users) and of all of them, ratings included. */
  bytesRead: number;
  totalBytes: number;
}

/**
 * Reads a folder's (small) item, genre and user files and locates its ratings file, for an import that
 * streams the ratings itself (ratingsScan.ts). `onProgress` counts bytes over all files, ratings included.
 */
export async function readMovieLensCatalog(folder: string, options: ReadFolderOptions = {}): Promise<MovieLensCatalog> {
  const layout = detectLayout(folder);
  const source = resolve(folder);
  const names = LAYOUT_FILES[layout];
  const path = (name: string): string => join(source, name);
  const optionalPath = (name: string | undefined): string | null =>
    name !== undefined && isFile(path(name)) ? path(name) : null;

  const genresPath = optionalPath(names.genres);
  const usersPath = optionalPath(names.users);
  const toRead = [genresPath, path(names.items), usersPath, path(names.ratings)].filter(
    (p): p is string => p !== null,
  );
  const totalBytes = toRead.reduce((sum, p) => sum + statSync(p).size, 0);
  let bytesBefore = 0;
  // Per-file byte counts become one running total over the folder.
  const progressFor = (file: string): ((bytes: number) => void) | undefined => {
    const base = bytesBefore;
    bytesBefore += statSync(file).size;
    const report = options.onProgress;
    return report ? (bytes) => report(base + bytes, totalBytes) : undefined;
  };

  const limits: InputLimits = { ...DEFAULT_INPUT_LIMITS, ...options.limits };
  const digest = movieFilesDigest(layout);
  const fed = (file: string, name: string): ReturnType<typeof addFile> => addFile(digest, name, statSync(file).size);
  const genreNames = genresPath
    ? await readGenreNames(genresPath, progressFor(genresPath), { limits, digest: fed(genresPath, 'genres') })
    : ML100K_GENRES;
  const itemsPath = path(names.items);
  const items = await readItemsFile(itemsPath, layout, genreNames, progressFor(itemsPath), { limits, digest: fed(itemsPath, 'items') });
  let users: UserRecord[] | undefined;
  if (usersPath && layout !== 'csv') users = await readUsersFile(usersPath, layout, progressFor(usersPath), { limits });
  return {
    layout,
    source,
    fingerprint: fingerprintOf(digest),
    limits,
    items,
    ...(users ? { users } : {}),
    ratingsPath: path(names.ratings),
    bytesRead: bytesBefore,
    totalBytes,
  };
}

/**
 * Streams the catalog's ratings file row by row (ratingsScan.ts): the `forEachRating` of a streamed import.
 * Progress counts bytes over the whole folder, continuing from the files already read.
 */
export function forEachCatalogRating(
  catalog: MovieLensCatalog,
  emit: (userId: number, itemId: number, value: number, timestamp: number) => void,
  progress: (done: number, total: number) => void,
): void {
  const before = catalog.bytesRead;
  scanRatingsFile(catalog.ratingsPath, catalog.layout, emit, {
    onBytes: (bytes, fileBytes) => progress(before + bytes, before + fileBytes),
    maxLineBytes: catalog.limits.maxLineBytes,
  });
}
