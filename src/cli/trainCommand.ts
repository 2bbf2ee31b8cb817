/**
 * Training against a database: load the ratings, fit an algorithm (the default blend unless told), and save it as a new model
 * version in one transaction. The previous version stays current until the new one is complete, and a
 * failed training (e.g. diverging to NaN) saves nothing.
 */
import type { Database } from 'better-sqlite3';
import { resolveAlgorithm, trainModel, type EpochReport, type FitOptions, type ModelMeta } from '../model/index.js';
import { initBackend } from '../rbm/backend.js';
import { CatalogStore, ModelStore } from '../store/index.js';

export interface TrainedVersion {
  versionId: number;
  meta: ModelMeta;
}

export async function trainAndSave(
  db: Database,
  options: FitOptions,
  onEpoch?: (r: EpochReport) => void,
  algorithmName?: string,
): Promise<TrainedVersion> {
  const algorithm = resolveAlgorithm(algorithmName, options);
  const catalog = new CatalogStore(db);
  const dataset = catalog.loadDataset();
  if (dataset.levels.length === 0) throw new Error('the database has no ratings to train on: import a data set first (npm run import -- --data <folder>)');
  const backend = await initBackend();
  const { model, state } = await trainModel(algorithm, dataset, options, { onEpoch, backend });
  model.dispose();
  const versionId = new ModelStore(db).saveVersion(state.meta, state.tensors);
  return { versionId, meta: state.meta };
}
