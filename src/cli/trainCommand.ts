/**
 * Training against a database: load the ratings, fit the default recommender, and save it as a new model
 * version in one transaction. The previous version stays current until the new one is complete, and a
 * failed training (e.g. diverging to NaN) saves nothing.
 *
 * The catalog generation read with the ratings goes to saveVersion: if an import changed the catalog while
 * the model trained, the save is refused (CatalogChangedError, "train again") instead of making a model of
 * the old catalog current over the new one.
 */
import type { Database } from 'better-sqlite3';
import { assertTrainable } from '../data/scaleCheck.js';
import type { EpochReport, ModelMeta } from '../model/types.js';
import { trainModel } from '../model/index.js';
import type { TrainOptionsInput } from '../rbm/config.js';
import { CatalogStore, ModelStore, retryWhileBusy, type BusyRetryOptions } from '../store/index.js';

export interface TrainedVersion {
  versionId: number;
  meta: ModelMeta;
  /** The catalog generation the model was trained on. */
  catalogGeneration: number;
}

export interface TrainHooks {
  onEpoch?: (r: EpochReport) => void;
  /** Runs after training, before the save (tests use it to race an import against the save). */
  beforeSave?: () => void | Promise<void>;
  /** Waiting for a busy database at save time (see retryWhileBusy). */
  retry?: BusyRetryOptions;
}

export async function trainAndSave(db: Database, options: TrainOptionsInput, hooks: TrainHooks | ((r: EpochReport) => void) = {}): Promise<TrainedVersion> {
  const { onEpoch, beforeSave, retry } = typeof hooks === 'function' ? { onEpoch: hooks } : hooks;
  const catalog = new CatalogStore(db);
  const { dataset, generation } = catalog.loadDatasetWithGeneration();
  assertTrainable(dataset);
  const { state } = await trainModel(dataset, options, onEpoch);
  await beforeSave?.();
  const models = new ModelStore(db);
  const versionId = await retryWhileBusy(() => models.saveVersion(state.meta, state.tensors, { catalogGeneration: generation }), retry);
  return { versionId, meta: state.meta, catalogGeneration: generation };
}
