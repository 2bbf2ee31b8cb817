/**
 * The import's rules, written once for both engines (catalogImport.ts for SQLite, postgres/catalogImport.ts
 * for PostgreSQL): which data set is "the same", when a replacement is refused, how every rating row is
 * checked as it streams, the scale, the CSV export of API ratings before a replacement. Each engine only
 * moves the rows. See catalogImport.ts's head for the semantics.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { CatalogData, SkipCount } from '../data/catalog.js';
import { levelIndexOf } from '../data/dataset.js';
import { checkRatingScaleCounts, MAX_RATING_LEVELS, RatingScaleError, RatingValueCounts, RatingValueLines } from '../data/scaleCheck.js';
import { SKIP_DUPLICATE, SKIP_MISSING_ITEM } from '../data/ratingPolicy.js';
import { CatalogReplaceRefusedError } from './errors.js';

/** Receives one rating row; `line` is its line in the source file, when it comes from one. */
export type RatingRowSink = (userId: number, itemId: number, value: number, timestamp: number, line?: number) => void;

export type ImportMode = 'auto' | 'merge' | 'replace';

export interface RatingSource {
  forEachRating(emit: RatingRowSink, progress: (done: number, total: number) => void): void;
  /** The declared scale every value must be on, or null to discover it from the values. */
  declaredLevels: readonly number[] | null;
  /** Whether a rating of an unknown item is skipped (a file) or an error (a catalog built in code). */
  skipUnknownItems: boolean;
  /** Skip counts known beforehand (a catalog built in code reports its own). */
  skipped: SkipCount[] | null;
}

export type ImportHeader = Pick<CatalogData, 'source' | 'layout' | 'items'> & {
  users?: CatalogData['users'];
  ratingsFile?: string;
  fingerprint?: string;
};

export interface StoredDataset {
  id: number;
  source: string;
  layout: string;
  fingerprint: string | null;
}

/**
 * Whether this import replaces the stored catalog, and why: null to merge, else the reason (shown in the
 * refusal when API ratings would be lost). `holdsExactly` tells whether the stored items are exactly the
 * imported ones (ids and titles); it is asked only for a data set stored before fingerprints.
 */
export function replaceReason(
  stored: StoredDataset,
  header: ImportHeader,
  fingerprint: string,
  mode: ImportMode,
  holdsExactly: () => boolean,
): string | null {
  if (mode === 'replace') return 'replace was asked for';
  if (mode === 'merge') return null;
  if (stored.fingerprint !== null) {
    if (stored.fingerprint === fingerprint) return null;
    return stored.layout === header.layout ? 'its movie files differ' : `layout ${stored.layout}, not ${header.layout}`;
  }
  // Imported before fingerprints: its path (the old rule), or exactly its items.
  if (stored.source === header.source || (stored.layout === header.layout && holdsExactly())) return null;
  return 'another path, and other movies';
}

/**
 * Refuses a replacement nobody asked for (`why` from replaceReason, `mode` not 'replace'): a data set is
 * never replaced implicitly. The one exception is the built-in demo catalog (layout 'demo', seeded on a
 * first start), which a first real import replaces unless it holds ratings written through the API. The
 * refusal counts what would be lost: those ratings, else the catalog's ratings.
 */
export function refuseImplicitReplace(
  stored: StoredDataset,
  header: ImportHeader,
  why: string,
  api: { ratings: number; users: number },
  storedRatings: number,
): void {
  if (api.ratings > 0) throw new CatalogReplaceRefusedError(header.source, stored.source, api.users, api.ratings, why);
  if (stored.layout !== 'demo') throw new CatalogReplaceRefusedError(header.source, stored.source, 0, 0, why, storedRatings);
}

/** What an import wrote, as both engines count it, for the data set row and the summary. */
export interface ImportOutcome<Replaced extends { source: string }> {
  header: Pick<ImportHeader, 'source' | 'layout'>;
  fingerprint: string;
  counts: { users: number; items: number; ratings: number };
  ratingLevels: number[];
  skipped: SkipCount[];
  importedAt: number;
  stored: StoredDataset | null;
  replacing: boolean;
  replaced: Replaced | null;
  rowsRead: number;
  catalogGeneration: number;
  changed: boolean;
}

