/**
 * What a batch scoring run needs from the database: the catalog, and the current model version built into
 * the same snapshot the server uses (id maps included), so the CSV scorer and the API score identically.
 * Over SQLite the catalog is read from the file as the run goes; over PostgreSQL it is read once into
 * memory (CatalogMirror, the serving replicas' catalog), so scoring sends no query per user.
 */
import { modelFromState, type ModelMeta } from '../model/index.js';
import { CatalogMirror } from '../serving/catalogMirror.js';
import { buildSnapshot, type ModelSnapshot } from '../serving/modelHolder.js';
import type { CatalogReader } from '../serving/ports.js';
import { openStore, SqliteStore } from '../store/index.js';

export type ScoringCatalog = Pick<CatalogReader, 'getUser' | 'getUserRatings' | 'getItem' | 'getItems'> & {
  counts(): { users: number; items: number; ratings: number };
  iterateUserIds(): Iterable<number>;
};

export interface ScoringContext {
  catalog: ScoringCatalog;
  snapshot: ModelSnapshot;
  close(): Promise<void>;
}

export async function openScoringContext(dbPath: string): Promise<ScoringContext> {
  const store = await openStore<ModelMeta>(dbPath);
  try {
    const id = await store.models.currentId();
    if (id === null) throw new Error(`${store.location} holds no trained model: run \`npm run train -- --db ${store.location}\` first`);
    const catalog: ScoringCatalog = store instanceof SqliteStore ? store.sync.catalog : await CatalogMirror.load(store.catalog);
    const snapshot = buildSnapshot(await store.models.load(id), catalog, modelFromState);
    return {
      catalog,
      snapshot,
      close: async () => {
        snapshot.model.dispose();
        await store.close();
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}
