/**
 * Moving a SQLite database into PostgreSQL (`npm run migrate-store -- --from file.db --to postgres://…`):
 * every row of every table, in one PostgreSQL transaction, into a database that holds nothing yet. The
 * catalog with its ratings written through the API (still marked), the data set record and fingerprint,
 * the catalog generation, every model version with its tensors (the current one stays current) and the
 * API tokens' hashes (the tokens in use keep working) come across unchanged; the replicas started on the
 * PostgreSQL database then serve what the single machine served.
 *
 * Rows without large values go through COPY; model tensors and token hashes through parameterised
 * INSERTs (one bind per chunk, never a text encoding of a tensor).
 */
import { from as copyFrom } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import type { Database } from 'better-sqlite3';
import { CHANNEL } from './postgres/channel.js';
import { inTransaction, type Pool, type PoolClient } from './postgres/pool.js';

/** Tables in foreign-key order, copied through COPY text. */
const COPIED = ['users', 'items', 'ratings', 'datasets', 'model_versions'] as const;
/** Tables holding BLOBs, copied by parameterised INSERT. */
const INSERTED = ['model_tensors', 'model_tensor_chunks', 'api_tokens'] as const;
/** Tables whose id is generated: their sequences continue after the copied ids. */
const IDENTITIES = ['datasets', 'model_versions', 'api_tokens'] as const;
const ROWS_PER_BATCH = 10_000;

export interface MigrateSummary {
  rows: Record<string, number>;
  generation: number;
  currentModel: number | null;
}

function columnsOf(sqlite: Database, table: string): string[] {
  return (sqlite.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name);
}

function copyField(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  return String(value).replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

async function copyTable(sqlite: Database, client: PoolClient, table: string): Promise<number> {
  const columns = columnsOf(sqlite, table);
  const rows = sqlite
    .prepare(`SELECT ${columns.join(', ')} FROM ${table}`)
    .raw()
    .iterate() as IterableIterator<unknown[]>;
  let count = 0;
  await pipeline(
    async function* () {
      let batch: string[] = [];
      for (const row of rows) {
        batch.push(row.map(copyField).join('\t'));
        count++;
        if (batch.length >= ROWS_PER_BATCH) {
          yield `${batch.join('\n')}\n`;
          batch = [];
        }
      }
      if (batch.length > 0) yield `${batch.join('\n')}\n`;
    },
    client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`)),
  );
  return count;
}

async function insertTable(sqlite: Database, client: PoolClient, table: string): Promise<number> {
  const columns = columnsOf(sqlite, table);
  const sql = `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`;
  let count = 0;
  for (const row of sqlite
    .prepare(`SELECT ${columns.join(', ')} FROM ${table}`)
    .raw()
    .iterate() as IterableIterator<unknown[]>) {
    await client.query(sql, row);
    count++;
  }
  return count;
}

/** Copies every row of `sqlite` into the empty PostgreSQL database behind `pool` (migrated to the same schema). */
export async function migrateSqliteToPostgres(sqlite: Database, pool: Pool): Promise<MigrateSummary> {
  return inTransaction(pool, async (client) => {
    // Nothing may be written meanwhile: the catalog lock every writer takes, held to COMMIT.
    await client.query('SELECT generation FROM catalog_state WHERE id = 1 FOR UPDATE');
    const held = (
      await client.query<{ n: number }>(
        `SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM items) + (SELECT COUNT(*) FROM model_versions)
           + (SELECT COUNT(*) FROM api_tokens) + (SELECT COUNT(*) FROM datasets) AS n`,
      )
    ).rows[0].n;
    if (held > 0) {
      throw new Error(
        'the PostgreSQL database already holds a catalog, model versions or tokens: migrate into a new, empty database ' +
          '(CREATE DATABASE …), so that nothing there is mixed with or overwritten by the SQLite file; nothing was changed',
      );
    }
    const rows: Record<string, number> = {};
    for (const table of COPIED) rows[table] = await copyTable(sqlite, client, table);
    for (const table of INSERTED) rows[table] = await insertTable(sqlite, client, table);
    const generation = sqlite.prepare('SELECT generation FROM catalog_state WHERE id = 1').pluck().get() as number;
    await client.query('UPDATE catalog_state SET generation = $1 WHERE id = 1', [generation]);
    for (const table of IDENTITIES) {
      await client.query(`SELECT setval(pg_get_serial_sequence('${table}', 'id'), GREATEST((SELECT MAX(id) FROM ${table}), 0) + 1, false)`);
    }
    const currentModel = (sqlite.prepare('SELECT id FROM model_versions WHERE is_current = 1').pluck().get() as number | undefined) ?? null;
    await client.query('SELECT pg_notify($1, $2)', [CHANNEL, `catalog:${generation}`]);
    if (currentModel !== null) await client.query('SELECT pg_notify($1, $2)', [CHANNEL, `model:${currentModel}`]);
    return { rows, generation, currentModel };
  });
}
