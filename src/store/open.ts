/**
 * Opening a store by what `--db` (or DATABASE_URL / DB_PATH) names: a SQLite file or a PostgreSQL URL
 * (target.ts decides, in one place for every command).
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { OpenOptions } from './database.js';
import type { ModelStoreOptions } from './modelStore.js';
import { openPostgresStore, type PostgresStoreOptions } from './postgres/index.js';
import { openSqliteStore } from './sqliteStore.js';
import type { Store } from './store.js';
import { parseStoreTarget } from './target.js';

export interface OpenStoreOptions {
  sqlite?: OpenOptions & ModelStoreOptions;
  postgres?: PostgresStoreOptions;
}

export async function openStore<Meta = unknown>(db: string, options: OpenStoreOptions = {}): Promise<Store<Meta>> {
  const target = parseStoreTarget(db);
  if (target.engine === 'postgres') return openPostgresStore<Meta>(target.url, options.postgres);
  if (target.path !== ':memory:') mkdirSync(dirname(resolve(target.path)), { recursive: true });
  return openSqliteStore<Meta>(target.path, options.sqlite);
}
