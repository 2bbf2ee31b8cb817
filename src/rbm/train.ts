/**
 * Contrastive-divergence training of one softmax-visible RBM over the cases of one orientation, with
 * early stopping on a validation slice. Pure: no I/O; progress goes through a callback.
 */
import type { CompressedRows } from '../data/dataset.js';
import { Rng } from '../rng.js';
import { cdStepsAt, ratingEpochBudget, type Orientation, type RbmOptions } from './config.js';
import { createCdEngine, kernelsPreference, type CdEngine, type KernelsKind } from './cdEngine.js';
import { cloneParams, copyParamsInto, expectationsOfRows, initParams, type RbmParams } from './params.js';

/** Reported once per epoch by iterative training (progress bars, learning curves). */
export interface EpochReport {
  /** Which sub-model is training, e.g. 'user', 'item', 'implicit'. */
  phase: string;
  epoch: number;
  /** CD steps used this epoch. */
  cdSteps: number;
  /** The gradient's estimator when it is not CD-T (cdSteps then means nothing): 'pseudo-likelihood'. */
  estimator?: 'pseudo-likelihood';
  trainRmse: number;
  /** The early-stopping criterion on the validation slice (RMSE; ranking models report 1 − nDCG). */
  validationRmse: number | null;
  seconds: number;
  /** The most epochs this training runs (its epoch budget; early stopping may end it sooner). */
  maxEpochs?: number;
}

export interface TrainRbmResult {
  params: RbmParams;
  curve: EpochReport[];
  bestEpoch: number;
  bestValidationRmse: number | null;
  epochs: number;
  seconds: number;
  /** Which CD kernels ran: the WebAssembly SIMD ones or the plain-JS reference (see cdEngine.ts). */
  kernels: KernelsKind;
  /**
   * rbmExpectations(params, train, validation) of the returned params, one per validation entry in its
   * order (the best epoch's full pass, or one made with the best parameters after training), so the
   * blend's mixture fit needs no pass of its own. Null without validation.
   */
  validationPredictions: Float64Array | null;
  /** hiddenOfRows(params, job.features) of the returned params, when the job asked for features. */
  hiddenFeatures: Float32Array | null;
}

/**
 * Where a training stood, to continue it after an interruption: the best-so-far parameters (by
 * validation RMSE; the latest ones when there is no validation slice) and the epoch reached.
 */
export interface RbmCheckpoint {
  phase: string;
  /** Epochs completed when the checkpoint was taken. */
  epoch: number;
  params: RbmParams;
  bestEpoch: number;
  bestValidationRmse: number | null;
  curve: EpochReport[];
}

export interface TrainRbmHooks {
  onEpoch?: (report: EpochReport) => void;
  /**
   * Receives a checkpoint after an epoch once `checkpointEveryMs` has passed since the start or the last
   * checkpoint. The parameters are a copy the receiver may keep (or transfer to another thread).
   */
  onCheckpoint?: (checkpoint: RbmCheckpoint) => void;
  /** Default 2 minutes: a crash loses at most this much training, plus one epoch. */
  checkpointEveryMs?: number;
  /** Milliseconds clock (default performance.now), injectable so tests need no real waiting. */
  now?: () => number;
  /**
   * Continue from a checkpoint instead of fresh parameters: training restarts from its parameters at
   * epoch checkpoint.epoch + 1 (the CD-T schedule, momentum switch and learning-rate decay continue where
   * they were), keeping its curve and best so far. The momentum buffer starts at zero, and shuffling uses
   * a stream derived from (seed, epoch), so a resumed run is a continuation, not a bit-exact replay.
   */
  resumeFrom?: RbmCheckpoint;
}

export const DEFAULT_CHECKPOINT_EVERY_MS = 2 * 60 * 1000;

export class NonFiniteTrainingError extends Error {
  constructor(
    readonly phase: string,
    readonly epoch: number,
  ) {
    super(
      `training diverged: the ${phase} RBM's weights became NaN or infinite in epoch ${epoch}; ` +
        'try a smaller learning rate (--lr) or more weight decay',
    );
    this.name = 'NonFiniteTrainingError';
  }
}

/** Counts of each visible unit's ratings at each level (for the visible-bias initialisation). */
export function visibleLevelCounts(rows: CompressedRows, K: number): Float64Array {
  // Counted in 32-bit integers (exact: fewer than 2^31 ratings), half the bytes of the randomly
  // addressed table (the item RBM's users × levels at MovieLens 25M's size: 13 MB in doubles).
  const counts = new Int32Array(rows.cols * K);
  const { colIndex, levels } = rows;
  for (let n = 0; n < colIndex.length; n++) counts[colIndex[n] * K + levels[n]]++;
  return Float64Array.from(counts);
}

