/**
 * Training against a database: load the ratings, fit an algorithm (the default blend unless told), and save it as a new model
 * version in one transaction. The previous version stays current until the new one is complete, and a
 * failed training (e.g. diverging to NaN) saves nothing.
 */
import type { Database } from 'better-sqlite3';
import { algorithmNames, resolveAlgorithm, trainModel, type EpochReport, type FitOptions, type ModelMeta } from '../model/index.js';
import { initBackend } from '../rbm/backend.js';
import { CatalogStore, ModelStore, openDatabase } from '../store/index.js';
import { dbPathFrom, parseFlags, UsageError } from './common.js';
import { MODEL_FLAGS, modelOptionsFromFlags } from './modelArgs.js';
import { bar, endProgress, progressLine } from './progress.js';

export const TRAIN_USAGE = `usage: npm run train -- [--db <path>] [--algorithm ${algorithmNames().join('|')}]
                        [--hidden … --epochs … --lr … --seed … --orientation both|user|item --pcd]`;

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

/** The whole command: parse, train, save, report. */
export async function trainMain(argv: string[]): Promise<void> {
  const values = parseFlags(argv, { db: { type: 'string' }, algorithm: { type: 'string' }, help: { type: 'boolean', short: 'h' }, ...MODEL_FLAGS });
  if (values.help) {
    process.stdout.write(`${TRAIN_USAGE}\n`);
    return;
  }
  let options;
  let algorithm: string;
  try {
    options = modelOptionsFromFlags(values);
    algorithm = resolveAlgorithm(values.algorithm, values.orientation === undefined ? { ...options, orientation: undefined } : options);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const dbPath = dbPathFrom(values.db);
  const db = openDatabase(dbPath);
  try {
    const started = performance.now();
    const { versionId, meta } = await trainAndSave(
      db,
      options,
      (r) => {
        const max = r.phase === 'user' || r.phase === 'item' ? options[r.phase].epochs : options.user.epochs;
        progressLine(`${r.phase.padEnd(4)} ${bar(r.epoch / max)} epoch ${r.epoch} CD-${r.cdSteps} train RMSE ${r.trainRmse.toFixed(4)} validation ${r.validationRmse?.toFixed(4) ?? '-'} ${r.seconds.toFixed(2)}s`);
      },
      algorithm,
    );
    endProgress();
    const training = meta.training ?? {};
    console.log(`saved model version ${versionId} (${algorithm}) to ${dbPath} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const validation = Object.entries(training.validation ?? {}).map(([k, v]) => `${k} ${v?.toFixed(4) ?? '-'}`).join(', ');
    if (validation) console.log(`validation RMSE: ${validation}; mixture ${JSON.stringify(meta.kind === 'rbm' ? meta.config.mixture : null)}; backend ${training.backend}`);
  } finally {
    db.close();
  }
}
