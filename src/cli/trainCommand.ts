/**
 * Training against a database: load the ratings, fit the default recommender, and save it as a new model
 * version in one transaction. The previous version stays current until the new one is complete, and a
 * failed training (e.g. diverging to NaN) saves nothing.
 */
import type { Database } from 'better-sqlite3';
import type { EpochReport, ModelMeta } from '../model/types.js';
import { trainModel } from '../model/index.js';
import type { TrainOptionsInput } from '../rbm/config.js';
import { CatalogStore, ModelStore } from '../store/index.js';

export interface TrainedVersion {
  versionId: number;
  meta: ModelMeta;
}

export async function trainAndSave(db: Database, options: TrainOptionsInput, onEpoch?: (r: EpochReport) => void): Promise<TrainedVersion> {
  const catalog = new CatalogStore(db);
  const dataset = catalog.loadDataset();
  if (dataset.levels.length === 0) throw new Error('the database has no ratings to train on: import a data set first (npm run import -- --data <folder>)');
  const { state } = await trainModel(dataset, options, onEpoch);
  const versionId = new ModelStore(db).saveVersion(state.meta, state.tensors);
  return { versionId, meta: state.meta };
}
