/**
 * `npm run import -- --data <folder> [--db <path>]`: reads a MovieLens folder and imports it into the
 * SQLite store in one transaction, streaming the ratings file. Progress on stderr, the summary on stdout.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LAYOUT_FILES, LAYOUT_NAMES } from '../data/layouts.js';
import { detectLayout, forEachCatalogRating, readMovieLensCatalog } from '../data/movielens.js';
import { CatalogStore } from '../store/catalogStore.js';
import type { ImportSummary } from '../store/catalogImport.js';
import { openDatabase } from '../store/database.js';
import { createProgress, formatBytes, formatCount, formatEta, type ProgressStream } from './progress.js';

export const DEFAULT_DB_PATH = 'data/recommender.db';

export const IMPORT_USAGE = `usage: npm run import -- --data <folder> [--db <path>]
  --data <folder>  a MovieLens folder: 100K (u.data, u.item), 1M/10M (ratings.dat, movies.dat)
                   or latest/20M/25M (ratings.csv, movies.csv)
  --db <path>      SQLite database to import into (default: $DB_PATH, else ${DEFAULT_DB_PATH})`;

/** Bad command line: the script prints the message and the usage, and exits with status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface ImportCommand {
  dataFolder: string;
  dbPath: string;
}

export function parseImportArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ImportCommand | 'help' {
  let values: { data?: string; db?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { data: { type: 'string' }, db: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return 'help';
  if (values.data === undefined || values.data === '') throw new UsageError('--data <folder> is required');
  const dbPath = values.db ?? (env.DB_PATH !== undefined && env.DB_PATH !== '' ? env.DB_PATH : DEFAULT_DB_PATH);
  return { dataFolder: values.data, dbPath };
}

export interface ImportReport extends ImportSummary {
  dbPath: string;
  /** Reading the item (and user) files. */
  readSeconds: number;
  /** Streaming the ratings file into the database, indices and commit included. */
  writeSeconds: number;
}

/**
 * Reads the small files (items, users) first: a bad line there is found before the database is even
 * opened. Then streams the ratings file into the database in one transaction (catalogImport.ts): a bad
 * rating line, however late in the file, rolls everything back. Either way a failed import leaves the
 * database exactly as it was. Memory follows the catalog, not the number of ratings.
 */
export async function runImport(command: ImportCommand, stderr: ProgressStream = process.stderr): Promise<ImportReport> {
  const layout = detectLayout(command.dataFolder);
  const started = performance.now();
  const reading = createProgress(`reading ${LAYOUT_NAMES[layout]}`, { stream: stderr, format: formatBytes });
  // This phase reads everything but the ratings file, which the next one streams.
  const ratingsBytes = statSync(join(command.dataFolder, LAYOUT_FILES[layout].ratings)).size;
  const catalog = await readMovieLensCatalog(command.dataFolder, {
    onProgress: (done, total) => reading.update(done, total - ratingsBytes),
  });
  const readSeconds = (performance.now() - started) / 1000;
  reading.finish(`${formatCount(catalog.items.length)} items, ${formatBytes(catalog.bytesRead)} in ${readSeconds.toFixed(2)} s`);

  const writeStarted = performance.now();
  const db = openDatabase(command.dbPath);
  try {
    let rows = 0;
    const writing = createProgress('writing to the database', {
      stream: stderr,
      format: formatBytes,
      detail: (done, total, seconds) =>
        `${formatCount(rows)} ratings, ${formatCount(seconds > 0 ? Math.round(rows / seconds) : 0)} rows/s ${formatEta(done, total, seconds)}`.trimEnd(),
    });
    const summary = new CatalogStore(db).importStream(
      {
        source: catalog.source,
        layout: catalog.layout,
        items: catalog.items,
        ...(catalog.users ? { users: catalog.users } : {}),
        forEachRating: (emit, progress) => forEachCatalogRating(catalog, emit, progress),
      },
      {
        onProgress: (done, total, rowsRead) => {
          rows = rowsRead;
          writing.update(done, total);
        },
      },
    );
    const writeSeconds = (performance.now() - writeStarted) / 1000;
    writing.finish(`${formatCount(summary.rowsRead)} rating rows in ${writeSeconds.toFixed(2)} s`);
    return { ...summary, dbPath: command.dbPath, readSeconds, writeSeconds };
  } finally {
    db.close();
  }
}

/** The summary printed on stdout. */
export function formatImportReport(report: ImportReport): string {
  const totalSkipped = report.skipped.reduce((sum, s) => sum + s.count, 0);
  const levels = report.ratingLevels;
  const lines = [
    `imported ${report.source} (layout ${report.layout}) into ${report.dbPath}`,
    `  users          ${formatCount(report.users).padStart(12)}`,
    `  items          ${formatCount(report.items).padStart(12)}`,
    `  ratings        ${formatCount(report.ratings).padStart(12)}`,
    `  rating levels  ${levels.join(', ')} (K = ${levels.length})`,
    `  rows skipped   ${formatCount(totalSkipped).padStart(12)}`,
    ...report.skipped.map((s) => `    ${formatCount(s.count).padStart(10)}  ${s.reason}`),
  ];
  if (report.replacedSource !== null) {
    lines.push(`  replaced the catalog of ${report.replacedSource} (its model versions are no longer current)`);
  }
  lines.push(
    `  seconds        ${(report.readSeconds + report.writeSeconds).toFixed(2).padStart(12)}` +
      ` (read ${report.readSeconds.toFixed(2)}, write ${report.writeSeconds.toFixed(2)})`,
  );
  return lines.join('\n');
}
