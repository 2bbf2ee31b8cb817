/**
 * Fitting the full recommender from a training Dataset: carve a seeded validation slice out of the
 * training ratings, train the requested RBM orientations with early stopping on it, fit the mixture
 * weights on it, then compute the final inputs (item hidden features, bias baseline) from all training
 * ratings. Pure: progress goes through `onEpoch`.
 */
import { compressRows, subsetRatings, type CompressedRows, type Dataset } from '../data/dataset.js';
import { fitBiasModel } from '../model/bias.js';
import type { EpochReport } from '../model/types.js';
import { Rng } from '../rng.js';
import { validateTrainOptions, type TrainOptions, type TrainOptionsInput } from './config.js';
import { expectation, hiddenProbabilities, visibleDistribution, type RbmParams } from './params.js';
import { RbmRecommender, type MixtureWeights } from './recommender.js';
import { trainRbmInWorker } from './parallel.js';
import { trainRbm, type TrainRbmResult } from './train.js';
import { availableParallelism } from 'node:os';

export interface FitResult {
  model: RbmRecommender;
  options: TrainOptions;
}

/** Seeded split of rating indices into (fit, validation). */
export function validationSplit(ratings: number, fraction: number, seed: number): { fit: Int32Array; validation: Int32Array } {
  const order = new Int32Array(ratings);
  for (let r = 0; r < ratings; r++) order[r] = r;
  new Rng(seed).shuffle(order);
  const nVal = Math.round(fraction * ratings);
  const validation = order.slice(0, nVal).sort();
  const fit = order.slice(nVal).sort();
  return { fit, validation };
}

/** Item hidden features ĥ_i = p(h | item i's ratings) for every item (the item RBM's prediction input). */
export function itemHiddenFeatures(params: RbmParams, byItem: CompressedRows): Float32Array {
  const F = params.hidden;
  const out = new Float32Array(byItem.rows * F);
  const h = new Float32Array(F);
  for (let i = 0; i < byItem.rows; i++) {
    hiddenProbabilities(params, byItem.colIndex, byItem.levels, byItem.rowStart[i], byItem.rowStart[i + 1], h);
    out.set(h, i * F);
  }
  return out;
}

/** Expected ratings of an RBM for the (row, col) pairs of `target`, given `input` rows as the cases' data. */
function rbmExpectations(p: RbmParams, input: CompressedRows, target: CompressedRows, levels: readonly number[]): Float64Array {
  const out = new Float64Array(target.colIndex.length);
  const h = new Float32Array(p.hidden);
  const dist = new Float64Array(p.levels);
  for (let r = 0; r < target.rows; r++) {
    const s = target.rowStart[r];
    const e = target.rowStart[r + 1];
    if (s === e) continue;
    hiddenProbabilities(p, input.colIndex, input.levels, input.rowStart[r], input.rowStart[r + 1], h);
    for (let t = s; t < e; t++) {
      visibleDistribution(p, target.colIndex[t], h, dist);
      out[t] = expectation(dist, 0, levels);
    }
  }
  return out;
}

/**
 * Convex weights minimising the RMSE of Σ_c w_c · prediction_c against `actual`: a grid over the simplex
 * (step 0.02). Exact enough, and robust where least squares would extrapolate with negative weights.
 */
export function fitMixture(predictions: { user: Float64Array | null; item: Float64Array | null; bias: Float64Array }, actual: Float64Array): MixtureWeights {
  const step = 0.02;
  const n = actual.length;
  let best: MixtureWeights = { user: predictions.user ? 1 : 0, item: predictions.item ? 1 : 0, bias: 0 };
  if (predictions.user && predictions.item) best = { user: 0.5, item: 0.5, bias: 0 };
  if (!predictions.user && !predictions.item) return { user: 0, item: 0, bias: 1 };
  let bestSse = Infinity;
  const steps = Math.round(1 / step);
  for (let a = 0; a <= steps; a++) {
    const wu = predictions.user ? a * step : 0;
    if (!predictions.user && a > 0) break;
    for (let c = 0; a + c <= steps; c++) {
      const wi = predictions.item ? c * step : 0;
      if (!predictions.item && c > 0) break;
      const wb = 1 - wu - wi;
      if (wb < -1e-9) continue;
      let sse = 0;
      for (let t = 0; t < n; t++) {
        const pred = wu * (predictions.user?.[t] ?? 0) + wi * (predictions.item?.[t] ?? 0) + wb * predictions.bias[t];
        const d = pred - actual[t];
        sse += d * d;
      }
      if (sse < bestSse - 1e-12) {
        bestSse = sse;
        best = { user: round(wu), item: round(wi), bias: round(Math.max(0, wb)) };
      }
    }
  }
  return best;
}

const round = (x: number): number => Math.round(x * 1000) / 1000;

/**
 * `parallel` trains the two orientations in worker threads at the same time (default: when the machine
 * has more than one core). Results are identical either way: each orientation has its own seeded RNG.
 */
