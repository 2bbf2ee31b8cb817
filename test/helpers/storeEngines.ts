/**
 * Both store engines for a test file: `describe.each(STORE_ENGINES)` runs the same tests against SQLite
 * (a temporary file) and PostgreSQL (a fresh database on a cluster this file starts once, in a temporary
 * folder, and stops at the end). When PostgreSQL's binaries are missing the PostgreSQL tests FAIL with the
 * way to install them (postgresCluster.ts), they are never skipped.
 */
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { openStore, type Store } from '../../src/store/index.js';
import type { PostgresStoreOptions } from '../../src/store/postgres/index.js';
import { tempFolder } from './dataFiles.js';
import { createTestDatabase, startPostgresCluster, type PostgresCluster } from './postgresCluster.js';

export type EngineName = 'sqlite' | 'postgres';
export const STORE_ENGINES: EngineName[] = ['sqlite', 'postgres'];

let cluster: Promise<PostgresCluster> | null = null;
const cleanups: (() => void)[] = [];

/** Call at the top of a test file that uses `newDatabase`, so the cluster is stopped after its tests. */
export function useEngines(): void {
  afterAll(async () => {
    const started = await cluster?.catch(() => null);
    started?.destroy();
    cluster = null;
    for (const cleanup of cleanups.splice(0)) cleanup();
  });
}

/** What `--db` would name for a new, empty database of `engine`. */
export async function newDatabase(engine: EngineName, label = 'store'): Promise<string> {
  if (engine === 'postgres') {
    cluster ??= startPostgresCluster();
    return createTestDatabase((await cluster).adminUrl, label);
  }
  const temp = tempFolder();
  cleanups.push(temp.cleanup);
  return join(temp.dir, `${label}.db`);
}

/** A new, empty store of `engine`. */
export async function newStore<Meta = unknown>(
  engine: EngineName,
  options: { postgres?: PostgresStoreOptions } = {},
): Promise<Store<Meta>> {
  return openStore<Meta>(await newDatabase(engine), options);
}
