/**
 * SQLite's migrations, rendered from the one schema description (schema.ts). A database records the
 * versions applied in `schema_version`; opening it applies the missing ones, each in its own transaction.
 *
 * Each migration is a list of single statements so that every one goes through a prepared statement.
 */
import type { Database } from 'better-sqlite3';
import { LATEST_SCHEMA_VERSION, migrationsFor, SQLITE } from './schema.js';

export interface Migration {
  version: number;
  description: string;
  statements: readonly string[];
}

export const MIGRATIONS: readonly Migration[] = migrationsFor(SQLITE);

export { LATEST_SCHEMA_VERSION };

/** The highest migration applied to `db` (0 for a new database). */
export function schemaVersion(db: Database): number {
  db.prepare(
    'CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at INTEGER NOT NULL)',
  ).run();
  const row = db.prepare('SELECT MAX(version) AS version FROM schema_version').get() as { version: number | null };
  return row.version ?? 0;
}

/** Applies the migrations `db` lacks; refuses a database written by newer code. */
export function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS): number {
  const current = schemaVersion(db);
  const latest = migrations.length === 0 ? 0 : migrations[migrations.length - 1].version;
  if (current > latest) {
    throw new Error(
      `database schema version ${current} is newer than this program knows (up to ${latest}): ` +
        'update the program, or use another database file',
    );
  }
  const record = db.prepare('INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)');
  const applied = db.prepare<[number], number>('SELECT 1 FROM schema_version WHERE version = ?').pluck();
  for (const migration of migrations) {
    if (migration.version <= current) continue;
    // IMMEDIATE: two processes opening an old database at once (server and import) must not both apply
    // a migration. The second waits for the write lock, then sees it applied and skips it.
    db.transaction(() => {
      if (applied.get(migration.version) !== undefined) return;
      for (const statement of migration.statements) db.prepare(statement).run();
      record.run(migration.version, migration.description, Date.now());
    }).immediate();
  }
  return latest;
}
