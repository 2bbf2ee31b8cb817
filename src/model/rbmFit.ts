/**
 * Fitting the full recommender from a training Dataset: carve a seeded validation slice out of the
 * training ratings, train the requested RBM orientations with early stopping on it, fit the mixture
 * weights on it, then compute the final inputs (item hidden features, bias baseline) from all training
 * ratings. Pure: progress goes through `onEpoch`.
 */
import { availableParallelism } from 'node:os';
import { compressRows, subsetRatings, type CompressedRows, type Dataset } from '../data/dataset.js';
import { validateTrainOptions, type Orientation, type TrainOptions, type TrainOptionsInput } from '../rbm/config.js';
import { trainRbmInWorker } from '../rbm/parallel.js';
import { sigmoid, type RbmParams } from '../rbm/params.js';
import { rbmExpectations, trainRbm, type TrainRbmResult } from '../rbm/train.js';
import { Rng } from '../rng.js';
import { fitBiasModel, type BiasModel } from './bias.js';
import { fitBiasModelInWorker } from './biasWorker.js';
import { defaultMixture, fitMixture, mixExpectations } from './mixture.js';
import type { Algorithm, FitHooks } from './protocol.js';
import { RbmBlendModel } from './rbmBlend.js';
import { StageClock } from '../rbm/stages.js';

export interface FitResult {
  model: RbmBlendModel;
  options: TrainOptions;
}

/** Seeded split of rating indices into (fit, validation). */
export function validationSplit(ratings: number, fraction: number, seed: number): { fit: Int32Array; validation: Int32Array } {
  const order = new Int32Array(ratings);
  for (let r = 0; r < ratings; r++) order[r] = r;
  new Rng(seed).shuffle(order);
  const nVal = Math.round(fraction * ratings);
  // Both parts in increasing order: a mark per rating instead of sorting the shuffled order (O(n)).
  const held = new Uint8Array(ratings);
  for (let n = 0; n < nVal; n++) held[order[n]] = 1;
  const validation = new Int32Array(nVal);
  const fit = new Int32Array(ratings - nVal);
  for (let r = 0, v = 0, f = 0; r < ratings; r++) {
    if (held[r]) validation[v++] = r;
    else fit[f++] = r;
  }
  return { fit, validation };
}

/**
 * Item hidden features ĥ_i = p(h | item i's ratings) = σ(c + Σ_{u rated i} W[u, r_ui, :]) for every item
 * (the item RBM's prediction input). The sums run over the ratings in the data set's order, each item's
 * in the order compressRows(ds, 'item') gives them, in float32 as hiddenProbabilities adds: the same
 * numbers, but W (users × K × F, hundreds of MB at MovieLens 25M's size) is read in the data's order —
 * one user's rows after another when the ratings come grouped by user, as the store loads them — while
 * the I × F sums take the scattered writes, instead of gathering W's rows item by item.
 */
export function itemHiddenFeatures(params: RbmParams, ds: Pick<Dataset, 'users' | 'items' | 'levels'>, items: number): Float32Array {
  const { W, c, hidden: F, levels: K } = params;
  const out = new Float32Array(items * F);
  for (let i = 0; i < items; i++) out.set(c, i * F);
  for (let r = 0; r < ds.items.length; r++) {
    const at = ds.items[r] * F;
    const row = (ds.users[r] * K + ds.levels[r]) * F;
    for (let j = 0; j < F; j++) out[at + j] += W[row + j];
  }
  for (let n = 0; n < out.length; n++) out[n] = sigmoid(out[n]);
  return out;
}

/** Training ratings from which the two bias baselines fit in worker threads (see fitRbmBlend). */
export const BIAS_WORKER_FROM = 2_000_000;

/**
 * How the two orientations share `threads`: one after the other, each data-parallel on all of them
 * ('sequential'), or at the same time, each on half ('sideBySide', as before threads existed: one each at
 * 2 threads). Chosen by measurement: see docs/performance.md, "Training on N threads".
 */
export type OrientationSharing = 'sequential' | 'sideBySide';
export const DEFAULT_ORIENTATION_SHARING: OrientationSharing = 'sequential';

/**
 * The orientations' schedule under `sharing`: lanes that run at the same time, each training its
 * orientations in turn, and the threads each orientation gets. Side by side (or at one thread, where
 * there is nothing to share) each lane is one orientation on threads / 2 (at least 1); in turn, one lane
 * of both, each on all the threads.
 */