/**
 * The mean-field expected rating of every (case, visible) pair of `target`, given each case's ratings in
 * `input` (same rows) as the data (see params.ts expectationsOfRows). One value per entry of
 * target.colIndex, in its order.
 */
export function rbmExpectations(p: RbmParams, input: CompressedRows, target: CompressedRows, levels: readonly number[]): Float64Array {
  return expectationsOfRows(p, input, target, levels, null);
}

/** RMSE of the mean-field predictions (rbmExpectations) for `validation`, given each case's training ratings. */
export function validationRmse(p: RbmParams, train: CompressedRows, validation: CompressedRows, ratingLevels: readonly number[]): number {
  return rmseOfPredictions(rbmExpectations(p, train, validation, ratingLevels), validation, ratingLevels);
}

function rmseOfPredictions(predicted: Float64Array, validation: CompressedRows, ratingLevels: readonly number[]): number {
  let sq = 0;
  for (let t = 0; t < predicted.length; t++) {
    const d = predicted[t] - ratingLevels[validation.levels[t]];
    sq += d * d;
  }
  return predicted.length > 0 ? Math.sqrt(sq / predicted.length) : NaN;
}

/**
 * Early stopping's sample of the validation slice: past EARLY_STOPPING_RATINGS validation ratings, each
 * epoch's criterion is the RMSE over a seeded sample of the slice's rows (whole rows, drawn in a shuffled
 * order until they hold that many ratings), not over all of it. Predicting a row costs all its fit
 * ratings (p̂ = p(h | them)), so at MovieLens 25M's size a full pass was 35–45 s of every epoch on one
 * thread; 100,000 ratings (8 % of that slice) keep the criterion's noise far below the epoch-to-epoch
 * changes early stopping looks at. Smaller slices (ML-100K, ML-1M) use every row, as before.
 */
export const EARLY_STOPPING_RATINGS = 100_000;

/** The sampled rows as compressed rows of the same shape (other rows empty), or null when all are used. */
export function earlyStoppingSample(validation: CompressedRows, seed: number, maxRatings = EARLY_STOPPING_RATINGS): CompressedRows | null {
  if (validation.colIndex.length <= maxRatings) return null;
  const order = new Rng(seed).shuffle(Int32Array.from({ length: validation.rows }, (_, r) => r));
  const taken = new Uint8Array(validation.rows);
  let count = 0;
  for (let n = 0; n < order.length && count < maxRatings; n++) {
    const r = order[n];
    taken[r] = 1;
    count += validation.rowStart[r + 1] - validation.rowStart[r];
  }
  const rowStart = new Int32Array(validation.rows + 1);
  const colIndex = new Int32Array(count);
  const levels = new Uint8Array(count);
  for (let r = 0, at = 0; r < validation.rows; r++) {
    if (taken[r]) {
      const s = validation.rowStart[r];
      const e = validation.rowStart[r + 1];
      colIndex.set(validation.colIndex.subarray(s, e), at);
      levels.set(validation.levels.subarray(s, e), at);
      at += e - s;
    }
    rowStart[r + 1] = at;
  }
  return { rows: validation.rows, cols: validation.cols, rowStart, colIndex, levels };
}

/** The rows of `rows` that hold entries, in order. */
function rowsWithEntries(rows: CompressedRows): Int32Array {
  const out: number[] = [];
  for (let r = 0; r < rows.rows; r++) if (rows.rowStart[r + 1] > rows.rowStart[r]) out.push(r);
  return Int32Array.from(out);
}

/**
 * RMSE of validation-shaped predictions over the rows `rows` (all when null), summed in entry order: over
 * a sample's rows the same sum as rmseOfPredictions over the sample's own compressed rows (each row's
 * predictions depend on that row alone).
 */
function rmseOfRows(predicted: Float64Array, validation: CompressedRows, rows: Int32Array | null, ratingLevels: readonly number[]): number {
  if (!rows) return rmseOfPredictions(predicted, validation, ratingLevels);
  let sq = 0;
  let n = 0;
  for (const r of rows) {
    for (let t = validation.rowStart[r]; t < validation.rowStart[r + 1]; t++) {
      const d = predicted[t] - ratingLevels[validation.levels[t]];
      sq += d * d;
      n++;
    }
  }
  return n > 0 ? Math.sqrt(sq / n) : NaN;
}

