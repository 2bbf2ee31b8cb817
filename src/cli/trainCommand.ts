/**
 * Training against a database: load the ratings, fit an algorithm (the default blend unless told), and save it as a new model
 * version in one transaction. The previous version stays current until the new one is complete, and a
 * failed training (e.g. diverging to NaN) saves nothing.
 *
 * The catalog generation read with the ratings goes to saveVersion: if an import changed the catalog while
 * the model trained, the save is refused (CatalogChangedError, "train again") instead of making a model of
 * the old catalog current over the new one.
 */
import type { Database } from 'better-sqlite3';
import { assertTrainable } from '../data/scaleCheck.js';
import {
  algorithmNames,
  DEFAULT_MODEL_SCHEDULE,
  implicitEpochBudget,
  orientationSchedule,
  implicitEnsemble,
  ratingEpochBudget,
  resolveAlgorithm,
  trainModel,
  validateImplicitOptions,
  validateTrainOptions,
  type EpochReport,
  type FitOptions,
  type ModelMeta,
  type ModelSchedule,
} from '../model/index.js';
import { initBackend } from '../rbm/backend.js';
import { formatStages } from '../rbm/stages.js';
import type { RbmCheckpoint } from '../rbm/train.js';
import { openStore, retryWhileBusy, SqliteStore, type BusyRetryOptions, type Store } from '../store/index.js';
import { checkpointPath, readCheckpoint, removeCheckpoint, trainingFingerprint, writeCheckpoint } from './checkpoints.js';
import { dbPathFrom, localPathBeside, parseFlags, UsageError } from './common.js';
import { MODEL_FLAGS, modelOptionsFromFlags } from './modelArgs.js';
import { endProgress, progressLine, TrainingProgress } from './progress.js';

export const TRAIN_USAGE = `usage: npm run train -- [--db <path|postgres://…>] [--algorithm ${algorithmNames().join('|')}] [--resume]
                        [--hidden … --epochs … --lr … --seed … --orientation both|user|item --pcd]
  --resume   continue the RBMs (rating and implicit) from the checkpoints a previous, interrupted run of the same
             training left beside the database (written every few minutes)`;

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
  /** The algorithm to fit (default: the one `--orientation` implies, else the default). */
  algorithm?: string;
  /** Checkpoint the RBMs (rating and implicit) beside this database file every few minutes (and resume with `resume`). */
  checkpointsBeside?: string;
  resume?: boolean;
}

export async function trainAndSave(
  db: Database | Store<ModelMeta>,
  options: FitOptions,
  hooks: TrainHooks | ((r: EpochReport) => void) = {},
): Promise<TrainedVersion> {
  const {
    onEpoch,
    beforeSave,
    retry,
    algorithm: named,
    checkpointsBeside,
    resume,
  } = typeof hooks === 'function' ? ({ onEpoch: hooks } as TrainHooks) : hooks;
  const algorithm = resolveAlgorithm(named, options);
  // A bare SQLite connection (tests) is served through the same interface as any store.
  const store: Store<ModelMeta> = 'catalog' in db ? db : new SqliteStore<ModelMeta>(db, db.name);
  const { dataset, generation } = await store.catalog.loadDatasetWithGeneration();
  assertTrainable(dataset);
  const backend = await initBackend();
  const plan = checkpointsBeside
    ? checkpointPlan(
        checkpointsBeside,
        checkpointFingerprint(await store.catalog.counts(), algorithm, options),
        ['user', 'item', 'implicit'],
        resume ?? false,
      )
    : undefined;
  const { model, state } = await trainModel(algorithm, dataset, options, { onEpoch, backend, checkpoints: plan });
  model.dispose();
  state.meta.training = { ...state.meta.training, catalogGeneration: generation };
  await beforeSave?.();
  const versionId = await retryWhileBusy(
    () => store.models.saveVersion(state.meta, state.tensors, { catalogGeneration: generation }),
    retry,
  );
  plan?.clear();
  return { versionId, meta: state.meta, catalogGeneration: generation };
}

/**
 * The fingerprint a training's checkpoints carry (checkpoints.ts): the catalog's shape, the algorithm and
 * its options, but not `threads`: the thread count changes how the work is split, not what is trained, so
 * a run interrupted on one count resumes on another (e.g. `--resume` on a machine with other cores).
 */
