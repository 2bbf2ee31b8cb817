/**
 * The cross-validation runner: for every fold, fit the RBM and the baselines on the training part only,
 * predict the test part from training ratings alone, and report RMSE/MAE side by side.
 */
import { compressRows, type Dataset } from '../data/dataset.js';
import { fitBiasModel, globalMean } from '../model/bias.js';
import type { EpochReport, RatingModel } from '../model/types.js';
import type { TrainOptionsInput } from '../rbm/config.js';
import { fitRecommender } from '../rbm/fit.js';
import { errorMetrics, type ErrorMetrics } from './metrics.js';
import type { Fold } from './splits.js';

export interface FoldResult extends ErrorMetrics {
  name: string;
  trainSeconds: number;
  epochs: number;
  testRatings: number;
  /** Test ratings answered by the bias baseline because their user or item had no training ratings. */
  fallbackRatings: number;
  baselines: { globalMean: ErrorMetrics; bias: ErrorMetrics };
  components: Record<string, number | null>;
  mixture: Record<string, number>;
  curve: EpochReport[];
}

export interface EvaluationReport {
  folds: FoldResult[];
  mean: ErrorMetrics;
  baselines: { globalMean: ErrorMetrics; bias: ErrorMetrics };
  fallbackRatings: number;
  model: Record<string, unknown>;
}

/** Predicts every test rating with `model`, each user folded in from their training ratings only. */
export function predictTest(model: RatingModel, train: Dataset, test: Dataset): { predicted: Float64Array; actual: Float64Array; fallback: number } {
  const trainRows = compressRows(train, 'user');
  const testRows = compressRows(test, 'user');
  const itemTrainCount = new Int32Array(train.itemIds.length);
  for (let r = 0; r < train.items.length; r++) itemTrainCount[train.items[r]]++;
  const predicted = new Float64Array(test.levels.length);
  const actual = new Float64Array(test.levels.length);
  let fallback = 0;
  let at = 0;
  for (let u = 0; u < testRows.rows; u++) {
    const s = testRows.rowStart[u];
    const e = testRows.rowStart[u + 1];
    if (s === e) continue;
    const ts = trainRows.rowStart[u];
    const te = trainRows.rowStart[u + 1];
    const ratings = { items: trainRows.colIndex.subarray(ts, te), levels: trainRows.levels.subarray(ts, te) };
    const items = testRows.colIndex.subarray(s, e);
    const p = model.foldIn(ratings, { userIndex: u }).predict(items);
    for (let t = s; t < e; t++) {
      predicted[at] = p.expected[t - s];
      actual[at] = test.ratingLevels[testRows.levels[t]];
      if (te === ts || itemTrainCount[testRows.colIndex[t]] === 0) fallback++;
      at++;
    }
  }
  return { predicted, actual, fallback };
}

export async function crossValidate(
  folds: Fold[],
  options: TrainOptionsInput,
  hooks: { onEpoch?: (fold: string, report: EpochReport) => void; onFold?: (result: FoldResult) => void } = {},
): Promise<EvaluationReport> {
  const results: FoldResult[] = [];
  let modelInfo: Record<string, unknown> = {};
  for (const fold of folds) {
    const started = performance.now();
    const { model, options: resolved } = await fitRecommender(fold.train, options, (r) => hooks.onEpoch?.(fold.name, r));
    const trainSeconds = (performance.now() - started) / 1000;
    const { predicted, actual, fallback } = predictTest(model, fold.train, fold.test);
    const bias = predictTest(fitBiasModel(fold.train), fold.train, fold.test);
    const mu = globalMean(fold.train);
    const training = model.parts.training as { epochs: number; validation: Record<string, number | null>; curve: EpochReport[] };
    const result: FoldResult = {
      name: fold.name,
      ...errorMetrics(predicted, actual),
      trainSeconds,
      epochs: training.epochs,
      testRatings: actual.length,
      fallbackRatings: fallback,
      baselines: { globalMean: errorMetrics(new Float64Array(actual.length).fill(mu), actual), bias: errorMetrics(bias.predicted, bias.actual) },
      components: training.validation,
      mixture: { ...model.parts.mixture },
      curve: training.curve,
    };
    results.push(result);
    hooks.onFold?.(result);
    modelInfo = { ...resolved };
  }
  const mean = (pick: (f: FoldResult) => ErrorMetrics): ErrorMetrics => ({
    rmse: results.reduce((s, f) => s + pick(f).rmse, 0) / results.length,
    mae: results.reduce((s, f) => s + pick(f).mae, 0) / results.length,
  });
  return {
    folds: results,
    mean: mean((f) => f),
    baselines: { globalMean: mean((f) => f.baselines.globalMean), bias: mean((f) => f.baselines.bias) },
    fallbackRatings: results.reduce((s, f) => s + f.fallbackRatings, 0),
    model: modelInfo,
  };
}
