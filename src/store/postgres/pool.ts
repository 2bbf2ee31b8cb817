/**
 * node-postgres set up the way every part of the PostgreSQL store uses it: one Pool per process,
 * parameterised queries only, transactions on one checked-out client, 64-bit integers read back as JS
 * numbers (ids, millisecond timestamps and counts all fit in 2^53), and short timeouts for a server, so
 * that a database that is down or stuck is an error in a few seconds (answered 503), never a hang.
 */
import { Readable } from 'node:stream';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

export interface PoolOptions {
  /** Longest wait for a new connection (default 5000 ms). */
  connectTimeoutMs?: number;
  /**
   * Longest a statement may run, in ms (0: no limit, the default, for command line tools whose import or
   * save of a large model legitimately takes minutes). The server sets a few seconds.
   */
  statementTimeoutMs?: number;
  /** Connections at most (default 10). */
  max?: number;
}

const INT8_OID = 20;
const NUMERIC_OID = 1700;

/** int8 and numeric as numbers: COUNT(*), BIGINT ids and ms timestamps (node-postgres reads them as strings by default). */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === INT8_OID || oid === NUMERIC_OID) return (value: string) => Number(value);
    return format === 'binary' ? pg.types.getTypeParser(oid, 'binary') : pg.types.getTypeParser(oid, 'text');
  }) as typeof pg.types.getTypeParser,
};

export function clientConfig(url: string, options: PoolOptions = {}): pg.ClientConfig {
  const statementTimeout = options.statementTimeoutMs ?? 0;
  return {
    connectionString: url,
    types,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    // Server side and client side: a statement cancelled by the server, or the client giving up on a
    // server that no longer answers at all (stopped, a dead network).
    ...(statementTimeout > 0 ? { statement_timeout: statementTimeout, query_timeout: statementTimeout + 1000 } : {}),
    keepAlive: true,
    application_name: 'rbm-recommender',
  };
}

export function createPool(url: string, options: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({ ...clientConfig(url, options), max: options.max ?? 10, idleTimeoutMillis: 30_000 });
  // An idle client losing its connection (the server restarted) must not crash the process: the pool drops
  // it and opens a new one at the next query.
  pool.on('error', () => {});
  return pool;
}

/**
 * Runs `work` inside BEGIN … COMMIT on one client; ROLLBACK on any error. A client whose connection broke
 * is destroyed rather than returned to the pool.
 */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query(begin);
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    try {
      await client.query('ROLLBACK');
    } catch (rollbackError) {
      broken = rollbackError as Error;
    }
    throw error;
  } finally {
    client.release(broken);
  }
}

/**
 * Streams the rows of `sql` (COPY … TO STDOUT, text format) to `onRow`, one array of column texts per
 * row, without holding the result in memory: how MovieLens-25M's ratings are read.
 */
export async function copyRows(client: pg.PoolClient, sql: string, onRow: (fields: string[]) => void): Promise<void> {
  const stream: Readable = client.query(copyTo(`COPY (${sql}) TO STDOUT`));
  let rest = '';
  for await (const chunk of stream) {
    const text = rest + (chunk as Buffer).toString('utf8');
    const lines = text.split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) onRow(line.split('\t'));
  }
  if (rest !== '') onRow(rest.split('\t'));
}