/** The `datasets` row's values, in column order (source … imported_at), as both engines write it. */
export function datasetRow(o: ImportOutcome<{ source: string }>) {
  const { header, fingerprint, ratingLevels, counts, skipped, importedAt } = o;
  const levels = JSON.stringify(ratingLevels);
  return [
    header.source,
    header.layout,
    fingerprint,
    levels,
    counts.users,
    counts.items,
    counts.ratings,
    JSON.stringify(skipped),
    importedAt,
  ] as const;
}

/** The import's summary (ImportSummary, catalogImport.ts), the same on both engines. */
export function importSummary<Replaced extends { source: string }>(o: ImportOutcome<Replaced>) {
  const { header, stored, replacing, replaced } = o;
  return {
    source: header.source,
    layout: header.layout,
    ...o.counts,
    ratingLevels: o.ratingLevels,
    skipped: o.skipped,
    replacedSource: replaced?.source ?? null,
    replaced,
    mergedFrom: stored && !replacing && stored.source !== header.source ? stored.source : null,
    fingerprint: o.fingerprint,
    importedAt: o.importedAt,
    rowsRead: o.rowsRead,
    catalogGeneration: o.catalogGeneration,
    changed: o.changed,
  };
}

/** Whether `stored` (item id, title rows) are exactly `items`. */
export function sameItems(items: ImportHeader['items'], stored: Iterable<{ item_id: number; title: string }>): boolean {
  const wanted = new Map(items.map((item) => [item.itemId, item.title]));
  let count = 0;
  for (const row of stored) {
    if (wanted.get(row.item_id) !== row.title) return false;
    count++;
  }
  return count === wanted.size;
}

/** Rows of the API-ratings export per write. */
const EXPORT_ROWS_PER_WRITE = 4096;

/**
 * Writes ratings written through the API to `exportPath` as CSV (the header and columns of MovieLens'
 * ratings.csv). 'wx': never overwrites an earlier export.
 */
export function writeApiRatingsCsv(exportPath: string, rows: Iterable<readonly [number, number, number, number]>): void {
  mkdirSync(dirname(exportPath), { recursive: true });
  const fd = openSync(exportPath, 'wx');
  try {
    let lines: string[] = ['userId,movieId,rating,timestamp'];
    for (const [userId, itemId, value, timestamp] of rows) {
      lines.push(`${userId},${itemId},${value},${timestamp}`);
      if (lines.length >= EXPORT_ROWS_PER_WRITE) {
        writeSync(fd, `${lines.join('\n')}\n`);
        lines = [];
      }
    }
    if (lines.length > 0) writeSync(fd, `${lines.join('\n')}\n`);
  } finally {
    closeSync(fd);
  }
}

export function missingExportPath(where: string, apiRatings: number): Error {
  return new Error(
    `${where}: replacing the catalog would delete ${apiRatings} ratings written through the API, and no export path was given`,
  );
}

/**
 * Distinct values counted before giving up: far above any real scale (the check refuses more than
 * MAX_RATING_LEVELS), and it bounds the memory a column of non-ratings could take.
 */
const MAX_VALUES_COUNTED = 1000;

/**
 * Every rating row's checks as it streams, and what the import learns from them (users, values, counts).
 * `accept` returns false for a row to skip (an unknown item of a file), throws for a row that stops the
 * import (its message names the row), and true for a row to write.
 */
export class RatingRowChecks {
  rowsRead = 0;
  missingItems = 0;
  kept = 0;
  readonly values = new Set<number>();
  readonly valueCounts = new RatingValueCounts();
  readonly valueLines: RatingValueLines | null;
  readonly ratingUsers = new Set<number>();

  constructor(
    private readonly where: string,
    private readonly header: ImportHeader,
    private readonly source: RatingSource,
    private readonly knownItems: ReadonlySet<number>,
  ) {
    this.valueLines = header.ratingsFile ? new RatingValueLines(header.ratingsFile) : null;
  }