/** A checkpoint must come from the same orientation and shapes as the training it resumes. */
function checkResumable(checkpoint: RbmCheckpoint, phase: string, visibles: number, levels: number, hidden: number): void {
  const p = checkpoint.params;
  if (checkpoint.phase !== phase || p.visibles !== visibles || p.levels !== levels || p.hidden !== hidden) {
    throw new Error(
      `cannot resume the ${phase} RBM (${visibles} visible units × ${levels} levels × ${hidden} hidden) from a checkpoint of the ` +
        `${checkpoint.phase} RBM (${p.visibles} × ${p.levels} × ${p.hidden}): the data or the options changed since it was saved`,
    );
  }
}

function allFinite(a: Float32Array): boolean {
  for (let n = 0; n < a.length; n++) if (!Number.isFinite(a[n])) return false;
  return true;
}

/** What one RBM is trained on and with: plain data, so it can be posted to a worker thread as it is. */
export interface TrainRbmJob {
  /** Which RBM: named in reports, checkpoints and errors, and its epoch budget's rule. */
  phase: Orientation;
  train: CompressedRows;
  /** Held-out ratings of the same rows for early stopping, or null to train every epoch. */
  validation: CompressedRows | null;
  ratingLevels: readonly number[];
  options: RbmOptions;
  seed: number;
  /**
   * Threads training this RBM together (default 1: the serial path). More run each epoch data-parallel
   * (the wasm engine's parallelEpoch): the same model as the serial case-by-case order, bit for bit, for
   * any count above 1; see cdEngine.ts.
   */
  threads?: number;
  /** Validation ratings past which early stopping uses a sample of the slice (default EARLY_STOPPING_RATINGS). */
  earlyStoppingRatings?: number;
  /**
   * Cases (the same rows as `train`) whose hidden probabilities to return with the trained parameters
   * (TrainRbmResult.hiddenFeatures): the item RBM's features from all training ratings, computed on the
   * training's threads.
   */
  features?: CompressedRows | null;
}

export function trainRbm(input: TrainRbmJob, hooks: TrainRbmHooks = {}): TrainRbmResult {
  // The epochs scale with the data (config.ts ratingEpochBudget): from here on options.epochs is the budget.
  const job = { ...input, options: { ...input.options, ...ratingEpochBudget(input.options, input.train.rows, input.phase) } };
  const { phase, train, ratingLevels, options, seed } = job;
  const started = performance.now();
  const K = ratingLevels.length;
  const resume = hooks.resumeFrom ?? null;
  if (resume) checkResumable(resume, phase, train.cols, K, options.hidden);
  // A resumed run draws its shuffles from a stream of its own, not the fresh run's first epochs again.
  const rng = new Rng(resume ? (seed + Math.imul(0x9e3779b1, resume.epoch)) >>> 0 : seed);
  // Fresh weights are drawn by the engine (initWeightsNormal: on its threads, into its memory), the
  // numbers initParams would draw from the same stream.
  const params = resume ? cloneParams(resume.params) : initParams(train.cols, K, options.hidden, visibleLevelCounts(train, K), null, 0);
  const engine = createCdEngine(
    params,
    train,
    ratingLevels,
    {
      lr: options.lr,
      momentum: options.initialMomentum,
      weightDecay: options.weightDecay,
      batchSize: options.batchSize,
      persistent: options.persistent,
      meanField: options.negativePhase === 'meanField',
      threads: job.threads ?? 1,
    },
    kernelsPreference(),
    { validation: job.validation, features: job.features ?? null },
  );
  try {
    if (!resume) engine.initWeightsNormal(rng, options.initScale);
    return trainWithEngine(job, hooks, engine, params, rng, started);
  } finally {
    engine.close();
  }
}

