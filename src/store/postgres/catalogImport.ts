/**
 * Importing a whole catalog into PostgreSQL in ONE transaction, with the rules of ../catalogImport.ts
 * (written once in ../importRules.ts: the same data set merged, another one replacing the catalog, the
 * refusal when that would delete ratings written through the API, the scale check, every row checked as
 * it streams). Only how rows move differs:
 *
 * - The transaction first locks the catalog generation row FOR UPDATE: rating writes (FOR SHARE) and
 *   other imports wait until it commits or rolls back; the replicas keep serving from memory meanwhile.
 * - The ratings are scanned (synchronously: the file scanner is) into a temporary file of COPY text,
 *   which is then streamed into a temporary table with COPY FROM STDIN (pg-copy-streams), with
 *   backpressure: memory follows the catalog, not the number of ratings, as with SQLite.
 * - From the temporary table, one INSERT … SELECT DISTINCT ON (user, item) keeps the last row of each
 *   pair in file order (the `seq` column), straight into an empty `ratings` (its secondary index dropped
 *   and rebuilt once) or merged into a filled one with the same ON CONFLICT rule as SQLite.
 * - COMMIT sends NOTIFY catalog:<generation> when the catalog changed: every replica reloads.
 */
import { createReadStream, closeSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import { namedFingerprint } from '../../data/fingerprint.js';
import { itemSearchKey } from '../../data/titles.js';
import type { ImportOptions, ImportSummary, ReplacedCatalog } from '../catalogImport.js';
import {
  missingExportPath,
  RatingRowChecks,
  datasetRow,
  importSummary,
  refuseImplicitReplace,
  replaceReason,
  sameItems,
  validateLevels,
  validateRecords,
  writeApiRatingsCsv,
  type ImportHeader,
  type RatingSource,
  type StoredDataset,
} from '../importRules.js';
import { CHANNEL } from './channel.js';
import { inTransaction, type Pool, type PoolClient } from './pool.js';

/** Bytes of COPY text buffered before a write to the temporary file. */
const FILE_WRITE_BYTES = 1 << 20;

export async function importIntoPostgres(
  pool: Pool,
  header: ImportHeader,
  source: RatingSource,
  options: ImportOptions,
): Promise<ImportSummary> {
  const where = `cannot import ${header.source}`;
  if (source.declaredLevels) validateLevels(source.declaredLevels, where);
  validateRecords(header, where);
  const fingerprint = header.fingerprint ?? namedFingerprint(header.layout, header.source);
  const scratch = mkdtempSync(path.join(tmpdir(), 'rbm-import-'));
  let exported: string | null = null;
  try {
    return await inTransaction(pool, async (client) => {
      await client.query('SELECT generation FROM catalog_state WHERE id = 1 FOR UPDATE');
      const stored =
        (
          await client.query<StoredDataset>(
            'SELECT id, source, layout, fingerprint FROM datasets ORDER BY imported_at DESC, id DESC LIMIT 1',
          )
        ).rows[0] ?? null;
      let replacing = false;
      if (stored) {
        const titles =
          stored.fingerprint === null
            ? (await client.query<{ item_id: number; title: string }>('SELECT item_id, title FROM items ORDER BY item_id')).rows
            : [];
        const mode = options.mode ?? 'auto';
        const why = replaceReason(stored, header, fingerprint, mode, () => sameItems(header.items, titles));
        if (why !== null) {
          replacing = true;
          if (mode !== 'replace') refuseImplicitReplace(stored, header, why, await apiCounts(client), await countRatings(client));
        }
      }
      const storedRatings = replacing ? 0 : await countRatings(client);
      let replaced: ReplacedCatalog | null = null;
      if (replacing && stored) {
        const api = await apiCounts(client);
        if (api.ratings === 0) replaced = { source: stored.source, apiRatings: 0, apiUsers: 0, exportPath: null };
        else {
          if (options.exportPath === undefined) throw missingExportPath(where, api.ratings);
          const rows = await client.query<{ user_id: number; item_id: number; value: number; timestamp: number }>(
            'SELECT user_id, item_id, value, timestamp FROM ratings WHERE from_api = 1 ORDER BY user_id, item_id',
          );
          writeApiRatingsCsv(
            options.exportPath,
            rows.rows.map((r) => [r.user_id, r.item_id, r.value, r.timestamp] as const),
          );
          exported = options.exportPath;
          replaced = { source: stored.source, apiRatings: api.ratings, apiUsers: api.users, exportPath: options.exportPath };
        }
      }
      return load(client, header, source, options, { where, fingerprint, stored, replaced, storedRatings, scratch });
    });
  } catch (error) {
    // Rolled back: nothing was deleted, so the export would only mislead.
    if (exported !== null) unlinkSync(exported);
    throw error;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function apiCounts(client: PoolClient): Promise<{ ratings: number; users: number }> {
  return (
    await client.query<{ ratings: number; users: number }>(
      'SELECT COUNT(*) AS ratings, COUNT(DISTINCT user_id) AS users FROM ratings WHERE from_api = 1',
    )
  ).rows[0];
}

async function countRatings(client: PoolClient): Promise<number> {
  return (await client.query<{ n: number }>('SELECT COUNT(*) AS n FROM ratings')).rows[0].n;
}

/** One COPY text field: NULL as \N; backslash, tab and line breaks escaped. */
function copyField(value: string | number | null): string {
  if (value === null) return '\\N';
  if (typeof value === 'number') return String(value);
  return value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

async function copyText(client: PoolClient, table: string, columns: string, lines: Iterable<string>): Promise<void> {
  const stream = client.query(copyFrom(`COPY ${table} (${columns}) FROM STDIN`));
  await pipeline(async function* () {
    let batch = '';
    for (const line of lines) {
      batch += line;
      if (batch.length >= FILE_WRITE_BYTES) {
        yield batch;
        batch = '';
      }
    }
    if (batch !== '') yield batch;
  }, stream);
}

async function load(
  client: PoolClient,
  header: ImportHeader,
  source: RatingSource,
  options: ImportOptions,
  context: {
    where: string;
    fingerprint: string;
    stored: StoredDataset | null;
    replaced: ReplacedCatalog | null;
    storedRatings: number;
    scratch: string;
  },
): Promise<ImportSummary> {
  const { where, fingerprint, stored, replaced, storedRatings, scratch } = context;
  const replacing = replaced !== null;
  let changedRows = 0;
  if (replacing) {
    changedRows++;
    await client.query('DELETE FROM ratings');
    await client.query('DELETE FROM users');
    await client.query('DELETE FROM items');
    await client.query('DELETE FROM datasets');
    await client.query('UPDATE model_versions SET is_current = 0 WHERE is_current = 1');
  }
  const knownItems = new Set<number>(
    replacing ? [] : (await client.query<{ item_id: number }>('SELECT item_id FROM items')).rows.map((r) => r.item_id),
  );

  // Items and users: COPY into temporary tables, then one upsert each that leaves equal rows alone.
  await client.query(
    'CREATE TEMP TABLE import_items (item_id BIGINT, title TEXT, year BIGINT, genres TEXT, search_key TEXT) ON COMMIT DROP',
  );
  await copyText(
    client,
    'import_items',
    'item_id, title, year, genres, search_key',
    header.items.map(
      (item) =>
        [item.itemId, item.title, item.year, JSON.stringify(item.genres), itemSearchKey(item.title)].map(copyField).join('\t') + '\n',
    ),
  );
  for (const item of header.items) knownItems.add(item.itemId);
  changedRows +=
    (
      await client.query(
        `INSERT INTO items (item_id, title, year, genres, search_key)
         SELECT DISTINCT ON (item_id) item_id, title, year, genres, search_key FROM import_items ORDER BY item_id
         ON CONFLICT (item_id) DO UPDATE SET
           title = excluded.title, year = excluded.year, genres = excluded.genres, search_key = excluded.search_key
         WHERE items.title IS DISTINCT FROM excluded.title OR items.year IS DISTINCT FROM excluded.year
           OR items.genres IS DISTINCT FROM excluded.genres`,
      )
    ).rowCount ?? 0;
  if (header.users && header.users.length > 0) {
    await client.query(
      'CREATE TEMP TABLE import_users (user_id BIGINT, age BIGINT, gender TEXT, occupation TEXT, zip_code TEXT) ON COMMIT DROP',
    );
    await copyText(
      client,
      'import_users',
      'user_id, age, gender, occupation, zip_code',
      header.users.map((u) => [u.userId, u.age, u.gender, u.occupation, u.zipCode].map(copyField).join('\t') + '\n'),
    );
    // Demographics are refreshed; updated_at (API activity) is left alone.
    changedRows +=
      (
        await client.query(
          `INSERT INTO users (user_id, age, gender, occupation, zip_code)
           SELECT DISTINCT ON (user_id) user_id, age, gender, occupation, zip_code FROM import_users ORDER BY user_id
           ON CONFLICT (user_id) DO UPDATE SET
             age = excluded.age, gender = excluded.gender, occupation = excluded.occupation, zip_code = excluded.zip_code
           WHERE users.age IS DISTINCT FROM excluded.age OR users.gender IS DISTINCT FROM excluded.gender
             OR users.occupation IS DISTINCT FROM excluded.occupation OR users.zip_code IS DISTINCT FROM excluded.zip_code`,
        )
      ).rowCount ?? 0;
  }

  // The ratings: checked row by row into a file of COPY text (seq = file order), then COPY.
  const checks = new RatingRowChecks(where, header, source, knownItems);
  const file = path.join(scratch, 'ratings.copy');
  const fd = openSync(file, 'w');
  let lastDone = 0;
  let lastTotal = 0;
  try {
    let text = '';
    source.forEachRating(
      (userId, itemId, value, timestamp, line) => {
        if (!checks.accept(userId, itemId, value, timestamp, line)) return;
        text += `${checks.kept}\t${userId}\t${itemId}\t${value}\t${timestamp}\n`;
        if (text.length >= FILE_WRITE_BYTES) {
          writeSync(fd, text);
          text = '';
        }
      },
      (done, total) => {
        lastDone = done;
        lastTotal = total;
        options.onProgress?.(done, total, checks.rowsRead);
      },
    );
    if (text !== '') writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  // The scale before anything else is written (a refusal rolls the whole import back).
  checks.checkScale({ allowScale: options.allowScale, storedRatings });

  // Sorts of the whole file (the last row per pair, the index build) in memory rather than in many small
  // runs on disk; for this transaction only.
  await client.query("SET LOCAL work_mem = '256MB'");
  await client.query("SET LOCAL maintenance_work_mem = '512MB'");
  await client.query(
    'CREATE TEMP TABLE import_ratings (seq BIGINT, user_id BIGINT, item_id BIGINT, value DOUBLE PRECISION, timestamp BIGINT) ON COMMIT DROP',
  );
  await pipeline(
    createReadStream(file),
    client.query(copyFrom('COPY import_ratings (seq, user_id, item_id, value, timestamp) FROM STDIN')),
  );
  // The last row of each (user, item) pair in file order: what the SQLite upsert keeps.
  await client.query(
    `CREATE TEMP TABLE import_pairs ON COMMIT DROP AS
       SELECT DISTINCT ON (user_id, item_id) user_id, item_id, value, timestamp FROM import_ratings ORDER BY user_id, item_id, seq DESC`,
  );
  await client.query('DROP TABLE import_ratings');
  const distinctPairs = (await client.query<{ n: number }>('SELECT COUNT(*) AS n FROM import_pairs')).rows[0].n;
  // Users known only from their ratings get a bare row (what the ratings' foreign key refers to).
  changedRows +=
    (
      await client.query(
        'INSERT INTO users (user_id) SELECT DISTINCT user_id FROM import_pairs ORDER BY user_id ON CONFLICT (user_id) DO NOTHING',
      )
    ).rowCount ?? 0;

  const direct = (await countRatings(client)) === 0;
  if (direct) {
    // One sort for the secondary index instead of an insertion per rating, and the foreign keys checked
    // once each by one join when they are added back, instead of two index lookups per rating (the
    // importer has checked every item itself, and every user got a row above).
    await client.query('DROP INDEX IF EXISTS ratings_by_item');
    await client.query(
      'ALTER TABLE ratings DROP CONSTRAINT IF EXISTS ratings_user_id_fkey, DROP CONSTRAINT IF EXISTS ratings_item_id_fkey',
    );
    changedRows +=
      (
        await client.query(
          'INSERT INTO ratings (user_id, item_id, value, timestamp) SELECT user_id, item_id, value, timestamp FROM import_pairs',
        )
      ).rowCount ?? 0;
    await client.query(
      `ALTER TABLE ratings ADD CONSTRAINT ratings_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(user_id) ON DELETE CASCADE,
         ADD CONSTRAINT ratings_item_id_fkey FOREIGN KEY (item_id) REFERENCES items(item_id) ON DELETE CASCADE`,
    );
    await client.query('CREATE INDEX ratings_by_item ON ratings(item_id)');
  } else {
    // As SQLite's merge: a row equal to the stored one is left alone; an API rating gives way only to a newer one.
    changedRows +=
      (
        await client.query(
          `INSERT INTO ratings (user_id, item_id, value, timestamp)
           SELECT user_id, item_id, value, timestamp FROM import_pairs
           ON CONFLICT (user_id, item_id) DO UPDATE SET value = excluded.value, timestamp = excluded.timestamp, from_api = 0
           WHERE CASE WHEN ratings.from_api = 0
             THEN ratings.value IS DISTINCT FROM excluded.value OR ratings.timestamp IS DISTINCT FROM excluded.timestamp
             ELSE excluded.timestamp > ratings.timestamp END`,
        )
      ).rowCount ?? 0;
    // A rating marked as written through the API that the file holds unchanged is the file's.
    await client.query(
      `UPDATE ratings SET from_api = 0 FROM import_pairs AS file
       WHERE ratings.from_api = 1 AND file.user_id = ratings.user_id AND file.item_id = ratings.item_id
         AND file.value = ratings.value AND file.timestamp = ratings.timestamp`,
    );
  }
  options.onProgress?.(lastTotal === 0 ? lastDone : lastTotal, lastTotal, checks.rowsRead);

  const written =
    checks.kept - distinctPairs > 0
      ? (await client.query<{ value: number }>('SELECT DISTINCT value FROM import_pairs')).rows.map((r) => r.value)
      : [];
  const ratingLevels = checks.ratingLevels(distinctPairs, () => written);
  const changed = changedRows > 0;
  if (changed) await client.query('UPDATE catalog_state SET generation = generation + 1 WHERE id = 1');
  const skipped = checks.skipped(distinctPairs);
  const counts = (
    await client.query<{ users: number; items: number; ratings: number }>(
      'SELECT (SELECT COUNT(*) FROM users) AS users, (SELECT COUNT(*) FROM items) AS items, (SELECT COUNT(*) FROM ratings) AS ratings',
    )
  ).rows[0];
  const generation = (await client.query<{ generation: number }>('SELECT generation FROM catalog_state WHERE id = 1')).rows[0].generation;
  const outcome = {
    header,
    fingerprint,
    counts,
    ratingLevels,
    skipped,
    importedAt: Date.now(),
    stored,
    replacing,
    replaced,
    rowsRead: checks.rowsRead,
    catalogGeneration: generation,
    changed,
  };
  if (stored && !replacing) {
    await client.query(
      `UPDATE datasets SET source = $1, layout = $2, fingerprint = $3, rating_levels = $4, users = $5, items = $6, ratings = $7,
         skipped = $8, imported_at = $9 WHERE id = $10`,
      [...datasetRow(outcome), stored.id],
    );
  } else {
    await client.query(
      `INSERT INTO datasets (source, layout, fingerprint, rating_levels, users, items, ratings, skipped, imported_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [...datasetRow(outcome)],
    );
  }
  if (changed) await client.query('SELECT pg_notify($1, $2)', [CHANNEL, `catalog:${generation}`]);
  return importSummary(outcome);
}
