/**
 * What changed in the database since a process last looked, cheaply enough to ask every fraction of a
 * second: the server keeps the catalog and users' ratings in memory and asks this feed which of them to
 * drop, instead of reading SQLite on every request.
 *
 * - `dataVersion()` is SQLite's `PRAGMA data_version`: it changes when ANOTHER connection commits to the
 *   file (this connection's own commits leave it alone, which is right: the server invalidates what it
 *   writes itself). Reading it touches no table.
 * - When it changed: `generation()` (bumped by every import that changes the catalog: drop everything) and
 *   `usersUpdatedSince(ms)` (users whose `updated_at` — set inside every API rating write's IMMEDIATE
 *   transaction — is recent: drop those users).
 * - `userUpdatedAt(id)`: one user's `updated_at`, a primary-key lookup, cheap enough for every request
 *   that reads that user (read-your-writes across processes, see CatalogCache.syncUser).
 */
import type { Database, Statement } from 'better-sqlite3';

export class ChangeFeed {
  private readonly readGeneration: Statement<[], number>;
  private readonly updatedSince: Statement<[number], { user_id: number; updated_at: number }>;
  private readonly updatedAtOf: Statement<[number], number | null>;

  constructor(private readonly db: Database) {
    this.readGeneration = db.prepare<[], number>('SELECT generation FROM catalog_state WHERE id = 1').pluck();
    this.updatedSince = db.prepare('SELECT user_id, updated_at FROM users WHERE updated_at >= ?');
    this.updatedAtOf = db.prepare<[number], number | null>('SELECT updated_at FROM users WHERE user_id = ?').pluck();
  }

  /** Changes whenever another connection commits to the database. */
  dataVersion(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }

  generation(): number {
    return this.readGeneration.get() as number;
  }

  /**
   * When the user's ratings were last written through the API (ms since the epoch): null if never,
   * undefined for no such user.
   */
  userUpdatedAt(userId: number): number | null | undefined {
    return this.updatedAtOf.get(userId);
  }

  /** Users whose ratings were written through the API at or after `ms` (milliseconds since the epoch). */
  usersUpdatedSince(ms: number): { userId: number; updatedAt: number }[] {
    return this.updatedSince.all(ms).map((row) => ({ userId: row.user_id, updatedAt: row.updated_at }));
  }
}