export function checkpointFingerprint(
  counts: { users: number; items: number; ratings: number },
  algorithm: string,
  options: FitOptions,
): string {
  const { threads: _notPartOfTheModel, ...trained } = validateTrainOptions(options);
  return trainingFingerprint(counts, { algorithm, options: trained, implicit: options.implicit ?? null });
}

/** The whole command: parse, train, save, report. */
export async function trainMain(argv: string[]): Promise<void> {
  const values = parseFlags(argv, {
    db: { type: 'string' },
    algorithm: { type: 'string' },
    resume: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
    ...MODEL_FLAGS,
  });
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
  const db = await openStore<ModelMeta>(dbPath);
  try {
    const started = performance.now();
    // Each model's epoch and time, and the run's ETA: the rating RBMs as fitRbmBlend schedules them on
    // --threads, the implicit RBM (when the algorithm trains it) after or beside them; each model's epoch budget
    // from the catalog's size, as its trainer will compute it (and report it with each epoch).
    const counts = await db.catalog.counts();
    const implicit = validateImplicitOptions(options.implicit);
    const ensemble = implicitEnsemble(implicit, counts.items);
    const progress = new TrainingProgress({
      lanes: modelLanes(orientationSchedule(options).lanes, DEFAULT_MODEL_SCHEDULE, ensemble),
      maxEpochs: (phase) =>
        phase === 'user' || phase === 'item'
          ? ratingEpochBudget(options[phase], phase === 'user' ? counts.users : counts.items, phase).epochs
          : phase === 'implicit'
            ? ensemble.members * implicitEpochBudget(implicit, counts.users)
            : phase === 'implicit-pl'
              ? ensemble.plMembers * implicitEpochBudget(implicit, counts.users)
              : options.user.epochs,
    });
    const { versionId, meta } = await trainAndSave(db, options, {
      algorithm,
      checkpointsBeside: localPathBeside(dbPath),
      resume: values.resume ?? false,
      onEpoch: (r) => progressLine(progress.line(r)),
      retry: {
        onWait: (attempt, attempts, delayMs) =>
          console.error(
            `the database is locked by another writer (an import or the server); save attempt ${attempt} of ${attempts} failed, retrying in ${(delayMs / 1000).toFixed(1)} s`,
          ),
      },
    });
    endProgress();
    const training = meta.training ?? {};
    console.log(
      `saved model version ${versionId} (${algorithm}) to ${db.location} in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    const validation = Object.entries(training.validation ?? {})
      .map(([k, v]) => `${k} ${v?.toFixed(4) ?? '-'}`)
      .join(', ');
    // Where the time went (rbm/stages.ts): data preparation, each model, the mixture, the final inputs.
    if (training.stages) console.log(`stages: ${formatStages(training.stages)}`);
    const ndcg = training.validationRanking?.ndcg;
    const ranker = meta.kind === 'implicit' || meta.kind === 'watch-like' ? 'implicit RBM' : (meta.algorithm ?? meta.kind);
    if (typeof ndcg === 'number') console.log(`${ranker} validation nDCG@10 ${ndcg.toFixed(4)}`);
    if (meta.kind === 'ease' || meta.kind === 'ials') for (const note of training.notes ?? []) console.log(note);
    if (validation)
      console.log(
        `validation RMSE: ${validation}; mixture ${JSON.stringify(meta.kind === 'rbm' ? meta.config.mixture : meta.kind === 'watch-like' ? meta.config.rating.mixture : null)}; backend ${training.backend}`,
      );
  } finally {
    await db.close();
  }
}

/**
 * The progress display's lanes: the rating RBMs' lanes, and the implicit RBMs after them ('inTurn': at
 * the end of the first lane, the one that runs both orientations when they train in turn) or beside them:
 * the CD members (phase 'implicit'), then the pseudo-likelihood ones ('implicit-pl'), each kind shown
 * only when the ensemble the catalog gets (implicitEnsemble) has members of it.
 */
export function modelLanes(
  ratingLanes: readonly (readonly string[])[],
  schedule: ModelSchedule,
  ensemble: { members: number; plMembers: number },
): string[][] {
  const lanes = ratingLanes.map((lane) => [...lane]);
  const implicit = [...(ensemble.members > 0 ? ['implicit'] : []), ...(ensemble.plMembers > 0 ? ['implicit-pl'] : [])];
  if (implicit.length === 0) return lanes;
  if (schedule === 'inTurn' && lanes.length > 0) lanes[0].push(...implicit);
  else lanes.push(implicit);
  return lanes;
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
