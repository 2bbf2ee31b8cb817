/**
 * The schema, as an ordered list of migrations. A database records the versions applied in
 * `schema_version`; opening it applies the missing ones, each in its own transaction. Never edit a
 * released migration: append a new one.
 *
 * Each migration is a list of single statements so that every one goes through a prepared statement.
 */
import type { Database } from 'better-sqlite3';

export interface Migration {
  version: number;
  description: string;
  statements: readonly string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'catalog (users, items, ratings, datasets) and model versions with their tensors',
    statements: [
      // External MovieLens ids are the primary keys: they are what files, URLs and the API speak.
      `CREATE TABLE users (
        user_id     INTEGER PRIMARY KEY,
        age         INTEGER,
        gender      TEXT,
        occupation  TEXT,
        zip_code    TEXT,
        updated_at  INTEGER  -- ms since epoch of the last rating posted through the API; NULL if imported only
      )`,
      `CREATE TABLE items (
        item_id     INTEGER PRIMARY KEY,
        title       TEXT NOT NULL,
        year        INTEGER,
        genres      TEXT NOT NULL DEFAULT '[]',  -- JSON array of genre names
        search_key  TEXT NOT NULL                -- lower-cased, accent-stripped title (titles.ts searchKeyOf)
      )`,
      // WITHOUT ROWID: the (user_id, item_id) key is the table's order, so a user's ratings are contiguous.
      `CREATE TABLE ratings (
        user_id    INTEGER NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
        item_id    INTEGER NOT NULL REFERENCES items(item_id) ON DELETE CASCADE,
        value      REAL NOT NULL,
        timestamp  INTEGER NOT NULL,  -- seconds since epoch, as MovieLens writes it
        PRIMARY KEY (user_id, item_id)
      ) WITHOUT ROWID`,
      'CREATE INDEX ratings_by_item ON ratings(item_id)',
      `CREATE TABLE datasets (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
        source         TEXT NOT NULL UNIQUE,
        layout         TEXT NOT NULL,
        rating_levels  TEXT NOT NULL,  -- JSON array, ascending
        users          INTEGER NOT NULL,
        items          INTEGER NOT NULL,
        ratings        INTEGER NOT NULL,
        skipped        TEXT NOT NULL DEFAULT '[]',  -- JSON [{reason, count}]
        imported_at    INTEGER NOT NULL  -- ms since epoch
      )`,
      `CREATE TABLE model_versions (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at  INTEGER NOT NULL,  -- ms since epoch
        meta        TEXT NOT NULL,     -- JSON
        is_current  INTEGER NOT NULL DEFAULT 0 CHECK (is_current IN (0, 1))
      )`,
      // At most one current version, enforced by the database rather than by care.
      'CREATE UNIQUE INDEX model_versions_one_current ON model_versions(is_current) WHERE is_current = 1',
      `CREATE TABLE model_tensors (
        version_id  INTEGER NOT NULL REFERENCES model_versions(id) ON DELETE CASCADE,
        name        TEXT NOT NULL,
        length      INTEGER NOT NULL,  -- number of float32 values
        data        BLOB NOT NULL,     -- Float32 little-endian, 4 × length bytes
        PRIMARY KEY (version_id, name)
      )`,
    ],
  },
  {
    version: 2,
    description:
      'catalog generation (bumped by every import that changes the catalog), the generation each model version was trained on, hashed API tokens',
    statements: [
      // One row. A model version records the generation it was trained on, so a save can refuse a model
      // built on a catalog that an import changed meanwhile, and the server can tell its model is stale.
      `CREATE TABLE catalog_state (
        id          INTEGER PRIMARY KEY CHECK (id = 1),
        generation  INTEGER NOT NULL
      )`,
      'INSERT INTO catalog_state (id, generation) VALUES (1, 0)',
      // Versions saved before this migration were trained on the catalog as it is now (generation 0).
      'ALTER TABLE model_versions ADD COLUMN catalog_generation INTEGER NOT NULL DEFAULT 0',
      // Only the SHA-256 of a token is stored: a copy of the database does not hand out working tokens.
      `CREATE TABLE api_tokens (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        name        TEXT NOT NULL,
        token_hash  BLOB NOT NULL UNIQUE,  -- sha256 of the token's UTF-8 bytes, 32 bytes
        prefix      TEXT NOT NULL,         -- first characters of the token, to recognise it in a list
        created_at  INTEGER NOT NULL,      -- ms since epoch
        revoked_at  INTEGER                -- ms since epoch; NULL while the token is valid
      )`,
    ],
  },
  {
    version: 3,
    description: 'model tensors of any size, stored in chunks',
    statements: [
      // A tensor row with chunks = 0 holds its values in data (every version saved before this migration);
      // with chunks = n > 0, data is empty and the values are the n rows of model_tensor_chunks, in order.
      // One BLOB cannot exceed SQLite's length limit (better-sqlite3 sets it to 536,870,888 bytes), which a
      // MovieLens-25M item RBM's weights (162,541 users × 10 levels × 100 hidden floats) already pass.
      'ALTER TABLE model_tensors ADD COLUMN chunks INTEGER NOT NULL DEFAULT 0',
      // A rowid table (large rows belong in one), keyed for in-order reads of a tensor's chunks.
      `CREATE TABLE model_tensor_chunks (
        version_id  INTEGER NOT NULL REFERENCES model_versions(id) ON DELETE CASCADE,
        name        TEXT NOT NULL,
        chunk       INTEGER NOT NULL,  -- 0, 1, …, chunks − 1
        data        BLOB NOT NULL,     -- Float32 little-endian; every chunk but the last holds the same count
        UNIQUE (version_id, name, chunk)
      )`,
    ],
  },
  {
    version: 4,
    description: 'index of the users who rated through the API, by when (the server change feed)',
    statements: [
      // The server asks every few hundred ms for users with updated_at >= t (store/changeFeed.ts). Without an
      // index that is a scan of every user (162,541 at MovieLens-25M size). Partial: imported users have
      // NULL, so the index holds only the users who rated through the API, and `updated_at >= ?` implies
      // `updated_at IS NOT NULL`, which lets SQLite use it.
      'CREATE INDEX users_by_updated_at ON users(updated_at) WHERE updated_at IS NOT NULL',
    ],
  },
  {
    version: 5,
    description: 'data sets identified by a fingerprint of their content, ratings marked when written through the API',
    statements: [
      // The SHA-256 of the layout and movie files (data/fingerprint.ts). NULL for a data set imported before
      // this migration: the importer then judges it by its source path or by its items (catalogImport.ts)
      // and records the fingerprint at its next import.
      'ALTER TABLE datasets ADD COLUMN fingerprint TEXT',
      // 1: written through the API (POST /api/users/:id/ratings), 0: from an import. What an import of
      // another data set would delete, and what a merge keeps unless the file has a newer rating.
      'ALTER TABLE ratings ADD COLUMN from_api INTEGER NOT NULL DEFAULT 0',
      // Before this migration nothing recorded which ratings came through the API, only which users did
      // (updated_at). Every rating of such a user is marked: over-counting keeps them all safe (counted,
      // exported before a replace); the next merge of the same data set unmarks the ones its file holds
      // unchanged. Reached through users_by_updated_at and the primary key, not a scan of every rating.
      'UPDATE ratings SET from_api = 1 WHERE user_id IN (SELECT user_id FROM users WHERE updated_at IS NOT NULL)',
      // Partial: only API ratings are in it (a handful against millions imported), so counting them is cheap
      // and the bulk import's rows (from_api = 0) cost it nothing.
      'CREATE INDEX ratings_from_api ON ratings(user_id) WHERE from_api = 1',
    ],
  },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

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
