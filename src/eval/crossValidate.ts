/**
 * The cross-validation runner: for every fold, fit an algorithm and the baselines on the training part
 * only, predict the test part from training ratings alone, and report RMSE/MAE side by side. It knows
 * algorithms only through the protocol.
 */
import { compressRows, type Dataset } from '../data/dataset.js';
import { biasAlgorithm, globalMean } from '../model/bias.js';
import {
  checkModelMeta,
  getAlgorithm,
  resolveAlgorithm,
  type EpochReport,
  type FitOptions,
  type TrainedModel,
  type UserInput,
  type UserScores,
} from '../model/index.js';
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

/** Users scored per dense block when predicting a test part. */
const EVAL_BLOCK = 128;

/**
 * Folds every user who has test ratings in from their training ratings only (with their training index,
 * as a stored user is served), in blocks through `scoreUsers`, and hands each user's scores over:
 * `visit(u, scores, trainItems)`. The one loop behind the rating and the ranking evaluation.
 */
export function forEachTestUser(
  model: TrainedModel,
  train: Dataset,
  test: Dataset,
  visit: (u: number, scores: UserScores, trainItems: Int32Array) => void,
): void {
  const trainRows = compressRows(train, 'user');
  const testRows = compressRows(test, 'user');
  let block: number[] = [];
  const flush = (): void => {
    const inputs: UserInput[] = block.map((u) => {
      const ts = trainRows.rowStart[u];
      const te = trainRows.rowStart[u + 1];
      return { ratings: { items: trainRows.colIndex.subarray(ts, te), levels: trainRows.levels.subarray(ts, te) }, userIndex: u };
    });
    const scores = model.scoreUsers(inputs);
    block.forEach((u, n) => visit(u, scores[n], inputs[n].ratings.items));
    block = [];
  };
  for (let u = 0; u < testRows.rows; u++) {
    if (testRows.rowStart[u] === testRows.rowStart[u + 1]) continue;
    block.push(u);
    if (block.length === EVAL_BLOCK) flush();
  }
  if (block.length > 0) flush();
}

/** Predicts every test rating with `model` from training ratings alone (see forEachTestUser). */
export function predictTest(
  model: TrainedModel,
  train: Dataset,
  test: Dataset,
): { predicted: Float64Array; actual: Float64Array; fallback: number } {
  if (!model.predictsRatings) throw new Error(`the ${model.algorithm} algorithm does not predict ratings`);
  const testRows = compressRows(test, 'user');
  const itemTrainCount = new Int32Array(train.itemIds.length);
  for (let r = 0; r < train.items.length; r++) itemTrainCount[train.items[r]]++;
  const predicted = new Float64Array(test.levels.length);
  const actual = new Float64Array(test.levels.length);
  let fallback = 0;
  let at = 0;
  forEachTestUser(model, train, test, (u, scores, trainItems) => {
    const expected = scores.expected!;
    for (let t = testRows.rowStart[u]; t < testRows.rowStart[u + 1]; t++) {
      const i = testRows.colIndex[t];
      predicted[at] = expected[i];
      actual[at] = test.ratingLevels[testRows.levels[t]];
      if (trainItems.length === 0 || itemTrainCount[i] === 0) fallback++;
      at++;
    }
  });
  return { predicted, actual, fallback };
}

export async function crossValidate(
  folds: Fold[],
  options: FitOptions,
  hooks: { onEpoch?: (fold: string, report: EpochReport) => void; onFold?: (result: FoldResult) => void } = {},
  algorithmName?: string,
): Promise<EvaluationReport> {
  const algorithm = resolveAlgorithm(algorithmName, options);
  const results: FoldResult[] = [];
  let modelInfo: Record<string, unknown> = {};
  for (const fold of folds) {
    const started = performance.now();
    const model = await getAlgorithm(algorithm).fit(fold.train, options, { onEpoch: (r) => hooks.onEpoch?.(fold.name, r) });
    const trainSeconds = (performance.now() - started) / 1000;
    const { predicted, actual, fallback } = predictTest(model, fold.train, fold.test);
    const biasModel = await biasAlgorithm.fit(fold.train, {});
    const bias = predictTest(biasModel, fold.train, fold.test);
    const mu = globalMean(fold.train);
    const meta = checkModelMeta(model.toState().meta);
    model.dispose();
    const training = meta.training ?? {};
    const result: FoldResult = {
      name: fold.name,
      ...errorMetrics(predicted, actual),
      trainSeconds,
      epochs: training.epochs ?? 0,
      testRatings: actual.length,
      fallbackRatings: fallback,
      baselines: {
        globalMean: errorMetrics(new Float64Array(actual.length).fill(mu), actual),
        bias: errorMetrics(bias.predicted, bias.actual),
      },
      components: training.validation ?? {},
      mixture: meta.kind === 'rbm' ? { ...meta.config.mixture } : {},
      curve: training.curve ?? [],
    };
    results.push(result);
    hooks.onFold?.(result);
    modelInfo = { algorithm: model.algorithm, ...meta.config };
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
