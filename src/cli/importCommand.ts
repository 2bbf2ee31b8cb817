/**
 * `npm run import -- --data <folder> [--db <path>]`: reads a MovieLens folder and imports it into the
 * SQLite store in one transaction, streaming the ratings file. Progress on stderr, the summary on stdout.
 */
import { statSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import type { InputLimits } from '../data/inputLimits.js';
import { LAYOUT_FILES, LAYOUT_NAMES } from '../data/layouts.js';
import { detectLayout, forEachCatalogRating, readMovieLensCatalog } from '../data/movielens.js';
import { OUTLIER_SHARE } from '../data/scaleCheck.js';
import { retryWhileBusy, type BusyRetryOptions } from '../store/busy.js';
import { dbPathFrom, DEFAULT_DB_PATH, localPathBeside, parseFlags, UsageError } from './common.js';
import type { ImportMode, ImportSummary } from '../store/catalogImport.js';
import { openStore } from '../store/open.js';
import { createProgress, formatBytes, formatCount, formatEta, type ProgressStream } from './progress.js';

export const IMPORT_USAGE = `usage: npm run import -- --data <folder> [--db <path>] [--allow-scale] [--replace | --merge]
  --data <folder>  a MovieLens folder: 100K (u.data, u.item), 1M/10M (ratings.dat, movies.dat)
                   or latest/20M/25M (ratings.csv, movies.csv)
  --db <path|url>  SQLite file or postgres://user:password@host:port/database to import into
                   (default: $DATABASE_URL, else $DB_PATH, else ${DEFAULT_DB_PATH})
  --allow-scale    import rating values used by fewer than ${OUTLIER_SHARE * 100} % of the ratings as levels of
                   their own (refused by default as likely typos)
  --replace        replace the catalog even when ratings were written through the API (they are exported
                   to a CSV file beside the database first)
  --merge          merge into the catalog even when the folder is another data set (e.g. a newer export of
                   the same catalog whose movie file changed)
A data set is known by its fingerprint (its layout and movie files), not its path: the same data set is
merged, keeping ratings written through the API; another one replaces the catalog, refused when that would
delete ratings written through the API unless --replace or --merge is given.`;

export interface ImportCommand {
  dataFolder: string;
  dbPath: string;
  /** Accept outlier rating levels (`--allow-scale`). */
  allowScale?: boolean;
  /** `--replace` / `--merge`; 'auto' when neither. */
  mode?: ImportMode;
  /** Line and title limits (defaults: DEFAULT_INPUT_LIMITS); not a flag, tests use small ones. */
  limits?: Partial<InputLimits>;
}

export function parseImportArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ImportCommand | 'help' {
  const values = parseFlags(argv, {
    data: { type: 'string' },
    db: { type: 'string' },
    'allow-scale': { type: 'boolean' },
    replace: { type: 'boolean' },
    merge: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return 'help';
  if (values.data === undefined || values.data === '') throw new UsageError('--data <folder> is required');
  if (values.replace && values.merge) throw new UsageError('--replace and --merge exclude each other: give one');
  const mode: ImportMode | null = values.replace ? 'replace' : values.merge ? 'merge' : null;
  return {
    dataFolder: values.data,
    dbPath: dbPathFrom(values.db, env),
    ...(values['allow-scale'] ? { allowScale: true } : {}),
    ...(mode ? { mode } : {}),
  };
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
export async function runImport(
  command: ImportCommand,
  stderr: ProgressStream = process.stderr,
  retry: BusyRetryOptions & { busyTimeoutMs?: number } = {},
): Promise<ImportReport> {
  const layout = detectLayout(command.dataFolder);
  const started = performance.now();
  const reading = createProgress(`reading ${LAYOUT_NAMES[layout]}`, { stream: stderr, format: formatBytes });
  // This phase reads everything but the ratings file, which the next one streams.
  const ratingsBytes = statSync(join(command.dataFolder, LAYOUT_FILES[layout].ratings)).size;
  const catalog = await readMovieLensCatalog(command.dataFolder, {
    onProgress: (done, total) => reading.update(done, total - ratingsBytes),
    limits: command.limits,
  });
  const readSeconds = (performance.now() - started) / 1000;
  reading.finish(`${formatCount(catalog.items.length)} items, ${formatBytes(catalog.bytesRead)} in ${readSeconds.toFixed(2)} s`);

  const writeStarted = performance.now();
  const store = await openStore(command.dbPath, { sqlite: { busyTimeoutMs: retry.busyTimeoutMs } });
  try {
    // The import takes the write lock for its whole transaction. Another writer (the server storing a
    // posted rating, a training run saving its model, another import) may hold it: each attempt waits
    // the busy timeout, then we back off, say what we wait for, and try again.
    const summary = await retryWhileBusy(
      async () => {
        let rows = 0;
        const writing = createProgress('writing to the database', {
          stream: stderr,
          format: formatBytes,
          detail: (done, total, seconds) =>
            `${formatCount(rows)} ratings, ${formatCount(seconds > 0 ? Math.round(rows / seconds) : 0)} rows/s ${formatEta(done, total, seconds)}`.trimEnd(),
        });
        const result = await store.catalog.importStream(
          {
            source: catalog.source,
            layout: catalog.layout,
            fingerprint: catalog.fingerprint,
            items: catalog.items,
            ...(catalog.users ? { users: catalog.users } : {}),
            ratingsFile: catalog.ratingsPath,
            forEachRating: (emit, progress) => forEachCatalogRating(catalog, emit, progress),
          },
          {
            allowScale: command.allowScale,
            mode: command.mode,
            exportPath: replacedRatingsPath(localPathBeside(command.dbPath), new Date()),
            onProgress: (done, total, rowsRead) => {
              rows = rowsRead;
              writing.update(done, total);
            },
          },
        );
        writing.finish(`${formatCount(result.rowsRead)} rating rows in ${((performance.now() - writeStarted) / 1000).toFixed(2)} s`);
        return result;
      },
      {
        ...retry,
        onWait: (attempt, attempts, delayMs) => {
          stderr.write(
            `the database ${command.dbPath} is locked by another writer (the server storing ratings, a training run ` +
              `saving its model, or another import); attempt ${attempt} of ${attempts} failed, retrying in ${(delayMs / 1000).toFixed(1)} s\n`,
          );
          retry.onWait?.(attempt, attempts, delayMs);
        },
      },
    );
    const writeSeconds = (performance.now() - writeStarted) / 1000;
    return { ...summary, dbPath: store.location, readSeconds, writeSeconds };
  } finally {
    await store.close();
  }
}

/**
 * Where a replacement exports the ratings written through the API: beside the database, named after it and
 * the time ("recommender.replaced-api-ratings-2026-12-03T05-40-12Z.csv").
 */
export function replacedRatingsPath(dbPath: string, when: Date): string {
  const stamp = when
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/:/g, '-');
  return join(dirname(dbPath), `${basename(dbPath, extname(dbPath))}.replaced-api-ratings-${stamp}.csv`);
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
  lines.push(`  data set       ${report.fingerprint.slice(0, 'sha256:'.length + 16)}… (fingerprint of its layout and movie files)`);
  if (report.replaced !== null) {
    lines.push(`  replaced the catalog of ${report.replaced.source} (its model versions are no longer current)`);
    if (report.replaced.exportPath !== null) {
      lines.push(
        `  deleted ${formatCount(report.replaced.apiRatings)} ratings written through the API by ${formatCount(report.replaced.apiUsers)} users; ` +
          `exported first to ${report.replaced.exportPath}`,
      );
    }
  }
  if (report.mergedFrom !== null) {
    lines.push(`  merged into the same data set, imported before from ${report.mergedFrom}; ratings written through the API kept`);
  }
  lines.push(
    report.changed
      ? `  catalog generation ${report.catalogGeneration} (changed: models trained before are stale; run npm run train)`
      : `  catalog generation ${report.catalogGeneration} (unchanged: the data was already imported)`,
  );
  lines.push(
    `  seconds        ${(report.readSeconds + report.writeSeconds).toFixed(2).padStart(12)}` +
      ` (read ${report.readSeconds.toFixed(2)}, write ${report.writeSeconds.toFixed(2)})`,
  );
  return lines.join('\n');
}

export { DEFAULT_DB_PATH, UsageError };

/** The whole command: parse, import, print the summary (a failed import leaves the database unchanged). */
export async function importMain(argv: string[]): Promise<void> {
  const command = parseImportArgs(argv);
  if (command === 'help') {
    process.stdout.write(`${IMPORT_USAGE}\n`);
    return;
  }
  try {
    const report = await runImport(command);
    process.stdout.write(`${formatImportReport(report)}\n`);
  } catch (error) {
    throw new Error(`import failed, the database was not changed: ${(error as Error).message}`);
  }
}
