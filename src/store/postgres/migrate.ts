/**
 * PostgreSQL's migrations, rendered from the one schema description (../schema.ts). Replicas starting
 * together must not apply a migration twice: a session-level advisory lock is held while they run, and
 * each migration commits in its own transaction with its schema_version row.
 */
import type pg from 'pg';
import { migrationsFor, POSTGRES } from '../schema.js';

/** Any number, the same in every process: pg_advisory_lock's key for "migrating this database". */
const MIGRATION_LOCK = 824_240_001;

export async function migratePostgres(pool: pg.Pool): Promise<number> {
  const migrations = migrationsFor(POSTGRES);
  const latest = migrations[migrations.length - 1].version;
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await client.query(
        'CREATE TABLE IF NOT EXISTS schema_version (version BIGINT PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)',
      );
      const current = ((await client.query<{ version: number | null }>('SELECT MAX(version) AS version FROM schema_version')).rows[0]
        .version ?? 0) as number;
      if (current > latest) {
        throw new Error(
          `database schema version ${current} is newer than this program knows (up to ${latest}): update the program, or use another database`,
        );
      }
      for (const migration of migrations) {
        if (migration.version <= current) continue;
        await client.query('BEGIN');
        try {
          for (const statement of migration.statements) await client.query(statement);
          await client.query('INSERT INTO schema_version (version, description, applied_at) VALUES ($1, $2, $3)', [
            migration.version,
            migration.description,
            Date.now(),
          ]);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK');
          throw new Error(`migration ${migration.version} (${migration.description}) failed: ${(error as Error).message}`, {
            cause: error,
          });
        }
      }
      return latest;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    client.release();
  }
}
