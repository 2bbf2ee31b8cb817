/**
 * What a batch scoring run needs from the database: the catalog, and the current model version built into
 * the same snapshot the server uses (id maps included), so the CSV scorer and the API score identically.
 */
import { modelFromState, type ModelMeta } from '../model/index.js';
import { buildSnapshot, type ModelSnapshot } from '../serving/modelHolder.js';
import { CatalogStore, ModelStore, openDatabase } from '../store/index.js';

export interface ScoringContext {
  catalog: CatalogStore;
  snapshot: ModelSnapshot;
  close(): void;
}

export function openScoringContext(dbPath: string): ScoringContext {
  const db = openDatabase(dbPath);
  try {
    const catalog = new CatalogStore(db);
    const models = new ModelStore<ModelMeta>(db);
    const id = models.currentId();
    if (id === null) throw new Error(`${dbPath} holds no trained model: run \`npm run train -- --db ${dbPath}\` first`);
    const snapshot = buildSnapshot(models.load(id), catalog, modelFromState);
    return {
      catalog,
      snapshot,
      close: () => {
        snapshot.model.dispose();
        db.close();
      },
    };
  } catch (err) {
    db.close();
    throw err;
  }
}
