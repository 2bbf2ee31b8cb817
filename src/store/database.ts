/**
 * Opening the SQLite database: pragmas every connection needs, then the migrations.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { migrate } from './migrations.js';

export type { Database } from 'better-sqlite3';

/**
 * How long a statement waits for another connection's lock before failing with SQLITE_BUSY, for command
 * line tools (import, train), where a synchronous wait blocks nobody else.
 */
export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

/**
 * The server's connection never waits inside SQLite. better-sqlite3 is synchronous: a busy_timeout wait
 * blocks Node's event loop, so every other request (health included) would wait with it. A write that
 * finds the lock taken fails at once (SQLITE_BUSY) and is retried between timers, off the event loop, for
 * up to SERVER_WRITE_LOCK_WAIT_MS (ServingService.rateWhenFree), then answered 503 with Retry-After.
 */
export const SERVER_BUSY_TIMEOUT_MS = 0;

/** How long, in all, a server write waits for another connection's lock (asynchronously) before its 503. */
export const SERVER_WRITE_LOCK_WAIT_MS = 50;

export interface OpenOptions {
  /** See DEFAULT_BUSY_TIMEOUT_MS / SERVER_BUSY_TIMEOUT_MS. */
  busyTimeoutMs?: number;
}

/**
 * Opens (creating if needed) the database at `path`, creating its parent folders, and brings the schema up
 * to date. ':memory:' gives a private in-memory database (tests).
 *
 * WAL lets the server read while an import or the trainer writes; foreign keys are off by default in
 * SQLite and must be switched on per connection.
 */
export function openDatabase(path: string, options: OpenOptions = {}): Database {
  const inMemory = path === ':memory:' || path === '';
  if (!inMemory) mkdirSync(dirname(resolve(path)), { recursive: true });
  const db = new BetterSqlite3(path);
  try {
    if (!inMemory) db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
      throw new RangeError(`busyTimeoutMs must be a whole number of milliseconds ≥ 0, got ${busyTimeoutMs}`);
    }
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    // WAL + NORMAL is durable across application crashes, and loses at most the last commit on power loss.
    db.pragma('synchronous = NORMAL');
    migrate(db);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}