  accept(userId: number, itemId: number, value: number, timestamp: number, line?: number): boolean {
    const { where, source } = this;
    this.rowsRead++;
    if (!this.knownItems.has(itemId)) {
      if (source.skipUnknownItems) {
        this.missingItems++;
        return false;
      }
      throw new Error(
        `${where}: rating #${this.rowsRead} (user ${userId}, item ${itemId}) names an item that is neither in the imported items nor in the database`,
      );
    }
    if (!isId(userId)) throw new Error(`${where}: rating #${this.rowsRead} (user ${userId}, item ${itemId}) has an invalid user id`);
    const declared = source.declaredLevels;
    if (declared) {
      if (levelIndexOf(declared, value) < 0) {
        throw new Error(
          `${where}: rating #${this.rowsRead} (user ${userId}, item ${itemId}) has value ${value}, expected one of the rating levels [${declared.join(', ')}]`,
        );
      }
    } else if (!this.values.has(value)) this.values.add(value);
    this.valueCounts.add(value);
    if (line !== undefined) this.valueLines?.add(value, line);
    if (this.valueCounts.counts.size > MAX_VALUES_COUNTED) this.checkScale({});
    if (!Number.isSafeInteger(timestamp)) {
      throw new Error(`${where}: rating #${this.rowsRead} (user ${userId}, item ${itemId}) has an invalid timestamp ${timestamp}`);
    }
    this.ratingUsers.add(userId);
    this.kept++;
    return true;
  }

  /** The scale check (data/scaleCheck.ts), before anything else is written: a refusal rolls the import back. */
  checkScale(options: { allowScale?: boolean; storedRatings?: number }): void {
    const lines = this.valueLines;
    checkRatingScaleCounts(this.valueCounts, {
      source: this.header.source,
      locate: lines ? (v) => lines.locate(v) : undefined,
      ...options,
    });
  }

  /**
   * The data set's levels: as declared, else the distinct values written. A value seen only on a row a
   * later duplicate replaced is not on the scale, so when rows were replaced (`distinctPairs` < kept) the
   * caller reads the values back from what was written (`valuesWritten`).
   */
  ratingLevels(distinctPairs: number, valuesWritten: () => Iterable<number>): number[] {
    const declared = this.source.declaredLevels;
    const written = declared || this.kept - distinctPairs === 0 ? this.values : valuesWritten();
    const levels = declared ? [...declared] : [...written].sort((a, b) => a - b);
    if (levels.length > MAX_RATING_LEVELS) {
      throw new RatingScaleError(
        `${this.where}: ratingLevels lists ${levels.length} levels, more than the ${MAX_RATING_LEVELS} a rating scale may have`,
      );
    }
    return levels;
  }

  skipped(distinctPairs: number): SkipCount[] {
    return (
      this.source.skipped ?? [
        { reason: SKIP_MISSING_ITEM, count: this.missingItems },
        { reason: SKIP_DUPLICATE, count: this.kept - distinctPairs },
      ]
    );
  }
}

export const isId = (id: number): boolean => Number.isSafeInteger(id) && id >= 0;

export function validateLevels(levels: readonly number[], where: string): void {
  for (let k = 1; k < levels.length; k++) {
    if (!(levels[k] > levels[k - 1])) {
      throw new Error(`${where}: ratingLevels must ascend strictly, got [${levels.join(', ')}]`);
    }
  }
}

/**
 * Checks items and users before anything is written, so errors name the offending record instead of
 * surfacing as a constraint failure from the database. Ratings are checked row by row as they stream.
 */
export function validateRecords(header: ImportHeader, where: string): void {
  header.items.forEach((item, i) => {
    if (!isId(item.itemId)) throw new Error(`${where}: item #${i + 1} has an invalid id ${item.itemId}`);
  });
  header.users?.forEach((user, i) => {
    if (!isId(user.userId)) throw new Error(`${where}: user #${i + 1} has an invalid id ${user.userId}`);
  });
}
