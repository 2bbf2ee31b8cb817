/**
 * Contrastive-divergence training of one softmax-visible RBM over the cases of one orientation, with
 * early stopping on a validation slice. Pure: no I/O; progress goes through a callback.
 */
import type { CompressedRows } from '../data/dataset.js';
import type { EpochReport } from '../model/types.js';
import { Rng } from '../rng.js';
import { cdStepsAt, type RbmOptions } from './config.js';
import { accumulateCase, CdWorkspace, LazyMomentum } from './kernels.js';
import { cloneParams, copyParamsInto, expectation, hiddenProbabilities, initParams, visibleDistribution, type RbmParams } from './params.js';

/** Held-out (case, visible, level) triples, grouped by case as compressed rows. */
export type ValidationRows = CompressedRows;

export interface TrainRbmResult {
  params: RbmParams;
  curve: EpochReport[];
  bestEpoch: number;
  bestValidationRmse: number | null;
  epochs: number;
  seconds: number;
}

export class NonFiniteTrainingError extends Error {
  constructor(readonly phase: string, readonly epoch: number) {
    super(`training diverged: the ${phase} RBM's weights became NaN or infinite in epoch ${epoch}; ` +
      'try a smaller learning rate (--lr) or more weight decay');
    this.name = 'NonFiniteTrainingError';
  }
}

/** Counts of each visible unit's ratings at each level (for the visible-bias initialisation). */
export function visibleLevelCounts(rows: CompressedRows, K: number): Float64Array {
  const counts = new Float64Array(rows.cols * K);
  for (let n = 0; n < rows.colIndex.length; n++) counts[rows.colIndex[n] * K + rows.levels[n]]++;
  return counts;
}

/**
 * RMSE of the mean-field predictions for `validation`, given each case's training ratings as input:
 * p̂ = p(h | training ratings), then E_k[softmax_k(b[i,k] + Σ_j p̂_j W[i,k,j])].
 */
export function validationRmse(p: RbmParams, train: CompressedRows, validation: CompressedRows, ratingLevels: readonly number[]): number {
  const hidden = new Float32Array(p.hidden);
  const dist = new Float64Array(p.levels);
  let sq = 0;
  let n = 0;
  for (let r = 0; r < validation.rows; r++) {
    const vs = validation.rowStart[r];
    const ve = validation.rowStart[r + 1];
    if (ve === vs) continue;
    hiddenProbabilities(p, train.colIndex, train.levels, train.rowStart[r], train.rowStart[r + 1], hidden);
    for (let t = vs; t < ve; t++) {
      visibleDistribution(p, validation.colIndex[t], hidden, dist);
      const d = expectation(dist, 0, ratingLevels) - ratingLevels[validation.levels[t]];
      sq += d * d;
      n++;
    }
  }
  return n > 0 ? Math.sqrt(sq / n) : NaN;
}

function allFinite(a: Float32Array): boolean {
  for (let n = 0; n < a.length; n++) if (!Number.isFinite(a[n])) return false;
  return true;
}

export function trainRbm(
  phase: string,
  train: CompressedRows,
  validation: CompressedRows | null,
  ratingLevels: readonly number[],
  options: RbmOptions,
  seed: number,
  onEpoch?: (report: EpochReport) => void,
): TrainRbmResult {
  const started = performance.now();
  const K = ratingLevels.length;
  const rng = new Rng(seed);
  const params = initParams(train.cols, K, options.hidden, visibleLevelCounts(train, K), rng, options.initScale);
  let maxCase = 0;
  for (let r = 0; r < train.rows; r++) maxCase = Math.max(maxCase, train.rowStart[r + 1] - train.rowStart[r]);
  const ws = new CdWorkspace(params, maxCase);
  const optimiser = new LazyMomentum(ws, options.lr, options.initialMomentum, options.weightDecay);
  const chain = options.persistent ? train.levels.slice() : null;
  const order = new Int32Array(train.rows);
  for (let r = 0; r < order.length; r++) order[r] = r;

  const curve: EpochReport[] = [];
  let best: RbmParams | null = null;
  let bestEpoch = 0;
  let bestRmse = Infinity;
  let epoch = 0;
  for (epoch = 1; epoch <= options.epochs; epoch++) {
    const epochStart = performance.now();
    const steps = cdStepsAt(options.cdSchedule, epoch);
    const momentum = epoch >= options.momentumFromEpoch ? options.momentum : options.initialMomentum;
    optimiser.setRates(options.lr * Math.pow(options.lrDecay, epoch - 1), momentum);
    rng.shuffle(order);
    ws.squaredError = 0;
    ws.errorCount = 0;
    for (let at = 0; at < order.length; at += options.batchSize) {
      const stop = Math.min(order.length, at + options.batchSize);
      for (let q = at; q < stop; q++) {
        const r = order[q];
        optimiser.prepareRows(train.colIndex, train.rowStart[r], train.rowStart[r + 1]);
        accumulateCase(ws, train, order[q], steps, rng, ratingLevels, chain, options.negativePhase === 'meanField');
      }
      optimiser.apply(stop - at);
    }
    optimiser.flush();
    if (!allFinite(params.W) || !allFinite(params.b) || !allFinite(params.c)) throw new NonFiniteTrainingError(phase, epoch);
    const trainRmse = Math.sqrt(ws.squaredError / Math.max(1, ws.errorCount));
    const valRmse = validation ? validationRmse(params, train, validation, ratingLevels) : null;
    const report: EpochReport = {
      phase,
      epoch,
      cdSteps: steps,
      trainRmse,
      validationRmse: valRmse !== null && Number.isFinite(valRmse) ? valRmse : null,
      seconds: (performance.now() - epochStart) / 1000,
    };
    curve.push(report);
    onEpoch?.(report);
    if (report.validationRmse === null) continue;
    if (report.validationRmse < bestRmse) {
      bestRmse = report.validationRmse;
      bestEpoch = epoch;
      if (best) copyParamsInto(params, best);
      else best = cloneParams(params);
    } else if (epoch - bestEpoch >= options.patience) {
      break;
    }
  }
  const epochs = Math.min(epoch, options.epochs);
  return {
    params: best ?? params,
    curve,
    bestEpoch: best ? bestEpoch : epochs,
    bestValidationRmse: best ? bestRmse : null,
    epochs,
    seconds: (performance.now() - started) / 1000,
  };
}
