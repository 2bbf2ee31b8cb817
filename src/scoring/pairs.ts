/**
 * Batch scoring of given pairs: each `userId,itemId` row of the input comes out with a `predicted` column
 * appended (other columns are kept as they are).
 *
 * The input is streamed through papaparse (csv-reader.ts) and processed in chunks of rows; the users of a
 * chunk are scored through serving's `scoreStoredUsers` (the API's values, in dense blocks), and the chunk
 * is written back in input order. Scored users are kept in an LRU bounded by memory because pair files
 * are usually sorted or clustered by user. Memory: one chunk plus the cache, whatever the file size.
 *
 * A bad row (wrong number of fields, an id that is not an integer, an unknown user or item) is reported
 * with its line number and skipped, or ends the run with `strict`. An item that exists in the catalog but
 * was added after the model was trained cannot be scored: its `predicted` is left empty (the API's null).
 */
import type { Readable, Writable } from 'node:stream';
import { ID_PATTERN } from '../data/ids.js';
import type { UserScores } from '../model/index.js';
import type { ModelSnapshot } from '../serving/modelHolder.js';
import type { CatalogReader } from '../serving/ports.js';
import { DEFAULT_CACHE_BYTES, scoresBytes } from '../serving/scoreCache.js';
import { scoreStoredUsers } from '../serving/batches.js';
import { csvRecordBatches } from './csv-reader.js';
import { CsvWriter, formatPredicted, type CsvValue } from './csv-writer.js';