export async function fitRecommender(
  train: Dataset,
  input: TrainOptionsInput = {},
  onEpoch?: (report: EpochReport) => void,
  parallel = availableParallelism() > 1,
): Promise<FitResult> {
  const options = validateTrainOptions(input);
  const started = performance.now();
  const levels = train.ratingLevels;
  const K = levels.length;
  const orientations = options.orientation === 'both' ? (['user', 'item'] as const) : ([options.orientation] as const);
  const { fit: fitIdx, validation: valIdx } = validationSplit(train.levels.length, options.validationFraction, options.seed);
  const fitSet = subsetRatings(train, fitIdx);
  const valSet = subsetRatings(train, valIdx);

  const results: Partial<Record<'user' | 'item', TrainRbmResult>> = {};
  const notes: string[] = [];
  if (K < 2) {
    notes.push(`the data has a single rating level (${levels[0]}): there is nothing for an RBM to learn, so the model is the bias baseline`);
  } else {
    const run = parallel && orientations.length > 1 ? trainRbmInWorker : (...args: Parameters<typeof trainRbm>) => Promise.resolve(trainRbm(...args));
    const trained = await Promise.all(orientations.map((o) =>
      run(o, compressRows(fitSet, o), valSet.levels.length > 0 ? compressRows(valSet, o) : null,
        levels, options[o], options.seed * 2 + (o === 'user' ? 1 : 2), onEpoch)));
    orientations.forEach((o, n) => (results[o] = trained[n]));
  }

  // Mixture weights on the validation slice, every component predicting from the fit ratings only.
  const fitBias = fitBiasModel(fitSet);
  const actual = new Float64Array(valSet.levels.length);
  const biasPred = new Float64Array(valSet.levels.length);
  for (let t = 0; t < actual.length; t++) {
    actual[t] = levels[valSet.levels[t]];
    biasPred[t] = fitBias.predictValue(fitBias.userBias[valSet.users[t]], valSet.items[t]);
  }
  const componentPredictions = (o: 'user' | 'item'): Float64Array | null => {
    const res = results[o];
    if (!res) return null;
    // Validation pairs in rating order: predict through the orientation's rows, then map back.
    const valRows = compressRows(valSet, o);
    const byRow = rbmExpectations(res.params, compressRows(fitSet, o), valRows, levels);
    const rowOf = o === 'user' ? valSet.users : valSet.items;
    const next = valRows.rowStart.slice(0, valRows.rows);
    const out = new Float64Array(actual.length);
    for (let t = 0; t < actual.length; t++) out[t] = byRow[next[rowOf[t]]++];
    return out;
  };
  const predictions = { user: componentPredictions('user'), item: componentPredictions('item'), bias: biasPred };
  const mixture = actual.length > 0
    ? fitMixture(predictions, actual)
    : { user: results.user && results.item ? 0.5 : results.user ? 1 : 0, item: results.user && results.item ? 0.5 : results.item ? 1 : 0, bias: results.user || results.item ? 0 : 1 };
  const rmseOf = (pred: Float64Array | null): number | null => {
    if (!pred || actual.length === 0) return null;
    let s = 0;
    for (let t = 0; t < actual.length; t++) s += (pred[t] - actual[t]) ** 2;
    return Math.sqrt(s / actual.length);
  };
  const blendPred = new Float64Array(actual.length);
  for (let t = 0; t < actual.length; t++) {
    blendPred[t] = mixture.user * (predictions.user?.[t] ?? 0) + mixture.item * (predictions.item?.[t] ?? 0) + mixture.bias * biasPred[t];
  }

  // Final inputs from all training ratings (the validation ratings are training data too).
  const bias = fitBiasModel(train);
  const byItem = compressRows(train, 'item');
  const itemTrainCount = new Float32Array(train.itemIds.length);
  for (let i = 0; i < byItem.rows; i++) itemTrainCount[i] = byItem.rowStart[i + 1] - byItem.rowStart[i];
  const itemPart = results.item ? { params: results.item.params, itemHidden: itemHiddenFeatures(results.item.params, byItem) } : null;

  const curve = [...(results.user?.curve ?? []), ...(results.item?.curve ?? [])];
  const summary = (o: 'user' | 'item') => {
    const r = results[o];
    return r ? { epochs: r.epochs, bestEpoch: r.bestEpoch, bestValidationRmse: r.bestValidationRmse, seconds: r.seconds } : null;
  };
  const training = {
    seconds: (performance.now() - started) / 1000,
    epochs: (results.user?.epochs ?? 0) + (results.item?.epochs ?? 0),
    ratings: train.levels.length,
    fitRatings: fitSet.levels.length,
    validationRatings: valSet.levels.length,
    orientations: { user: summary('user'), item: summary('item') },
    validation: { user: rmseOf(predictions.user), item: rmseOf(predictions.item), bias: rmseOf(biasPred), blend: rmseOf(blendPred) },
    curve,
    notes,
  };
  const model = new RbmRecommender({
    ratingLevels: levels,
    userIds: train.userIds,
    itemIds: train.itemIds,
    bias,
    itemTrainCount,
    user: results.user?.params ?? null,
    item: itemPart,
    mixture,
    config: { orientation: options.orientation, seed: options.seed, validationFraction: options.validationFraction, user: options.user, item: options.item },
    training,
  });
  return { model, options };
}