function trainWithEngine(
  job: TrainRbmJob,
  hooks: TrainRbmHooks,
  engine: CdEngine,
  params: RbmParams,
  rng: Rng,
  started: number,
): TrainRbmResult {
  const { phase, train, validation, ratingLevels, options } = job;
  const { onEpoch } = hooks;
  const resume = hooks.resumeFrom ?? null;
  // The weights being trained. The JS engine trains `params` in place; the wasm engine a copy in its own
  // memory, which leaves `params` free to hold the best snapshot (no second V·K·F allocation).
  const live = engine.params;
  const spare = live === params ? null : params;
  const snapshot = (into: RbmParams | null): RbmParams => {
    if (!into) return cloneParams(live);
    copyParamsInto(live, into);
    return into;
  };
  const order = new Int32Array(train.rows);
  for (let r = 0; r < order.length; r++) order[r] = r;

  const curve: EpochReport[] = resume ? [...resume.curve] : [];
  let best: RbmParams | null = resume && resume.bestValidationRmse !== null ? cloneParams(resume.params) : null;
  let bestEpoch = resume?.bestEpoch ?? 0;
  let bestRmse = resume?.bestValidationRmse ?? Infinity;
  let bestPredictions: Float64Array | null = null;
  const sample = validation ? earlyStoppingSample(validation, (job.seed + 0x2545f491) >>> 0, job.earlyStoppingRatings) : null;
  const sampleRows = sample ? rowsWithEntries(sample) : null;
  const now = hooks.now ?? (() => performance.now());
  const checkpointEveryMs = hooks.checkpointEveryMs ?? DEFAULT_CHECKPOINT_EVERY_MS;
  let lastCheckpoint = now();
  const firstEpoch = resume ? resume.epoch + 1 : 1;
  // The budget's last epoch computes the features with its full validation pass (one pass over the
  // weights for both); they are kept if that epoch's parameters are the ones returned.
  let lastEpochFeatures: Float32Array | null = null;
  let epoch = 0;
  for (epoch = firstEpoch; epoch <= options.epochs; epoch++) {
    const epochStart = performance.now();
    const steps = cdStepsAt(options.cdSchedule, epoch);
    const momentum = epoch >= options.momentumFromEpoch ? options.momentum : options.initialMomentum;
    engine.setRates(options.lr * Math.pow(options.lrDecay, epoch - 1), momentum);
    rng.shuffle(order);
    const { squaredError, errorCount } = engine.trainEpoch(order, steps, rng);
    if (!allFinite(live.W) || !allFinite(live.b) || !allFinite(live.c)) throw new NonFiniteTrainingError(phase, epoch);
    const trainRmse = Math.sqrt(squaredError / Math.max(1, errorCount));
    // The criterion: over the early-stopping sample, or the whole slice. The last epoch the budget allows
    // makes the full pass (its sample's figure taken from it), so a best last epoch needs no second one.
    let predicted: Float64Array | null = null;
    let valRmse: number | null = null;
    if (validation) {
      // The passes run on the engine's threads (every row is up to date after trainEpoch).
      let full: Float64Array | null = null;
      if (job.features && epoch === options.epochs) {
        const both = engine.predictValidationAndFeatures();
        full = both.predictions;
        lastEpochFeatures = both.features;
      } else if (!sample || epoch === options.epochs) {
        full = engine.predictValidation(null);
      }
      valRmse = rmseOfRows(full ?? engine.predictValidation(sampleRows), validation, sampleRows, ratingLevels);
      predicted = full;
    }
    const report: EpochReport = {
      phase,
      epoch,
      cdSteps: steps,
      trainRmse,
      validationRmse: valRmse !== null && Number.isFinite(valRmse) ? valRmse : null,
      seconds: (performance.now() - epochStart) / 1000,
      maxEpochs: options.epochs,
    };
    curve.push(report);
    onEpoch?.(report);
    let stop = false;
    if (report.validationRmse !== null) {
      if (report.validationRmse < bestRmse) {
        bestRmse = report.validationRmse;
        bestEpoch = epoch;
        best = snapshot(best ?? spare);
        bestPredictions = predicted;
      } else if (epoch - bestEpoch >= options.patience) {
        stop = true;
      }
    }
    if (hooks.onCheckpoint && !stop && epoch < options.epochs && now() - lastCheckpoint >= checkpointEveryMs) {
      hooks.onCheckpoint({
        phase,
        epoch,
        params: cloneParams(best ?? live),
        bestEpoch: best ? bestEpoch : epoch,
        bestValidationRmse: best ? bestRmse : null,
        curve: [...curve],
      });
      lastCheckpoint = now();
    }
    if (stop) break;
  }
  const epochs = Math.min(epoch, options.epochs);
  // The best epoch's predictions of the whole slice, for the blend's mixture: one full pass with the best
  // parameters when the epoch that made them predicted only the sample.
  // The last epoch's features hold if its parameters are the returned ones: it was the best, or none was.
  const featuresHold = lastEpochFeatures !== null && (!best || bestEpoch === options.epochs);
  const needsBest = (validation !== null && !bestPredictions) || (job.features && !featuresHold);
  if (best && needsBest) engine.loadParams(best);
  if (best && validation && !bestPredictions) bestPredictions = engine.predictValidation(null);
  const hiddenFeatures = job.features ? (featuresHold ? lastEpochFeatures : engine.hiddenFeatures()) : null;
  return {
    // Never the wasm engine's views: the result must outlive the engine and be transferable.
    params: best ?? (spare ? snapshot(spare) : live),
    curve,
    bestEpoch: best ? bestEpoch : epochs,
    bestValidationRmse: best ? bestRmse : null,
    epochs,
    seconds: (performance.now() - started) / 1000,
    kernels: engine.kind,
    validationPredictions: best ? bestPredictions : null,
    hiddenFeatures,
  };
}