export function orientationSchedule(
  options: TrainOptions,
  sharing: OrientationSharing = DEFAULT_ORIENTATION_SHARING,
): { lanes: Orientation[][]; threads: number } {
  const orientations: Orientation[] = options.orientation === 'both' ? ['user', 'item'] : [options.orientation];
  const together = orientations.length > 1 && (sharing === 'sideBySide' || options.threads === 1);
  return together
    ? { lanes: orientations.map((o) => [o]), threads: Math.max(1, Math.floor(options.threads / orientations.length)) }
    : { lanes: [orientations], threads: options.threads };
}

/**
 * `hooks.parallel` trains the orientations in worker threads (default: when the machine has more than one
 * core), so the event loop stays free; `hooks.sharing` says how the two share options.threads. Results
 * depend only on the seed and each orientation's thread count: each orientation has its own seeded RNG,
 * and any count above 1 gives the same model (the data-parallel path equals the serial case-by-case
 * order bit for bit, see src/rbm/cdEngine.ts).
 */
export async function fitRbmBlend(
  train: Dataset,
  input: TrainOptionsInput = {},
  hooks: FitHooks & { parallel?: boolean; sharing?: OrientationSharing } = {},
): Promise<FitResult> {
  const { onEpoch, checkpoints, parallel = availableParallelism() > 1, sharing = DEFAULT_ORIENTATION_SHARING } = hooks;
  const options = validateTrainOptions(input);
  const started = performance.now();
  const levels = train.ratingLevels;
  const K = levels.length;
  const orientations = options.orientation === 'both' ? (['user', 'item'] as const) : ([options.orientation] as const);
  const clock = new StageClock();
  // At scale the two bias baselines (10 ALS sweeps over all the ratings each, single-threaded) fit in
  // worker threads while this thread does single-threaded work that leaves the other core idle, instead
  // of after the RBMs (see docs/performance.md, "MovieLens 25M's size, end to end"): the final one, on
  // all training ratings, beside the split and the first orientation's start; the mixture's, on the fit
  // part, beside the last orientation's rows and its trainer's start. On small data a thread's start
  // costs more than the fit, so both fit here when needed.
  const biasWorkers = parallel && train.levels.length >= BIAS_WORKER_FROM;
  const finalBias = biasWorkers ? fitBiasModelInWorker(train) : null;
  // Awaited below; a failure before then must not leave it unhandled.
  finalBias?.catch(() => {});
  const { fitSet, valSet } = clock.time('split', () => {
    const { fit, validation } = validationSplit(train.levels.length, options.validationFraction, options.seed);
    return { fitSet: subsetRatings(train, fit), valSet: subsetRatings(train, validation) };
  });

  let fitBiasInWorker: Promise<BiasModel> | null = null;
  const startFitBias = (): void => {
    if (!biasWorkers || fitBiasInWorker) return;
    fitBiasInWorker = fitBiasModelInWorker(fitSet);
    fitBiasInWorker.catch(() => {});
  };

  const results: Partial<Record<'user' | 'item', TrainRbmResult>> = {};
  // Each orientation's rows as its trainer got them (kept for the mixture's validation predictions).
  const rows: Partial<Record<'user' | 'item', { train: CompressedRows; validation: CompressedRows | null }>> = {};
  const notes: string[] = [];
  if (K < 2) {
    notes.push(
      `the data has a single rating level (${levels[0]}): there is nothing for an RBM to learn, so the model is the bias baseline`,
    );
  } else {
    const { lanes, threads } = orientationSchedule(options, sharing);
    const run =
      parallel && orientations.length > 1 ? trainRbmInWorker : (...args: Parameters<typeof trainRbm>) => Promise.resolve(trainRbm(...args));
    const trainOne = async (o: 'user' | 'item'): Promise<TrainRbmResult> => {
      if (o === orientations[orientations.length - 1]) startFitBias();
      const these = clock.time(`${o} rows`, () => ({
        train: compressRows(fitSet, o),
        validation: valSet.levels.length > 0 ? compressRows(valSet, o) : null,
      }));
      rows[o] = these;
      // The item RBM's final input, ĥ_i from all training ratings (itemHiddenFeatures), computed by the
      // trainer on its threads with the parameters it returns: each item's ratings in the data's order.
      const features = o === 'item' ? clock.time('item rows', () => compressRows(train, 'item')) : null;
      return clock.timeAsync(o, () =>
        run(
          {
            phase: o,
            ...these,
            features,
            ratingLevels: levels,
            options: options[o],
            seed: options.seed * 2 + (o === 'user' ? 1 : 2),
            threads,
          },
          { onEpoch, ...(checkpoints ? { onCheckpoint: checkpoints.onCheckpoint, resumeFrom: checkpoints.resumeFrom[o] } : {}) },
        ),
      );
    };
    // Lanes side by side, each lane's orientations in turn.
    await Promise.all(
      lanes.map(async (lane) => {
        for (const o of lane) results[o] = await trainOne(o);
      }),
    );
  }

  // Mixture weights on the validation slice, every component predicting from the fit ratings only.
  const endMixture = clock.start('mixture');
  const fitBias = fitBiasInWorker ? await fitBiasInWorker : fitBiasModel(fitSet);
  const actual = new Float64Array(valSet.levels.length);
  const biasPred = new Float64Array(valSet.levels.length);
  for (let t = 0; t < actual.length; t++) {
    actual[t] = levels[valSet.levels[t]];
    biasPred[t] = fitBias.predictValue(fitBias.userBias[valSet.users[t]], valSet.items[t]);
  }
  const componentPredictions = (o: 'user' | 'item'): Float64Array | null => {
    const res = results[o];
    if (!res) return null;
    // Validation pairs in rating order: the orientation's rows' predictions (the trainer's, from its best
    // epoch's validation pass, when it has them), mapped back.
    const valRows = rows[o]?.validation ?? compressRows(valSet, o);
    const byRow = res.validationPredictions ?? rbmExpectations(res.params, rows[o]?.train ?? compressRows(fitSet, o), valRows, levels);
    const rowOf = o === 'user' ? valSet.users : valSet.items;
    const next = valRows.rowStart.slice(0, valRows.rows);
    const out = new Float64Array(actual.length);
    for (let t = 0; t < actual.length; t++) out[t] = byRow[next[rowOf[t]]++];
    return out;
  };
  const predictions = { user: componentPredictions('user'), item: componentPredictions('item'), bias: biasPred };
  const mixture =
    actual.length > 0 ? fitMixture(predictions, actual) : defaultMixture(results.user !== undefined, results.item !== undefined);
  const rmseOf = (pred: Float64Array | null): number | null => {
    if (!pred || actual.length === 0) return null;
    let s = 0;
    for (let t = 0; t < actual.length; t++) s += (pred[t] - actual[t]) ** 2;
    return Math.sqrt(s / actual.length);
  };
  const blendPred = new Float64Array(actual.length);
  for (let t = 0; t < actual.length; t++) {
    blendPred[t] = mixExpectations(mixture, predictions.user?.[t], predictions.item?.[t], biasPred[t]);
  }

  endMixture();

  // Final inputs from all training ratings (the validation ratings are training data too).
  const endFinal = clock.start('final');
  const bias = finalBias ? await finalBias : fitBiasModel(train);
  const itemTrainCount = new Float32Array(train.itemIds.length);
  for (let r = 0; r < train.items.length; r++) itemTrainCount[train.items[r]]++;
  const itemPart = results.item
    ? {
        params: results.item.params,
        itemHidden: results.item.hiddenFeatures ?? itemHiddenFeatures(results.item.params, train, train.itemIds.length),
      }
    : null;

  endFinal();

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
    stages: clock.seconds,
  };
  const model = new RbmBlendModel({
    ratingLevels: levels,
    userIds: train.userIds,
    itemIds: train.itemIds,
    bias,
    itemTrainCount,
    user: results.user?.params ?? null,
    item: itemPart,
    mixture,
    config: {
      orientation: options.orientation,
      seed: options.seed,
      validationFraction: options.validationFraction,
      user: options.user,
      item: options.item,
    },
    training,
  });
  return { model, options };
}

/** The blend and its single orientations as algorithms of the protocol (options: rbm/config.ts). */
const rbmAlgorithm = (name: string, orientation: 'both' | 'user' | 'item', description: string): Algorithm<TrainOptionsInput> => ({
  name,
  description,
  fit: async (train, options, hooks) => (await fitRbmBlend(train, { ...options, orientation }, hooks)).model,
});

export const blendAlgorithm = rbmAlgorithm(
  'blend',
  'both',
  'user RBM + item RBM + bias baseline, mixture of distributions fitted on validation',
);
export const userRbmAlgorithm = rbmAlgorithm(
  'user',
  'user',
  'user-oriented softmax RBM (items as visible units) mixed with the bias baseline',
);
export const itemRbmAlgorithm = rbmAlgorithm(
  'item',
  'item',
  'item-oriented softmax RBM (users as visible units) mixed with the bias baseline',
);
