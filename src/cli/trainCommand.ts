/**
 * Training against a database: load the ratings, fit the default recommender, and save it as a new model
 * version in one transaction. The previous version stays current until the new one is complete, and a
 * failed training (e.g. diverging to NaN) saves nothing.
 */
import type { Database } from 'better-sqlite3';
import type { EpochReport, ModelMeta } from '../model/types.js';
import { trainModel } from '../model/index.js';
import type { TrainOptionsInput } from '../rbm/config.js';
import type { RbmCheckpoint } from '../rbm/train.js';
import { CatalogStore, ModelStore } from '../store/index.js';
import { checkpointPath, readCheckpoint, removeCheckpoint, writeCheckpoint } from './checkpoints.js';

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

/**
 * Checkpoint files for one training against the database at `dbPath` (see checkpoints.ts), as the hooks
 * each orientation's trainer takes (train.ts TrainRbmHooks):
 *   hooks = { onCheckpoint: plan.onCheckpoint, resumeFrom: plan.resumeFrom[orientation] }
 * With `resume`, the checkpoints found for this fingerprint are resumed (none found: a fresh start);
 * without it they are ignored and overwritten by the first new checkpoint. `clear()` removes them once
 * the model version is saved.
 */
export interface CheckpointPlan {
  onCheckpoint(checkpoint: RbmCheckpoint): void;
  resumeFrom: Partial<Record<string, RbmCheckpoint>>;
  clear(): void;
}

export function checkpointPlan(dbPath: string, fingerprint: string, phases: readonly string[], resume: boolean): CheckpointPlan {
  const resumeFrom: Partial<Record<string, RbmCheckpoint>> = {};
  if (resume) {
    for (const phase of phases) {
      const found = readCheckpoint(checkpointPath(dbPath, phase), fingerprint);
      if (found) resumeFrom[phase] = found;
    }
  }
  return {
    onCheckpoint: (checkpoint) => writeCheckpoint(checkpointPath(dbPath, checkpoint.phase), checkpoint, fingerprint),
    resumeFrom,
    clear: () => {
      for (const phase of phases) removeCheckpoint(checkpointPath(dbPath, phase));
    },
  };
}