export class BadRowError extends Error {
  constructor(
    readonly source: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${source}:${line}: ${reason}`);
    this.name = 'BadRowError';
  }
}

export interface PairsOptions {
  snapshot: ModelSnapshot;
  catalog: Pick<CatalogReader, 'getUser' | 'getUserRatings' | 'getItem'>;
  /** CSV text (a stream with a string encoding, e.g. createReadStream(path, 'utf8')). */
  input: Readable;
  out: Writable;
  /** Name used in bad-row messages (the file path). */
  source?: string;
  /** Fail on the first bad row instead of skipping it. */
  strict?: boolean;
  /** Rows per processing chunk. */
  chunkRows?: number;
  /** Memory for scored users kept for reuse (default 64 MiB). */
  cacheBytes?: number;
  onBadRow?: (error: BadRowError) => void;
  onProgress?: (rowsDone: number) => void;
}

export interface PairsSummary {
  /** Data rows read (header and blank lines excluded). */
  rows: number;
  /** Rows written with a predicted rating. */
  scored: number;
  /** Rows written with an empty prediction (item newer than the model). */
  unscorable: number;
  /** Bad rows reported and left out. */
  skipped: number;
}

interface PendingRow {
  fields: string[];
  userId: number;
  itemId: number;
  /** Model item index, or -1 for an item the model cannot score. */
  itemIndex: number;
  predicted: number | null;
}

const USER_COLUMNS = ['userid', 'user_id', 'user'];
const ITEM_COLUMNS = ['itemid', 'item_id', 'item', 'movieid', 'movie_id', 'movie'];

export async function scorePairs(options: PairsOptions): Promise<PairsSummary> {
  const { snapshot, catalog } = options;
  const source = options.source ?? 'input';
  const chunkRows = options.chunkRows ?? 10_000;
  const cacheBytes = options.cacheBytes ?? DEFAULT_CACHE_BYTES;
  const writer = new CsvWriter(options.out);
  const summary: PairsSummary = { rows: 0, scored: 0, unscorable: 0, skipped: 0 };

  // Map iteration order is insertion order: deleting and re-inserting on use makes it an LRU.
  const scored = new Map<number, UserScores>();
  let scoredBytes = 0;
  const remember = (userId: number, scores: UserScores): void => {
    scored.set(userId, scores);
    scoredBytes += scoresBytes(scores);
    for (const [oldest, entry] of scored) {
      if (scoredBytes <= cacheBytes || scored.size <= 1) break;
      scored.delete(oldest);
      scoredBytes -= scoresBytes(entry);
    }
  };
  const storedUsers = new Map<number, boolean>(); // is this id a stored user (checked once per id)
  const isStoredUser = (userId: number): boolean => {
    let known = storedUsers.get(userId);
    if (known === undefined) {
      known = catalog.getUser(userId) !== null;
      storedUsers.set(userId, known);
    }
    return known;
  };
  const knownItems = new Map<number, boolean>(); // catalog lookups for items outside the model

  const bad = (line: number, reason: string): void => {
    const error = new BadRowError(source, line, reason);
    if (options.strict) throw error;
    summary.skipped++;
    options.onBadRow?.(error);
  };

  let chunk: PendingRow[] = [];
  const flushChunk = async (): Promise<void> => {
    const byUser = new Map<number, PendingRow[]>();
    for (const row of chunk) {
      if (row.itemIndex < 0) continue;
      const list = byUser.get(row.userId);
      if (list) list.push(row);
      else byUser.set(row.userId, [row]);
    }
    const missing = [...byUser.keys()].filter((userId) => {
      const hit = scored.get(userId);
      if (hit) {
        scored.delete(userId);
        scored.set(userId, hit);
      }
      return hit === undefined;
    });
    for (const { userId, scores } of scoreStoredUsers(snapshot, catalog, missing)) remember(userId, scores);
    for (const [userId, rows] of byUser) {
      // Unknown users were rejected while reading, so every user here was scored.
      const { expected } = scored.get(userId) ?? { expected: null };
      rows.forEach((r) => (r.predicted = expected ? expected[r.itemIndex] : null));
    }
    for (const row of chunk) {
      const out: CsvValue[] = [...row.fields, row.predicted === null ? '' : formatPredicted(row.predicted)];
      if (row.predicted === null) summary.unscorable++;
      else summary.scored++;
      await writer.write(out);
    }
    chunk = [];
  };

  let line = 0;
  let userColumn = 0;
  let itemColumn = 1;
  let width = -1; // fields per row, fixed by the first row
  for await (const batch of csvRecordBatches(options.input))
    for (const fields of batch) {
      line++; // one record per line: ids need no quoted line breaks, so this is the file's line number
      if (fields.length === 1 && fields[0].trim() === '') continue; // blank line
      if (width < 0) {
        width = fields.length;
        if (!ID_PATTERN.test(fields[0].trim())) {
          // A header: find the id columns by name (or assume the first two), and keep it in the output.
          const names = fields.map((f) => f.trim().toLowerCase());
          const u = names.findIndex((n) => USER_COLUMNS.includes(n));
          const i = names.findIndex((n) => ITEM_COLUMNS.includes(n));
          if (u >= 0 && i >= 0) {
            userColumn = u;
            itemColumn = i;
          }
          if (width < 2) throw new BadRowError(source, line, `expected at least two columns (userId,itemId), got ${width}`);
          await writer.write([...fields, 'predicted']);
          continue;
        }
        if (width < 2) throw new BadRowError(source, line, `expected at least two columns (userId,itemId), got ${width}`);
        await writer.write(['userId', 'itemId', ...fields.slice(2).map((_, n) => `column${n + 3}`), 'predicted']);
      }
      summary.rows++;
      if (fields.length !== width) {
        bad(line, `expected ${width} fields, got ${fields.length}`);
        continue;
      }
      const rawUser = fields[userColumn].trim();
      const rawItem = fields[itemColumn].trim();
      if (!ID_PATTERN.test(rawUser)) {
        bad(line, `userId must be a non-negative integer, got "${rawUser}"`);
        continue;
      }
      if (!ID_PATTERN.test(rawItem)) {
        bad(line, `itemId must be a non-negative integer, got "${rawItem}"`);
        continue;
      }
      const userId = Number(rawUser);
      const itemId = Number(rawItem);
      if (!isStoredUser(userId)) {
        bad(line, `unknown user ${userId}`);
        continue;
      }
      const itemIndex = snapshot.itemIndex.get(itemId) ?? -1;
      if (itemIndex < 0) {
        let known = knownItems.get(itemId);
        if (known === undefined) {
          known = catalog.getItem(itemId) !== null;
          knownItems.set(itemId, known);
        }
        if (!known) {
          bad(line, `unknown item ${itemId}`);
          continue;
        }
      }
      chunk.push({ fields, userId, itemId, itemIndex, predicted: null });
      if (chunk.length >= chunkRows) {
        await flushChunk();
        options.onProgress?.(summary.rows);
      }
    }
  if (width < 0) throw new BadRowError(source, 1, 'the file is empty: expected userId,itemId rows');
  await flushChunk();
  await writer.flush();
  options.onProgress?.(summary.rows);
  return summary;
}
